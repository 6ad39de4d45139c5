package e2e

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/hubkit/hubkit/internal/hubctl"
	"github.com/hubkit/hubkit/internal/names"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/client-go/dynamic"
	"k8s.io/utils/ptr"

	"github.com/hubkit/hubkit/test/cluster"
	"github.com/hubkit/hubkit/test/csidriver"
	"github.com/hubkit/hubkit/test/images"
	"github.com/hubkit/hubkit/test/pins"
	"github.com/hubkit/hubkit/test/render"
	"github.com/hubkit/hubkit/test/scenario"
	"github.com/hubkit/hubkit/test/standin"
)

// backup/ holds what the backups are made of: a Velero Schedule of prod's
// namespace with CSI snapshots, and the runbook's VolumeSnapshot and the
// claim made back from it. Each is applied to the real apiserver with
// Velero's and the snapshot API's own CRDs installed, with no warning (an
// unknown field is one), and holds prod's facts: its namespace, size and
// access mode.
func TestBackupObjectsValidateAgainstTheirCRDs(t *testing.T) {
	// The releases whose own CRDs validate them: Velero's Schedule, and the
	// CSI snapshot API that Velero and the restore runbook use.
	velero, snapshotAPI := pins.Get(t, "VELERO_MODULE"), pins.Get(t, csidriver.SnapshotAPIPin)
	installCRD(t, filepath.Join(moduleDir(t, velero), "config", "crd", "v1", "bases", "velero.io_schedules.yaml"))
	for _, crd := range csidriver.SnapshotCRDs(moduleDir(t, snapshotAPI)) {
		installCRD(t, crd)
	}
	prod := overlayRow(t, "prod")

	t.Run("the Velero Schedule: prod's namespace, CSI snapshots, no file-system backup", func(t *testing.T) {
		out, err := render.Krusty(filepath.Join(e2e.root, "backup", "velero"))
		require.NoError(t, err)
		objs, err := cluster.Objects(out)
		require.NoError(t, err)
		require.Len(t, objs, 1)
		s := objs[0]
		assert.Equal(t, "Schedule", s.GetKind())
		assert.Equal(t, "velero", s.GetNamespace(), "Velero reads Schedules in its own namespace")
		ns, _, _ := unstructured.NestedStringSlice(s.Object, "spec", "template", "includedNamespaces")
		assert.Equal(t, []string{prod.Namespace}, ns)
		snap, _, _ := unstructured.NestedBool(s.Object, "spec", "template", "snapshotVolumes")
		assert.True(t, snap)
		fs, found, _ := unstructured.NestedBool(s.Object, "spec", "template", "defaultVolumesToFsBackup")
		assert.True(t, found && !fs, "a file-system backup needs a pod on the ReadWriteOncePod claim")
		ensureNamespace(t, "velero")
		appliesWithoutWarning(t, objs)
	})

	t.Run("the runbook's VolumeSnapshot and the claim made from it", func(t *testing.T) {
		snapshot := manifests(t, filepath.Join("backup", "restore", "volumesnapshot.yaml"))
		claim := manifests(t, filepath.Join("backup", "restore", "claim-from-snapshot.yaml"))
		for _, o := range append(snapshot, claim...) {
			assert.Equal(t, prod.Namespace, o.GetNamespace())
		}
		c := claim[0]
		storage, _, _ := unstructured.NestedString(c.Object, "spec", "resources", "requests", "storage")
		assert.Equal(t, prod.Storage, storage, "prod's size")
		modes, _, _ := unstructured.NestedStringSlice(c.Object, "spec", "accessModes")
		assert.Equal(t, []string{string(prod.AccessMode)}, modes, "prod's access mode")
		source, _, _ := unstructured.NestedString(c.Object, "spec", "dataSource", "name")
		assert.Equal(t, snapshot[0].GetName(), source, "the claim is made from the runbook's snapshot")
		name, _, _ := unstructured.NestedString(snapshot[0].Object, "spec", "source", "persistentVolumeClaimName")
		assert.Equal(t, c.GetName(), name, "the snapshot is of the claim it restores")
		ensureNamespace(t, prod.Namespace)
		appliesWithoutWarning(t, append(snapshot, claim...))
	})
}

