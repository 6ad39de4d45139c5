package e2e

import (
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	hubfiles "github.com/hubkit/hubkit/internal/hub"
	"github.com/hubkit/hubkit/internal/hubctl"
	"github.com/hubkit/hubkit/internal/names"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	kubeletconfig "k8s.io/kubelet/config/v1beta1"

	"github.com/hubkit/hubkit/internal/image"
	"github.com/hubkit/hubkit/test/images"
	"github.com/hubkit/hubkit/test/scenario"
	"github.com/hubkit/hubkit/test/standin"
)

// The real node's scenarios: the kind overlay, rendered by the function and
// otherwise unchanged, runs the Hub stand-in (tagged as the overlay's image)
// on a real kubelet. The fixture, the Hub the first step deploys, is
// built once; each step then starts from where the one before left it.
// Node loss, the one step that does not give its node back, runs on a node
// of its own.
func TestRealNode(t *testing.T) {
	requireRealNode(t)
	r := realNodeFixture(t)
	t.Run("the function's image imports into containerd", testFunctionImageImports)
	t.Run("the kind overlay runs: restricted, the Hub's uid, read-only root, claim written, probes, endpoints, node port", r.kindRuns)
	t.Run("ReadWriteOncePod holds on kind's local-path too: a second pod on the claim is never scheduled while the Hub runs", r.secondWriterUnscheduled)
	t.Run("seeded settings: Git's on a fresh claim, the Hub's own change kept across a restart, the image's defaults never copied over", r.seededSettings)
	t.Run("without CSI snapshots: the runbooks copy appData at 0 replicas with backup/copy's Job and restore it, the guard admitting both", r.copyWithoutSnapshots)
	t.Run("kill -9: the kubelet restarts the Hub in place, every journal entry kept, never two writers", r.crash)
	t.Run("pod deletion: the replacement starts only once the old process is gone", r.deletion)
	t.Run("a Recreate rollout to a new tag: the old process is gone before the new starts", r.rollout)
	t.Run("node restart: the Hub comes back with its data", r.nodeRestart)
	t.Run("on ReadWriteOnce a second writer starts: Recreate with a deleted pod, and RollingUpdate", r.readWriteOnce)
	t.Run("node loss, on a node of its own: NotReady after the grace period, the replacement held while the lost pod may still write, replaced once kubectl hubkit node-lost declares the node out of service (refused for a Ready node); node-back removes the taint once the node is back (refused before)", r.nodeLoss)
}

// realNodeFixture is TestRealNode's fixture before its first step: pods on
// real nodes only, kind's storage, the kind overlay rendered and its image
// (the stand-in's, under the overlay's name) in the node's containerd.
func realNodeFixture(t *testing.T) *realHub {
	onlyRealNode(t)
	useKindStorage(t, e2e.cluster.Node)
	kind := rendered(t, "kind")
	ref := hubImage(t, kind)
	loadStandin(t, ref)
	return &realHub{kind: kind, ref: ref}
}

// testFunctionImageImports imports the function's image into the real
// node's containerd, which refuses an image whose config lacks
// rootfs.diff_ids.
func testFunctionImageImports(t *testing.T) {
	ref, tar, err := buildImage(context.Background(), image.Function(), "v0.0.0-e2e")
	require.NoError(t, err)
	require.NoError(t, e2e.cluster.Node.Import(context.Background(), tar), "containerd refuses an image whose config lacks rootfs.diff_ids")
	require.NoError(t, e2e.cluster.Node.HasImage(context.Background(), ref))
}

func (r *realHub) secondWriterUnscheduled(t *testing.T) {
	assertSecondWriterUnscheduled(t, r.hub.Pod(t))
}

func (r *realHub) copyWithoutSnapshots(t *testing.T) { testCopyWithoutSnapshots(t, r.hub, byKubectl) }

