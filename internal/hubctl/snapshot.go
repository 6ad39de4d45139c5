package hubctl

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/wait"
	"sigs.k8s.io/yaml"

	"github.com/hubkit/hubkit/internal/names"
)

var (
	volumeSnapshots       = schema.GroupVersionResource{Group: "snapshot.storage.k8s.io", Version: "v1", Resource: "volumesnapshots"}
	volumeSnapshotClasses = schema.GroupVersionResource{Group: "snapshot.storage.k8s.io", Version: "v1", Resource: "volumesnapshotclasses"}
)

// defaultClass is the annotation that makes a VolumeSnapshotClass its
// driver's default.
const defaultClass = "snapshot.storage.kubernetes.io/is-default-class"

// RestorePoint is a VolumeSnapshot of one of the Hub's claims.
type RestorePoint struct {
	Name        string      `json:"name"`
	Claim       string      `json:"claim"`
	Created     metav1.Time `json:"created"`
	Ready       bool        `json:"ready"`
	Version     string      `json:"version,omitempty"`
	TakenBy     string      `json:"takenBy,omitempty"`
	RestoreSize string      `json:"restoreSize,omitempty"`
	Error       string      `json:"error,omitempty"`
}

func restorePointOf(u unstructured.Unstructured) RestorePoint {
	rp := RestorePoint{Name: u.GetName(), Created: u.GetCreationTimestamp(), Version: u.GetLabels()[names.HubVersionLabel], TakenBy: u.GetLabels()[names.RestorePointLabel]}
	rp.Claim, _, _ = unstructured.NestedString(u.Object, "spec", "source", "persistentVolumeClaimName")
	rp.Ready, _, _ = unstructured.NestedBool(u.Object, "status", "readyToUse")
	rp.RestoreSize, _, _ = unstructured.NestedString(u.Object, "status", "restoreSize")
	rp.Error, _, _ = unstructured.NestedString(u.Object, "status", "error", "message")
	return rp
}

// restorePoints lists the snapshots of the Hub's claims, newest first;
// notServed says why there are none to list (no snapshot API).
func (c *Clients) restorePoints(ctx context.Context, h Hub) (points []RestorePoint, notServed string, err error) {
	list, err := c.Dynamic.Resource(volumeSnapshots).Namespace(h.Namespace).List(ctx, metav1.ListOptions{})
	if apierrors.IsNotFound(err) {
		return nil, "this cluster serves no VolumeSnapshots (no CSI snapshot API)", nil
	}
	if err != nil {
		return nil, "", fmt.Errorf("list the VolumeSnapshots of namespace %s: %w", h.Namespace, err)
	}
	for _, u := range list.Items {
		rp := restorePointOf(u)
		if slices.Contains(h.Claims, rp.Claim) {
			points = append(points, rp)
		}
	}
	slices.SortFunc(points, func(a, b RestorePoint) int { return b.Created.Compare(a.Created.Time) })
	return points, "", nil
}

// lastRestorePoint is the newest snapshot of the Hub's claims, or why
// there is none.
func (c *Clients) lastRestorePoint(ctx context.Context, h Hub) (*RestorePoint, string) {
	points, notServed, err := c.restorePoints(ctx, h)
	switch {
	case err != nil:
		return nil, err.Error()
	case notServed != "":
		return nil, notServed
	case len(points) == 0:
		return nil, "no VolumeSnapshot of " + strings.Join(h.Claims, ", ")
	}
	return &points[0], ""
}

// snapshotClass is the VolumeSnapshotClass for the claim's CSI driver: the
// one named, else the driver's default, else its only one. Refused, with
// the way out, where there is none.
func (c *Clients) snapshotClass(ctx context.Context, claim ClaimStatus, named string) (string, error) {
	if claim.Phase != "Bound" {
		return "", refuse("claim %s is %s, not Bound: nothing to snapshot", claim.Name, claim.Phase)
	}
	if claim.Driver == "" {
		return "", refuse("claim %s's volume is not a CSI volume, so it cannot be snapshotted: take the copy instead (docs/backup.md, \"Without CSI snapshots\")", claim.Name)
	}
	list, err := c.Dynamic.Resource(volumeSnapshotClasses).List(ctx, metav1.ListOptions{})
	if apierrors.IsNotFound(err) {
		return "", refuse("this cluster serves no VolumeSnapshotClasses (no CSI snapshot API): take the copy instead (docs/backup.md, \"Without CSI snapshots\")")
	}
	if err != nil {
		return "", fmt.Errorf("list the VolumeSnapshotClasses: %w", err)
	}
	var all, defaults []string
	for _, u := range list.Items {
		driver, _, _ := unstructured.NestedString(u.Object, "driver")
		if driver != claim.Driver {
			continue
		}
		if named != "" && u.GetName() == named {
			return named, nil
		}
		all = append(all, u.GetName())
		if u.GetAnnotations()[defaultClass] == "true" {
			defaults = append(defaults, u.GetName())
		}
	}
	switch {
	case named != "":
		return "", refuse("VolumeSnapshotClass %s is not one of driver %s (claim %s): name one of [%s] with --class", named, claim.Driver, claim.Name, strings.Join(all, " "))
	case len(defaults) == 1:
		return defaults[0], nil
	case len(all) == 1:
		return all[0], nil
	case len(all) == 0:
		return "", refuse("no VolumeSnapshotClass for driver %s, which holds claim %s: the storage takes no snapshots here; take the copy instead (docs/backup.md, \"Without CSI snapshots\")", claim.Driver, claim.Name)
	default:
		return "", refuse("driver %s has %d VolumeSnapshotClasses and no default: name one of [%s] with --class", claim.Driver, len(all), strings.Join(all, " "))
	}
}