// backup/copy holds kind's facts (namespace, size, access mode), and its
// Jobs run as the Hub (base/deployment.yaml's uid), on the Hub's claim and
// the copy's, saying why they may (the guard's claim-access annotation),
// and apply with no warning (the drill runs them under Pod Security
// "restricted").
func TestCopyObjectsHoldTheKindOverlaysFacts(t *testing.T) {
	kind := overlayRow(t, "kind")
	claim := manifests(t, copyClaimFile)[0]
	storage, _, _ := unstructured.NestedString(claim.Object, "spec", "resources", "requests", "storage")
	assert.Equal(t, kind.Storage, storage, "kind's size")
	modes, _, _ := unstructured.NestedStringSlice(claim.Object, "spec", "accessModes")
	assert.Equal(t, []string{string(kind.AccessMode)}, modes, "kind's access mode")
	var hubUID int64
	for _, o := range rendered(t, kind.Name) {
		if o.GetKind() == "Deployment" {
			hubUID, _, _ = unstructured.NestedInt64(o.Object, "spec", "template", "spec", "securityContext", "runAsUser")
		}
	}
	require.NotZero(t, hubUID)
	objs := []*unstructured.Unstructured{claim}
	for _, f := range []string{copyJobFile, copyRestoreJobFile} {
		job := manifests(t, f)[0]
		objs = append(objs, job)
		assert.Equal(t, kind.Namespace, job.GetNamespace(), f)
		spec, _, _ := unstructured.NestedMap(job.Object, "spec", "template", "spec")
		uid, _, _ := unstructured.NestedInt64(spec, "securityContext", "runAsUser")
		assert.Equal(t, hubUID, uid, "%s runs as the Hub's uid", f)
		reason, _, _ := unstructured.NestedString(job.Object, "spec", "template", "metadata", "annotations", names.ClaimAccessReasonAnnotation)
		assert.NotEmpty(t, reason, "%s says why it mounts the Hub's claim", f)
		volumes, _, _ := unstructured.NestedSlice(spec, "volumes")
		var claims []string
		for _, v := range volumes {
			name, _, _ := unstructured.NestedString(v.(map[string]any), "persistentVolumeClaim", "claimName")
			claims = append(claims, name)
		}
		assert.ElementsMatch(t, []string{names.AppDataClaim, claim.GetName()}, claims, "%s mounts the Hub's claim and the copy's", f)
	}
	for _, f := range []string{copyClaimFile, copyJobFile, copyRestoreJobFile} {
		assert.Contains(t, fileCommands(t, f), "kubectl apply -f "+f, "%s shows how to apply it", f)
	}
	ensureNamespace(t, kind.Namespace)
	appliesWithoutWarning(t, objs)
}

// The restore runbook, as docs/backup.md shows it: the numbered steps
// after the bold line of runbookTitle under "Runbooks", each with the
// commands it shows in code spans (those that start with kubectl), as a user
// types them; a step's bare `kubectl apply -f` applies the file the step
// names (a code span ending in .yaml). The drill runs them as they are, so
// the runbook and the drill are one text.
const runbookTitle = "The runbook: the Hub back from a snapshot"

type runbookStep struct {
	n        int
	text     string
	commands []string
}

var (
	runbookItem = regexp.MustCompile(`^(\d+)\. (.*)$`)
	codeSpan    = regexp.MustCompile("`([^`]+)`")
)

