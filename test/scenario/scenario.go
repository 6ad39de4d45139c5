// Package scenario is what the end-to-end scenarios (test/e2e) are written
// in, so that each reads as its steps:
//
//	pod := hub.Pod(t)
//	before := hub.Append(t, pod, "before the crash")
//	hub.Kill(t, pod)
//	hub.WaitRestarted(t, pod)
//	assert.Equal(t, before, hub.Journal(t).At(before.Seq))
//
// Every wait is Until (or StaysFor, when the time itself is the assertion),
// and a wait that runs out says what it waited for and what it last saw.
// The Hub's steps:
//
//   - reading its journal: Hub.Journal, from the claim's directory on the
//     host, as a restore would (the stand-in fsyncs every entry it
//     acknowledges, Hub.Append);
//   - killing its process: Hub.Kill, kill -9 from the host, as a JVM dies;
//   - powering its node off: node.Node.PowerOff (test/node), and
//     NodeNotReady for what the cluster makes of it;
//   - its claim on the real node's CSI driver (test/node, test/csidriver):
//     WaitBound (provisioned), CSIVolumeDir (its files on the host, for
//     AppData), WaitCapacity (grown), WaitPodEvent (what the kubelet says
//     of a mount it refused);
//   - a snapshot of the claim: WaitSnapshotReady, once the runbook's
//     VolumeSnapshot (backup/restore) is applied; a claim restored from it
//     holds in its Journal every entry acknowledged before the snapshot
//     and none after.
package scenario

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	corev1client "k8s.io/client-go/kubernetes/typed/core/v1"

	"github.com/hubkit/hubkit/internal/hub"
	"github.com/hubkit/hubkit/internal/names"
	"github.com/hubkit/hubkit/test/node"
	"github.com/hubkit/hubkit/test/standin"
)

// Hub is the Hub one overlay deployed into Namespace.
type Hub struct {
	Client    kubernetes.Interface
	Namespace string
	// AppData is the claim's directory on this host, where the stand-in
	// keeps its journal and lock; "" when the claim is elsewhere.
	AppData string
	// Node is the real node, whose pods' processes are this host's; nil on
	// a cluster with none.
	Node *node.Node
}

func (h *Hub) pods() corev1client.PodInterface { return h.Client.CoreV1().Pods(h.Namespace) }

// Pod is the Hub's one pod, and fails the test unless exactly one is not
// on its way out.
func (h *Hub) Pod(t testing.TB) *corev1.Pod {
	t.Helper()
	pods, err := h.pods().List(context.Background(), metav1.ListOptions{LabelSelector: names.HubSelector})
	require.NoError(t, err)
	live := slices.DeleteFunc(pods.Items, func(p corev1.Pod) bool { return p.DeletionTimestamp != nil })
	require.Len(t, live, 1, "want exactly one Hub pod not on its way out: %s", podLines(pods.Items))
	return &live[0]
}

// WaitReady waits for the Hub to be up: the Deployment Available with one
// ready replica, the claim Bound, and exactly one pod, Running and Ready,
// none on its way out (a deleted pod stays listed, and Running, through its
// grace period). It returns the pod.
func (h *Hub) WaitReady(t testing.TB) *corev1.Pod {
	t.Helper()
	var pod *corev1.Pod
	Until(t, "the Hub in "+h.Namespace+" up: Deployment Available, claim Bound, one Running and Ready pod", time.Minute,
		func(ctx context.Context) (bool, string, error) {
			s, err := h.look(ctx)
			if err != nil {
				return false, s.String(), err
			}
			if s.deployment.Status.ReadyReplicas != 1 || !available(s.deployment) || s.claim.Status.Phase != corev1.ClaimBound ||
				len(s.pods) != 1 || s.pods[0].DeletionTimestamp != nil || s.pods[0].Status.Phase != corev1.PodRunning || !PodReady(&s.pods[0]) {
				return false, h.withEvents(ctx, s).String(), nil
			}
			pod = &s.pods[0]
			return true, "", nil
		})
	return pod
}

