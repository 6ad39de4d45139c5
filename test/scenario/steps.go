package scenario

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/hubkit/hubkit/internal/names"
	"github.com/stretchr/testify/require"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/kubernetes"
	"k8s.io/utils/ptr"
)

// The changes a person makes to a running Hub, each one step.

// DeletePod deletes pod as `kubectl delete pod` does, with its grace
// period.
func (h *Hub) DeletePod(t testing.TB, pod *corev1.Pod) {
	t.Helper()
	require.NoError(t, h.pods().Delete(context.Background(), pod.Name, metav1.DeleteOptions{}), "delete pod %s", pod.Name)
}

// SetImage sets the image of the Hub's container in its Deployment, as a
// new tag in Git does once applied.
func (h *Hub) SetImage(t testing.TB, image string) {
	t.Helper()
	h.patchTemplate(t, fmt.Sprintf(`{"spec":{"template":{"spec":{"containers":[{"name":%q,"image":%q}]}}}}`, names.HubContainer, image))
}

// RolloutRestart changes the Deployment's pod template as `kubectl rollout
// restart` does, which starts a rollout.
func (h *Hub) RolloutRestart(t testing.TB) {
	t.Helper()
	h.patchTemplate(t, `{"spec":{"template":{"metadata":{"annotations":{"hubkit.dev/restartedAt":"`+strconv.FormatInt(time.Now().UnixNano(), 10)+`"}}}}}`)
}

func (h *Hub) patchTemplate(t testing.TB, patch string) {
	t.Helper()
	_, err := h.Client.AppsV1().Deployments(h.Namespace).Patch(context.Background(), names.Hub, types.StrategicMergePatchType, []byte(patch), metav1.PatchOptions{})
	require.NoError(t, err, "patch Deployment %s: %s", names.Hub, patch)
}

// CreatePod creates pod in the Hub's namespace (a second writer, a debug
// pod), and deletes it at once when the test ends.
func (h *Hub) CreatePod(t testing.TB, pod *corev1.Pod) *corev1.Pod {
	t.Helper()
	created, err := h.pods().Create(context.Background(), pod, metav1.CreateOptions{})
	require.NoError(t, err, "create pod %s", pod.Name)
	t.Cleanup(func() {
		err := h.pods().Delete(context.Background(), created.Name, metav1.DeleteOptions{GracePeriodSeconds: ptr.To[int64](0)})
		if err != nil && !apierrors.IsNotFound(err) {
			t.Errorf("delete pod %s: %v", created.Name, err)
		}
	})
	return created
}

// GetPod is pod name in the Hub's namespace, now.
func (h *Hub) GetPod(t testing.TB, name string) *corev1.Pod {
	t.Helper()
	p, err := h.pods().Get(context.Background(), name, metav1.GetOptions{})
	require.NoError(t, err)
	return p
}

// Logs is what container in pod wrote (previous: its last terminated
// run's), or "" when the kubelet has none.
func (h *Hub) Logs(pod *corev1.Pod, container string, previous bool) string {
	b, err := h.pods().GetLogs(pod.Name, &corev1.PodLogOptions{Container: container, Previous: previous}).DoRaw(context.Background())
	if err != nil {
		return ""
	}
	return string(b)
}

// WaitHeldPending waits until the Hub has a pod other than lost that the
// scheduler leaves Pending because of why (its PodScheduled message), and
// returns it.
func (h *Hub) WaitHeldPending(t testing.TB, lost *corev1.Pod, why string) *corev1.Pod {
	t.Helper()
	var held *corev1.Pod
	Until(t, "the replacement held Pending: "+why, time.Minute, func(ctx context.Context) (bool, string, error) {
		pods, err := h.pods().List(ctx, metav1.ListOptions{LabelSelector: names.HubSelector})
		if err != nil {
			return false, "", err
		}
		for _, p := range pods.Items {
			if p.UID != lost.UID && strings.Contains(Unschedulable(&p), why) {
				held = &p
				return true, "", nil
			}
		}
		return false, h.State(ctx), nil
	})
	return held
}

// Unschedulable is why the scheduler left p unscheduled, or "".
func Unschedulable(p *corev1.Pod) string {
	for _, c := range p.Status.Conditions {
		if c.Type == corev1.PodScheduled && c.Status == corev1.ConditionFalse {
			return c.Message
		}
	}
	return ""
}

// Uncordon makes the nodes sel lists schedulable.
func Uncordon(t testing.TB, client kubernetes.Interface, sel metav1.ListOptions) {
	t.Helper()
	ctx := context.Background()
	nodes, err := client.CoreV1().Nodes().List(ctx, sel)
	require.NoError(t, err)
	for _, n := range nodes.Items {
		_, err := client.CoreV1().Nodes().Patch(ctx, n.Name, types.MergePatchType, []byte(`{"spec":{"unschedulable":false}}`), metav1.PatchOptions{})
		require.NoError(t, err, "uncordon %s", n.Name)
	}
}