func readmeRunbook(t *testing.T, title string) []runbookStep {
	t.Helper()
	lines := strings.Split(string(readRepoFile(t, "docs/backup.md")), "\n")
	i := slices.IndexFunc(lines, func(l string) bool { return strings.HasPrefix(l, "**"+title+"**") })
	require.GreaterOrEqual(t, i, 0, "docs/backup.md has a runbook %q", title)
	var steps []runbookStep
	for _, l := range lines[i+1:] {
		if m := runbookItem.FindStringSubmatch(l); m != nil {
			n, _ := strconv.Atoi(m[1])
			steps = append(steps, runbookStep{n: n, text: m[2]})
		} else if strings.HasPrefix(l, "   ") && len(steps) > 0 {
			steps[len(steps)-1].text += " " + strings.TrimSpace(l)
		} else if strings.TrimSpace(l) != "" || len(steps) > 0 {
			break
		}
	}
	require.NotEmpty(t, steps, "the runbook %q has numbered steps", title)
	for i := range steps {
		s := &steps[i]
		var file string
		for _, m := range codeSpan.FindAllStringSubmatch(s.text, -1) {
			if strings.HasSuffix(m[1], ".yaml") {
				file = m[1]
			}
		}
		for _, m := range codeSpan.FindAllStringSubmatch(s.text, -1) {
			c := m[1]
			if !strings.HasPrefix(c, "kubectl ") {
				continue
			}
			if c == "kubectl apply -f" {
				require.NotEmpty(t, file, "step %d says kubectl apply -f: of which file?", s.n)
				c += " " + file
			}
			s.commands = append(s.commands, c)
		}
	}
	return steps
}

// fileCommands are the commands a file of backup/ shows in its comments
// (lines "#   kubectl ...").
func fileCommands(t *testing.T, path string) []string {
	t.Helper()
	var out []string
	for _, l := range strings.Split(string(readRepoFile(t, path)), "\n") {
		if c, ok := strings.CutPrefix(l, "#   "); ok && strings.HasPrefix(c, "kubectl ") {
			out = append(out, c)
		}
	}
	require.NotEmpty(t, out, "%s shows how to apply it", path)
	return out
}

// runAsUser runs a command line of the README as a user's shell does, in
// the repository, with the pinned kubectl first on PATH and the cluster's
// kubeconfig, and returns its output; it fails the test if the command does.
func runAsUser(t *testing.T, command string) string {
	t.Helper()
	cmd := exec.Command("sh", "-c", command)
	cmd.Dir = e2e.root
	cmd.Env = append(os.Environ(), "PATH="+filepath.Join(e2e.root, "bin")+":"+os.Getenv("PATH"), "KUBECONFIG="+e2e.cluster.Kubeconfig)
	out, err := cmd.CombinedOutput()
	require.NoError(t, err, "%s: %s", command, out)
	t.Logf("$ %s\n%s", command, bytes.TrimSpace(out))
	return string(out)
}

// takeSnapshot takes the snapshot of the Hub's claim as
// backup/restore/volumesnapshot.yaml shows it, once a snapshot of that name
// from an earlier drill is gone, and returns it ready, with the time from
// the first command to ready to use. The test deletes it when it ends.
func takeSnapshot(t *testing.T, dyn dynamic.Interface, ns string) (*unstructured.Unstructured, time.Duration) {
	t.Helper()
	snapshotFile := filepath.Join("backup", "restore", "volumesnapshot.yaml")
	name := manifests(t, snapshotFile)[0].GetName()
	scenario.WaitObjectGone(t, dyn.Resource(scenario.VolumeSnapshots).Namespace(ns), name)
	start := time.Now()
	for _, c := range fileCommands(t, snapshotFile) {
		runAsUser(t, c)
	}
	snap := scenario.WaitSnapshotReady(t, dyn, ns, name)
	taken := time.Since(start)
	t.Cleanup(func() {
		_ = dyn.Resource(scenario.VolumeSnapshots).Namespace(ns).Delete(context.Background(), name, metav1.DeleteOptions{})
	})
	restoreSize, _, _ := unstructured.NestedString(snap.Object, "status", "restoreSize")
	t.Logf("VolumeSnapshot %s created to ready in %s, restoreSize %s", name, taken.Round(time.Millisecond), restoreSize)
	return snap, taken
}

// deployer is who deploys the Hub while a runbook runs: kubectl alone, or
// a GitOps tool, which a runbook's first step pauses and its last resumes
// (each step names the command for each tool).
type deployer string

const (
	byKubectl deployer = "kubectl"
	byArgoCD  deployer = "Argo CD"
	byFlux    deployer = "Flux"
)

// runs says whether a runbook's command is one for d to run: a command on
// Argo CD's or Flux's namespace is for that tool's users alone.
func (d deployer) runs(command string) bool {
	switch {
	case strings.Contains(command, "-n argocd "):
		return d == byArgoCD
	case strings.Contains(command, "-n flux-system "):
		return d == byFlux
	}
	return true
}