// WaitReplaced waits for old's replacement: the only Hub pod (old gone,
// none on its way out), its container Ready. It returns it.
func (h *Hub) WaitReplaced(t testing.TB, old *corev1.Pod) *corev1.Pod {
	t.Helper()
	var pod *corev1.Pod
	Until(t, "pod "+old.Name+"'s replacement, the only Hub pod, Ready", 2*time.Minute, func(ctx context.Context) (bool, string, error) {
		s, err := h.look(ctx)
		if err != nil {
			return false, s.String(), err
		}
		if len(s.pods) != 1 || s.pods[0].UID == old.UID || s.pods[0].DeletionTimestamp != nil {
			return false, h.withEvents(ctx, s).String(), nil
		}
		if st, ok := hubStatus(&s.pods[0]); !ok || !st.Ready {
			return false, h.withEvents(ctx, s).String(), nil
		}
		pod = &s.pods[0]
		return true, "", nil
	})
	return pod
}

// WaitGone waits until the Hub's pods and its claim are deleted.
func (h *Hub) WaitGone(t testing.TB) {
	t.Helper()
	Until(t, "the Hub's pods and claim in "+h.Namespace+" deleted", time.Minute, func(ctx context.Context) (bool, string, error) {
		pods, err := h.pods().List(ctx, metav1.ListOptions{LabelSelector: names.HubSelector})
		if err != nil {
			return false, "", err
		}
		if len(pods.Items) > 0 {
			return false, podLines(pods.Items), nil
		}
		c, err := h.Client.CoreV1().PersistentVolumeClaims(h.Namespace).Get(ctx, names.AppDataClaim, metav1.GetOptions{})
		if apierrors.IsNotFound(err) {
			return true, "", nil
		}
		if err != nil {
			return false, "", err
		}
		return false, fmt.Sprintf("claim %s %s, deleting=%t", c.Name, c.Status.Phase, c.DeletionTimestamp != nil), nil
	})
}

// WaitUndeployed waits until the Hub's Deployment and pods are gone, as
// deleting its GitOps application leaves it, and wants its claim kept.
func (h *Hub) WaitUndeployed(t testing.TB) {
	t.Helper()
	Until(t, "the Hub's Deployment and pods in "+h.Namespace+" deleted", 2*time.Minute, func(ctx context.Context) (bool, string, error) {
		pods, err := h.pods().List(ctx, metav1.ListOptions{LabelSelector: names.HubSelector})
		if err != nil {
			return false, "", err
		}
		_, err = h.Client.AppsV1().Deployments(h.Namespace).Get(ctx, names.Hub, metav1.GetOptions{})
		if err != nil && !apierrors.IsNotFound(err) {
			return false, "", err
		}
		return len(pods.Items) == 0 && err != nil, fmt.Sprintf("Deployment deleted: %t; %s", err != nil, podLines(pods.Items)), nil
	})
	_, err := h.Client.CoreV1().PersistentVolumeClaims(h.Namespace).Get(context.Background(), names.AppDataClaim, metav1.GetOptions{})
	require.NoError(t, err, "the claim is kept")
}

// WaitServing waits until Service hbih's EndpointSlice lists pod as ready.
func (h *Hub) WaitServing(t testing.TB, pod *corev1.Pod) {
	t.Helper()
	Until(t, "Service "+names.Hub+" to serve pod "+pod.Name, 30*time.Second, func(ctx context.Context) (bool, string, error) {
		return h.serving(ctx, pod)
	})
}

