package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/wait"
	kubeletconfig "k8s.io/kubelet/config/v1beta1"

	"github.com/hubkit/hubkit/internal/image"
	"github.com/hubkit/hubkit/test/cluster"
	"github.com/hubkit/hubkit/test/images"
	"github.com/hubkit/hubkit/test/standin"
)

// The real node's scenarios: the kind overlay, rendered by the function and
// otherwise unchanged, runs the Hub stand-in (tagged as the overlay's image)
// on a real kubelet. They share the node and run in this order.
func TestRealNode(t *testing.T) {
	if e2e.cluster.Node == nil {
		t.Skipf("%s names a cluster of your own: the real-node scenarios kill processes and restart the kubelet on "+
			"this host, so they run only on the cluster make test starts", cluster.ExternalEnv)
	}
	onlyRealNode(t)
	objs := rendered(t, "kind")
	hub := hubImage(t, objs)
	loadStandin(t, hub)
	t.Run("the function's image imports into containerd", func(t *testing.T) {
		ref, tar, err := buildImage(context.Background(), image.Function(), "v0.0.0-e2e")
		require.NoError(t, err)
		require.NoError(t, e2e.cluster.Node.Import(context.Background(), tar), "containerd refuses an image whose config lacks rootfs.diff_ids")
		require.NoError(t, e2e.cluster.Node.HasImage(context.Background(), ref))
	})
	t.Run("the kind overlay runs: restricted, uid 10001, read-only root, claim written, probes, endpoints, node port", func(t *testing.T) {
		testRealKind(t, objs)
	})
	t.Run("seeded settings: Git's on a fresh claim, the Hub's own change kept across a restart, the image's defaults never copied over", testRealSeededSettings)
	t.Run("kill -9: the kubelet restarts the Hub in place, every journal entry kept, never two writers", testRealCrash)
	t.Run("pod deletion: the replacement starts only once the old process is gone", testRealDeletion)
	t.Run("a Recreate rollout to a new tag: the old process is gone before the new starts", func(t *testing.T) {
		testRealRollout(t, hub)
	})
	t.Run("node restart: the Hub comes back with its data", testRealNodeRestart)
	t.Run("on ReadWriteOnce a second writer starts: Recreate with a deleted pod, and RollingUpdate", func(t *testing.T) {
		testRealReadWriteOnce(t, objs)
	})
	// Last: the node does not come back.
	t.Run("node loss: NotReady after the grace period, the replacement held while the lost pod may still write, replaced once the node is declared out of service", func(t *testing.T) {
		testRealNodeLoss(t, objs)
	})
}

// onlyRealNode cordons kwok's simulated nodes for the test, so that
// everything it schedules lands on the real node.
func onlyRealNode(t *testing.T) {
	t.Helper()
	cordon(t, metav1.ListOptions{LabelSelector: "type=kwok"})
}

// onlySimulatedNodes cordons the real node for the test.
func onlySimulatedNodes(t *testing.T) {
	t.Helper()
	cordon(t, metav1.ListOptions{LabelSelector: cluster.RealNodeLabel + "=real"})
}

func cordon(t *testing.T, sel metav1.ListOptions) {
	t.Helper()
	ctx := context.Background()
	nodes, err := e2e.client.CoreV1().Nodes().List(ctx, sel)
	require.NoError(t, err)
	set := func(name string, unschedulable bool) error {
		patch := fmt.Sprintf(`{"spec":{"unschedulable":%t}}`, unschedulable)
		_, err := e2e.client.CoreV1().Nodes().Patch(context.Background(), name, types.MergePatchType, []byte(patch), metav1.PatchOptions{})
		return err
	}
	for _, n := range nodes.Items {
		require.NoError(t, set(n.Name, true))
		t.Cleanup(func() {
			if err := set(n.Name, false); err != nil && !apierrors.IsNotFound(err) {
				t.Errorf("uncordon %s: %v", n.Name, err)
			}
		})
	}
}