// runRunbook runs the README's runbook called title as written, step by
// step, the commands for who deploys the Hub (d), and returns once the Hub
// serves again after its last step, with the time from its first command.
// After a step that scales the Hub to 0 it waits until the Hub is stopped,
// as the runbook says to, then calls stopped (when not nil) with the Hub
// stopped.
func runRunbook(t *testing.T, hub *scenario.Hub, d deployer, title string, stopped func()) time.Duration {
	t.Helper()
	steps := readmeRunbook(t, title)
	begun := time.Now()
	for _, step := range steps {
		for _, c := range step.commands {
			if d.runs(c) {
				runAsUser(t, c)
			}
		}
		if slices.ContainsFunc(step.commands, func(c string) bool { return strings.Contains(c, "--replicas=0") }) {
			hub.WaitStopped(t)
			if stopped != nil {
				stopped()
			}
		}
	}
	pod := hub.WaitReady(t)
	hub.WaitServing(t, pod)
	return time.Since(begun)
}

// testVolumeLost is the drill of a lost volume, on prod as it runs on the
// real node's CSI storage, with the guard installed: journal entries, a
// snapshot as backup/restore/volumesnapshot.yaml takes it, more entries;
// then the README's runbook run as written: the Hub scaled to 0, the claim
// deleted, made again from the snapshot, the Hub scaled to 1. The Hub
// starts on it with every entry from before the snapshot and none from
// after; the guard allowed every step, and refused a restore Job on the
// claim without the claim-access annotation; appdata-defaults copied
// nothing over the restored data, and the managed settings are Git's
// (gitSettings) again, as at every start.
//
// Deployed by a GitOps tool (d), the runbook pauses and resumes it, and the
// guard is the tool's to have installed.
func testVolumeLost(t *testing.T, hub *scenario.Hub, d deployer, gitSettings []byte) {
	ctx := context.Background()
	ns := hub.Namespace
	if d == byKubectl {
		installGuard(t, ns)
	} else {
		waitForGuard(t, ns)
	}
	dyn, err := dynamic.NewForConfig(e2e.cluster.Config)
	require.NoError(t, err)

	pod := hub.Pod(t)
	lost := hub.Volume(t)
	var kept []standin.Entry
	for i := range 3 {
		kept = append(kept, hub.Append(t, pod, fmt.Sprintf("before the snapshot, %d", i+1)))
	}
	ui := []byte(`{"directories": {"appData": "/usr/local/highbyte/appData"}, "settings": {"changed": "in the UI, before the snapshot"}}`)
	hub.PutSettings(t, pod, ui)
	template := "intelligencehub-systemvariables.json.template"
	require.NoError(t, os.WriteFile(filepath.Join(hub.AppData, template), []byte("[]\n"), 0o640), "a file of the image's defaults, changed on the claim")

	snap, taken := takeSnapshot(t, dyn, ns)
	restoreSize, _, _ := unstructured.NestedString(snap.Object, "status", "restoreSize")
	after := hub.Append(t, pod, "after the snapshot")

	// The volume is lost: what the runbook is for. Its steps, as written.
	claimFile := filepath.Join("backup", "restore", "claim-from-snapshot.yaml")
	require.True(t, slices.ContainsFunc(readmeRunbook(t, runbookTitle), func(s runbookStep) bool { return slices.Contains(s.commands, "kubectl apply -f "+claimFile) }),
		"a step applies %s", claimFile)
	restored := runRunbook(t, hub, d, runbookTitle, func() {
		// A restore the other way, a Job copying files onto the claim,
		// is the guard's to refuse unless it says why it may.
		job := &batchv1.Job{
			ObjectMeta: metav1.ObjectMeta{Name: "restore-files", Namespace: ns},
			Spec: batchv1.JobSpec{BackoffLimit: ptr.To[int32](0), Template: corev1.PodTemplateSpec{Spec: func() corev1.PodSpec {
				s := restrictedPod("restore", claimVolume(names.AppDataClaim))
				s.RestartPolicy = corev1.RestartPolicyNever
				return s
			}()}},
		}
		_, err := e2e.client.BatchV1().Jobs(ns).Create(ctx, job, metav1.CreateOptions{})
		require.NoError(t, err)
		waitForRefusedPod(t, ns, "involvedObject.kind=Job,involvedObject.name="+job.Name)
		require.NoError(t, e2e.client.BatchV1().Jobs(ns).Delete(ctx, job.Name, metav1.DeleteOptions{PropagationPolicy: ptr.To(metav1.DeletePropagationBackground)}))
	})
	pod = hub.Pod(t)

	restoredVolume := hub.Volume(t)
	assert.NotEqual(t, lost.Spec.CSI.VolumeHandle, restoredVolume.Spec.CSI.VolumeHandle, "a new volume")
	claim, err := e2e.client.CoreV1().PersistentVolumeClaims(ns).Get(ctx, names.AppDataClaim, metav1.GetOptions{})
	require.NoError(t, err)
	require.NotNil(t, claim.Spec.DataSource)
	assert.Equal(t, snap.GetName(), claim.Spec.DataSource.Name, "made from the snapshot")
	hub.AppData = hub.CSIVolumeDir(t)
	assertRestored(t, hub, kept, after)
	b, err := os.ReadFile(filepath.Join(hub.AppData, template))
	require.NoError(t, err)
	assert.Equal(t, "[]\n", string(b), "appdata-defaults copied nothing over the restored data")
	assert.Equal(t, standin.Digest(gitSettings), hub.Status(t, pod).Loaded.SettingsSHA256, "managed: Git's settings, not the snapshot's")
	assert.Empty(t, hub.Refusals(t))

	t.Logf("%s: volume lost: restored by the runbook, the Hub serving %s after its first command", d, restored.Round(time.Millisecond))
	if d != byKubectl {
		return
	}
	writeFigure(t, "restore-snapshot-ready", fmt.Sprintf("VolumeSnapshot of prod's claim (%s) created to readyToUse in %s, applied and waited for as backup/restore/volumesnapshot.yaml shows",
		restoreSize, taken.Round(time.Millisecond)))
	writeFigure(t, "restore-volume-lost", fmt.Sprintf("volume lost: the README's runbook from its first command (scale to 0) to the Hub serving on the claim made from the snapshot: %s",
		restored.Round(time.Millisecond)))
}