// realHub is TestRealNode's fixture: the Hub deployed on the real node,
// for the steps that follow its deployment.
type realHub struct {
	kind []*unstructured.Unstructured // the kind overlay, rendered
	ref  string                       // the image it runs the Hub from
	objs []*unstructured.Unstructured // what is deployed now
	hub  *scenario.Hub                // with the claim's directory on the host
}

// kindRuns applies the kind overlay as a kind user does, its claim
// provisioned by kind's own storage (useKindStorage).
func (r *realHub) kindRuns(t *testing.T) {
	objs := r.kind
	ctx := context.Background()
	kind := overlayRow(t, "kind")
	require.NoError(t, applier(t).Apply(ctx, objs, false))
	hub := hubIn(kind.Namespace)
	r.objs, r.hub = objs, hub
	volume := hub.WaitBound(t)
	hub.AppData = localPathVolume(t, volume)
	pod := hub.WaitReady(t)

	// kind's local-path-provisioner took the claim: ReadWriteOncePod (the
	// mode is its to accept or refuse), kind's default class, a directory
	// of the Hub's node that its helper pod made world-writable.
	assert.Equal(t, "rancher.io/local-path", volume.Annotations["pv.kubernetes.io/provisioned-by"])
	assert.Equal(t, "standard", volume.Spec.StorageClassName, "kind's default class")
	assert.Equal(t, []corev1.PersistentVolumeAccessMode{kind.AccessMode}, volume.Spec.AccessModes)
	assert.Equal(t, kind.Storage, volume.Spec.Capacity.Storage().String())
	require.NotNil(t, volume.Spec.NodeAffinity, "a local volume is its node's")
	dirInfo, err := os.Stat(hub.AppData)
	require.NoError(t, err)
	assert.Equal(t, os.ModeDir|0o777, dirInfo.Mode(), "the helper's setup: mkdir -m 0777")
	assert.Equal(t, e2e.cluster.Node.Name(), pod.Spec.NodeName, "the Hub runs on the real node")
	hub.WaitServing(t, pod)

	// The probes the function gives the Hub ran on the kubelet and passed:
	// the pod is Ready (WaitReady), which it is only once the startup probe
	// and then the readiness probe passed; the liveness probe never
	// restarted it.
	i := slices.IndexFunc(pod.Spec.Containers, func(c corev1.Container) bool { return c.Name == names.HubContainer })
	require.GreaterOrEqual(t, i, 0, "the pod has a container %s", names.HubContainer)
	c := pod.Spec.Containers[i]
	assert.NotNil(t, c.StartupProbe, "the Hub has a startup probe")
	assert.NotNil(t, c.ReadinessProbe, "the Hub has a readiness probe")
	assert.NotNil(t, c.LivenessProbe, "the Hub has a liveness probe")
	assert.Zero(t, pod.Status.ContainerStatuses[0].RestartCount, "the liveness probe never restarted it")

	pid := hub.PID(t, pod)
	status, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	require.NoError(t, err)
	uid := strconv.Itoa(hubfiles.UID)
	assert.Regexp(t, `(?m)^Uid:\s+`+uid+`\s+`+uid+`\s+`+uid+`\s+`+uid+`$`, string(status), "runs as the Hub's uid")
	assert.Regexp(t, `(?m)^Groups:.*\b`+uid+`\b`, string(status), "fsGroup, the Hub's uid, is a supplementary group")
	assert.True(t, mountHas(t, pid, "/", "ro"), "the root filesystem is mounted read-only")

	// The claim, written by the Hub: fsGroup does not apply to local-path's
	// hostPath volumes (the kubelet changes no ownership on them), so the
	// directory stays the helper's, root's and world-writable, and the
	// Hub's files are its own uid's.
	var fi syscall.Stat_t
	require.NoError(t, syscall.Stat(filepath.Join(hub.AppData, standin.JournalFile), &fi))
	assert.EqualValues(t, hubfiles.UID, fi.Uid, "the Hub wrote its journal as its uid")
	first := hub.Journal(t).At(1)
	ref := hubImage(t, objs)
	assert.Contains(t, first.Text, "start version=", "the stand-in's first entry")
	assert.Contains(t, first.Text, ref[strings.LastIndex(ref, ":")+1:], "it runs as the overlay's image tag")

	// The node port on the node, through kube-proxy's rules (written a
	// moment after the EndpointSlice, so asked until they are).
	url := nodePortURL(t)
	client := &http.Client{Timeout: 2 * time.Second}
	var body string
	scenario.Until(t, "the node port to answer at "+url, 30*time.Second, func(ctx context.Context) (bool, string, error) {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
		if err != nil {
			return false, "", err
		}
		resp, err := client.Do(req)
		if err != nil {
			return false, "", err
		}
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		body = string(b)
		return resp.StatusCode == http.StatusOK, fmt.Sprintf("%s: %q", resp.Status, b), err
	})
	assert.Contains(t, body, "Intelligence Hub stand-in")
}