// WaitRestarted waits, looking every 20 ms (its end is a figure), until the
// kubelet has restarted the Hub's container in pod, as before shows it,
// and the Service serves it again: a higher restart count, Ready, and
// ready in the EndpointSlice. It returns the pod.
func (h *Hub) WaitRestarted(t testing.TB, before *corev1.Pod) *corev1.Pod {
	t.Helper()
	prev, ok := hubStatus(before)
	require.True(t, ok, "pod %s has no status for container %s", before.Name, names.HubContainer)
	var pod *corev1.Pod
	until(t, 20*time.Millisecond, "the Hub's container in "+before.Name+" restarted in place and served again", 2*time.Minute,
		func(ctx context.Context) (bool, string, error) {
			p, err := h.pods().Get(ctx, before.Name, metav1.GetOptions{})
			if err != nil {
				return false, "", err
			}
			if st, ok := hubStatus(p); !ok || st.RestartCount <= prev.RestartCount || !st.Ready {
				return false, podLine(p), nil
			}
			pod = p
			return h.serving(ctx, p)
		})
	return pod
}

// WaitStartedSince waits until the Hub's container, in its one pod, was
// started after since (less a second: the kubelet reports whole seconds),
// is Ready, and the Service serves it. It returns the pod.
func (h *Hub) WaitStartedSince(t testing.TB, since time.Time) *corev1.Pod {
	t.Helper()
	var pod *corev1.Pod
	Until(t, "the Hub's container started again since "+since.Format(time.TimeOnly)+" and served", 2*time.Minute,
		func(ctx context.Context) (bool, string, error) {
			pods, err := h.pods().List(ctx, metav1.ListOptions{LabelSelector: names.HubSelector})
			if err != nil {
				return false, "", err
			}
			live := slices.DeleteFunc(pods.Items, func(p corev1.Pod) bool { return p.DeletionTimestamp != nil })
			if len(live) != 1 {
				return false, podLines(pods.Items), nil
			}
			p := &live[0]
			st, ok := hubStatus(p)
			if !ok || !st.Ready || st.State.Running == nil || !st.State.Running.StartedAt.After(since.Add(-time.Second)) {
				return false, podLine(p), nil
			}
			pod = p
			return h.serving(ctx, p)
		})
	return pod
}

// serving is a Condition: Service hbih's EndpointSlice lists pod as ready.
func (h *Hub) serving(ctx context.Context, pod *corev1.Pod) (bool, string, error) {
	slices, err := h.Client.DiscoveryV1().EndpointSlices(h.Namespace).List(ctx, metav1.ListOptions{LabelSelector: "kubernetes.io/service-name=" + names.Hub})
	if err != nil {
		return false, "", err
	}
	var seen []string
	for _, s := range slices.Items {
		for _, ep := range s.Endpoints {
			if ep.TargetRef == nil {
				continue
			}
			ready := ep.Conditions.Ready != nil && *ep.Conditions.Ready
			if ep.TargetRef.Name == pod.Name && ready {
				return true, "", nil
			}
			seen = append(seen, fmt.Sprintf("%s ready=%t", ep.TargetRef.Name, ready))
		}
	}
	return false, fmt.Sprintf("Service %s has no ready endpoint for pod %s; its endpoints: [%s]", names.Hub, pod.Name, strings.Join(seen, ", ")), nil
}

// PID is the host PID of the Hub's process in pod, on the real node.
func (h *Hub) PID(t testing.TB, pod *corev1.Pod) int {
	t.Helper()
	require.NotNil(t, h.Node, "the Hub's processes are this host's only on the real node")
	st, ok := hubStatus(pod)
	require.True(t, ok, "pod %s has no status for container %s", pod.Name, names.HubContainer)
	pid, err := h.Node.ContainerPID(context.Background(), strings.TrimPrefix(st.ContainerID, "containerd://"))
	require.NoError(t, err)
	return pid
}

// Kill kills the Hub's process in pod from the host, as a JVM dies (kill
// -9), and returns when it did.
func (h *Hub) Kill(t testing.TB, pod *corev1.Pod) time.Time {
	t.Helper()
	pid := h.PID(t, pod)
	killed := time.Now()
	require.NoError(t, syscall.Kill(pid, syscall.SIGKILL), "kill -9 %d", pid)
	return killed
}

