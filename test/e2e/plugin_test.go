package e2e

import (
	"archive/tar"
	"bufio"
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/dynamic"

	"github.com/hubkit/hubkit/internal/hubctl"
	"github.com/hubkit/hubkit/internal/names"
	"github.com/hubkit/hubkit/internal/restorepoint"
	"github.com/hubkit/hubkit/test/cluster"
	"github.com/hubkit/hubkit/test/csidriver"
	"github.com/hubkit/hubkit/test/images"
	"github.com/hubkit/hubkit/test/render"
	"github.com/hubkit/hubkit/test/scenario"
	"github.com/hubkit/hubkit/test/standin"
)

// kubectl hubkit on prod on the real node: each command run as a user
// runs it, `kubectl hubkit ...` with the plugin on PATH beside the pinned
// kubectl, and held to what its help promises and to the README's runbook.

// The groups rbac/kubectl-hubkit/bindings binds, whom the tests
// impersonate: each command runs with the roles its docs list, no more.
const (
	operators = "hubkit:operators"
	viewers   = "hubkit:viewers"
)

// grantPluginRoles applies rbac/kubectl-hubkit and its example bindings
// for the test, and waits until the operator's aggregated role holds the
// viewer's rules.
func grantPluginRoles(t *testing.T) {
	t.Helper()
	ctx := context.Background()
	var objs []*unstructured.Unstructured
	for _, dir := range []string{"kubectl-hubkit", filepath.Join("kubectl-hubkit", "bindings")} {
		out, err := render.Krusty(filepath.Join(e2e.root, "rbac", dir))
		require.NoError(t, err)
		o, err := cluster.Objects(out)
		require.NoError(t, err)
		objs = append(objs, o...)
	}
	require.NoError(t, applier(t).Apply(ctx, objs, false))
	t.Cleanup(func() { assert.NoError(t, applier(t).Delete(context.Background(), objs)) })
	scenario.Until(t, "the aggregated role hubkit-operator to hold the viewer's rules", 30*time.Second, func(ctx context.Context) (bool, string, error) {
		r, err := e2e.client.RbacV1().ClusterRoles().Get(ctx, "hubkit-operator", metav1.GetOptions{})
		if err != nil {
			return false, "", err
		}
		return len(r.Rules) > 4, fmt.Sprintf("%d rules", len(r.Rules)), nil
	})
}

// hubkitCommand is `kubectl hubkit -n ns args...` as a user's shell runs
// it, the pinned kubectl first on PATH and the plugin beside it, as a
// member of the group (impersonated).
func hubkitCommand(t *testing.T, group, ns string, args ...string) *exec.Cmd {
	t.Helper()
	cmd := exec.Command(filepath.Join(e2e.root, "bin", "kubectl"), append([]string{"hubkit", "--as", "alice", "--as-group", group, "-n", ns}, args...)...)
	cmd.Env = append(os.Environ(),
		"PATH="+filepath.Dir(e2e.plugin.Path(t))+":"+filepath.Join(e2e.root, "bin")+":"+os.Getenv("PATH"),
		"KUBECONFIG="+e2e.cluster.Kubeconfig)
	return cmd
}

// hubkit runs kubectl hubkit as an operator and returns what it printed
// (standard output, then standard error) and its exit code.
func hubkit(t *testing.T, ns string, args ...string) (string, hubctl.Code) {
	t.Helper()
	return hubkitAs(t, operators, ns, args...)
}

func hubkitAs(t *testing.T, group, ns string, args ...string) (string, hubctl.Code) {
	t.Helper()
	cmd := hubkitCommand(t, group, ns, args...)
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	err := cmd.Run()
	var exit *exec.ExitError
	if err != nil && !errors.As(err, &exit) {
		require.NoError(t, err, "run kubectl hubkit %v", args)
	}
	t.Logf("$ kubectl hubkit --as-group %s -n %s %s (exit %d)\n%s%s", group, ns, strings.Join(args, " "), cmd.ProcessState.ExitCode(), out.String(), errOut.String())
	return out.String() + errOut.String(), hubctl.Code(cmd.ProcessState.ExitCode())
}

