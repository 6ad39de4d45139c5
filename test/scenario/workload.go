package scenario

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	"github.com/hubkit/hubkit/test/node"
)

// Workload is a singleton that is not the Hub, as a chart installs it (the
// Helm stories): a Deployment and its claim, both called Name, its pods
// those Selector selects, in Namespace, its main container first. Its steps
// read as Hub's do.
type Workload struct {
	Client    kubernetes.Interface
	Namespace string
	Name      string
	Selector  string
	// Node is the real node, whose CSI volumes' files are this host's.
	Node *node.Node
}

// Deployment is the workload's Deployment, now.
func (w *Workload) Deployment(t testing.TB) *appsv1.Deployment {
	t.Helper()
	d, err := w.Client.AppsV1().Deployments(w.Namespace).Get(context.Background(), w.Name, metav1.GetOptions{})
	require.NoError(t, err, "Deployment %s/%s", w.Namespace, w.Name)
	return d
}

// HasDeployment says whether the workload's Deployment exists.
func (w *Workload) HasDeployment(t testing.TB) bool {
	t.Helper()
	_, err := w.Client.AppsV1().Deployments(w.Namespace).Get(context.Background(), w.Name, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		return false
	}
	require.NoError(t, err, "Deployment %s/%s", w.Namespace, w.Name)
	return true
}

// Claim is the workload's claim, now.
func (w *Workload) Claim(t testing.TB) *corev1.PersistentVolumeClaim {
	t.Helper()
	c, err := w.Client.CoreV1().PersistentVolumeClaims(w.Namespace).Get(context.Background(), w.Name, metav1.GetOptions{})
	require.NoError(t, err, "claim %s/%s", w.Namespace, w.Name)
	return c
}

// CSIVolumeDir is the host directory of the CSI volume the workload's
// claim is bound to, on the real node.
func (w *Workload) CSIVolumeDir(t testing.TB) string {
	t.Helper()
	require.NotNil(t, w.Node, "the claim's files are this host's only on the real node")
	pv, err := w.Client.CoreV1().PersistentVolumes().Get(context.Background(), w.Claim(t).Spec.VolumeName, metav1.GetOptions{})
	require.NoError(t, err)
	require.NotNil(t, pv.Spec.CSI, "volume %s is a CSI volume", pv.Name)
	return w.Node.CSIVolumeDir(pv.Spec.CSI.VolumeHandle)
}

// Pod is pod as it is now.
func (w *Workload) Pod(t testing.TB, pod *corev1.Pod) *corev1.Pod {
	t.Helper()
	p, err := w.Client.CoreV1().Pods(w.Namespace).Get(context.Background(), pod.Name, metav1.GetOptions{})
	require.NoError(t, err, "pod %s", pod.Name)
	return p
}

// WaitLog waits until the log of pod's container matches what, and
// returns the log.
func (w *Workload) WaitLog(t testing.TB, pod *corev1.Pod, container string, what func(string) bool) string {
	t.Helper()
	var logs string
	Until(t, "pod "+pod.Name+"'s "+container+" to log what the story reads", 30*time.Second, func(ctx context.Context) (bool, string, error) {
		b, err := w.Client.CoreV1().Pods(w.Namespace).GetLogs(pod.Name, &corev1.PodLogOptions{Container: container}).DoRaw(ctx)
		logs = string(b)
		return err == nil && what(logs), fmt.Sprintf("log %q", logs), err
	})
	return logs
}

// WaitRolledOut waits until the Deployment's rollout is complete, as
// `kubectl rollout status` says it (its generation observed, one replica,
// updated and available), with one pod, running image, Ready and not
// going, and returns that pod.
func (w *Workload) WaitRolledOut(t testing.TB, image string) *corev1.Pod {
	t.Helper()
	var pod *corev1.Pod
	Until(t, w.Name+"'s rollout to "+image+" complete in "+w.Namespace, 2*time.Minute, func(ctx context.Context) (bool, string, error) {
		d, err := w.Client.AppsV1().Deployments(w.Namespace).Get(ctx, w.Name, metav1.GetOptions{})
		if err != nil {
			return false, "", err
		}
		pods, err := w.pods(ctx)
		if err != nil {
			return false, "", err
		}
		s := d.Status
		seen := fmt.Sprintf("Deployment generation %d observed %d, replicas %d updated %d available %d; %s",
			d.Generation, s.ObservedGeneration, s.Replicas, s.UpdatedReplicas, s.AvailableReplicas, workloadPods(pods))
		if s.ObservedGeneration < d.Generation || s.Replicas != 1 || s.UpdatedReplicas != 1 || s.AvailableReplicas != 1 || len(pods) != 1 {
			return false, seen, nil
		}
		pod = &pods[0]
		return pod.DeletionTimestamp == nil && PodReady(pod) && pod.Spec.Containers[0].Image == image, seen, nil
	})
	return pod
}