// crashOnce kills the Hub's process from the host, as a JVM dies, and
// returns the crash's timeline, from the kill to the Service serving it
// again (the restarted container Ready, the EndpointSlice listing it ready)
// and its node port answering.
func crashOnce(t *testing.T, hub *scenario.Hub, label string) crashTimeline {
	t.Helper()
	pod := hub.Pod(t)
	before := hub.Append(t, pod, label)
	w := watchCrash(t, hub, pod, nodePortURL(t))
	// A crash comes at any moment: the kill waits a random part of a second,
	// so that it falls anywhere on the kubelet's 1 s clocks (its PLEG relist,
	// its sync tick, the probes' periods) rather than where the last step
	// left the test, a fixed moment after one of them.
	time.Sleep(rand.N(time.Second))
	w.arm()
	killed := hub.Kill(t, pod)
	back := hub.WaitRestarted(t, pod)
	tl := w.timeline(t, pod, back, killed)
	last := back.Status.ContainerStatuses[0].LastTerminationState.Terminated
	require.NotNil(t, last)
	assert.EqualValues(t, 137, last.ExitCode, "the last exit was the SIGKILL, not a refused second writer (%d)", standin.ExitLockHeld)
	assert.Equal(t, before, hub.Journal(t).At(before.Seq), "the entry acknowledged before the kill survived it")
	return tl
}

// nodePortURL is the kind overlay's node port on the real node.
func nodePortURL(t *testing.T) string {
	return fmt.Sprintf("http://%s:%d/", e2e.cluster.Node.IP(), overlayRow(t, "kind").NodePort)
}

// firstCrashes is how many first crashes (no backoff yet) the scenario
// measures for its figures, each of a new pod (samples).
const firstCrashes = 10

func servingTimes(tls []crashTimeline) []time.Duration {
	var ds []time.Duration
	for _, tl := range tls {
		ds = append(ds, tl.total())
	}
	return ds
}

// freshPod replaces the Hub's pod (deleted, the Deployment makes the next)
// and waits until the replacement serves: a container that has never
// crashed has no backoff yet. (A kubelet restart forgets the backoff too,
// but a container it sees started in the 10 s before it is probed again
// from its start, its startup probe first: the pod goes unready a moment
// after the new kubelet first reports it ready.)
func freshPod(t *testing.T, hub *scenario.Hub) {
	t.Helper()
	old := hub.Pod(t)
	hub.DeletePod(t, old)
	hub.WaitServing(t, hub.WaitReplaced(t, old))
}

