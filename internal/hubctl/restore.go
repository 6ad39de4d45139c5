package hubctl

import (
	"context"
	"fmt"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/yaml"

	"github.com/hubkit/hubkit/internal/restorepoint"
)

// A restore under way is recorded in a ConfigMap beside the Hub, its
// journal, so that a second run resumes where an interrupted one stopped
// (the claim it deleted is made from the journal's copy of it).
const (
	journalSuffix  = "-restore"
	journalFrom    = "snapshot"
	journalClaim   = "claim"
	journalResumes = "resume-owner"
)

// restoreOptions are what restore was asked.
type restoreOptions struct {
	snapshot     string
	fromCopy     bool
	allowVersion bool
	pauseOwner   bool
}

// restoreFromSnapshot is the README's runbook "the Hub back from a
// snapshot" as a plan, after its refusals: the Hub stopped, its claim made
// again from the snapshot under the same name, the Hub started and
// serving, the owner resumed if this restore paused it.
func (c *Clients) restoreFromSnapshot(ctx context.Context, s *Status, ro restoreOptions, timeout time.Duration) (plan, error) {
	h := s.Hub
	if h.HA() || len(h.Claims) != 1 {
		return nil, refuse("%s/%s has %d claims: kubectl hubkit restores a singleton on one claim (an HA group: docs/high-availability.md)", h.Namespace, h.Ref(), len(h.Claims))
	}
	claimName := h.Claims[0]
	journalName := h.Name + journalSuffix
	journal, err := c.Core.CoreV1().ConfigMaps(h.Namespace).Get(ctx, journalName, metav1.GetOptions{})
	switch {
	case apierrors.IsNotFound(err):
		journal = nil
	case err != nil:
		return nil, fmt.Errorf("read the restore's journal, ConfigMap %s/%s: %w", h.Namespace, journalName, err)
	case journal.Data[journalFrom] != ro.snapshot:
		return nil, refuse("a restore of %s/%s from %s is under way (ConfigMap %s): run it again with --from-snapshot %s to finish it", h.Namespace, h.Ref(), journal.Data[journalFrom], journalName, journal.Data[journalFrom])
	}

	u, err := c.Dynamic.Resource(restorepoint.VolumeSnapshots).Namespace(h.Namespace).Get(ctx, ro.snapshot, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		return nil, refuse("no VolumeSnapshot %s in namespace %s: kubectl hubkit -n %s restore-points lists the Hub's", ro.snapshot, h.Namespace, h.Namespace)
	}
	if err != nil {
		return nil, fmt.Errorf("read VolumeSnapshot %s/%s: %w", h.Namespace, ro.snapshot, err)
	}
	rp := restorepoint.Of(*u)
	switch {
	case rp.Claim != claimName:
		return nil, refuse("VolumeSnapshot %s is of claim %s, not of the Hub's claim %s", rp.Name, rp.Claim, claimName)
	case !rp.Ready:
		return nil, refuse("VolumeSnapshot %s is not ready to use%s: wait for it (kubectl -n %s wait volumesnapshot/%s --for=jsonpath='{.status.readyToUse}'=true)", rp.Name, suffix(rp.Error), h.Namespace, rp.Name)
	case rp.Version != "" && rp.Version != s.Version && !ro.allowVersion:
		return nil, refuse("VolumeSnapshot %s holds version %s's data and the Hub is %s: set the image back to %s in Git first (an upgrade rolled back), or pass --allow-version", rp.Name, rp.Version, s.Version, rp.Version)
	}

	// The claim to make: the journal's, once a run has written it;
	// otherwise the live claim as it is, from the snapshot.
	var claim *corev1.PersistentVolumeClaim
	if journal != nil {
		claim = &corev1.PersistentVolumeClaim{}
		if err := yaml.UnmarshalStrict([]byte(journal.Data[journalClaim]), claim); err != nil {
			return nil, fmt.Errorf("read the claim in the restore's journal, ConfigMap %s/%s: %w", h.Namespace, journalName, err)
		}
	} else {
		live, err := c.Core.CoreV1().PersistentVolumeClaims(h.Namespace).Get(ctx, claimName, metav1.GetOptions{})
		if apierrors.IsNotFound(err) {
			return nil, refuse("claim %s is gone and no restore is under way: apply the overlay (or let its GitOps tool) make it anew, then restore", claimName)
		}
		if err != nil {
			return nil, fmt.Errorf("read claim %s/%s: %w", h.Namespace, claimName, err)
		}
		claim = claimFromSnapshot(live, rp.Name, c.defaultStorageClass(ctx))
	}
	if size, err := resource.ParseQuantity(rp.RestoreSize); err == nil && claim.Spec.Resources.Requests.Storage().Cmp(size) < 0 {
		return nil, refuse("VolumeSnapshot %s holds %s and claim %s asks %s: raise the claim's size in Git to at least the snapshot's, apply it, and restore", rp.Name, rp.RestoreSize, claimName, claim.Spec.Resources.Requests.Storage())
	}

	// The owner to pause: one that reconciles now, or the one this restore
	// paused before it was interrupted.
	var resume *Owner
	if ow := s.Owner; ow != nil {
		switch {
		case journal != nil && journal.Data[journalResumes] == ow.String():
			resume = ow
		case ow.Reconciles && !ro.pauseOwner:
			return nil, refuse("%s applies %s/%s and reconciles: it would scale the Hub back up and make the claim anew, empty. Pass --pause-owner (resumed once the Hub serves), or pause it yourself: %s", ow, h.Namespace, h.Ref(), c.pauseStep(ow, true).kubectl[0])
		case ow.Reconciles:
			resume = ow
		}
	}

	p := plan{c.journalStep(h, journalName, ro.snapshot, claim, resume)}
	if resume != nil {
		p = append(p, c.pauseStep(resume, true))
	}
	remake, err := c.claimFromSnapshotStep(claim)
	if err != nil {
		return nil, err
	}
	p = append(p,
		c.scaleStep(h, 0),
		c.podsGoneStep(h, s.Selector, timeout),
		c.claimGoneStep(h.Namespace, claimName, rp.Name, journal != nil, timeout),
		remake,
		c.scaleStep(h, int32(h.Members)),
		c.servingStep(h, timeout),
	)
	if resume != nil {
		p = append(p, c.pauseStep(resume, false))
	}
	return append(p, c.journalDoneStep(h.Namespace, journalName)), nil
}

