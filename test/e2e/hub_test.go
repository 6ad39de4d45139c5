package e2e

import (
	"context"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/hubkit/hubkit/internal/names"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/watch"

	"github.com/hubkit/hubkit/test/render"
	"github.com/hubkit/hubkit/test/testenv"
)

// crashes is how many times a scenario crashes the Hub for its figures
// (samples).
const crashes = 20

// The scenarios share one cluster and the namespace the overlays name, so
// they run in this order.
func TestHub(t *testing.T) {
	if e2e.cluster.Node != nil {
		onlySimulatedNodes(t)
	}
	t.Cleanup(func() { undeploy(t, rendered(t, "prod")) })
	t.Run("every overlay passes server-side dry-run under Pod Security restricted with no warning", testDryRun)
	t.Run("kind runs with its claim, endpoints and node port", testKind)
	t.Run("prod runs with its claim, endpoints and TLS Ingress", testProd)
	t.Run("a deleted pod is replaced, never two Running at once", testDurability)
	t.Run("a Recreate rollout removes the old pod before it creates the new", testRecreateRollout)
	t.Run("an HPA for the Hub fails the audit before anything is applied", testAutoscalerRejected)
}

func testDryRun(t *testing.T) {
	ctx := context.Background()
	for _, o := range overlayTable(t) {
		t.Run(o.Name, func(t *testing.T) {
			namespaces, rest := split(rendered(t, o.Name))
			a := applier(t)
			// A dry run into a namespace that does not exist fails, so the
			// Namespace (labelled enforce: restricted) is created for real.
			require.NoError(t, a.Apply(ctx, namespaces, false))
			require.NoError(t, a.Apply(ctx, rest, true))
			assert.Empty(t, a.Warnings(), "the API server warned")
		})
	}
}

func testProd(t *testing.T) {
	prod := overlayRow(t, "prod")
	objs := rendered(t, prod.Name)
	hub, pod := deploy(t, objs)
	hub.WaitServing(t, pod)
	ctx := context.Background()
	pvc, err := e2e.client.CoreV1().PersistentVolumeClaims(prod.Namespace).Get(ctx, names.AppDataClaim, metav1.GetOptions{})
	require.NoError(t, err)
	assert.Equal(t, prod.Storage, pvc.Spec.Resources.Requests.Storage().String())
	svc, err := e2e.client.CoreV1().Services(prod.Namespace).Get(ctx, names.Hub, metav1.GetOptions{})
	require.NoError(t, err)
	assert.Equal(t, corev1.ServiceTypeClusterIP, svc.Spec.Type)
	ing, err := e2e.client.NetworkingV1().Ingresses(prod.Namespace).Get(ctx, names.Hub, metav1.GetOptions{})
	require.NoError(t, err, "the Ingress was admitted")
	require.NotNil(t, ing.Spec.IngressClassName, "the Ingress names its class")
	require.Len(t, ing.Spec.TLS, 1)
	assert.Equal(t, prod.TLSSecret, ing.Spec.TLS[0].SecretName)
	assert.Equal(t, []string{ing.Spec.Rules[0].Host}, ing.Spec.TLS[0].Hosts)
}

func testKind(t *testing.T) {
	kind := overlayRow(t, "kind")
	objs := rendered(t, kind.Name)
	hub, pod := deploy(t, objs)
	defer undeploy(t, objs)
	hub.WaitServing(t, pod)
	svc, err := e2e.client.CoreV1().Services(kind.Namespace).Get(context.Background(), names.Hub, metav1.GetOptions{})
	require.NoError(t, err)
	assert.Equal(t, corev1.ServiceTypeNodePort, svc.Spec.Type)
	i := slices.IndexFunc(svc.Spec.Ports, func(p corev1.ServicePort) bool { return p.Name == "http" })
	require.GreaterOrEqual(t, i, 0)
	assert.EqualValues(t, kind.NodePort, svc.Spec.Ports[i].NodePort)
	assert.Contains(t, pod.Spec.Volumes, corev1.Volume{Name: names.AppDataVolume, VolumeSource: corev1.VolumeSource{
		PersistentVolumeClaim: &corev1.PersistentVolumeClaimVolumeSource{ClaimName: names.AppDataClaim}}})
}

func testDurability(t *testing.T) {
	ctx := context.Background()
	hub := hubIn(overlayRow(t, "prod").Namespace)
	pw := hub.Watch(t)
	pod := hub.WaitReady(t)
	var took []time.Duration
	deleted := map[types.UID]bool{}
	for range samples(crashes) {
		start := time.Now()
		require.NoError(t, e2e.client.CoreV1().Pods(hub.Namespace).Delete(ctx, pod.Name, metav1.DeleteOptions{}))
		deleted[pod.UID] = true
		var next *corev1.Pod
		pw.Until(t, "pod "+pod.Name+"'s replacement Running", time.Minute, func(ev watch.EventType, p *corev1.Pod) bool {
			// The replacement: a pod we never deleted, Running and not terminating
			// (late events about earlier victims can still say Running).
			if ev != watch.Deleted && !deleted[p.UID] && p.DeletionTimestamp == nil && p.Status.Phase == corev1.PodRunning {
				next = p
				return true
			}
			return false
		})
		took = append(took, time.Since(start))
		pod = next
	}
	assert.Equal(t, 1, pw.MostRunning(), "two Hub pods were Running at once; events: %s", pw.Events())
	report(t, "crash-to-running", took)
}

func testRecreateRollout(t *testing.T) {
	ctx := context.Background()
	hub := hubIn(overlayRow(t, "prod").Namespace)
	old := hub.WaitReady(t)
	pw := hub.Watch(t)
	patch := `{"spec":{"template":{"spec":{"containers":[{"name":"hub","image":"docker.io/library/highbyte:4.3.4"}]}}}}`
	_, err := e2e.client.AppsV1().Deployments(hub.Namespace).Patch(ctx, names.Hub, types.StrategicMergePatchType, []byte(patch), metav1.PatchOptions{})
	require.NoError(t, err)
	var order []string
	pw.Until(t, "the new version's pod Running", time.Minute, func(ev watch.EventType, p *corev1.Pod) bool {
		switch {
		case ev == watch.Deleted && p.UID == old.UID:
			order = append(order, "old pod deleted")
		case ev == watch.Added && p.UID != old.UID:
			order = append(order, "new pod created")
		}
		return p.UID != old.UID && p.Status.Phase == corev1.PodRunning
	})
	assert.Equal(t, []string{"old pod deleted", "new pod created"}, order, "events: %s", pw.Events())
	assert.Equal(t, 1, pw.MostRunning())
}

func testAutoscalerRejected(t *testing.T) {
	e2e.fns.OnPath(t)
	overlay := filepath.Join(e2e.root, "overlays", "testdata", "adversarial", "hpa")
	_, stderr, err := render.CLI(context.Background(), testenv.Kustomize(t), testenv.WithFunction(t, overlay, "audit"))
	require.Error(t, err, "audit must refuse an HPA aimed at the Hub")
	assert.Contains(t, string(stderr), "[autoscalers]")
}
