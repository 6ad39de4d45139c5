package restorepoint

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes"

	"github.com/hubkit/hubkit/internal/names"
)

// Upgrade is the restore point before an upgrade, as the restore-point
// init container takes it: first in the Hub's pod, after the old version
// stopped (the workload's Recreate) and before anything of the new one
// runs. appData's marker file holds the version that last started on it;
// when the pod's differs, a VolumeSnapshot of the claim labelled with the
// old version must be ready before the marker says the new one and the pod
// goes on. A snapshot that fails stops the pod there: the new version never
// touches appData, and the init container's message says why.
//
// It reads the version and the claim from its own pod, as the apiserver
// has it: whoever changed the image (an overlay, kubectl set image, Argo
// CD, Flux), the pod says what runs next.
type Upgrade struct {
	Namespace, Pod string
	// Container is the Hub's container, whose image's tag is the version;
	// Volume the pod's volume of the claim.
	Container, Volume string
	// AppData is where the claim is mounted in this container.
	AppData string
	// CopyTo, where there are no CSI snapshots, is where the copy's claim
	// is mounted: the restore point is then a copy of appData there
	// (appData/, as backup/copy's Job writes it), not a VolumeSnapshot.
	CopyTo  string
	Timeout time.Duration
	Log     io.Writer
}

// Run takes the restore point if the version changed, and records the
// pod's version in appData.
func (u Upgrade) Run(ctx context.Context, core kubernetes.Interface, dyn dynamic.Interface, now time.Time) error {
	pod, err := core.CoreV1().Pods(u.Namespace).Get(ctx, u.Pod, metav1.GetOptions{})
	if err != nil {
		return fmt.Errorf("read this pod, %s/%s: %w", u.Namespace, u.Pod, err)
	}
	i := slices.IndexFunc(pod.Spec.Containers, func(c corev1.Container) bool { return c.Name == u.Container })
	if i < 0 {
		return fmt.Errorf("pod %s/%s has no container %s, whose image's tag is the version (-container)", u.Namespace, u.Pod, u.Container)
	}
	j := slices.IndexFunc(pod.Spec.Volumes, func(v corev1.Volume) bool { return v.Name == u.Volume && v.PersistentVolumeClaim != nil })
	if j < 0 {
		return fmt.Errorf("pod %s/%s has no volume %s of a claim (-volume)", u.Namespace, u.Pod, u.Volume)
	}
	return u.run(ctx, dyn, pod.Spec.Volumes[j].PersistentVolumeClaim.ClaimName, VersionOf(pod.Spec.Containers[i].Image), now)
}

func (u Upgrade) run(ctx context.Context, dyn dynamic.Interface, claim, version string, now time.Time) error {
	marker := filepath.Join(u.AppData, names.VersionMarkerFile)
	b, err := os.ReadFile(marker)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		fmt.Fprintf(u.Log, "appData of claim %s has no version yet: %s from now on, no restore point (nothing older to keep)\n", claim, version)
		return writeMarker(marker, version)
	case err != nil:
		return fmt.Errorf("read appData's version, %s: %w", marker, err)
	}
	last := strings.TrimSpace(string(b))
	if last == version {
		fmt.Fprintf(u.Log, "appData of claim %s is version %s's, as the pod's: no upgrade\n", claim, version)
		return nil
	}
	fmt.Fprintf(u.Log, "upgrade of claim %s from version %s to %s: a restore point of %s first\n", claim, last, version, last)
	if u.CopyTo != "" {
		if err := copyAppData(u.AppData, u.CopyTo); err != nil {
			return fmt.Errorf("the copy before the upgrade from %s to %s: %w. The upgrade waits, appData untouched: fix the cause, and the pod copies again (or set the image back to %s)", last, version, err, last)
		}
		fmt.Fprintf(u.Log, "copy of version %s's appData in %s whole; appData is now version %s's\n", last, filepath.Join(u.CopyTo, "appData"), version)
		return writeMarker(marker, version)
	}
	name, err := u.take(ctx, dyn, claim, last, version, now)
	if err != nil {
		return err
	}
	p, err := WaitReady(ctx, dyn, u.Namespace, name, u.Timeout)
	if err != nil {
		return fmt.Errorf("the restore point before the upgrade from %s to %s: %w. The upgrade waits, appData untouched: fix the cause, then kubectl -n %s delete volumesnapshot %s, and the pod takes it again (or set the image back to %s)", last, version, err, u.Namespace, name, last)
	}
	fmt.Fprintf(u.Log, "restore point %s ready (%s of version %s's data); appData is now version %s's\n", name, p.RestoreSize, last, version)
	return writeMarker(marker, version)
}

// take creates the restore point of this upgrade, or finds the one an
// earlier run of the init container created.
func (u Upgrade) take(ctx context.Context, dyn dynamic.Interface, claim, from, to string, now time.Time) (string, error) {
	snapshots := dyn.Resource(VolumeSnapshots).Namespace(u.Namespace)
	sel := labels.SelectorFromSet(labels.Set{
		names.RestorePointLabel: names.RestorePointUpgrade,
		names.ClaimLabel:        claim,
		names.HubVersionLabel:   from,
		names.UpgradeToLabel:    to,
	})
	list, err := snapshots.List(ctx, metav1.ListOptions{LabelSelector: sel.String()})
	if err != nil {
		return "", fmt.Errorf("list the restore points of claim %s/%s: %w", u.Namespace, claim, err)
	}
	// One restore point per upgrade, however often the pod starts: a
	// failed one stays until a person deletes it, once its cause is fixed.
	if len(list.Items) > 0 {
		p := Of(list.Items[0])
		fmt.Fprintf(u.Log, "restore point %s, from an earlier start of this pod\n", p.Name)
		return p.Name, nil
	}
	snap := New(u.Namespace, claim, "", from, names.RestorePointUpgrade, now)
	snap.SetLabels(labels.Merge(snap.GetLabels(), labels.Set{names.UpgradeToLabel: to}))
	if _, err := snapshots.Create(ctx, snap, metav1.CreateOptions{}); err != nil {
		return "", fmt.Errorf("create the restore point before the upgrade from %s to %s, VolumeSnapshot %s/%s: %w; the upgrade waits, appData untouched", from, to, u.Namespace, snap.GetName(), err)
	}
	fmt.Fprintf(u.Log, "restore point %s created\n", snap.GetName())
	return snap.GetName(), nil
}

// writeMarker replaces appData's version marker whole.
func writeMarker(path, version string) error {
	tmp := path + ".new"
	if err := os.WriteFile(tmp, []byte(version+"\n"), 0o640); err != nil {
		return fmt.Errorf("write appData's version: %w", err)
	}
	if err := os.Rename(tmp, path); err != nil {
		return fmt.Errorf("write appData's version: %w", err)
	}
	return nil
}