func suffix(reason string) string {
	if reason == "" {
		return ""
	}
	return " (" + reason + ")"
}

// claimFromSnapshot is the live claim again, from the snapshot: its name,
// labels and annotations (those a controller set aside), access modes,
// size, and its class and mode where they are not the defaults the
// apiserver fills in (defaultClass: the cluster's default class). A claim
// that names them where Git does not would hand a GitOps tool's next apply
// a field to remove, and a claim's spec is immutable.
func claimFromSnapshot(live *corev1.PersistentVolumeClaim, snapshot, defaultClass string) *corev1.PersistentVolumeClaim {
	claim := &corev1.PersistentVolumeClaim{
		TypeMeta:   metav1.TypeMeta{APIVersion: "v1", Kind: "PersistentVolumeClaim"},
		ObjectMeta: metav1.ObjectMeta{Name: live.Name, Namespace: live.Namespace, Labels: live.Labels},
		Spec: corev1.PersistentVolumeClaimSpec{
			AccessModes: live.Spec.AccessModes,
			Resources:   corev1.VolumeResourceRequirements{Requests: live.Spec.Resources.Requests},
			DataSource:  &corev1.TypedLocalObjectReference{APIGroup: ptr.To(restorepoint.VolumeSnapshots.Group), Kind: "VolumeSnapshot", Name: snapshot},
		},
	}
	if class := live.Spec.StorageClassName; class != nil && *class != defaultClass {
		claim.Spec.StorageClassName = class
	}
	if mode := live.Spec.VolumeMode; mode != nil && *mode != corev1.PersistentVolumeFilesystem {
		claim.Spec.VolumeMode = mode
	}
	for k, v := range live.Annotations {
		if k == corev1.LastAppliedConfigAnnotation || strings.HasPrefix(k, "pv.kubernetes.io/") || strings.HasPrefix(k, "volume.kubernetes.io/") || strings.HasPrefix(k, "volume.beta.kubernetes.io/") {
			continue
		}
		if claim.Annotations == nil {
			claim.Annotations = map[string]string{}
		}
		claim.Annotations[k] = v
	}
	return claim
}

func (c *Clients) journalStep(h Hub, name, snapshot string, claim *corev1.PersistentVolumeClaim, resume *Owner) step {
	return step{
		what: fmt.Sprintf("the restore's journal written (ConfigMap %s: a second run resumes from it)", name),
		do: func(ctx context.Context) error {
			doc, err := manifest(claim)
			if err != nil {
				return err
			}
			cm := &corev1.ConfigMap{
				ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: h.Namespace, Labels: map[string]string{"app.kubernetes.io/part-of": "hubkit"}},
				Data:       map[string]string{journalFrom: snapshot, journalClaim: string(doc)},
			}
			if resume != nil {
				cm.Data[journalResumes] = resume.String()
			}
			_, err = c.Core.CoreV1().ConfigMaps(h.Namespace).Create(ctx, cm, metav1.CreateOptions{})
			if apierrors.IsAlreadyExists(err) {
				return nil
			}
			if err != nil {
				return fmt.Errorf("write the restore's journal, ConfigMap %s/%s: %w", h.Namespace, name, err)
			}
			return nil
		},
	}
}