// hubkitStatus is kubectl hubkit status -o json, and its exit code.
func hubkitStatus(t *testing.T, ns string) (hubctl.Status, hubctl.Code) {
	t.Helper()
	cmd := hubkitCommand(t, operators, ns, "status", "-o", "json")
	out, err := cmd.Output()
	var exit *exec.ExitError
	if err != nil && !errors.As(err, &exit) {
		require.NoError(t, err, "run kubectl hubkit status")
	}
	var s hubctl.Status
	require.NoError(t, json.Unmarshal(out, &s), "status -o json: %s", out)
	return s, hubctl.Code(cmd.ProcessState.ExitCode())
}

var tookSnapshot = regexp.MustCompile(`volumesnapshot/(\S+) ready`)

// hubkitSnapshot takes a restore point with kubectl hubkit snapshot and
// returns its name and the command's wall time; the test deletes it when
// it ends.
func hubkitSnapshot(t *testing.T, dyn dynamic.Interface, ns string) (string, time.Duration) {
	t.Helper()
	start := time.Now()
	out, code := hubkit(t, ns, "snapshot")
	took := time.Since(start)
	require.Equal(t, hubctl.Done, code, out)
	m := tookSnapshot.FindStringSubmatch(out)
	require.NotNil(t, m, "snapshot names its restore point: %s", out)
	// Gone, not going, when the test ends: a restore point's name is its
	// claim, version and second, and the next test's, taken in the same
	// second, would be refused beside one still being deleted (a CI run).
	t.Cleanup(func() {
		snapshots := dyn.Resource(scenario.VolumeSnapshots).Namespace(ns)
		_ = snapshots.Delete(context.Background(), m[1], metav1.DeleteOptions{})
		scenario.WaitObjectGone(t, snapshots, m[1])
	})
	return m[1], took
}

// testPlugin is kubectl hubkit's steps on prod, the guard and the roles
// installed once for them all.
func (fx *prodFixture) testPlugin(t *testing.T) {
	installGuard(t, fx.prod.Namespace)
	grantPluginRoles(t)
	t.Run("status: the Hub serving on the real node (exit 0), its claim Bound on the CSI driver, the guard in force, no GitOps owner", fx.testPluginStatus)
	t.Run("snapshot: a ready restore point labelled with the Hub's version; --dry-run takes none; refused, nothing taken, where the driver has no snapshot class", fx.testPluginSnapshot)
	t.Run("restore: the volume lost and back from the restore point, every entry from before it and none after; interrupted once the claim was deleted, a second run finishes it; refused for another version's data and for a restore point not ready", fx.testPluginRestore)
	t.Run("stop and start: the runbook's lines under --dry-run, status exits 4 while stopped and 0 once serving", fx.testPluginStopStart)
	t.Run("report: one archive, read as a viewer, with the manifests, events, logs and the guard, and no Secret's value", fx.testPluginReport)
	t.Run("an upgrade takes its own restore point, after the old version stopped; the rollback is the old tag back and kubectl hubkit restore from it", fx.testPluginUpgrade)
	t.Run("a restore point that fails stops the upgrade: the later version never starts, appData stays the old one's, status says why; the old tag back serves the old data", fx.testPluginUpgradeStopped)
}

func (fx *prodFixture) testPluginStatus(t *testing.T) {
	ns := fx.prod.Namespace
	pod := fx.hub.Pod(t)
	s, code := hubkitStatus(t, ns)
	assert.Equal(t, hubctl.Done, code, "exit 0: the Hub serves")
	assert.Equal(t, hubctl.Hub{Namespace: ns, Kind: "Deployment", Name: names.Hub, Members: 1, Claims: []string{names.AppDataClaim}}, s.Hub, "found from the guard's parameters")
	assert.True(t, s.Serving)
	assert.Equal(t, []string{pod.Name}, s.ServedBy)
	require.Len(t, s.Pods, 1)
	assert.Equal(t, e2e.cluster.Node.Name(), s.Pods[0].Node)
	assert.True(t, s.Pods[0].Ready)
	require.Len(t, s.Claims, 1)
	assert.Equal(t, "Bound", s.Claims[0].Phase)
	assert.Equal(t, csidriver.DriverName, s.Claims[0].Driver)
	assert.True(t, s.Guard.InForce, "the guard installed and denying: %+v", s.Guard)
	assert.Nil(t, s.Owner, "kubectl applied it")

	start := time.Now()
	out, code := hubkitAs(t, viewers, ns, "status")
	writeFigure(t, "plugin-status", fmt.Sprintf("kubectl hubkit status (prod, as a viewer): %s", time.Since(start).Round(time.Millisecond)))
	assert.Equal(t, hubctl.Done, code, "a viewer reads the status")
	assert.Regexp(t, `serving\s+yes, by `+regexp.QuoteMeta(pod.Name), out, "one screen says who serves")
	out, code = hubkitAs(t, viewers, ns, "stop")
	assert.Equal(t, hubctl.Failed, code, "a viewer may not stop the Hub")
	assert.Contains(t, out, "deployments.apps \"hbih\" is forbidden")
	assert.Equal(t, pod.UID, fx.hub.Pod(t).UID, "the Hub untouched")
}

