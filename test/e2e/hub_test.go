package e2e

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"testing"
	"time"

	"github.com/hubkit/hubkit/internal/names"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/watch"

	"github.com/hubkit/hubkit/internal/overlays"
	"github.com/hubkit/hubkit/test/cluster"
	"github.com/hubkit/hubkit/test/render"
	"github.com/hubkit/hubkit/test/scenario"
	"github.com/hubkit/hubkit/test/testenv"
)

// crashes is how many times a scenario crashes the Hub for its figures.
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

// rendered builds an overlay as users do: the real CLI, the function on PATH.
func rendered(t *testing.T, overlay string) []*unstructured.Unstructured {
	t.Helper()
	e2e.fns.OnPath(t)
	out, _, err := render.CLI(context.Background(), testenv.Kustomize(t), filepath.Join(e2e.root, "overlays", overlay))
	require.NoError(t, err)
	objs, err := cluster.Objects(out)
	require.NoError(t, err)
	return objs
}

func applier(t *testing.T) *cluster.Applier {
	t.Helper()
	a, err := e2e.cluster.NewApplier()
	require.NoError(t, err)
	return a
}

func split(objs []*unstructured.Unstructured) (namespaces, rest []*unstructured.Unstructured) {
	for _, o := range objs {
		if o.GetKind() == "Namespace" {
			namespaces = append(namespaces, o)
		} else {
			rest = append(rest, o)
		}
	}
	return namespaces, rest
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

// provide creates what a real cluster provides and kwok does not: a volume
// for the claim (nothing provisions storage) and, for an Ingress, its class.
func provide(t *testing.T, objs []*unstructured.Unstructured) {
	t.Helper()
	ctx := context.Background()
	for _, o := range objs {
		switch o.GetKind() {
		case "PersistentVolumeClaim":
			createVolumeFor(t, o, "e2e-"+o.GetNamespace()+"-"+o.GetName(),
				corev1.PersistentVolumeSource{HostPath: &corev1.HostPathVolumeSource{Path: "/var/lib/hubkit-e2e/" + o.GetName()}}, nil)
		case "Ingress":
			class, _, err := unstructured.NestedString(o.Object, "spec", "ingressClassName")
			require.NoError(t, err)
			ic := &networkingv1.IngressClass{ObjectMeta: metav1.ObjectMeta{Name: class}, Spec: networkingv1.IngressClassSpec{Controller: "hubkit.dev/e2e"}}
			_, err = e2e.client.NetworkingV1().IngressClasses().Create(ctx, ic, metav1.CreateOptions{})
			if !apierrors.IsAlreadyExists(err) {
				require.NoError(t, err)
			}
		}
	}
}

// createVolumeFor creates a PersistentVolume called name, from source,
// bound ahead to the rendered claim (its size and access modes), and deletes
// it when the test ends.
func createVolumeFor(t *testing.T, claim *unstructured.Unstructured, name string, source corev1.PersistentVolumeSource, affinity *corev1.VolumeNodeAffinity) {
	t.Helper()
	var pvc corev1.PersistentVolumeClaim
	require.NoError(t, runtime.DefaultUnstructuredConverter.FromUnstructured(claim.Object, &pvc))
	pv := &corev1.PersistentVolume{
		ObjectMeta: metav1.ObjectMeta{Name: name},
		Spec: corev1.PersistentVolumeSpec{
			Capacity:                      corev1.ResourceList{corev1.ResourceStorage: pvc.Spec.Resources.Requests[corev1.ResourceStorage]},
			AccessModes:                   pvc.Spec.AccessModes,
			PersistentVolumeReclaimPolicy: corev1.PersistentVolumeReclaimRetain,
			PersistentVolumeSource:        source,
			ClaimRef:                      &corev1.ObjectReference{Namespace: pvc.Namespace, Name: pvc.Name},
			NodeAffinity:                  affinity,
		},
	}
	_, err := e2e.client.CoreV1().PersistentVolumes().Create(context.Background(), pv, metav1.CreateOptions{})
	require.NoError(t, err)
	t.Cleanup(func() {
		_ = e2e.client.CoreV1().PersistentVolumes().Delete(context.Background(), pv.Name, metav1.DeleteOptions{})
	})
}

// deploy applies an overlay for real and waits until the Hub is up.
func deploy(t *testing.T, objs []*unstructured.Unstructured) (*scenario.Hub, *corev1.Pod) {
	t.Helper()
	provide(t, objs)
	require.NoError(t, applier(t).Apply(context.Background(), objs, false))
	hub := hubIn(hubNamespace(t, objs))
	return hub, hub.WaitReady(t)
}

// overlayTable is overlays/overlays.yaml.
func overlayTable(t *testing.T) []overlays.Overlay {
	t.Helper()
	table, err := overlays.Load(e2e.root)
	require.NoError(t, err)
	return table
}

// overlayRow is one overlay's row of the table.
func overlayRow(t *testing.T, name string) overlays.Overlay {
	t.Helper()
	o, err := overlays.Find(overlayTable(t), name)
	require.NoError(t, err)
	return o
}

// hubNamespace is the namespace an overlay puts the Hub's Deployment in.
func hubNamespace(t *testing.T, objs []*unstructured.Unstructured) string {
	t.Helper()
	for _, o := range objs {
		if o.GetKind() == "Deployment" && o.GetName() == names.Hub {
			return o.GetNamespace()
		}
	}
	require.FailNow(t, "the render has no Deployment "+names.Hub)
	return ""
}

// undeploy deletes what an overlay applied, all but its Namespace, and waits
// until the pod and the claim are gone.
func undeploy(t *testing.T, objs []*unstructured.Unstructured) {
	t.Helper()
	ctx := context.Background()
	_, rest := split(objs)
	require.NoError(t, applier(t).Delete(ctx, rest))
	hubIn(hubNamespace(t, objs)).WaitGone(t)
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
	for range crashes {
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

// report logs min, median and p95, and writes them to build/e2e/ for make bench.
func report(t *testing.T, name string, took []time.Duration) {
	t.Helper()
	sorted := slices.Clone(took)
	sort.Slice(sorted, func(i, j int) bool { return sorted[i] < sorted[j] })
	p := func(q float64) time.Duration { return sorted[int(q*float64(len(sorted)-1)+0.5)] }
	line := fmt.Sprintf("%s over %d crashes: min %s, median %s, p95 %s, max %s",
		name, len(sorted), sorted[0].Round(time.Millisecond), p(0.5).Round(time.Millisecond), p(0.95).Round(time.Millisecond), sorted[len(sorted)-1].Round(time.Millisecond))
	t.Log(line)
	writeFigure(t, name, line)
}

// writeFigure writes a measured figure to build/e2e/<name>.txt for make bench.
func writeFigure(t *testing.T, name, line string) {
	t.Helper()
	dir := filepath.Join(e2e.root, "build", "e2e")
	require.NoError(t, os.MkdirAll(dir, 0o755))
	require.NoError(t, os.WriteFile(filepath.Join(dir, name+".txt"), []byte(line+"\n"), 0o644))
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
