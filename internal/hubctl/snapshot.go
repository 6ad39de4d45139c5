package hubctl

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"errors"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/yaml"

	"github.com/hubkit/hubkit/internal/restorepoint"
)

// defaultClass is the annotation that makes a VolumeSnapshotClass its
// driver's default.
const defaultClass = "snapshot.storage.kubernetes.io/is-default-class"

// restorePoints lists the snapshots of the Hub's claims, newest first;
// notServed says why there are none to list (no snapshot API).
func (c *Clients) restorePoints(ctx context.Context, h Hub) (points []restorepoint.Point, notServed string, err error) {
	list, err := c.Dynamic.Resource(restorepoint.VolumeSnapshots).Namespace(h.Namespace).List(ctx, metav1.ListOptions{})
	if apierrors.IsNotFound(err) {
		return nil, "this cluster serves no VolumeSnapshots (no CSI snapshot API)", nil
	}
	if err != nil {
		return nil, "", fmt.Errorf("list the VolumeSnapshots of namespace %s: %w", h.Namespace, err)
	}
	for _, u := range list.Items {
		rp := restorepoint.Of(u)
		if slices.Contains(h.Claims, rp.Claim) {
			points = append(points, rp)
		}
	}
	slices.SortFunc(points, func(a, b restorepoint.Point) int { return b.Created.Compare(a.Created.Time) })
	return points, "", nil
}

// lastRestorePoint is the newest snapshot of the Hub's claims, or why
// there is none.
func (c *Clients) lastRestorePoint(ctx context.Context, h Hub) (*restorepoint.Point, string) {
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
		return "", refuse("claim %s's volume is not a CSI volume, so it cannot be snapshotted: take the copy instead: kubectl hubkit copy (docs/backup.md, \"Without CSI snapshots\")", claim.Name)
	}
	list, err := c.Dynamic.Resource(restorepoint.VolumeSnapshotClasses).List(ctx, metav1.ListOptions{})
	if apierrors.IsNotFound(err) {
		return "", refuse("this cluster serves no VolumeSnapshotClasses (no CSI snapshot API): take the copy instead: kubectl hubkit copy (docs/backup.md, \"Without CSI snapshots\")")
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
		return "", refuse("no VolumeSnapshotClass for driver %s, which holds claim %s: the storage takes no snapshots here; take the copy instead: kubectl hubkit copy (docs/backup.md, \"Without CSI snapshots\")", claim.Driver, claim.Name)
	default:
		return "", refuse("driver %s has %d VolumeSnapshotClasses and no default: name one of [%s] with --class", claim.Driver, len(all), strings.Join(all, " "))
	}
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
		snap := restorepoint.New(s.Hub.Namespace, claim.Name, cls, s.Version, takenBy, at)
		doc, err := yaml.Marshal(snap.Object)
		if err != nil {
			return nil, fmt.Errorf("write VolumeSnapshot %s: %w", snap.GetName(), err)
		}
		ns, name := s.Hub.Namespace, snap.GetName()
		p = append(p, step{
			what:    fmt.Sprintf("volumesnapshot/%s of claim %s created (class %s)", name, claim.Name, cls),
			kubectl: []string{"kubectl create -f - <<'EOF'\n" + string(doc) + "EOF"},
			do: func(ctx context.Context) error {
				_, err := c.Dynamic.Resource(restorepoint.VolumeSnapshots).Namespace(ns).Create(ctx, snap, metav1.CreateOptions{})
				if err != nil {
					return fmt.Errorf("create VolumeSnapshot %s/%s: %w", ns, name, err)
				}
				return nil
			},
		}, step{
			what:    fmt.Sprintf("volumesnapshot/%s ready", name),
			kubectl: []string{fmt.Sprintf("kubectl -n %s wait volumesnapshot/%s --for=jsonpath='{.status.readyToUse}'=true --timeout=%s", ns, name, kubectlDuration(timeout))},
			do:      func(ctx context.Context) error { return c.waitSnapshotReady(ctx, ns, name, timeout) },
		})
	}
	return p, nil
}

// waitSnapshotReady waits until the snapshot is ready to use; it fails at
// once on the snapshot's own error.
func (c *Clients) waitSnapshotReady(ctx context.Context, ns, name string, timeout time.Duration) error {
	_, err := restorepoint.WaitReady(ctx, c.Dynamic, ns, name, timeout)
	if errors.Is(err, restorepoint.ErrNotReady) {
		return &Error{Code: TimedOut, Err: fmt.Errorf("%w: check with kubectl -n %s get volumesnapshot %s -o yaml", err, ns, name)}
	}
	return err
}
