package e2e

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/utils/ptr"

	hubfiles "github.com/hubkit/hubkit/internal/hub"
	"github.com/hubkit/hubkit/internal/names"
	"github.com/hubkit/hubkit/test/node"
	"github.com/hubkit/hubkit/test/scenario"
	"github.com/stretchr/testify/require"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
)

// Pods the scenarios run beside the Hub: a stand-in on a given node, and
// connections made from inside one.

// runStandinOn runs the stand-in in a pod of its own in ns on n, restricted, with
// an emptyDir for appData and a readiness probe on its HTTP port, and
// returns it Ready.
func runStandinOn(t *testing.T, n *node.Node, ns, name, ref string) *corev1.Pod {
	t.Helper()
	spec := restrictedPod("standin")
	spec.NodeSelector = map[string]string{corev1.LabelHostname: n.Name()}
	c := &spec.Containers[0]
	c.Image, c.ImagePullPolicy = ref, corev1.PullNever
	c.VolumeMounts = []corev1.VolumeMount{{Name: names.AppDataVolume, MountPath: hubfiles.AppData}}
	c.ReadinessProbe = &corev1.Probe{PeriodSeconds: 1, ProbeHandler: corev1.ProbeHandler{
		HTTPGet: &corev1.HTTPGetAction{Path: "/", Port: intstr.FromInt32(hubfiles.HTTPPort)}}}
	spec.Volumes = []corev1.Volume{{Name: names.AppDataVolume, VolumeSource: corev1.VolumeSource{EmptyDir: &corev1.EmptyDirVolumeSource{}}}}
	pods := e2e.client.CoreV1().Pods(ns)
	_, err := pods.Create(context.Background(), &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: name, Labels: map[string]string{"app": name}},
		Spec:       spec,
	}, metav1.CreateOptions{})
	require.NoError(t, err)
	var pod *corev1.Pod
	scenario.Until(t, "pod "+name+" Ready on "+n.Name(), 2*time.Minute, func(ctx context.Context) (bool, string, error) {
		p, err := pods.Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			return false, "", err
		}
		pod = p
		ready := slices.ContainsFunc(p.Status.Conditions, func(c corev1.PodCondition) bool {
			return c.Type == corev1.PodReady && c.Status == corev1.ConditionTrue
		})
		return ready, fmt.Sprintf("%s on %q", p.Status.Phase, p.Spec.NodeName), nil
	})
	require.Equal(t, n.Name(), pod.Spec.NodeName)
	return pod
}

func containerID(p *corev1.Pod) string {
	return strings.TrimPrefix(p.Status.ContainerStatuses[0].ContainerID, "containerd://")
}

// podClient is an HTTP client whose connections are made from inside the
// pod's network namespace on n (node.DialFromPod).
func podClient(n *node.Node, p *corev1.Pod) *http.Client {
	cid := containerID(p)
	return &http.Client{Timeout: 3 * time.Second, Transport: &http.Transport{
		DisableKeepAlives: true,
		DialContext: func(ctx context.Context, _, addr string) (net.Conn, error) {
			return n.DialFromPod(ctx, cid, addr)
		},
	}}
}

// assertSecondWriterUnscheduled creates a second pod on the claim of the
// Hub's pod, past no guard, and wants the scheduler to hold it, saying it
// is for ReadWriteOncePod.
func assertSecondWriterUnscheduled(t *testing.T, pod *corev1.Pod) {
	t.Helper()
	// Without the guard, the API server takes the pod.
	second := hubIn(pod.Namespace).CreatePod(t, secondWriter(pod, "second-writer"))
	var reason string
	scenario.Until(t, "the scheduler to say why pod "+second.Name+" is not scheduled", time.Minute, func(ctx context.Context) (bool, string, error) {
		p, err := e2e.client.CoreV1().Pods(pod.Namespace).Get(ctx, second.Name, metav1.GetOptions{})
		if err != nil {
			return false, "", err
		}
		reason = scenario.Unschedulable(p)
		return reason != "", fmt.Sprintf("pod %s %s on %q, conditions %v", p.Name, p.Status.Phase, p.Spec.NodeName, p.Status.Conditions), nil
	})
	assert.Contains(t, reason, "ReadWriteOncePod", "the scheduler says why")
	t.Logf("the scheduler: %s", reason)
}