func (fx *prodFixture) testPluginSnapshot(t *testing.T) {
	ctx := context.Background()
	ns := fx.prod.Namespace
	dyn, err := dynamic.NewForConfig(e2e.cluster.Config)
	require.NoError(t, err)
	snapshots := dyn.Resource(scenario.VolumeSnapshots).Namespace(ns)
	restorePoints := func() []unstructured.Unstructured {
		list, err := snapshots.List(ctx, metav1.ListOptions{LabelSelector: names.RestorePointLabel})
		require.NoError(t, err)
		return list.Items
	}
	before := len(restorePoints())

	out, code := hubkit(t, ns, "snapshot", "--dry-run")
	assert.Equal(t, hubctl.Done, code)
	assert.Contains(t, out, "kubectl create -f - <<'EOF'\napiVersion: snapshot.storage.k8s.io/v1\nkind: VolumeSnapshot\n")
	assert.Contains(t, out, "--for=jsonpath='{.status.readyToUse}'=true")
	assert.Len(t, restorePoints(), before, "--dry-run took none")

	// Where the driver has no snapshot class, refused with the way out.
	classes := dyn.Resource(schema.GroupVersionResource{Group: "snapshot.storage.k8s.io", Version: "v1", Resource: "volumesnapshotclasses"})
	class, err := classes.Get(ctx, "hubkit-csi", metav1.GetOptions{})
	require.NoError(t, err)
	require.NoError(t, classes.Delete(ctx, class.GetName(), metav1.DeleteOptions{}))
	out, code = hubkit(t, ns, "snapshot")
	class.SetResourceVersion("")
	_, err = classes.Create(ctx, class, metav1.CreateOptions{})
	require.NoError(t, err, "the snapshot class back")
	assert.Equal(t, hubctl.Refused, code)
	assert.Contains(t, out, "refused, nothing changed: no VolumeSnapshotClass for driver "+csidriver.DriverName+", which holds claim "+names.AppDataClaim)
	assert.Contains(t, out, "take the copy instead")
	assert.Len(t, restorePoints(), before, "refused: none taken")

	s, _ := hubkitStatus(t, ns)
	name, took := hubkitSnapshot(t, dyn, ns)
	snap, err := snapshots.Get(ctx, name, metav1.GetOptions{})
	require.NoError(t, err)
	ready, _, _ := unstructured.NestedBool(snap.Object, "status", "readyToUse")
	assert.True(t, ready, "waited for until ready")
	assert.Equal(t, map[string]string{
		"app.kubernetes.io/part-of": "hubkit",
		names.RestorePointLabel:     names.RestorePointManual,
		names.HubVersionLabel:       s.Version,
		names.ClaimLabel:            names.AppDataClaim,
	}, snap.GetLabels())

	s, _ = hubkitStatus(t, ns)
	require.NotNil(t, s.RestorePoint)
	assert.Equal(t, name, s.RestorePoint.Name, "status shows the newest restore point")
	out, code = hubkit(t, ns, "restore-points")
	assert.Equal(t, hubctl.Done, code)
	assert.Contains(t, out, name)
	writeFigure(t, "plugin-snapshot", fmt.Sprintf("kubectl hubkit snapshot on prod's claim, to a ready restore point: %s", took.Round(time.Millisecond)))
}