func (c *Clients) journalDoneStep(ns, name string) step {
	return step{
		what: fmt.Sprintf("the restore done: its journal (ConfigMap %s) deleted", name),
		do: func(ctx context.Context) error {
			err := c.Core.CoreV1().ConfigMaps(ns).Delete(ctx, name, metav1.DeleteOptions{})
			if err != nil && !apierrors.IsNotFound(err) {
				return fmt.Errorf("delete the restore's journal, ConfigMap %s/%s: %w", ns, name, err)
			}
			return nil
		},
	}
}

// claimGoneStep deletes the claim and waits until it is gone, unless a
// second run (resuming) finds it already made from the snapshot.
func (c *Clients) claimGoneStep(ns, name, snapshot string, resuming bool, timeout time.Duration) step {
	return step{
		what:    fmt.Sprintf("claim %s deleted", name),
		kubectl: []string{fmt.Sprintf("kubectl -n %s delete pvc %s", ns, name)},
		do: func(ctx context.Context) error {
			pvcs := c.Core.CoreV1().PersistentVolumeClaims(ns)
			err := wait.PollUntilContextTimeout(ctx, 500*time.Millisecond, timeout, true, func(ctx context.Context) (bool, error) {
				pvc, err := pvcs.Get(ctx, name, metav1.GetOptions{})
				switch {
				case apierrors.IsNotFound(err):
					return true, nil
				case err != nil:
					return false, fmt.Errorf("read claim %s/%s: %w", ns, name, err)
				case resuming && madeFrom(pvc, snapshot) && pvc.DeletionTimestamp == nil:
					return true, nil
				case pvc.DeletionTimestamp == nil:
					if err := pvcs.Delete(ctx, name, metav1.DeleteOptions{}); err != nil && !apierrors.IsNotFound(err) {
						return false, fmt.Errorf("delete claim %s/%s: %w", ns, name, err)
					}
				}
				return false, nil
			})
			if wait.Interrupted(err) {
				return &Error{Code: TimedOut, Err: fmt.Errorf("claim %s/%s is still there after %s (a pod still mounts it?): kubectl -n %s describe pvc %s", ns, name, timeout, ns, name)}
			}
			return err
		},
	}
}

func madeFrom(pvc *corev1.PersistentVolumeClaim, snapshot string) bool {
	ds := pvc.Spec.DataSource
	return ds != nil && ds.Kind == "VolumeSnapshot" && ds.Name == snapshot
}

func (c *Clients) claimFromSnapshotStep(claim *corev1.PersistentVolumeClaim) (step, error) {
	doc, err := manifest(claim)
	if err != nil {
		return step{}, err
	}
	return step{
		what:    fmt.Sprintf("claim %s made from volumesnapshot/%s", claim.Name, claim.Spec.DataSource.Name),
		kubectl: []string{"kubectl apply -f - <<'EOF'\n" + string(doc) + "EOF"},
		do: func(ctx context.Context) error {
			_, err := c.Core.CoreV1().PersistentVolumeClaims(claim.Namespace).Create(ctx, claim, metav1.CreateOptions{})
			if apierrors.IsAlreadyExists(err) {
				live, gerr := c.Core.CoreV1().PersistentVolumeClaims(claim.Namespace).Get(ctx, claim.Name, metav1.GetOptions{})
				if gerr == nil && madeFrom(live, claim.Spec.DataSource.Name) {
					return nil
				}
				return fmt.Errorf("claim %s/%s was made again, not from the snapshot, while the Hub was stopped (a GitOps tool not paused?): run the restore again", claim.Namespace, claim.Name)
			}
			if err != nil {
				return fmt.Errorf("make claim %s/%s from the snapshot: %w", claim.Namespace, claim.Name, err)
			}
			return nil
		},
	}, nil
}

// isDefaultClass is the annotation that makes a StorageClass the default.
const isDefaultClass = "storageclass.kubernetes.io/is-default-class"

// defaultStorageClass is the cluster's default StorageClass, or "" when it
// has none or the caller may not list them.
func (c *Clients) defaultStorageClass(ctx context.Context) string {
	list, err := c.Core.StorageV1().StorageClasses().List(ctx, metav1.ListOptions{})
	if err != nil {
		return ""
	}
	for _, sc := range list.Items {
		if sc.Annotations[isDefaultClass] == "true" {
			return sc.Name
		}
	}
	return ""
}
