package e2e

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/apimachinery/pkg/watch"

	"github.com/hubkit/hubkit/internal/overlays"
	"github.com/hubkit/hubkit/test/cluster"
	"github.com/hubkit/hubkit/test/render"
	"github.com/hubkit/hubkit/test/testenv"
)

const (
	hubSelector = "app.kubernetes.io/name=intelligence-hub,app.kubernetes.io/instance=hbih"
	crashes     = 20
)

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
	t.Run("a crashed pod comes back with its claim, never two at once", testDurability)
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
func deploy(t *testing.T, objs []*unstructured.Unstructured) *corev1.Pod {
	t.Helper()
	provide(t, objs)
	require.NoError(t, applier(t).Apply(context.Background(), objs, false))
	return waitForHub(t, hubNamespace(t, objs))
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
		if o.GetKind() == "Deployment" && o.GetName() == "hbih" {
			return o.GetNamespace()
		}
	}
	require.FailNow(t, "the render has no Deployment hbih")
	return ""
}

// waitForHub waits for the Deployment to be Available with one ready pod
// and its claim Bound, and returns the pod.
func waitForHub(t *testing.T, ns string) *corev1.Pod {
	t.Helper()
	ctx := context.Background()
	var pod *corev1.Pod
	err := wait.PollUntilContextTimeout(ctx, 100*time.Millisecond, time.Minute, true, func(ctx context.Context) (bool, error) {
		d, err := e2e.client.AppsV1().Deployments(ns).Get(ctx, "hbih", metav1.GetOptions{})
		if err != nil || d.Status.ReadyReplicas != 1 || !available(d) {
			return false, nil
		}
		pvc, err := e2e.client.CoreV1().PersistentVolumeClaims(ns).Get(ctx, "hbih-appdata", metav1.GetOptions{})
		if err != nil || pvc.Status.Phase != corev1.ClaimBound {
			return false, nil
		}
		// Exactly one pod, and not one on its way out: a deleted pod stays
		// listed (and Running) through its grace period.
		pods, err := e2e.client.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{LabelSelector: hubSelector})
		if err != nil || len(pods.Items) != 1 || pods.Items[0].DeletionTimestamp != nil || pods.Items[0].Status.Phase != corev1.PodRunning {
			return false, nil
		}
		pod = &pods.Items[0]
		return slices.ContainsFunc(pod.Status.Conditions, func(c corev1.PodCondition) bool {
			return c.Type == corev1.PodReady && c.Status == corev1.ConditionTrue
		}), nil
	})
	require.NoError(t, err, "the Hub did not come up: Deployment Available, claim Bound, one Running pod; %s", hubState(ctx, ns))
	return pod
}

// hubState says where the Hub's objects in ns are, for a failure message.
func hubState(ctx context.Context, ns string) string {
	var b strings.Builder
	if d, err := e2e.client.AppsV1().Deployments(ns).Get(ctx, "hbih", metav1.GetOptions{}); err == nil {
		fmt.Fprintf(&b, "Deployment: %d ready, conditions %v; ", d.Status.ReadyReplicas, d.Status.Conditions)
	}
	if c, err := e2e.client.CoreV1().PersistentVolumeClaims(ns).Get(ctx, "hbih-appdata", metav1.GetOptions{}); err == nil {
		fmt.Fprintf(&b, "claim %s (volume %q); ", c.Status.Phase, c.Spec.VolumeName)
	}
	if pods, err := e2e.client.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{LabelSelector: hubSelector}); err == nil {
		for _, p := range pods.Items {
			fmt.Fprintf(&b, "pod %s %s on %q %v; ", p.Name, p.Status.Phase, p.Spec.NodeName, p.Status.Conditions)
		}
	}
	if events, err := e2e.client.CoreV1().Events(ns).List(ctx, metav1.ListOptions{}); err == nil {
		for _, e := range events.Items[max(0, len(events.Items)-10):] {
			fmt.Fprintf(&b, "event %s %s/%s: %s; ", e.Reason, e.InvolvedObject.Kind, e.InvolvedObject.Name, e.Message)
		}
	}
	return b.String()
}

func available(d *appsv1.Deployment) bool {
	return slices.ContainsFunc(d.Status.Conditions, func(c appsv1.DeploymentCondition) bool {
		return c.Type == appsv1.DeploymentAvailable && c.Status == corev1.ConditionTrue
	})
}

// checkEndpoints wants the Service's EndpointSlice to point at the pod.
func checkEndpoints(t *testing.T, pod *corev1.Pod) {
	t.Helper()
	ctx := context.Background()
	err := wait.PollUntilContextTimeout(ctx, 100*time.Millisecond, 30*time.Second, true, func(ctx context.Context) (bool, error) {
		slices, err := e2e.client.DiscoveryV1().EndpointSlices(pod.Namespace).List(ctx, metav1.ListOptions{LabelSelector: "kubernetes.io/service-name=hbih"})
		if err != nil {
			return false, nil
		}
		for _, s := range slices.Items {
			for _, ep := range s.Endpoints {
				if ep.TargetRef != nil && ep.TargetRef.Name == pod.Name && ep.Conditions.Ready != nil && *ep.Conditions.Ready {
					return true, nil
				}
			}
		}
		return false, nil
	})
	require.NoError(t, err, "Service hbih has no ready endpoint for pod %s", pod.Name)
}