// The volume lost, back through kubectl hubkit restore: interrupted once
// its claim was deleted, the same command again finishes it; with the
// runbook's assertions (testVolumeLost).
func (fx *prodFixture) testPluginRestore(t *testing.T) {
	ctx := context.Background()
	ns, hub := fx.prod.Namespace, fx.hub
	dyn, err := dynamic.NewForConfig(e2e.cluster.Config)
	require.NoError(t, err)

	pod := hub.Pod(t)
	var kept []standin.Entry
	for i := range 3 {
		kept = append(kept, hub.Append(t, pod, fmt.Sprintf("before the restore point, %d", i+1)))
	}
	name, _ := hubkitSnapshot(t, dyn, ns)
	after := hub.Append(t, pod, "after the restore point")
	claim := hub.Claim(t)

	// Another version's data: refused, nothing changed.
	snapshots := dyn.Resource(scenario.VolumeSnapshots).Namespace(ns)
	relabel := func(version string) {
		_, err := snapshots.Patch(ctx, name, "application/merge-patch+json", fmt.Appendf(nil, `{"metadata":{"labels":{%q:%q}}}`, names.HubVersionLabel, version), metav1.PatchOptions{})
		require.NoError(t, err)
	}
	s, _ := hubkitStatus(t, ns)
	relabel("0.0.1")
	out, code := hubkit(t, ns, "restore", "--from-snapshot", name)
	relabel(s.Version)
	assert.Equal(t, hubctl.Refused, code)
	assert.Contains(t, out, fmt.Sprintf("holds version 0.0.1's data and the Hub is %s: set the image back to 0.0.1 in Git first", s.Version))
	assert.Equal(t, pod.UID, hub.Pod(t).UID, "refused: the Hub untouched")
	assert.Equal(t, claim.UID, hub.Claim(t).UID, "refused: the claim untouched")

	// A restore point that is not ready (its class does not exist: the
	// snapshot controller never takes it): refused, nothing changed.
	never := restorepoint.New(ns, names.AppDataClaim, "no-such-class", s.Version, names.RestorePointManual, time.Now())
	never.SetName("hbih-appdata-never-ready")
	_, err = snapshots.Create(ctx, never, metav1.CreateOptions{})
	require.NoError(t, err)
	t.Cleanup(func() { _ = snapshots.Delete(context.Background(), never.GetName(), metav1.DeleteOptions{}) })
	out, code = hubkit(t, ns, "restore", "--from-snapshot", never.GetName())
	assert.Equal(t, hubctl.Refused, code)
	assert.Contains(t, out, "VolumeSnapshot hbih-appdata-never-ready is not ready to use")
	assert.Equal(t, pod.UID, hub.Pod(t).UID, "refused: the Hub untouched")

	// --dry-run: the runbook's own lines, nothing changed.
	out, code = hubkit(t, ns, "restore", "--from-snapshot", name, "--dry-run")
	assert.Equal(t, hubctl.Done, code)
	for _, st := range readmeRunbook(t, runbookTitle) {
		for _, c := range st.commands {
			if strings.HasPrefix(c, "kubectl -n "+ns+" scale") || strings.HasPrefix(c, "kubectl -n "+ns+" delete pvc") {
				assert.Contains(t, out, c+"\n", "--dry-run prints the runbook's step %d", st.n)
			}
		}
	}
	assert.Equal(t, pod.UID, hub.Pod(t).UID, "--dry-run: the Hub untouched")

	// Interrupted once the claim is deleted (SIGINT, as Ctrl-C sends).
	first := hubkitCommand(t, operators, ns, "restore", "--from-snapshot", name)
	stdout, err := first.StdoutPipe()
	require.NoError(t, err)
	var errOut bytes.Buffer
	first.Stderr = &errOut
	began := time.Now()
	require.NoError(t, first.Start())
	var lines []string
	interrupted := false
	for sc := bufio.NewScanner(stdout); sc.Scan(); {
		lines = append(lines, sc.Text())
		if !interrupted && strings.HasSuffix(sc.Text(), "claim "+names.AppDataClaim+" deleted") {
			require.NoError(t, first.Process.Signal(syscall.SIGINT))
			interrupted = true
		}
	}
	_ = first.Wait()
	t.Logf("the first run, interrupted:\n%s\n%s", strings.Join(lines, "\n"), errOut.String())
	require.True(t, interrupted, "the first run reached the claim's deletion")
	assert.Equal(t, hubctl.Failed, hubctl.Code(first.ProcessState.ExitCode()), "interrupted before it was done")
	_, err = e2e.client.CoreV1().ConfigMaps(ns).Get(ctx, names.Hub+"-restore", metav1.GetOptions{})
	require.NoError(t, err, "the restore's journal is left for a second run")

	again := time.Now()
	out, code = hubkit(t, ns, "restore", "--from-snapshot", name)
	resumed := time.Since(again)
	require.Equal(t, hubctl.Done, code, out)
	assert.Contains(t, out, "the restore done")
	_, err = e2e.client.CoreV1().ConfigMaps(ns).Get(ctx, names.Hub+"-restore", metav1.GetOptions{})
	assert.True(t, err != nil, "the journal deleted once done")

	restored := hub.Claim(t)
	require.NotNil(t, restored.Spec.DataSource)
	assert.Equal(t, name, restored.Spec.DataSource.Name, "made from the restore point")
	assert.Equal(t, claim.Labels, restored.Labels, "the claim as the overlay made it")
	hub.AppData = hub.CSIVolumeDir(t)
	assertRestored(t, hub, kept, after)
	assert.Empty(t, hub.Refusals(t), "the guard refused no step")
	s, code = hubkitStatus(t, ns)
	assert.Equal(t, hubctl.Done, code)
	assert.True(t, s.Serving)
	writeFigure(t, "plugin-restore", fmt.Sprintf("kubectl hubkit restore (prod, volume lost) interrupted once its claim was deleted (%s in), then run again to the Hub serving: %s",
		again.Sub(began).Round(time.Millisecond), resumed.Round(time.Millisecond)))
}