// restorePointName is the name of a restore point of claim, taken at
// version and time.
func restorePointName(claim, version string, at time.Time) string {
	name := strings.ToLower(fmt.Sprintf("%s-%s-%s", claim, version, at.UTC().Format("20060102-150405")))
	return strings.Map(func(r rune) rune {
		if r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '-' || r == '.' {
			return r
		}
		return '-'
	}, name)
}

// newRestorePoint is the VolumeSnapshot of claim.
func newRestorePoint(h Hub, claim, class, version, takenBy string, at time.Time) *unstructured.Unstructured {
	u := &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "snapshot.storage.k8s.io/v1",
		"kind":       "VolumeSnapshot",
		"metadata": map[string]any{
			"name":      restorePointName(claim, version, at),
			"namespace": h.Namespace,
			"labels": map[string]any{
				"app.kubernetes.io/part-of": "hubkit",
				names.RestorePointLabel:     takenBy,
				names.HubVersionLabel:       version,
				names.ClaimLabel:            claim,
			},
		},
		"spec": map[string]any{
			"volumeSnapshotClassName": class,
			"source":                  map[string]any{"persistentVolumeClaimName": claim},
		},
	}}
	return u
}

// snapshotSteps take a restore point of each of the Hub's claims and wait
// until each is ready.
func (c *Clients) snapshotSteps(ctx context.Context, s *Status, class, takenBy string, timeout time.Duration, at time.Time) (plan, error) {
	var p plan
	for _, claim := range s.Claims {
		cls, err := c.snapshotClass(ctx, claim, class)
		if err != nil {
			return nil, err
		}
		snap := newRestorePoint(s.Hub, claim.Name, cls, s.Version, takenBy, at)
		doc, err := yaml.Marshal(snap.Object)
		if err != nil {
			return nil, fmt.Errorf("write VolumeSnapshot %s: %w", snap.GetName(), err)
		}
		ns, name := s.Hub.Namespace, snap.GetName()
		p = append(p, step{
			what:    fmt.Sprintf("volumesnapshot/%s of claim %s created (class %s)", name, claim.Name, cls),
			kubectl: []string{"kubectl create -f - <<'EOF'\n" + string(doc) + "EOF"},
			do: func(ctx context.Context) error {
				_, err := c.Dynamic.Resource(volumeSnapshots).Namespace(ns).Create(ctx, snap, metav1.CreateOptions{})
				if err != nil {
					return fmt.Errorf("create VolumeSnapshot %s/%s: %w", ns, name, err)
				}
				return nil
			},
		}, step{
			what:    fmt.Sprintf("volumesnapshot/%s ready", name),
			kubectl: []string{fmt.Sprintf("kubectl -n %s wait volumesnapshot/%s --for=jsonpath='{.status.readyToUse}'=true --timeout=%s", ns, name, timeout)},
			do:      func(ctx context.Context) error { return c.waitSnapshotReady(ctx, ns, name, timeout) },
		})
	}
	return p, nil
}

// waitSnapshotReady waits until the snapshot is ready to use; it fails at
// once on the snapshot's own error.
func (c *Clients) waitSnapshotReady(ctx context.Context, ns, name string, timeout time.Duration) error {
	var last RestorePoint
	err := wait.PollUntilContextTimeout(ctx, 500*time.Millisecond, timeout, true, func(ctx context.Context) (bool, error) {
		u, err := c.Dynamic.Resource(volumeSnapshots).Namespace(ns).Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			return false, fmt.Errorf("read VolumeSnapshot %s/%s: %w", ns, name, err)
		}
		last = restorePointOf(*u)
		if last.Error != "" {
			return false, fmt.Errorf("VolumeSnapshot %s/%s failed: %s (kubectl -n %s describe volumesnapshot %s)", ns, name, last.Error, ns, name)
		}
		return last.Ready, nil
	})
	if wait.Interrupted(err) {
		return &Error{Code: TimedOut, Err: fmt.Errorf("VolumeSnapshot %s/%s not ready after %s: check with kubectl -n %s get volumesnapshot %s -o yaml", ns, name, timeout, ns, name)}
	}
	return err
}