// hubImage is the image the rendered overlay runs the Hub from.
func hubImage(t *testing.T, objs []*unstructured.Unstructured) string {
	t.Helper()
	for _, o := range objs {
		if o.GetKind() != "Deployment" {
			continue
		}
		containers, _, err := unstructured.NestedSlice(o.Object, "spec", "template", "spec", "containers")
		require.NoError(t, err)
		for _, c := range containers {
			if m := c.(map[string]any); m["name"] == "hub" {
				return m["image"].(string)
			}
		}
	}
	t.Fatal("the render has no Deployment with a container hub")
	return ""
}

// loadStandin builds the stand-in under ref and imports it into the real
// node's containerd, as `kind load` does.
func loadStandin(t *testing.T, ref string) {
	t.Helper()
	_, tar, err := buildImage(context.Background(), images.Standin(), ref)
	require.NoError(t, err)
	require.NoError(t, e2e.cluster.Node.Import(context.Background(), tar), "import %s into the real node's containerd", ref)
}

// provideLocal gives each claim a `local` PersistentVolume on the real node
// (node affinity; fsGroup applies to it, unlike hostPath) and returns the
// host directories by claim name.
func provideLocal(t *testing.T, objs []*unstructured.Unstructured) map[string]string {
	t.Helper()
	dirs := map[string]string{}
	for _, o := range objs {
		if o.GetKind() != "PersistentVolumeClaim" {
			continue
		}
		name := fmt.Sprintf("e2e-real-%s-%s-%d", o.GetNamespace(), o.GetName(), time.Now().UnixNano())
		dir, err := e2e.cluster.Node.VolumeDir(name)
		require.NoError(t, err)
		createVolumeFor(t, o, name, corev1.PersistentVolumeSource{Local: &corev1.LocalVolumeSource{Path: dir}},
			&corev1.VolumeNodeAffinity{Required: &corev1.NodeSelector{NodeSelectorTerms: []corev1.NodeSelectorTerm{{
				MatchExpressions: []corev1.NodeSelectorRequirement{{Key: corev1.LabelHostname, Operator: corev1.NodeSelectorOpIn, Values: []string{e2e.cluster.Node.Name()}}},
			}}}})
		dirs[o.GetName()] = dir
	}
	return dirs
}