// assertRestored wants the Hub's journal to hold every entry of kept, as
// acknowledged, and none with the text of after: the data as it was when
// the backup was taken.
func assertRestored(t *testing.T, hub *scenario.Hub, kept []standin.Entry, after standin.Entry) {
	t.Helper()
	journal := hub.Journal(t)
	for _, e := range kept {
		assert.Equal(t, e, journal.At(e.Seq), "an entry from before the backup is back")
	}
	assert.False(t, slices.ContainsFunc(journal, func(e standin.Entry) bool { return e.Text == after.Text }), "no entry from after the backup: %v", journal)
}

// testUpgradeRolledBack is the drill of an upgrade rolled back, on prod on
// the real node's CSI storage. A snapshot before the upgrade, as the README
// says to take; the image's tag raised in Git (setTag) to a later version
// (images.StandinNext) that rewrites appData's journal in its own format;
// then the runbook: its first step, the old tag set back in Git, on which
// the old version refuses to start (the new format is not its: what the
// snapshot is for), then the rest as written. The old version starts on
// its own data: every entry from before the snapshot, none the later
// version wrote.
func testUpgradeRolledBack(t *testing.T, hub *scenario.Hub, d deployer, setTag func(tag string)) {
	ns := hub.Namespace
	dyn, err := dynamic.NewForConfig(e2e.cluster.Config)
	require.NoError(t, err)
	steps := readmeRunbook(t, runbookTitle)
	require.Contains(t, steps[0].text, "old image tag", "the runbook's first step is the upgrade's: the old tag back in Git")
	require.Empty(t, steps[0].commands, "a change in Git, not a command")

	pod := hub.Pod(t)
	old := hub.Status(t, pod)
	require.Equal(t, prodTag, old.Version)
	require.Equal(t, standin.JournalFormat, old.Format)
	var kept []standin.Entry
	for i := range 2 {
		kept = append(kept, hub.Append(t, pod, fmt.Sprintf("before the upgrade, %d", i+1)))
	}
	takeSnapshot(t, dyn, ns)

	// The upgrade: a later version, which migrates appData as it starts.
	loadImage(t, images.StandinNext(), prodImage+":"+nextTag)
	setTag(nextTag)
	pod = hub.WaitReplaced(t, pod)
	upgraded := hub.Status(t, pod)
	assert.Equal(t, nextTag, upgraded.Version)
	assert.Equal(t, standin.JournalFormatNext, upgraded.Format, "the later version rewrote the journal in its format")
	after := hub.Append(t, pod, "written by the later version")

	// The runbook's first step: the old tag back in Git. The old version
	// cannot read what the later one wrote.
	begun := time.Now()
	setTag(prodTag)
	waitStartRefused(t, hub, pod, "the later version's appData", "journal format 2")
	runRunbook(t, hub, d, runbookTitle, nil)
	pod = hub.Pod(t)
	back := hub.Status(t, pod)
	assert.Equal(t, prodTag, back.Version, "the old version")
	assert.Equal(t, standin.JournalFormat, back.Format, "on its own format")
	hub.AppData = hub.CSIVolumeDir(t)
	assertRestored(t, hub, kept, after)
	assert.Empty(t, hub.Refusals(t))
	took := time.Since(begun)
	t.Logf("%s: upgrade rolled back: the Hub serving its old version on the snapshot %s after the old tag was set back", d, took.Round(time.Millisecond))
	if d != byKubectl {
		return
	}
	writeFigure(t, "restore-upgrade-rolled-back", fmt.Sprintf("upgrade rolled back: the old tag set back in Git to the old version serving on the claim made from the pre-upgrade snapshot, by the README's runbook: %s",
		took.Round(time.Millisecond)))
}