// undeploy deletes what an overlay applied, all but its Namespace, and waits
// until the pod and the claim are gone.
func undeploy(t *testing.T, objs []*unstructured.Unstructured) {
	t.Helper()
	ctx := context.Background()
	_, rest := split(objs)
	ns := hubNamespace(t, objs)
	require.NoError(t, applier(t).Delete(ctx, rest))
	err := wait.PollUntilContextTimeout(ctx, 100*time.Millisecond, time.Minute, true, func(ctx context.Context) (bool, error) {
		pods, err := e2e.client.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{LabelSelector: hubSelector})
		if err != nil || len(pods.Items) > 0 {
			return false, nil
		}
		_, err = e2e.client.CoreV1().PersistentVolumeClaims(ns).Get(ctx, "hbih-appdata", metav1.GetOptions{})
		return apierrors.IsNotFound(err), nil
	})
	require.NoError(t, err, "the Hub's pod and claim were not deleted")
}

func testProd(t *testing.T) {
	prod := overlayRow(t, "prod")
	objs := rendered(t, prod.Name)
	pod := deploy(t, objs)
	checkEndpoints(t, pod)
	ctx := context.Background()
	pvc, err := e2e.client.CoreV1().PersistentVolumeClaims(prod.Namespace).Get(ctx, "hbih-appdata", metav1.GetOptions{})
	require.NoError(t, err)
	assert.Equal(t, prod.Storage, pvc.Spec.Resources.Requests.Storage().String())
	svc, err := e2e.client.CoreV1().Services(prod.Namespace).Get(ctx, "hbih", metav1.GetOptions{})
	require.NoError(t, err)
	assert.Equal(t, corev1.ServiceTypeClusterIP, svc.Spec.Type)
	ing, err := e2e.client.NetworkingV1().Ingresses(prod.Namespace).Get(ctx, "hbih", metav1.GetOptions{})
	require.NoError(t, err, "the Ingress was admitted")
	require.NotNil(t, ing.Spec.IngressClassName)
	_, err = e2e.client.NetworkingV1().IngressClasses().Get(ctx, *ing.Spec.IngressClassName, metav1.GetOptions{})
	assert.NoError(t, err, "the Ingress names an IngressClass that exists")
	require.Len(t, ing.Spec.TLS, 1)
	assert.Equal(t, prod.TLSSecret, ing.Spec.TLS[0].SecretName)
	assert.Equal(t, []string{ing.Spec.Rules[0].Host}, ing.Spec.TLS[0].Hosts)
}

func testKind(t *testing.T) {
	kind := overlayRow(t, "kind")
	objs := rendered(t, kind.Name)
	pod := deploy(t, objs)
	defer undeploy(t, objs)
	checkEndpoints(t, pod)
	svc, err := e2e.client.CoreV1().Services(kind.Namespace).Get(context.Background(), "hbih", metav1.GetOptions{})
	require.NoError(t, err)
	assert.Equal(t, corev1.ServiceTypeNodePort, svc.Spec.Type)
	i := slices.IndexFunc(svc.Spec.Ports, func(p corev1.ServicePort) bool { return p.Name == "http" })
	require.GreaterOrEqual(t, i, 0)
	assert.EqualValues(t, kind.NodePort, svc.Spec.Ports[i].NodePort)
	assert.Contains(t, pod.Spec.Volumes, corev1.Volume{Name: "appdata", VolumeSource: corev1.VolumeSource{
		PersistentVolumeClaim: &corev1.PersistentVolumeClaimVolumeSource{ClaimName: "hbih-appdata"}}})
}

// podWatch follows the Hub's pods through one watch and keeps the most
// that were ever Running at once.
type podWatch struct {
	w          watch.Interface
	running    map[types.UID]bool
	maxRunning int
	events     []string
}

func watchPods(t *testing.T, ns string) *podWatch {
	t.Helper()
	ctx := context.Background()
	list, err := e2e.client.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{LabelSelector: hubSelector})
	require.NoError(t, err)
	w, err := e2e.client.CoreV1().Pods(ns).Watch(ctx, metav1.ListOptions{LabelSelector: hubSelector, ResourceVersion: list.ResourceVersion})
	require.NoError(t, err)
	pw := &podWatch{w: w, running: map[types.UID]bool{}}
	for _, p := range list.Items {
		pw.running[p.UID] = p.Status.Phase == corev1.PodRunning
	}
	pw.count()
	t.Cleanup(w.Stop)
	return pw
}