func testRealKind(t *testing.T, objs []*unstructured.Unstructured) {
	ctx := context.Background()
	dirs := provideLocal(t, objs)
	require.NoError(t, applier(t).Apply(ctx, objs, false))
	e2e.real = realHub{objs: objs, appData: dirs["hbih-appdata"]}
	pod := waitForHub(t, overlayRow(t, "kind").Namespace)
	assert.Equal(t, e2e.cluster.Node.Name(), pod.Spec.NodeName, "the Hub runs on the real node")
	checkEndpoints(t, pod)

	st := pod.Status.ContainerStatuses[0]
	assert.True(t, st.Ready, "readiness probe (HTTP GET /) passed")
	require.NotNil(t, st.Started)
	assert.True(t, *st.Started, "startup probe passed")
	assert.Zero(t, st.RestartCount, "the liveness probe never restarted it")

	pid := hubPID(t, pod)
	status, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	require.NoError(t, err)
	assert.Regexp(t, `(?m)^Uid:\s+10001\s+10001\s+10001\s+10001$`, string(status), "runs as uid 10001")
	assert.Regexp(t, `(?m)^Groups:.*\b10001\b`, string(status), "fsGroup 10001 is a supplementary group")
	assert.True(t, mountHas(t, pid, "/", "ro"), "the root filesystem is mounted read-only")

	// The claim, written through fsGroup: the kubelet gave the directory to
	// group 10001, and the Hub's files are there.
	var fi syscall.Stat_t
	require.NoError(t, syscall.Stat(e2e.real.appData, &fi))
	assert.EqualValues(t, 10001, fi.Gid, "fsGroup applied to the claim's directory")
	entries := readJournal(t)
	require.NotEmpty(t, entries)
	hub := hubImage(t, objs)
	assert.Contains(t, entries[0].Text, "start version=", "the stand-in's first entry")
	assert.Contains(t, entries[0].Text, hub[strings.LastIndex(hub, ":")+1:], "it runs as the overlay's image tag")

	// The node port on the node, through kube-proxy's rules (written a
	// moment after the EndpointSlice, so asked until they are).
	url := fmt.Sprintf("http://%s:%d/", e2e.cluster.Node.IP(), overlayRow(t, "kind").NodePort)
	client := &http.Client{Timeout: 2 * time.Second}
	var body string
	err = wait.PollUntilContextTimeout(ctx, 100*time.Millisecond, 30*time.Second, true, func(context.Context) (bool, error) {
		resp, err := client.Get(url)
		if err != nil {
			return false, nil
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		body = string(b)
		return resp.StatusCode == http.StatusOK, nil
	})
	require.NoError(t, err, "the node port did not answer at %s", url)
	assert.Contains(t, body, "Intelligence Hub stand-in")
}

// hubPod is the Hub's one pod.
func hubPod(t *testing.T) *corev1.Pod {
	t.Helper()
	pod := hubPodIn(t, overlayRow(t, "kind").Namespace)
	require.NotNil(t, pod, "want exactly one Hub pod")
	return pod
}

// hubPID is the host PID of the Hub's process.
func hubPID(t *testing.T, pod *corev1.Pod) int {
	t.Helper()
	require.NotEmpty(t, pod.Status.ContainerStatuses)
	id := strings.TrimPrefix(pod.Status.ContainerStatuses[0].ContainerID, "containerd://")
	pid, err := e2e.cluster.Node.ContainerPID(context.Background(), id)
	require.NoError(t, err)
	return pid
}

// readJournal reads the stand-in's journal from the claim's directory on
// the host, as a restore would, and checks it is whole.
func readJournal(t *testing.T) []standin.Entry {
	t.Helper()
	f, err := os.Open(filepath.Join(e2e.real.appData, standin.JournalFile))
	require.NoError(t, err)
	defer f.Close()
	entries, _, err := standin.ReadJournal(f)
	require.NoError(t, err, "the journal is well-formed")
	return entries
}

// refusals are the second writers the stand-in's lock refused.
func refusals(t *testing.T) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(e2e.real.appData, standin.RefusedFile))
	if os.IsNotExist(err) {
		return ""
	}
	require.NoError(t, err)
	return string(b)
}

// appendEntry writes an entry through the running Hub and returns it once
// the stand-in has fsynced it.
func appendEntry(t *testing.T, pod *corev1.Pod, text string) standin.Entry {
	t.Helper()
	client := &http.Client{Timeout: 5 * time.Second}
	resp, err := client.Post(fmt.Sprintf("http://%s:45245/journal", pod.Status.PodIP), "text/plain", strings.NewReader(text))
	require.NoError(t, err)
	defer resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode)
	var e standin.Entry
	require.NoError(t, json.NewDecoder(resp.Body).Decode(&e))
	return e
}

// endpointReady says whether Service hbih's EndpointSlice lists pod as ready.
func endpointReady(ctx context.Context, pod *corev1.Pod) bool {
	slices, err := e2e.client.DiscoveryV1().EndpointSlices(pod.Namespace).List(ctx, metav1.ListOptions{LabelSelector: "kubernetes.io/service-name=hbih"})
	if err != nil {
		return false
	}
	for _, s := range slices.Items {
		for _, ep := range s.Endpoints {
			if ep.TargetRef != nil && ep.TargetRef.Name == pod.Name && ep.Conditions.Ready != nil && *ep.Conditions.Ready {
				return true
			}
		}
	}
	return false
}