func (r *realHub) crash(t *testing.T) {
	ctx := context.Background()
	hub := r.hub
	require.NotNil(t, hub, "the kind overlay's scenario deployed the Hub")
	// As a cluster runs by default: the first crash restarts at once, a
	// second within minutes waits out CrashLoopBackOff's first step (10s).
	first := crashOnce(t, hub, "before the first crash")
	second := crashOnce(t, hub, "before a second crash")
	t.Logf("default kubelet: first crash %s, second %s", first.total().Round(time.Millisecond), second.total().Round(time.Millisecond))
	report(t, "real-crash-default-backoff", []time.Duration{first.total(), second.total()})
	writeTimeline(t, "real-second-crash-timeline", "A second crash within minutes, kubelet defaults", []crashTimeline{second})

	// More first crashes, each of a new pod.
	firsts := []crashTimeline{first}
	for i := 1; i < samples(firstCrashes); i++ {
		freshPod(t, hub)
		firsts = append(firsts, crashOnce(t, hub, fmt.Sprintf("before first crash %d", i+1)))
	}
	report(t, "real-first-crash", servingTimes(firsts))
	writeTimeline(t, "real-first-crash-timeline", "First crashes, kubelet defaults", firsts)

	// With the kubelet's crash-loop backoff capped at 1s (1.36:
	// crashLoopBackOff.maxContainerRestartPeriod, beta), the repeats, of a
	// pod the new kubelet started.
	require.NoError(t, e2e.cluster.Node.ReconfigureKubelet(ctx, func(c *kubeletconfig.KubeletConfiguration) {
		c.CrashLoopBackOff.MaxContainerRestartPeriod = &metav1.Duration{Duration: time.Second}
	}))
	t.Cleanup(func() { require.NoError(t, e2e.cluster.Node.ReconfigureKubelet(ctx, nil)) })
	freshPod(t, hub)
	var capped []crashTimeline
	for i := range samples(crashes) {
		capped = append(capped, crashOnce(t, hub, fmt.Sprintf("before crash %d", i+1)))
	}
	report(t, "real-crash-to-serving", servingTimes(capped))
	writeTimeline(t, "real-crash-timeline", "Repeated crashes, crashLoopBackOff.maxContainerRestartPeriod: 1s", capped)
	writeTimelineTable(t, "real-crash-timeline-table", firsts, capped)
	assert.Empty(t, hub.Refusals(t), "the lock was never contended")
}

func (r *realHub) deletion(t *testing.T) {
	hub := r.hub
	pod := hub.Pod(t)
	before := hub.Append(t, pod, "before the pod's deletion")
	pw := hub.Watch(t)
	hub.DeletePod(t, pod)
	next := hub.WaitReady(t)
	require.NotEqual(t, pod.UID, next.UID)
	hub.WaitServing(t, next)
	pw.SawRunning(t, next)
	assert.Equal(t, 1, pw.MostRunning(), "two Hub pods ran at once; events: %s", pw.Events())
	assert.Empty(t, hub.Refusals(t), "no second writer was ever started")
	journal := hub.Journal(t)
	assert.Equal(t, before, journal.At(before.Seq))
	// The old process wrote its "stop" (after its slow SIGTERM) before the
	// new one wrote its "start".
	stop, start := journal.FirstAfter(before.Seq, "stop "), journal.FirstAfter(before.Seq, "start ")
	require.NotZero(t, stop, "the old process stopped cleanly")
	assert.Less(t, stop, start, "the old process stopped before the new one started")
}

func (r *realHub) rollout(t *testing.T) {
	ref := r.ref
	next := ref[:strings.LastIndex(ref, ":")] + ":rollout"
	loadStandin(t, next)
	hub := r.hub
	old := hub.Pod(t)
	before := hub.Append(t, old, "before the rollout")
	hub.SetImage(t, next)
	pod := hub.WaitReplaced(t, old)
	journal := hub.Journal(t)
	assert.Equal(t, before, journal.At(before.Seq), "data intact")
	// No CSI snapshots here: the restore-point init container copied the
	// old version's appData onto the copy's claim before the new one ran.
	logs := hub.Logs(pod, names.RestorePointContainer, false)
	assert.Contains(t, logs, "appData is now version rollout's", "a copy before the new tag ran: %s", logs)
	copied := copyJournal(t, hub.Namespace)
	assert.Contains(t, copied, before, "the copy holds what the old version wrote")
	assert.Contains(t, journal.Last(1).Text, "start version=rollout", "the new version started last")
	assert.Contains(t, journal.Last(2).Text, "stop ", "right after the old one stopped")
	assert.Empty(t, hub.Refusals(t), "the lock was never contended")
}