// Claim is the Hub's claim as it is now: the same uid, the same claim.
func (h *Hub) Claim(t testing.TB) *corev1.PersistentVolumeClaim {
	t.Helper()
	c, err := h.Client.CoreV1().PersistentVolumeClaims(h.Namespace).Get(context.Background(), names.AppDataClaim, metav1.GetOptions{})
	require.NoError(t, err, "the Hub's claim in %s", h.Namespace)
	return c
}

// DeleteClaim deletes the Hub's claim and its pod, as a lost volume's
// runbook starts, and waits until the claim is gone.
func (h *Hub) DeleteClaim(t testing.TB) {
	t.Helper()
	claims := h.Client.CoreV1().PersistentVolumeClaims(h.Namespace)
	require.NoError(t, claims.Delete(context.Background(), names.AppDataClaim, metav1.DeleteOptions{}), "delete claim %s", names.AppDataClaim)
	h.DeletePod(t, h.Pod(t))
	Until(t, "the Hub's claim in "+h.Namespace+" gone", 2*time.Minute, func(ctx context.Context) (bool, string, error) {
		_, err := claims.Get(ctx, names.AppDataClaim, metav1.GetOptions{})
		if apierrors.IsNotFound(err) {
			return true, "", nil
		}
		return false, "still there", err
	})
}

// Deployment is the Hub's Deployment.
func (h *Hub) Deployment(t testing.TB) *appsv1.Deployment {
	t.Helper()
	d, err := h.Client.AppsV1().Deployments(h.Namespace).Get(context.Background(), names.Hub, metav1.GetOptions{})
	require.NoError(t, err, "the Hub's Deployment in %s", h.Namespace)
	return d
}

// MountedConfigMap is the ConfigMap <name>-<hash> (made by a kustomize
// generator) that the Hub's pod template mounts.
func (h *Hub) MountedConfigMap(t testing.TB, name string) *corev1.ConfigMap {
	t.Helper()
	for _, v := range h.Deployment(t).Spec.Template.Spec.Volumes {
		if v.ConfigMap != nil && strings.HasPrefix(v.ConfigMap.Name, name+"-") {
			cm, err := h.Client.CoreV1().ConfigMaps(h.Namespace).Get(context.Background(), v.ConfigMap.Name, metav1.GetOptions{})
			require.NoError(t, err)
			return cm
		}
	}
	t.Fatalf("the Hub in %s mounts no ConfigMap %s-<hash>", h.Namespace, name)
	return nil
}

// Address is the Hub's Service's cluster address, host:port of its first
// port, as pods reach it.
func (h *Hub) Address(t testing.TB) string {
	t.Helper()
	svc, err := h.Client.CoreV1().Services(h.Namespace).Get(context.Background(), names.Hub, metav1.GetOptions{})
	require.NoError(t, err, "the Hub's Service in %s", h.Namespace)
	return fmt.Sprintf("%s:%d", svc.Spec.ClusterIP, svc.Spec.Ports[0].Port)
}

// Replicas is the replicas the Hub's Deployment asks for.
func (h *Hub) Replicas(t testing.TB) int32 {
	t.Helper()
	return ptr.Deref(h.Deployment(t).Spec.Replicas, 1)
}

// WaitReplicas waits until the Hub's Deployment asks for want replicas,
// as someone other than the test sets them (a GitOps tool's self-heal).
func (h *Hub) WaitReplicas(t testing.TB, want int32) {
	t.Helper()
	Until(t, fmt.Sprintf("Deployment %s in %s at %d replicas", names.Hub, h.Namespace, want), time.Minute, func(ctx context.Context) (bool, string, error) {
		d, err := h.Client.AppsV1().Deployments(h.Namespace).Get(ctx, names.Hub, metav1.GetOptions{})
		if err != nil {
			return false, "", err
		}
		got := ptr.Deref(d.Spec.Replicas, 1)
		return got == want, fmt.Sprintf("%d replicas", got), nil
	})
}

// NamespaceKept fails the test unless the Hub's namespace is there, not
// being deleted: deleting it would delete the claim.
func (h *Hub) NamespaceKept(t testing.TB) {
	t.Helper()
	ns, err := h.Client.CoreV1().Namespaces().Get(context.Background(), h.Namespace, metav1.GetOptions{})
	require.NoError(t, err, "namespace %s is kept", h.Namespace)
	require.Nil(t, ns.DeletionTimestamp, "namespace %s is not being deleted", h.Namespace)
}