// crashOnce kills the Hub's process from the host, as a JVM dies, and
// returns how long until the Service serves it again: the restarted
// container is Ready and the EndpointSlice lists it as ready.
func crashOnce(t *testing.T, label string) time.Duration {
	t.Helper()
	ctx := context.Background()
	pod := hubPod(t)
	before := appendEntry(t, pod, label)
	restarts := pod.Status.ContainerStatuses[0].RestartCount
	pid := hubPID(t, pod)
	start := time.Now()
	require.NoError(t, syscall.Kill(pid, syscall.SIGKILL))
	err := wait.PollUntilContextTimeout(ctx, 20*time.Millisecond, 2*time.Minute, true, func(ctx context.Context) (bool, error) {
		p, err := e2e.client.CoreV1().Pods(overlayRow(t, "kind").Namespace).Get(ctx, pod.Name, metav1.GetOptions{})
		if err != nil || len(p.Status.ContainerStatuses) == 0 {
			return false, nil
		}
		st := p.Status.ContainerStatuses[0]
		return st.RestartCount > restarts && st.Ready && endpointReady(ctx, pod), nil
	})
	took := time.Since(start)
	require.NoError(t, err, "the Hub did not serve again after kill -9")
	p, err := e2e.client.CoreV1().Pods(overlayRow(t, "kind").Namespace).Get(ctx, pod.Name, metav1.GetOptions{})
	require.NoError(t, err)
	last := p.Status.ContainerStatuses[0].LastTerminationState.Terminated
	require.NotNil(t, last)
	assert.EqualValues(t, 137, last.ExitCode, "the last exit was the SIGKILL, not a refused second writer (%d)", standin.ExitLockHeld)
	entries := readJournal(t)
	require.GreaterOrEqual(t, len(entries), before.Seq)
	assert.Equal(t, before, entries[before.Seq-1], "the entry acknowledged before the kill survived it")
	return took
}

func testRealCrash(t *testing.T) {
	ctx := context.Background()
	// As a cluster runs by default: the first crash restarts at once, a
	// second within minutes waits out CrashLoopBackOff's first step (10s).
	first := crashOnce(t, "before the first crash")
	second := crashOnce(t, "before a second crash")
	t.Logf("default kubelet: first crash %s, second %s", first.Round(time.Millisecond), second.Round(time.Millisecond))
	report(t, "real-crash-default-backoff", []time.Duration{first, second})

	// With the kubelet's crash-loop backoff capped at 1s (1.36:
	// crashLoopBackOff.maxContainerRestartPeriod, beta), the repeats.
	require.NoError(t, e2e.cluster.Node.ReconfigureKubelet(ctx, func(c *kubeletconfig.KubeletConfiguration) {
		c.CrashLoopBackOff.MaxContainerRestartPeriod = &metav1.Duration{Duration: time.Second}
	}))
	t.Cleanup(func() { require.NoError(t, e2e.cluster.Node.ReconfigureKubelet(ctx, nil)) })
	waitForHub(t, overlayRow(t, "kind").Namespace)
	var took []time.Duration
	for i := range crashes {
		took = append(took, crashOnce(t, fmt.Sprintf("before crash %d", i+1)))
	}
	report(t, "real-crash-to-serving", took)
	assert.Empty(t, refusals(t), "the lock was never contended")
}

func testRealDeletion(t *testing.T) {
	ctx := context.Background()
	pod := hubPod(t)
	before := appendEntry(t, pod, "before the pod's deletion")
	pw := watchPods(t, overlayRow(t, "kind").Namespace)
	require.NoError(t, e2e.client.CoreV1().Pods(overlayRow(t, "kind").Namespace).Delete(ctx, pod.Name, metav1.DeleteOptions{}))
	next := waitForHub(t, overlayRow(t, "kind").Namespace)
	require.NotEqual(t, pod.UID, next.UID)
	checkEndpoints(t, next)
	assert.Equal(t, 1, pw.maxRunning, "two Hub pods ran at once; events: %s", strings.Join(pw.events, "; "))
	assert.Empty(t, refusals(t), "no second writer was ever started")
	entries := readJournal(t)
	assert.Equal(t, before, entries[before.Seq-1])
	// The old process wrote its "stop" (after its slow SIGTERM) before the
	// new one wrote its "start".
	stop := slices.IndexFunc(entries, func(e standin.Entry) bool { return strings.HasPrefix(e.Text, "stop ") && e.Seq > before.Seq })
	start := slices.IndexFunc(entries, func(e standin.Entry) bool { return strings.HasPrefix(e.Text, "start ") && e.Seq > before.Seq })
	require.GreaterOrEqual(t, stop, 0, "the old process stopped cleanly")
	assert.Less(t, stop, start, "the old process stopped before the new one started")
}