func (r *realHub) nodeRestart(t *testing.T) {
	hub := r.hub
	pod := hub.Pod(t)
	before := hub.Append(t, pod, "before the node's restart")
	start := time.Now()
	require.NoError(t, e2e.cluster.Node.Restart(context.Background()))
	hub.WaitStartedSince(t, start)
	t.Logf("node restart: the Hub served again %s after the reboot began", time.Since(start).Round(time.Millisecond))
	journal := hub.Journal(t)
	assert.Equal(t, before, journal.At(before.Seq), "the Hub came back with its data")
	assert.Contains(t, journal.Last(1).Text, "start ", "a new process started after the reboot")
	assert.Empty(t, hub.Refusals(t))
}

// readWriteOnce shows what ReadWriteOncePod and Recreate prevent,
// by deploying the overlay with the claim made ReadWriteOnce (one node,
// not one pod), as it was before: the stand-in's lock refuses the second
// writer that Kubernetes then starts on the same claim.
//   - Recreate, and the pod deleted: the ReplicaSet's replacement starts
//     beside the old pod while it still shuts down (a JVM's slow SIGTERM);
//     this is why every overlay's claim is ReadWriteOncePod.
//   - RollingUpdate (what the function's rollout rule removes), and a new
//     template: the new pod starts before the old one stops.
func (r *realHub) readWriteOnce(t *testing.T) {
	objs := r.kind
	ctx := context.Background()
	for _, tc := range []struct {
		name     string
		strategy string
		act      func(t *testing.T)
	}{
		{"Recreate, the pod deleted", "Recreate", func(t *testing.T) {
			hub := r.hub
			hub.DeletePod(t, hub.Pod(t))
		}},
		{"RollingUpdate, a new template", "RollingUpdate", func(t *testing.T) {
			r.hub.RolloutRestart(t)
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			undeploy(t, r.objs)
			var rwo []*unstructured.Unstructured
			for _, o := range objs {
				o = o.DeepCopy()
				switch o.GetKind() {
				case "Deployment":
					require.NoError(t, unstructured.SetNestedMap(o.Object, map[string]any{"type": tc.strategy}, "spec", "strategy"))
					// A slow SIGTERM (20 s, within the 30 s grace period): the old
					// process still holds appData while its replacement gets
					// through its init containers and starts.
					containers, _, err := unstructured.NestedSlice(o.Object, "spec", "template", "spec", "containers")
					require.NoError(t, err)
					hub := containers[0].(map[string]any)
					hub["env"] = append(asSlice(hub["env"]), map[string]any{"name": "HUBKIT_STANDIN_SHUTDOWN_DELAY", "value": "20s"})
					require.NoError(t, unstructured.SetNestedSlice(o.Object, containers, "spec", "template", "spec", "containers"))
				case "PersistentVolumeClaim":
					require.NoError(t, unstructured.SetNestedStringSlice(o.Object, []string{"ReadWriteOnce"}, "spec", "accessModes"))
				}
				rwo = append(rwo, o)
			}
			dirs := provideLocal(t, rwo)
			hub := hubIn(overlayRow(t, "kind").Namespace)
			hub.AppData = dirs[names.AppDataClaim]
			r.objs, r.hub = rwo, hub
			require.NoError(t, applier(t).Apply(ctx, rwo, false))
			hub.WaitReady(t)
			require.Empty(t, hub.Refusals(t))
			tc.act(t)
			scenario.Until(t, "a second writer on the ReadWriteOnce claim, refused by the stand-in's lock", time.Minute,
				func(ctx context.Context) (bool, string, error) {
					return hub.Refusals(t) != "", hub.State(ctx), nil
				})
			t.Logf("second writer refused by the lock: %s", strings.TrimSpace(hub.Refusals(t)))
		})
	}
}