// Journal is the stand-in's journal, read from the claim's directory on the
// host as a restore would; it fails the test unless the journal is whole.
func (h *Hub) Journal(t testing.TB) Journal {
	t.Helper()
	require.NotEmpty(t, h.AppData, "the Hub's claim is not on this host")
	f, err := os.Open(filepath.Join(h.AppData, standin.JournalFile))
	require.NoError(t, err)
	defer f.Close()
	entries, _, _, err := standin.ReadJournal(f)
	require.NoError(t, err, "the journal is well-formed")
	return entries
}

// Refusals are the second writers the stand-in's lock refused, one line
// each; "" when there were none.
func (h *Hub) Refusals(t testing.TB) string {
	t.Helper()
	require.NotEmpty(t, h.AppData, "the Hub's claim is not on this host")
	b, err := os.ReadFile(filepath.Join(h.AppData, standin.RefusedFile))
	if os.IsNotExist(err) {
		return ""
	}
	require.NoError(t, err)
	return string(b)
}

// Append writes an entry to the journal through the Hub in pod, and
// returns it once the stand-in has acknowledged it (after its fsync).
func (h *Hub) Append(t testing.TB, pod *corev1.Pod, text string) standin.Entry {
	t.Helper()
	var e standin.Entry
	h.call(t, pod, http.MethodPost, "/journal", []byte(text), &e)
	return e
}

// Status is what the stand-in in pod says it is and loaded.
func (h *Hub) Status(t testing.TB, pod *corev1.Pod) standin.Status {
	t.Helper()
	var st standin.Status
	h.call(t, pod, http.MethodGet, "/debug/standin", nil, &st)
	return st
}

// RemoteHubs are the remote Hubs a central Hub in pod lists, as its UI
// shows them.
func (h *Hub) RemoteHubs(t testing.TB, pod *corev1.Pod) []standin.RemoteHub {
	t.Helper()
	var hubs []standin.RemoteHub
	h.call(t, pod, http.MethodGet, "/central/hubs", nil, &hubs)
	return hubs
}

// PutSettings changes the settings as the Hub's UI does.
func (h *Hub) PutSettings(t testing.TB, pod *corev1.Pod, settings []byte) {
	t.Helper()
	h.call(t, pod, http.MethodPut, "/settings", settings, nil)
}

// call asks the stand-in in pod, wants 200 and decodes the answer into out.
func (h *Hub) call(t testing.TB, pod *corev1.Pod, method, path string, body []byte, out any) {
	t.Helper()
	url := fmt.Sprintf("http://%s:%d%s", pod.Status.PodIP, hub.HTTPPort, path)
	req, err := http.NewRequest(method, url, bytes.NewReader(body))
	require.NoError(t, err)
	resp, err := (&http.Client{Timeout: 5 * time.Second}).Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	answer, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, resp.StatusCode, "%s %s: %s", method, path, answer)
	if out != nil {
		require.NoError(t, json.Unmarshal(answer, out), "%s %s: %s", method, path, answer)
	}
}

// State says where the Hub's objects are, for a failure message.
func (h *Hub) State(ctx context.Context) string {
	s, _ := h.look(ctx)
	return h.withEvents(ctx, s).String()
}

// snapshot is the Hub's objects as one look read them.
type snapshot struct {
	deployment *appsv1.Deployment
	claim      *corev1.PersistentVolumeClaim
	pods       []corev1.Pod
	podsRead   bool
	events     []corev1.Event
}

// look reads the Deployment, the claim and the pods; on an error, what it
// read before.
func (h *Hub) look(ctx context.Context) (snapshot, error) {
	var s snapshot
	var err error
	if s.deployment, err = h.Client.AppsV1().Deployments(h.Namespace).Get(ctx, names.Hub, metav1.GetOptions{}); err != nil {
		return snapshot{}, err
	}
	if s.claim, err = h.Client.CoreV1().PersistentVolumeClaims(h.Namespace).Get(ctx, names.AppDataClaim, metav1.GetOptions{}); err != nil {
		s.claim = nil
		return s, err
	}
	pods, err := h.pods().List(ctx, metav1.ListOptions{LabelSelector: names.HubSelector})
	if err != nil {
		return s, err
	}
	s.pods, s.podsRead = pods.Items, true
	return s, nil
}