// waitStartRefused waits until the Hub pod that replaced old has exited
// with status 1, refusing to start for why, and its log (the container
// that exited: the current one while it waits to be restarted, the
// previous one after) says logWants; it returns the pod.
func waitStartRefused(t *testing.T, hub *scenario.Hub, old *corev1.Pod, why, logWants string) *corev1.Pod {
	t.Helper()
	var refused *corev1.Pod
	var last *corev1.ContainerStateTerminated
	scenario.Until(t, "the replacement's Hub to exit, refusing "+why, 2*time.Minute, func(ctx context.Context) (bool, string, error) {
		pods, err := e2e.client.CoreV1().Pods(hub.Namespace).List(ctx, metav1.ListOptions{LabelSelector: names.HubSelector})
		if err != nil {
			return false, "", err
		}
		live := slices.DeleteFunc(pods.Items, func(p corev1.Pod) bool { return p.DeletionTimestamp != nil })
		if len(live) != 1 || live[0].UID == old.UID || len(live[0].Status.ContainerStatuses) == 0 {
			return false, hub.State(ctx), nil
		}
		st := live[0].Status.ContainerStatuses[0]
		last = st.LastTerminationState.Terminated
		if st.State.Terminated != nil {
			last = st.State.Terminated
		}
		refused = &live[0]
		return last != nil && !st.Ready, fmt.Sprintf("pod %s: container %s ready=%t, exited=%t", refused.Name, st.Name, st.Ready, last != nil), nil
	})
	assert.EqualValues(t, 1, last.ExitCode)
	var logs string
	scenario.Until(t, fmt.Sprintf("the Hub's log to say %q", logWants), 30*time.Second, func(context.Context) (bool, string, error) {
		logs = hub.Logs(refused, names.HubContainer, false) + hub.Logs(refused, names.HubContainer, true)
		return strings.Contains(logs, logWants), fmt.Sprintf("log %q", logs), nil
	})
	t.Logf("the Hub refused to start: %s", strings.TrimSpace(logs))
	return refused
}

// mountHas says whether the mount at target in pid's mount namespace has
// the option opt ("ro", say), read from /proc on the host.
func mountHas(t *testing.T, pid int, target, opt string) bool {
	t.Helper()
	info, err := os.ReadFile(fmt.Sprintf("/proc/%d/mountinfo", pid))
	require.NoError(t, err)
	for _, line := range strings.Split(string(info), "\n") {
		f := strings.Fields(line)
		if len(f) > 5 && f[4] == target {
			return slices.Contains(strings.Split(f[5], ","), opt)
		}
	}
	t.Fatalf("nothing is mounted at %s in process %d", target, pid)
	return false
}

// secondWriter is a pod called name, beside the Hub's pod, that mounts the
// Hub's claim where the Hub has it and runs the Hub's image: a second
// writer, as a debug pod or a restore Job would be.
func secondWriter(hub *corev1.Pod, name string) *corev1.Pod {
	return &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: hub.Namespace},
		Spec: corev1.PodSpec{
			SecurityContext: &corev1.PodSecurityContext{RunAsNonRoot: ptr.To(true), RunAsUser: ptr.To[int64](hubfiles.UID),
				SeccompProfile: &corev1.SeccompProfile{Type: corev1.SeccompProfileTypeRuntimeDefault}},
			Containers: []corev1.Container{{
				Name: "restore", Image: hub.Spec.Containers[0].Image, ImagePullPolicy: corev1.PullIfNotPresent,
				SecurityContext: &corev1.SecurityContext{AllowPrivilegeEscalation: ptr.To(false),
					Capabilities: &corev1.Capabilities{Drop: []corev1.Capability{"ALL"}}},
				VolumeMounts: []corev1.VolumeMount{{Name: names.AppDataVolume, MountPath: hubfiles.AppData}},
			}},
			Volumes: []corev1.Volume{{Name: names.AppDataVolume, VolumeSource: corev1.VolumeSource{
				PersistentVolumeClaim: &corev1.PersistentVolumeClaimVolumeSource{ClaimName: names.AppDataClaim}}}},
		},
	}
}