// nodeLoss loses a real node of the test's own for good with the
// Hub on it, on a volume that another node can mount (a network disk's
// role; kwok's nodes mount nothing, so a hostPath plays it), and follows
// what Kubernetes does with its defaults, then the documented fast path.
// The Hub is then deleted with its volume, and the lost node removed.
func (r *realHub) nodeLoss(t *testing.T) {
	objs, ref := r.kind, r.ref
	ctx := context.Background()
	ns := overlayRow(t, "kind").Namespace
	if r.objs != nil {
		undeploy(t, r.objs)
	}
	_, tar, err := buildImage(ctx, images.Standin(), ref)
	require.NoError(t, err)
	_, restorePointTar, err := buildImage(ctx, image.RestorePoint(), restorePointImage)
	require.NoError(t, err)
	own := nodesOfItsOwn(t, 1, tar, restorePointTar)[0]
	var dir string
	for _, o := range objs {
		if o.GetKind() != "PersistentVolumeClaim" {
			continue
		}
		// Each claim a disk of its own (the Hub's, and the copy's).
		d, err := own.VolumeDir(fmt.Sprintf("e2e-node-loss-%s-%d", o.GetName(), time.Now().UnixNano()))
		require.NoError(t, err)
		require.NoError(t, os.Chown(d, hubfiles.UID, hubfiles.UID), "fsGroup does not apply to hostPath: the disk is the Hub's")
		createVolumeFor(t, o, filepath.Base(d), corev1.PersistentVolumeSource{HostPath: &corev1.HostPathVolumeSource{Path: d}}, nil)
		if o.GetName() == names.AppDataClaim {
			dir = d
		}
	}
	require.NotEmpty(t, dir, "the kind overlay's claim %s", names.AppDataClaim)
	hub := hubIn(ns)
	hub.AppData = dir
	r.objs, r.hub = objs, hub
	require.NoError(t, applier(t).Apply(ctx, objs, false))
	t.Cleanup(func() { undeploy(t, objs) })
	lost := hub.WaitReady(t)
	require.Equal(t, own.Name(), lost.Spec.NodeName)
	before := hub.Append(t, lost, "before the node's loss")
	var evictAfter int64
	for _, tol := range lost.Spec.Tolerations {
		if tol.Key == corev1.TaintNodeUnreachable && tol.TolerationSeconds != nil {
			evictAfter = *tol.TolerationSeconds
		}
	}
	require.NotZero(t, evictAfter, "the pod tolerates an unreachable node for a while (DefaultTolerationSeconds)")

	start := time.Now()
	require.NoError(t, own.PowerOff())
	scenario.Uncordon(t, e2e.client, metav1.ListOptions{LabelSelector: "type=kwok"}) // somewhere for the replacement to go
	scenario.NodeNotReady(t, e2e.client, own.Name(), 3*time.Minute)
	notReady := time.Since(start)

	// What the taint manager does once the toleration runs out (evictAfter
	// seconds later), done now: a graceful delete. No kubelet confirms it,
	// so the pod stays Terminating, and its replacement stays Pending: the
	// lost node might still be running the Hub and writing (a partition, not
	// a power cut), and ReadWriteOncePod will not start a second writer.
	hub.DeletePod(t, lost)
	replacement := hub.WaitHeldPending(t, lost, "ReadWriteOncePod")
	held := time.Now()
	// The time is the assertion: the pod GC sweeps every 20 s, and past a
	// sweep nothing has moved by itself. The replacement stays unscheduled
	// while the lost pod may still write, and the lost pod stays,
	// Terminating, with no kubelet to confirm it.
	scenario.StaysFor(t, "the replacement unscheduled and the lost pod still there", 20*time.Second, func(ctx context.Context) (bool, string, error) {
		p, err := e2e.client.CoreV1().Pods(ns).Get(ctx, replacement.Name, metav1.GetOptions{})
		if err != nil {
			return false, "the replacement", err
		}
		if p.Spec.NodeName != "" {
			return false, "the replacement scheduled to " + p.Spec.NodeName, nil
		}
		if _, err := e2e.client.CoreV1().Pods(ns).Get(ctx, lost.Name, metav1.GetOptions{}); err != nil {
			return false, "the lost pod", err
		}
		return true, "", nil
	})

	// The fast path, once someone has made sure the node is off: the
	// out-of-service taint, docs/operating.md's line, through kubectl
	// hubkit node-lost, which refuses a node that is not lost. The pod GC
	// force-deletes the lost pod and the replacement runs on another node.
	grantPluginRoles(t)
	out, code := hubkit(t, ns, "node-lost", e2e.cluster.Node.Name())
	assert.Equal(t, hubctl.Refused, code, "a Ready node is not lost")
	assert.Contains(t, out, "is Ready: it is not lost")
	out, code = hubkit(t, ns, "node-lost", own.Name(), "--dry-run")
	assert.Equal(t, hubctl.Done, code)
	assert.Contains(t, out, strings.ReplaceAll(operatingTaintLine(t), "<node>", own.Name())+"\n", "the runbook's line")
	tainted := time.Now()
	out, code = hubkit(t, ns, "node-lost", own.Name())
	require.Equal(t, hubctl.Done, code, out)
	writeFigure(t, "plugin-node-lost", fmt.Sprintf("kubectl hubkit node-lost (kind, the Hub's node powered off), to the Hub serving on another node: %s", time.Since(tainted).Round(time.Millisecond)))
	next := hub.WaitReady(t)
	replaced := time.Since(tainted)
	assert.NotEqual(t, own.Name(), next.Spec.NodeName, "replaced on another node")
	assert.Equal(t, before, hub.Journal(t).At(before.Seq), "the volume the replacement mounts holds what the lost Hub wrote")

	// node-back: refused while the node is off; once it is back, the taint
	// goes.
	out, code = hubkit(t, ns, "node-back", own.Name())
	assert.Equal(t, hubctl.Refused, code, "the node is still off")
	assert.Contains(t, out, "is not back")
	require.NoError(t, own.Restart(ctx), "the node comes back")
	scenario.Until(t, "kubectl hubkit node-back to remove the taint", 2*time.Minute, func(context.Context) (bool, string, error) {
		out, code := hubkit(t, ns, "node-back", own.Name())
		return code == hubctl.Done, out, nil
	})
	n, err := e2e.client.CoreV1().Nodes().Get(ctx, own.Name(), metav1.GetOptions{})
	require.NoError(t, err)
	assert.False(t, slices.ContainsFunc(n.Spec.Taints, func(tn corev1.Taint) bool { return tn.Key == corev1.TaintNodeOutOfService }), "the taint removed: %v", n.Spec.Taints)

	t.Logf("node loss: NotReady %s after the power-off; replacement held Pending for %s; running on %s %s after the out-of-service taint",
		notReady.Round(time.Second), time.Since(held).Round(time.Second), next.Spec.NodeName, replaced.Round(time.Second))
	writeFigure(t, "real-node-loss", fmt.Sprintf("node loss: NotReady %s after the power-off (node-monitor-grace-period 50s); "+
		"with defaults evicted %d s later, then the replacement waits, Pending on ReadWriteOncePod, until the node is declared out of service; "+
		"after the out-of-service taint the Hub ran on another node %s later",
		notReady.Round(time.Second), evictAfter, replaced.Round(time.Second)))
}

func asSlice(v any) []any {
	s, _ := v.([]any)
	return s
}

// operatingTaintLine is docs/operating.md's out-of-service line, for a
// node called <node>.
func operatingTaintLine(t *testing.T) string {
	t.Helper()
	for _, l := range strings.Split(string(readRepoFile(t, "docs", "operating.md")), "\n") {
		if strings.HasPrefix(l, "kubectl taint node <node> ") {
			return l
		}
	}
	require.Fail(t, "docs/operating.md shows the out-of-service taint")
	return ""
}