// WaitScheduling waits until the scheduler has decided about a pod of the
// workload other than old, placed or held, and returns it.
func (w *Workload) WaitScheduling(t testing.TB, old *corev1.Pod) *corev1.Pod {
	t.Helper()
	var decided *corev1.Pod
	Until(t, "the scheduler to place or hold "+w.Name+"'s new pod in "+w.Namespace, 2*time.Minute, func(ctx context.Context) (bool, string, error) {
		pods, err := w.pods(ctx)
		if err != nil {
			return false, "", err
		}
		for i, p := range pods {
			if p.UID != old.UID && (p.Spec.NodeName != "" || Unschedulable(&p) != "") {
				decided = &pods[i]
				return true, "", nil
			}
		}
		return false, workloadPods(pods), nil
	})
	return decided
}

// WaitCounted waits until the Deployment controller has seen the
// Deployment's latest generation and counts pods of it in its status, the
// old ReplicaSet's and the new one's, and returns it.
func (w *Workload) WaitCounted(t testing.TB, pods int32) *appsv1.Deployment {
	t.Helper()
	var d *appsv1.Deployment
	Until(t, fmt.Sprintf("the Deployment's status to count %d pods in %s", pods, w.Namespace), time.Minute, func(ctx context.Context) (bool, string, error) {
		got, err := w.Client.AppsV1().Deployments(w.Namespace).Get(ctx, w.Name, metav1.GetOptions{})
		if err != nil {
			return false, "", err
		}
		d = got
		return got.Status.ObservedGeneration >= got.Generation && got.Status.Replicas == pods,
			fmt.Sprintf("generation %d observed %d, replicas %d", got.Generation, got.Status.ObservedGeneration, got.Status.Replicas), nil
	})
	return d
}

// DeleteNamespace deletes the workload's namespace and waits until it is
// gone, and the volume of its claim (as it was before) with it.
func (w *Workload) DeleteNamespace(t testing.TB) {
	t.Helper()
	ctx := context.Background()
	claim, claimErr := w.Client.CoreV1().PersistentVolumeClaims(w.Namespace).Get(ctx, w.Name, metav1.GetOptions{})
	if err := w.Client.CoreV1().Namespaces().Delete(ctx, w.Namespace, metav1.DeleteOptions{}); err != nil && !apierrors.IsNotFound(err) {
		t.Errorf("delete namespace %s: %v", w.Namespace, err)
	}
	Until(t, "namespace "+w.Namespace+" and its claim's volume deleted", 2*time.Minute, func(ctx context.Context) (bool, string, error) {
		_, err := w.Client.CoreV1().Namespaces().Get(ctx, w.Namespace, metav1.GetOptions{})
		if !apierrors.IsNotFound(err) {
			return false, "namespace " + w.Namespace + " still there", err
		}
		if claimErr != nil || claim.Spec.VolumeName == "" {
			return true, "", nil
		}
		_, err = w.Client.CoreV1().PersistentVolumes().Get(ctx, claim.Spec.VolumeName, metav1.GetOptions{})
		if apierrors.IsNotFound(err) {
			return true, "", nil
		}
		return false, "volume " + claim.Spec.VolumeName + " still there", err
	})
}

// pods are the workload's pods, by its selector.
func (w *Workload) pods(ctx context.Context) ([]corev1.Pod, error) {
	list, err := w.Client.CoreV1().Pods(w.Namespace).List(ctx, metav1.ListOptions{LabelSelector: w.Selector})
	if err != nil {
		return nil, err
	}
	return list.Items, nil
}

// workloadPods says what a wait saw of the pods: each one's name, image
// tag, phase, node and readiness, and why it is unscheduled.
func workloadPods(pods []corev1.Pod) string {
	var lines []string
	for _, p := range pods {
		_, tag, _ := strings.Cut(p.Spec.Containers[0].Image, ":")
		line := fmt.Sprintf("pod %s (%s) %s on %q ready=%t", p.Name, tag, p.Status.Phase, p.Spec.NodeName, PodReady(&p))
		if why := Unschedulable(&p); why != "" {
			line += ": " + why
		}
		lines = append(lines, line)
	}
	if len(lines) == 0 {
		return "no pods"
	}
	return strings.Join(lines, "; ")
}