func testRealRollout(t *testing.T, hub string) {
	ctx := context.Background()
	next := strings.TrimSuffix(hub, ":"+hub[strings.LastIndex(hub, ":")+1:]) + ":rollout"
	loadStandin(t, next)
	old := hubPod(t)
	before := appendEntry(t, old, "before the rollout")
	patch := fmt.Sprintf(`{"spec":{"template":{"spec":{"containers":[{"name":"hub","image":%q}]}}}}`, next)
	_, err := e2e.client.AppsV1().Deployments(overlayRow(t, "kind").Namespace).Patch(ctx, "hbih", types.StrategicMergePatchType, []byte(patch), metav1.PatchOptions{})
	require.NoError(t, err)
	err = wait.PollUntilContextTimeout(ctx, 100*time.Millisecond, 2*time.Minute, true, func(ctx context.Context) (bool, error) {
		pods, err := e2e.client.CoreV1().Pods(overlayRow(t, "kind").Namespace).List(ctx, metav1.ListOptions{LabelSelector: hubSelector})
		if err != nil || len(pods.Items) != 1 {
			return false, nil
		}
		p := pods.Items[0]
		return p.UID != old.UID && len(p.Status.ContainerStatuses) == 1 && p.Status.ContainerStatuses[0].Ready, nil
	})
	require.NoError(t, err, "the rollout did not finish")
	entries := readJournal(t)
	assert.Equal(t, before, entries[before.Seq-1], "data intact")
	last := entries[len(entries)-1]
	assert.Contains(t, last.Text, "start version=rollout", "the new version started last")
	assert.Contains(t, entries[len(entries)-2].Text, "stop ", "right after the old one stopped")
	assert.Empty(t, refusals(t), "the lock was never contended")
}

func testRealNodeRestart(t *testing.T) {
	ctx := context.Background()
	pod := hubPod(t)
	before := appendEntry(t, pod, "before the node's restart")
	start := time.Now()
	require.NoError(t, e2e.cluster.Node.Restart(ctx))
	err := wait.PollUntilContextTimeout(ctx, 100*time.Millisecond, 2*time.Minute, true, func(ctx context.Context) (bool, error) {
		p := hubPod(t)
		if len(p.Status.ContainerStatuses) == 0 {
			return false, nil
		}
		st := p.Status.ContainerStatuses[0]
		return st.Ready && st.State.Running != nil && st.State.Running.StartedAt.After(start.Add(-time.Second)) && endpointReady(ctx, p), nil
	})
	require.NoError(t, err, "the Hub did not come back after the node's restart")
	t.Logf("node restart: the Hub served again %s after the reboot began", time.Since(start).Round(time.Millisecond))
	entries := readJournal(t)
	assert.Equal(t, before, entries[before.Seq-1], "the Hub came back with its data")
	assert.Contains(t, entries[len(entries)-1].Text, "start ", "a new process started after the reboot")
	assert.Empty(t, refusals(t))
}