func (fx *prodFixture) testPluginStopStart(t *testing.T) {
	ns, hub := fx.prod.Namespace, fx.hub
	pod := hub.Pod(t)
	out, code := hubkit(t, ns, "stop", "--dry-run")
	assert.Equal(t, hubctl.Done, code)
	assert.Contains(t, out, fmt.Sprintf("kubectl -n %s scale deployment/%s --replicas=0\n", ns, names.Hub), "the runbook's line")
	assert.Equal(t, pod.UID, hub.Pod(t).UID, "--dry-run: the Hub untouched")

	start := time.Now()
	out, code = hubkit(t, ns, "stop")
	stopped := time.Since(start)
	require.Equal(t, hubctl.Done, code, out)
	hub.WaitStopped(t)
	_, code = hubkitStatus(t, ns)
	assert.Equal(t, hubctl.Unhealthy, code, "status exits 4 while the Hub is stopped")

	start = time.Now()
	out, code = hubkit(t, ns, "start")
	started := time.Since(start)
	require.Equal(t, hubctl.Done, code, out)
	s, code := hubkitStatus(t, ns)
	assert.Equal(t, hubctl.Done, code)
	assert.True(t, s.Serving)
	writeFigure(t, "plugin-stop-start", fmt.Sprintf("kubectl hubkit stop (prod, to its pod gone): %s; start (to serving): %s", stopped.Round(time.Millisecond), started.Round(time.Millisecond)))
}

// setProdTag sets prod's image tag in Git and applies the render, as a
// user's pipeline does.
func (fx *prodFixture) setProdTag(t *testing.T, tag string) {
	t.Helper()
	next := fx.git
	next.tag = tag
	fx.objs = renderProdForRealNode(t, next)
	require.NoError(t, applier(t).Apply(context.Background(), fx.objs, false))
}

// beforeUpgrade lists the restore points the cluster took before upgrades
// from version from to version to.
func beforeUpgrade(t *testing.T, dyn dynamic.Interface, ns, from, to string) []unstructured.Unstructured {
	t.Helper()
	list, err := dyn.Resource(scenario.VolumeSnapshots).Namespace(ns).List(context.Background(), metav1.ListOptions{LabelSelector: fmt.Sprintf("%s=%s,%s=%s,%s=%s",
		names.RestorePointLabel, names.RestorePointUpgrade, names.HubVersionLabel, from, names.UpgradeToLabel, to)})
	require.NoError(t, err)
	return list.Items
}