// The README's runbooks for clusters without CSI snapshots (backup/copy).
const (
	copyRunbookTitle   = "The runbook: a copy without CSI snapshots"
	copyRestoreTitle   = "The runbook: the Hub back from the copy"
	copyClaimFile      = "backup/copy/claim.yaml"
	copyJobFile        = "backup/copy/copy-job.yaml"
	copyRestoreJobFile = "backup/copy/restore-job.yaml"
)

// testCopyWithoutSnapshots is the drill of the backup of a cluster without
// CSI snapshots, on the kind overlay on kind's own local-path storage, with
// the guard installed: journal entries; the README's copy runbook as
// written (the Hub scaled to 0, backup/copy's claim and Job, the Hub
// scaled to 1); more entries; the restore runbook as written. The copy's
// claim holds the Hub's files as they were at 0 replicas, the guard
// admitted both Jobs for their claim-access annotation, and the Hub starts
// on the restored data: every entry from before the copy, none from after.
//
// Deployed by a GitOps tool (d), the runbooks pause and resume it, and the
// guard is the tool's to have installed: the tool reports the Hub as Git
// has it afterwards, its claim the one it had before (nothing re-created).
func testCopyWithoutSnapshots(t *testing.T, hub *scenario.Hub, d deployer) {
	ns := hub.Namespace
	if d == byKubectl {
		installGuard(t, ns)
	} else {
		waitForGuard(t, ns)
	}
	jobs := append(manifests(t, copyJobFile), manifests(t, copyRestoreJobFile)...)
	for _, j := range jobs {
		require.Equal(t, ns, j.GetNamespace(), "%s is in the kind overlay's namespace", j.GetName())
		containers, _, err := unstructured.NestedSlice(j.Object, "spec", "template", "spec", "containers")
		require.NoError(t, err)
		loadImage(t, images.Busybox(), containers[0].(map[string]any)["image"].(string)) // never pulled
	}
	// The copy's claim is the kind overlay's own (components/restore-point-copy):
	// it goes with the overlay.
	t.Cleanup(func() {
		bg := metav1.DeletePropagationBackground
		for _, j := range jobs {
			_ = e2e.client.BatchV1().Jobs(ns).Delete(context.Background(), j.GetName(), metav1.DeleteOptions{PropagationPolicy: &bg})
		}
	})

	pod := hub.Pod(t)
	var kept []standin.Entry
	for i := range 2 {
		kept = append(kept, hub.Append(t, pod, fmt.Sprintf("before the copy, %d", i+1)))
	}
	copied := runRunbook(t, hub, d, copyRunbookTitle, nil)
	inCopy := copyJournal(t, ns)
	for _, e := range kept {
		assert.Contains(t, inCopy, e, "the copy has an entry from before it")
	}

	pod = hub.Pod(t)
	after := hub.Append(t, pod, "after the copy")
	restored := runRunbook(t, hub, d, copyRestoreTitle, nil)
	assertRestored(t, hub, kept, after)
	assert.Empty(t, hub.Refusals(t), "no second writer: the Jobs ran with the Hub at 0")

	t.Logf("%s: copy taken in %s, restored in %s (each from its runbook's first command to the Hub serving)", d, copied.Round(time.Millisecond), restored.Round(time.Millisecond))
	if d != byKubectl {
		return
	}

	// The same two runbooks through kubectl hubkit, with their roles.
	grantPluginRoles(t)
	out, code := hubkit(t, ns, "snapshot")
	assert.Equal(t, hubctl.Refused, code, "no CSI snapshots here")
	assert.Contains(t, out, "take the copy instead: kubectl hubkit copy")
	for _, rb := range []struct{ title, args string }{{copyRunbookTitle, "copy"}, {copyRestoreTitle, "restore --from-copy"}} {
		out, code := hubkit(t, ns, append(strings.Fields(rb.args), "--dry-run")...)
		assert.Equal(t, hubctl.Done, code)
		for _, st := range readmeRunbook(t, rb.title) {
			for _, c := range st.commands {
				if byKubectl.runs(c) {
					assert.Contains(t, out, c+"\n", "kubectl hubkit %s --dry-run prints the runbook's step %d", rb.args, st.n)
				}
			}
		}
	}
	pod = hub.Pod(t)
	var again []standin.Entry
	for i := range 2 {
		again = append(again, hub.Append(t, pod, fmt.Sprintf("before kubectl hubkit copy, %d", i+1)))
	}
	start := time.Now()
	out, code = hubkit(t, ns, "copy")
	require.Equal(t, hubctl.Done, code, out)
	pluginCopied := time.Since(start)
	pod = hub.Pod(t)
	after = hub.Append(t, pod, "after kubectl hubkit copy")
	start = time.Now()
	out, code = hubkit(t, ns, "restore", "--from-copy")
	require.Equal(t, hubctl.Done, code, out)
	pluginRestored := time.Since(start)
	assertRestored(t, hub, append(kept, again...), after)
	assert.Empty(t, hub.Refusals(t))
	writeFigure(t, "plugin-copy", fmt.Sprintf("kubectl hubkit copy (kind's local-path): %s; restore --from-copy: %s", pluginCopied.Round(time.Millisecond), pluginRestored.Round(time.Millisecond)))
	writeFigure(t, "copy-taken", fmt.Sprintf("a copy without CSI snapshots (kind's local-path): the README's runbook from its first command (scale to 0) to the Hub serving again, the copy taken: %s", copied.Round(time.Millisecond)))
	writeFigure(t, "copy-restored", fmt.Sprintf("the Hub back from the copy (kind's local-path): the README's runbook from its first command to the Hub serving on the restored data: %s", restored.Round(time.Millisecond)))
}

// copyJournal reads the Hub's journal in the copy on the copy's claim
// (backup/copy's, on kind's local-path).
func copyJournal(t *testing.T, ns string) []standin.Entry {
	t.Helper()
	ctx := context.Background()
	claim, err := e2e.client.CoreV1().PersistentVolumeClaims(ns).Get(ctx, manifests(t, copyClaimFile)[0].GetName(), metav1.GetOptions{})
	require.NoError(t, err)
	pv, err := e2e.client.CoreV1().PersistentVolumes().Get(ctx, claim.Spec.VolumeName, metav1.GetOptions{})
	require.NoError(t, err)
	f, err := os.Open(filepath.Join(localPathVolume(t, pv), "appData", standin.JournalFile))
	require.NoError(t, err, "the copy holds the Hub's journal")
	defer f.Close()
	entries, _, _, err := standin.ReadJournal(f)
	require.NoError(t, err)
	return entries
}