func (pw *podWatch) count() {
	n := 0
	for _, r := range pw.running {
		if r {
			n++
		}
	}
	pw.maxRunning = max(pw.maxRunning, n)
}

// until reads events until done says so about one, or the timeout.
func (pw *podWatch) until(t *testing.T, timeout time.Duration, done func(watch.EventType, *corev1.Pod) bool) {
	t.Helper()
	deadline := time.After(timeout)
	for {
		select {
		case ev, ok := <-pw.w.ResultChan():
			require.True(t, ok, "the watch closed")
			pod, ok := ev.Object.(*corev1.Pod)
			if !ok {
				continue
			}
			pw.events = append(pw.events, fmt.Sprintf("%s %s %s deleting=%v", ev.Type, pod.Name, pod.Status.Phase, pod.DeletionTimestamp != nil))
			if ev.Type == watch.Deleted {
				delete(pw.running, pod.UID)
			} else {
				pw.running[pod.UID] = pod.Status.Phase == corev1.PodRunning
			}
			pw.count()
			if done(ev.Type, pod) {
				return
			}
		case <-deadline:
			t.Fatalf("timed out; events: %s", strings.Join(pw.events, "; "))
		}
	}
}

func testDurability(t *testing.T) {
	ctx := context.Background()
	pw := watchPods(t, overlayRow(t, "prod").Namespace)
	pod := waitForHub(t, overlayRow(t, "prod").Namespace)
	var took []time.Duration
	deleted := map[types.UID]bool{}
	for i := 0; i < crashes; i++ {
		claim := pod.Spec.Volumes[slices.IndexFunc(pod.Spec.Volumes, func(v corev1.Volume) bool { return v.Name == "appdata" })].PersistentVolumeClaim.ClaimName
		start := time.Now()
		require.NoError(t, e2e.client.CoreV1().Pods(overlayRow(t, "prod").Namespace).Delete(ctx, pod.Name, metav1.DeleteOptions{}))
		deleted[pod.UID] = true
		var next *corev1.Pod
		pw.until(t, time.Minute, func(ev watch.EventType, p *corev1.Pod) bool {
			// The replacement: a pod we never deleted, Running and not terminating
			// (late events about earlier victims can still say Running).
			if ev != watch.Deleted && !deleted[p.UID] && p.DeletionTimestamp == nil && p.Status.Phase == corev1.PodRunning {
				next = p
				return true
			}
			return false
		})
		took = append(took, time.Since(start))
		j := slices.IndexFunc(next.Spec.Volumes, func(v corev1.Volume) bool { return v.Name == "appdata" })
		require.GreaterOrEqual(t, j, 0)
		assert.Equal(t, claim, next.Spec.Volumes[j].PersistentVolumeClaim.ClaimName, "the replacement mounts the same claim")
		pod = next
	}
	assert.Equal(t, 1, pw.maxRunning, "two Hub pods were Running at once; events: %s", strings.Join(pw.events, "; "))
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
	old := waitForHub(t, overlayRow(t, "prod").Namespace)
	pw := watchPods(t, overlayRow(t, "prod").Namespace)
	patch := `{"spec":{"template":{"spec":{"containers":[{"name":"hub","image":"docker.io/library/highbyte:4.3.4"}]}}}}`
	_, err := e2e.client.AppsV1().Deployments(overlayRow(t, "prod").Namespace).Patch(ctx, "hbih", types.StrategicMergePatchType, []byte(patch), metav1.PatchOptions{})
	require.NoError(t, err)
	var order []string
	pw.until(t, time.Minute, func(ev watch.EventType, p *corev1.Pod) bool {
		switch {
		case ev == watch.Deleted && p.UID == old.UID:
			order = append(order, "old pod deleted")
		case ev == watch.Added && p.UID != old.UID:
			order = append(order, "new pod created")
		}
		return p.UID != old.UID && p.Status.Phase == corev1.PodRunning
	})
	assert.Equal(t, []string{"old pod deleted", "new pod created"}, order, "events: %s", strings.Join(pw.events, "; "))
	assert.Equal(t, 1, pw.maxRunning)
}

func testAutoscalerRejected(t *testing.T) {
	e2e.fns.OnPath(t)
	overlay := filepath.Join(e2e.root, "overlays", "testdata", "adversarial", "hpa")
	out, stderr, err := render.CLI(context.Background(), testenv.Kustomize(t), testenv.WithFunction(t, overlay, "audit"))
	require.Error(t, err, "audit must refuse an HPA aimed at the Hub")
	assert.Nil(t, out, "nothing to apply")
	assert.Contains(t, string(stderr), "[autoscalers]")
	hpas, err := e2e.client.AutoscalingV2().HorizontalPodAutoscalers(overlayRow(t, "prod").Namespace).List(context.Background(), metav1.ListOptions{})
	require.NoError(t, err)
	assert.Empty(t, hpas.Items, "no autoscaler reached the cluster")
}