// The upgrade with no person's snapshot: the restore-point init container
// takes one after the old version stopped and before the new one starts;
// the rollback (the old tag back, then kubectl hubkit restore) uses it.
func (fx *prodFixture) testPluginUpgrade(t *testing.T) {
	ctx := context.Background()
	ns, hub := fx.prod.Namespace, fx.hub
	dyn, err := dynamic.NewForConfig(e2e.cluster.Config)
	require.NoError(t, err)
	pod := hub.Pod(t)
	require.Equal(t, prodTag, hub.Status(t, pod).Version)
	var kept []standin.Entry
	for i := range 2 {
		kept = append(kept, hub.Append(t, pod, fmt.Sprintf("before the upgrade with no snapshot, %d", i+1)))
	}
	for _, s := range beforeUpgrade(t, dyn, ns, prodTag, nextTag) {
		require.NoError(t, dyn.Resource(scenario.VolumeSnapshots).Namespace(ns).Delete(ctx, s.GetName(), metav1.DeleteOptions{}), "an earlier step's restore point of this upgrade")
	}

	loadImage(t, images.StandinNext(), prodImage+":"+nextTag)
	fx.setProdTag(t, nextTag)
	pod = hub.WaitReplaced(t, pod)
	upgraded := hub.Status(t, pod)
	require.Equal(t, nextTag, upgraded.Version)
	assert.Equal(t, standin.JournalFormatNext, upgraded.Format, "the later version rewrote appData")
	after := hub.Append(t, pod, "written by the later version")

	points := beforeUpgrade(t, dyn, ns, prodTag, nextTag)
	require.Len(t, points, 1, "one restore point, taken by the cluster")
	rp := points[0]
	ready, _, _ := unstructured.NestedBool(rp.Object, "status", "readyToUse")
	assert.True(t, ready)
	assert.Equal(t, names.AppDataClaim, rp.GetLabels()[names.ClaimLabel])
	logs := hub.Logs(pod, names.RestorePointContainer, false)
	assert.Contains(t, logs, fmt.Sprintf("upgrade of claim %s from version %s to %s: a restore point of %s first", names.AppDataClaim, prodTag, nextTag, prodTag))
	assert.Contains(t, logs, "restore point "+rp.GetName()+" ready")
	out, code := hubkit(t, ns, "restore-points")
	assert.Equal(t, hubctl.Done, code)
	assert.Regexp(t, regexp.QuoteMeta(rp.GetName())+`.*\s`+regexp.QuoteMeta(prodTag)+`\s+`+names.RestorePointUpgrade, out)

	// The rollback: the old tag back (the old version refuses the new
	// format), then one command from the cluster's restore point.
	begun := time.Now()
	fx.setProdTag(t, prodTag)
	waitStartRefused(t, hub, pod, "the later version's appData", "journal format 2")
	out, code = hubkit(t, ns, "restore", "--from-snapshot", rp.GetName())
	require.Equal(t, hubctl.Done, code, out)
	took := time.Since(begun)
	pod = hub.Pod(t)
	back := hub.Status(t, pod)
	assert.Equal(t, prodTag, back.Version, "the old version")
	assert.Equal(t, standin.JournalFormat, back.Format, "on its own format")
	hub.AppData = hub.CSIVolumeDir(t)
	assertRestored(t, hub, kept, after)
	assert.Empty(t, hub.Refusals(t), "the guard refused no step, the restore point's included")
	writeFigure(t, "plugin-upgrade-rolled-back", fmt.Sprintf("upgrade rolled back with no person's snapshot: the old tag set back to the old version serving on the cluster's restore point, through kubectl hubkit restore: %s", took.Round(time.Millisecond)))
}