// testRealReadWriteOnce shows what ReadWriteOncePod and Recreate prevent,
// by deploying the overlay with the claim made ReadWriteOnce (one node,
// not one pod), as it was before: the stand-in's lock refuses the second
// writer that Kubernetes then starts on the same claim.
//   - Recreate, and the pod deleted: the ReplicaSet's replacement starts
//     beside the old pod while it still shuts down (a JVM's slow SIGTERM);
//     this is why every overlay's claim is ReadWriteOncePod.
//   - RollingUpdate (what the function's rollout rule removes), and a new
//     template: the new pod starts before the old one stops.
func testRealReadWriteOnce(t *testing.T, objs []*unstructured.Unstructured) {
	ctx := context.Background()
	for _, tc := range []struct {
		name     string
		strategy string
		act      func(t *testing.T)
	}{
		{"Recreate, the pod deleted", "Recreate", func(t *testing.T) {
			require.NoError(t, e2e.client.CoreV1().Pods(overlayRow(t, "kind").Namespace).Delete(ctx, hubPod(t).Name, metav1.DeleteOptions{}))
		}},
		{"RollingUpdate, a new template", "RollingUpdate", func(t *testing.T) {
			patch := `{"spec":{"template":{"metadata":{"annotations":{"hubkit.dev/restartedAt":"` + strconv.FormatInt(time.Now().UnixNano(), 10) + `"}}}}}`
			_, err := e2e.client.AppsV1().Deployments(overlayRow(t, "kind").Namespace).Patch(ctx, "hbih", types.StrategicMergePatchType, []byte(patch), metav1.PatchOptions{})
			require.NoError(t, err)
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			undeploy(t, e2e.real.objs)
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
			e2e.real = realHub{objs: rwo, appData: dirs["hbih-appdata"]}
			require.NoError(t, applier(t).Apply(ctx, rwo, false))
			waitForHub(t, overlayRow(t, "kind").Namespace)
			require.Empty(t, refusals(t))
			tc.act(t)
			err := wait.PollUntilContextTimeout(ctx, 100*time.Millisecond, time.Minute, true, func(context.Context) (bool, error) {
				return refusals(t) != "", nil
			})
			require.NoError(t, err, "on ReadWriteOnce a second writer should have started on the claim")
			t.Logf("second writer refused by the lock: %s", strings.TrimSpace(refusals(t)))
		})
	}
}