// withEvents adds the namespace's last events to s.
func (h *Hub) withEvents(ctx context.Context, s snapshot) snapshot {
	if events, err := h.Client.CoreV1().Events(h.Namespace).List(ctx, metav1.ListOptions{}); err == nil {
		s.events = events.Items[max(0, len(events.Items)-10):]
	}
	return s
}

func (s snapshot) String() string {
	var b strings.Builder
	if d := s.deployment; d != nil {
		fmt.Fprintf(&b, "Deployment %s: %d ready, available=%t, conditions %v; ", d.Name, d.Status.ReadyReplicas, available(d), deploymentConditions(d))
	}
	if c := s.claim; c != nil {
		fmt.Fprintf(&b, "claim %s %s (volume %q); ", c.Name, c.Status.Phase, c.Spec.VolumeName)
	}
	if s.podsRead {
		fmt.Fprintf(&b, "%s; ", podLines(s.pods))
	}
	for _, e := range s.events {
		fmt.Fprintf(&b, "event %s %s/%s: %s; ", e.Reason, e.InvolvedObject.Kind, e.InvolvedObject.Name, e.Message)
	}
	return strings.TrimSuffix(b.String(), "; ")
}

func deploymentConditions(d *appsv1.Deployment) []string {
	var cs []string
	for _, c := range d.Status.Conditions {
		cs = append(cs, fmt.Sprintf("%s=%s (%s)", c.Type, c.Status, c.Reason))
	}
	return cs
}

func available(d *appsv1.Deployment) bool {
	return slices.ContainsFunc(d.Status.Conditions, func(c appsv1.DeploymentCondition) bool {
		return c.Type == appsv1.DeploymentAvailable && c.Status == corev1.ConditionTrue
	})
}

// PodReady says whether p's Ready condition is true.
func PodReady(p *corev1.Pod) bool {
	return slices.ContainsFunc(p.Status.Conditions, func(c corev1.PodCondition) bool {
		return c.Type == corev1.PodReady && c.Status == corev1.ConditionTrue
	})
}

// hubStatus is the status of the Hub's container in p.
func hubStatus(p *corev1.Pod) (corev1.ContainerStatus, bool) {
	i := slices.IndexFunc(p.Status.ContainerStatuses, func(s corev1.ContainerStatus) bool { return s.Name == names.HubContainer })
	if i < 0 {
		return corev1.ContainerStatus{}, false
	}
	return p.Status.ContainerStatuses[i], true
}

// podLine says, in one line, where a Hub pod is.
func podLine(p *corev1.Pod) string {
	var b strings.Builder
	fmt.Fprintf(&b, "pod %s %s on %q", p.Name, p.Status.Phase, p.Spec.NodeName)
	if p.DeletionTimestamp != nil {
		b.WriteString(" deleting")
	}
	if st, ok := hubStatus(p); ok {
		fmt.Fprintf(&b, ", %s ready=%t restarts=%d", names.HubContainer, st.Ready, st.RestartCount)
		switch {
		case st.State.Waiting != nil:
			fmt.Fprintf(&b, " waiting (%s)", st.State.Waiting.Reason)
		case st.State.Terminated != nil:
			fmt.Fprintf(&b, " terminated (exit %d)", st.State.Terminated.ExitCode)
		case st.State.Running != nil:
			fmt.Fprintf(&b, " running since %s", st.State.Running.StartedAt.Format(time.TimeOnly))
		}
	}
	for _, c := range p.Status.Conditions {
		if c.Status != corev1.ConditionTrue && c.Message != "" {
			fmt.Fprintf(&b, ", %s: %s", c.Type, c.Message)
		}
	}
	return b.String()
}

func podLines(pods []corev1.Pod) string {
	if len(pods) == 0 {
		return "no Hub pod"
	}
	lines := make([]string, len(pods))
	for i := range pods {
		lines[i] = podLine(&pods[i])
	}
	return strings.Join(lines, "; ")
}