// A restore point that fails stops the upgrade: the later version never
// starts and appData stays the old version's; status says why; the old tag
// back is the way out.
func (fx *prodFixture) testPluginUpgradeStopped(t *testing.T) {
	ctx := context.Background()
	ns, hub := fx.prod.Namespace, fx.hub
	dyn, err := dynamic.NewForConfig(e2e.cluster.Config)
	require.NoError(t, err)
	pod := hub.Pod(t)
	kept := hub.Append(t, pod, "before an upgrade whose restore point fails")
	for _, s := range beforeUpgrade(t, dyn, ns, prodTag, nextTag) {
		require.NoError(t, dyn.Resource(scenario.VolumeSnapshots).Namespace(ns).Delete(ctx, s.GetName(), metav1.DeleteOptions{}))
	}

	// The storage takes no snapshot now: its class is gone.
	classes := dyn.Resource(schema.GroupVersionResource{Group: "snapshot.storage.k8s.io", Version: "v1", Resource: "volumesnapshotclasses"})
	class, err := classes.Get(ctx, "hubkit-csi", metav1.GetOptions{})
	require.NoError(t, err)
	require.NoError(t, classes.Delete(ctx, class.GetName(), metav1.DeleteOptions{}))
	t.Cleanup(func() {
		class.SetResourceVersion("")
		_, err := classes.Create(context.Background(), class, metav1.CreateOptions{})
		assert.NoError(t, err, "the snapshot class back")
	})

	loadImage(t, images.StandinNext(), prodImage+":"+nextTag)
	fx.setProdTag(t, nextTag)
	var held hubctl.Status
	scenario.Until(t, "status to say the restore point failed", 2*time.Minute, func(ctx context.Context) (bool, string, error) {
		s, code := hubkitStatus(t, ns)
		held = s
		return code == hubctl.Unhealthy && len(s.Pods) == 1 && strings.Contains(s.Pods[0].Init, "The upgrade waits, appData untouched"), fmt.Sprintf("%+v", s.Pods), nil
	})
	assert.Contains(t, held.Pods[0].Init, "init container "+names.RestorePointContainer)
	assert.Contains(t, held.Pods[0].Init, fmt.Sprintf("the restore point before the upgrade from %s to %s", prodTag, nextTag))
	later, err := e2e.client.CoreV1().Pods(ns).Get(ctx, held.Pods[0].Name, metav1.GetOptions{})
	require.NoError(t, err)
	for _, c := range later.Status.ContainerStatuses {
		assert.Nil(t, c.State.Running, "%s never started", c.Name)
		assert.Nil(t, c.LastTerminationState.Terminated, "%s never started", c.Name)
	}
	marker, err := os.ReadFile(filepath.Join(hub.AppData, names.VersionMarkerFile))
	require.NoError(t, err)
	assert.Equal(t, prodTag+"\n", string(marker), "appData is the old version's still")
	assert.Equal(t, kept, hub.Journal(t).At(kept.Seq), "its data untouched")

	// The way out the message names: the old tag back.
	fx.setProdTag(t, prodTag)
	pod = hub.WaitReplaced(t, later)
	assert.Equal(t, prodTag, hub.Status(t, pod).Version)
	assert.Equal(t, kept, hub.Journal(t).At(kept.Seq))
	for _, s := range beforeUpgrade(t, dyn, ns, prodTag, nextTag) {
		assert.NoError(t, dyn.Resource(scenario.VolumeSnapshots).Namespace(ns).Delete(ctx, s.GetName(), metav1.DeleteOptions{}), "the failed restore point")
	}
}

// report: one archive with what to look at, and no Secret's value.
func (fx *prodFixture) testPluginReport(t *testing.T) {
	ns := fx.prod.Namespace
	pod := fx.hub.Pod(t)
	file := filepath.Join(t.TempDir(), "report.tar.gz")
	start := time.Now()
	out, code := hubkitAs(t, viewers, ns, "report", "-f", file)
	require.Equal(t, hubctl.Done, code, out)
	writeFigure(t, "plugin-report", fmt.Sprintf("kubectl hubkit report (prod, as a viewer): %s", time.Since(start).Round(time.Millisecond)))
	files := untar(t, file)
	for _, want := range []string{
		"status.json", "events.txt", "secrets.txt",
		"manifests/deployments/" + names.Hub + ".yaml",
		"manifests/pods/" + pod.Name + ".yaml",
		"manifests/persistentvolumeclaims/" + names.AppDataClaim + ".yaml",
		"manifests/configmaps/" + names.GuardParams + ".yaml",
		"manifests/validatingadmissionpolicies/hubkit-restore-points.yaml",
		"logs/" + pod.Name + "/" + names.HubContainer + ".log",
		"logs/" + pod.Name + "/" + names.RestorePointContainer + ".log",
	} {
		assert.Contains(t, files, want)
	}
	assert.NotContains(t, files, "missing.txt", "a viewer reads all of it: %s", files["missing.txt"])
	var s hubctl.Status
	require.NoError(t, json.Unmarshal(files["status.json"], &s))
	assert.True(t, s.Serving)
	assert.Contains(t, string(files["secrets.txt"]), "hbih-certificate-store")
	for name, b := range files {
		assert.False(t, bytes.Contains(b, fx.store), "%s holds the certificate store, a Secret's value", name)
		assert.False(t, bytes.Contains(b, fx.deployment), "%s holds the deployment file, a Secret's value", name)
	}
}

// untar reads a .tar.gz into its files by path.
func untar(t *testing.T, file string) map[string][]byte {
	t.Helper()
	f, err := os.Open(file)
	require.NoError(t, err)
	defer f.Close()
	gz, err := gzip.NewReader(f)
	require.NoError(t, err)
	tr := tar.NewReader(gz)
	files := map[string][]byte{}
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return files
		}
		require.NoError(t, err)
		b, err := io.ReadAll(tr)
		require.NoError(t, err)
		files[h.Name] = b
	}
}