// testRealNodeLoss loses the real node for good with the Hub on it, on a
// volume that another node can mount (a network disk's role; kwok's nodes
// mount nothing, so a hostPath plays it), and follows what Kubernetes does
// with its defaults, then the documented fast path.
func testRealNodeLoss(t *testing.T, objs []*unstructured.Unstructured) {
	ctx := context.Background()
	ns := overlayRow(t, "kind").Namespace
	if e2e.real.objs != nil {
		undeploy(t, e2e.real.objs)
	}
	dir, err := e2e.cluster.Node.VolumeDir(fmt.Sprintf("e2e-node-loss-%d", time.Now().UnixNano()))
	require.NoError(t, err)
	require.NoError(t, os.Chown(dir, 10001, 10001), "fsGroup does not apply to hostPath: the disk is the Hub's")
	for _, o := range objs {
		if o.GetKind() == "PersistentVolumeClaim" {
			createVolumeFor(t, o, filepath.Base(dir), corev1.PersistentVolumeSource{HostPath: &corev1.HostPathVolumeSource{Path: dir}}, nil)
		}
	}
	e2e.real = realHub{objs: objs, appData: dir}
	require.NoError(t, applier(t).Apply(ctx, objs, false))
	lost := waitForHub(t, ns)
	require.Equal(t, e2e.cluster.Node.Name(), lost.Spec.NodeName)
	before := appendEntry(t, lost, "before the node's loss")
	var evictAfter int64
	for _, tol := range lost.Spec.Tolerations {
		if tol.Key == corev1.TaintNodeUnreachable && tol.TolerationSeconds != nil {
			evictAfter = *tol.TolerationSeconds
		}
	}
	require.NotZero(t, evictAfter, "the pod tolerates an unreachable node for a while (DefaultTolerationSeconds)")

	start := time.Now()
	require.NoError(t, e2e.cluster.Node.PowerOff())
	nodes, err := e2e.client.CoreV1().Nodes().List(ctx, metav1.ListOptions{LabelSelector: "type=kwok"})
	require.NoError(t, err)
	for _, n := range nodes.Items { // somewhere for the replacement to go
		_, err := e2e.client.CoreV1().Nodes().Patch(ctx, n.Name, types.MergePatchType, []byte(`{"spec":{"unschedulable":false}}`), metav1.PatchOptions{})
		require.NoError(t, err)
	}
	err = wait.PollUntilContextTimeout(ctx, time.Second, 3*time.Minute, true, func(ctx context.Context) (bool, error) {
		n, err := e2e.client.CoreV1().Nodes().Get(ctx, e2e.cluster.Node.Name(), metav1.GetOptions{})
		if err != nil {
			return false, nil
		}
		i := slices.IndexFunc(n.Status.Conditions, func(c corev1.NodeCondition) bool { return c.Type == corev1.NodeReady })
		return i >= 0 && n.Status.Conditions[i].Status != corev1.ConditionTrue, nil
	})
	require.NoError(t, err, "the node lifecycle controller never marked the lost node not ready")
	notReady := time.Since(start)

	// What the taint manager does once the toleration runs out (evictAfter
	// seconds later), done now: a graceful delete. No kubelet confirms it,
	// so the pod stays Terminating, and its replacement stays Pending: the
	// lost node might still be running the Hub and writing (a partition, not
	// a power cut), and ReadWriteOncePod will not start a second writer.
	require.NoError(t, e2e.client.CoreV1().Pods(ns).Delete(ctx, lost.Name, metav1.DeleteOptions{}))
	var replacement *corev1.Pod
	err = wait.PollUntilContextTimeout(ctx, 500*time.Millisecond, time.Minute, true, func(ctx context.Context) (bool, error) {
		pods, err := e2e.client.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{LabelSelector: hubSelector})
		if err != nil {
			return false, nil
		}
		for _, p := range pods.Items {
			if p.UID == lost.UID {
				continue
			}
			for _, c := range p.Status.Conditions {
				if c.Type == corev1.PodScheduled && c.Status == corev1.ConditionFalse && strings.Contains(c.Message, "ReadWriteOncePod") {
					replacement = &p
					return true, nil
				}
			}
		}
		return false, nil
	})
	require.NoError(t, err, "the replacement was not held by ReadWriteOncePod")
	held := time.Now()
	time.Sleep(20 * time.Second) // longer than the pod GC's 20 s period: nothing moves by itself
	p, err := e2e.client.CoreV1().Pods(ns).Get(ctx, replacement.Name, metav1.GetOptions{})
	require.NoError(t, err)
	assert.Empty(t, p.Spec.NodeName, "the replacement stays unscheduled while the lost pod may still write")
	_, err = e2e.client.CoreV1().Pods(ns).Get(ctx, lost.Name, metav1.GetOptions{})
	require.NoError(t, err, "the lost pod stays, Terminating, with no kubelet to confirm it")

	// The fast path, once someone has made sure the node is off: the
	// out-of-service taint. The pod GC force-deletes the lost pod and the
	// replacement runs on another node.
	taint := corev1.Taint{Key: corev1.TaintNodeOutOfService, Value: "nodeshutdown", Effect: corev1.TaintEffectNoExecute}
	n, err := e2e.client.CoreV1().Nodes().Get(ctx, e2e.cluster.Node.Name(), metav1.GetOptions{})
	require.NoError(t, err)
	n.Spec.Taints = append(n.Spec.Taints, taint)
	_, err = e2e.client.CoreV1().Nodes().Update(ctx, n, metav1.UpdateOptions{})
	require.NoError(t, err)
	tainted := time.Now()
	next := waitForHub(t, ns)
	replaced := time.Since(tainted)
	assert.NotEqual(t, e2e.cluster.Node.Name(), next.Spec.NodeName, "replaced on another node")
	assert.Equal(t, before, readJournal(t)[before.Seq-1], "the volume the replacement mounts holds what the lost Hub wrote")

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
