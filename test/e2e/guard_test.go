package e2e

import (
	"context"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/hubkit/hubkit/internal/names"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	appsv1 "k8s.io/api/apps/v1"
	autoscalingv1 "k8s.io/api/autoscaling/v1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/util/retry"
	"k8s.io/utils/ptr"

	"github.com/hubkit/hubkit/test/cluster"
	"github.com/hubkit/hubkit/test/pins"
	"github.com/hubkit/hubkit/test/render"
	"github.com/hubkit/hubkit/test/scenario"
	"github.com/hubkit/hubkit/test/testenv"
)

// The guard (guard/), installed on the real apiserver, refuses every way to
// a second Hub that the issue lists, with the function's rule IDs, and
// allows what keeps the Hub one: scaling to 0 and back, a new image under
// Recreate, and anything done to workloads that are not singletons.
func TestGuard(t *testing.T) {
	if e2e.cluster.Node != nil {
		onlySimulatedNodes(t)
	}
	t.Run("without the guard, kubectl scale makes a second Hub pod", testUnguarded)
	guard := guardObjects(t)
	t.Run("the guard passes server-side dry-run with no warning", func(t *testing.T) {
		a := applier(t)
		require.NoError(t, a.Apply(context.Background(), guard, true))
		assert.Empty(t, a.Warnings(), "the API server warned")
	})
	require.NoError(t, applier(t).Apply(context.Background(), guard, false))
	t.Cleanup(func() { require.NoError(t, applier(t).Delete(context.Background(), guard)) })
	t.Run("the apiserver type-checks every policy's CEL with no warning", testGuardTypeChecks)
	// KEDA's own ScaledObject CRD, at the pinned release.
	installCRD(t, filepath.Join(moduleDir(t, pins.Get(t, "KEDA_MODULE")), "config", "crd", "bases", "keda.sh_scaledobjects.yaml"))

	for _, o := range overlayTable(t) {
		t.Run(o.Name, func(t *testing.T) {
			if o.Members > 0 {
				t.Skipf("%s runs the Hub as an HA group of %d, not a singleton Deployment: the HA group's refusals are the subtest %q", o.Name, o.Members, haGroupTest)
			}
			objs := rendered(t, o.Name)
			hub, _ := deploy(t, objs)
			defer undeploy(t, objs)
			ns := hub.Namespace
			waitForGuard(t, ns)
			web := createUnrelated(t, ns)
			t.Run("refused: a second replica, by update, by UpdateScale and by kubectl scale", func(t *testing.T) { testRefusedReplicas(t, ns) })
			t.Run("refused: an HPA (v1, v2) or ScaledObject on the Hub, at create and at update", func(t *testing.T) { testRefusedAutoscalers(t, ns, web) })
			t.Run("refused: a rollout that surges", func(t *testing.T) { testRefusedRollout(t, ns) })
			t.Run("refused: a debug pod, a Job or a second Deployment on the Hub's claim", func(t *testing.T) { testRefusedClaimMounts(t, ns) })
			t.Run("allowed: scale to 0 and back, a new image, the unrelated Deployment, an annotated restore pod", func(t *testing.T) {
				testAllowed(t, ns, web)
			})
		})
	}
	t.Run("a StatefulSet singleton beside a replicated app: its scale refused, the app's allowed", testGuardedStatefulSet)
	t.Run(haGroupTest, testGuardedHAGroup)
}

const haGroupTest = "an HA group of 2 rendered by the function: above 2 refused, an HPA refused, its members on their own claims only"

func testGuardTypeChecks(t *testing.T) {
	ctx := context.Background()
	policies, err := e2e.client.AdmissionregistrationV1().ValidatingAdmissionPolicies().List(ctx, metav1.ListOptions{LabelSelector: "app.kubernetes.io/component=guard"})
	require.NoError(t, err)
	want := 0
	for _, o := range guardObjects(t) {
		if o.GetKind() == "ValidatingAdmissionPolicy" {
			want++
		}
	}
	require.Len(t, policies.Items, want, "every policy guard/ renders")
	for _, p := range policies.Items {
		var checked *admissionregistrationv1.TypeChecking
		scenario.Until(t, "the apiserver to type-check policy "+p.Name, 30*time.Second, func(ctx context.Context) (bool, string, error) {
			got, err := e2e.client.AdmissionregistrationV1().ValidatingAdmissionPolicies().Get(ctx, p.Name, metav1.GetOptions{})
			if err != nil {
				return false, "", err
			}
			checked = got.Status.TypeChecking
			return got.Status.ObservedGeneration == got.Generation && checked != nil,
				fmt.Sprintf("generation %d observed %d, type-checked %t", got.Generation, got.Status.ObservedGeneration, checked != nil), nil
		})
		assert.Empty(t, checked.ExpressionWarnings, "policy %s", p.Name)
	}
}

func testUnguarded(t *testing.T) {
	objs := rendered(t, "dev")
	hub, _ := deploy(t, objs)
	defer undeploy(t, objs)
	out, err := kubectl(t, "-n", hub.Namespace, "scale", "deployment/"+names.Hub, "--replicas=2")
	require.NoError(t, err, out)
	scenario.Until(t, "a second Hub pod, made by kubectl scale without the guard (ReadWriteOncePod then keeps it Pending)", 30*time.Second,
		func(ctx context.Context) (bool, string, error) {
			pods, err := e2e.client.CoreV1().Pods(hub.Namespace).List(ctx, metav1.ListOptions{LabelSelector: names.HubSelector})
			if err != nil {
				return false, "", err
			}
			return len(pods.Items) == 2, fmt.Sprintf("%d Hub pods", len(pods.Items)), nil
		})
	out, err = kubectl(t, "-n", hub.Namespace, "scale", "deployment/"+names.Hub, "--replicas=1")
	require.NoError(t, err, out)
}

// scaler is the scale subresource of Deployments and StatefulSets.
type scaler interface {
	GetScale(ctx context.Context, name string, opts metav1.GetOptions) (*autoscalingv1.Scale, error)
	UpdateScale(ctx context.Context, name string, scale *autoscalingv1.Scale, opts metav1.UpdateOptions) (*autoscalingv1.Scale, error)
}

// createUnrelated creates a replicated web app, no singleton, in ns.
func createUnrelated(t *testing.T, ns string) *appsv1.Deployment {
	t.Helper()
	labels := map[string]string{"app": "web"}
	d := &appsv1.Deployment{
		ObjectMeta: metav1.ObjectMeta{Name: "web", Namespace: ns},
		Spec: appsv1.DeploymentSpec{
			Replicas: ptr.To[int32](2),
			Selector: &metav1.LabelSelector{MatchLabels: labels},
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: labels},
				Spec:       restrictedPod("web"),
			},
		},
	}
	d, err := e2e.client.AppsV1().Deployments(ns).Create(context.Background(), d, metav1.CreateOptions{})
	require.NoError(t, err, "a Deployment that is no singleton is created, with a RollingUpdate")
	t.Cleanup(func() {
		_ = e2e.client.AppsV1().Deployments(ns).Delete(context.Background(), "web", metav1.DeleteOptions{})
	})
	return d
}

func testRefusedReplicas(t *testing.T, ns string) {
	ctx := context.Background()
	deployments := e2e.client.AppsV1().Deployments(ns)
	err := retry.RetryOnConflict(retry.DefaultRetry, func() error {
		d, err := deployments.Get(ctx, "hbih", metav1.GetOptions{})
		if err != nil {
			return err
		}
		d.Spec.Replicas = ptr.To[int32](2)
		_, err = deployments.Update(ctx, d, metav1.UpdateOptions{})
		return err
	})
	refused(t, err, "replicas")

	err = retry.RetryOnConflict(retry.DefaultRetry, func() error {
		return scale(ctx, e2e.client.AppsV1().Deployments(ns), "hbih", 3, metav1.UpdateOptions{})
	})
	refused(t, err, "replicas")

	out, err := kubectl(t, "-n", ns, "scale", "deployment/hbih", "--replicas=2")
	require.Error(t, err, out)
	t.Log("kubectl scale: ", out)
	assert.Contains(t, out, "[replicas] Deployment "+ns+"/hbih is a singleton")
	assert.Contains(t, out, "set replicas to 1")
	assertOneHub(t, ns)
}

// assertOneHub wants the Hub's Deployment at one replica with one pod.
func assertOneHub(t *testing.T, ns string) {
	t.Helper()
	ctx := context.Background()
	d, err := e2e.client.AppsV1().Deployments(ns).Get(ctx, "hbih", metav1.GetOptions{})
	require.NoError(t, err)
	assert.EqualValues(t, 1, *d.Spec.Replicas)
	pods, err := e2e.client.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{LabelSelector: names.HubSelector})
	require.NoError(t, err)
	assert.Len(t, pods.Items, 1)
}

func testRefusedAutoscalers(t *testing.T, ns string, web *appsv1.Deployment) {
	ctx := context.Background()
	hub := autoscalingv2.CrossVersionObjectReference{APIVersion: "apps/v1", Kind: "Deployment", Name: "hbih"}
	v2 := &autoscalingv2.HorizontalPodAutoscaler{
		ObjectMeta: metav1.ObjectMeta{Name: "hub-v2", Namespace: ns},
		Spec:       autoscalingv2.HorizontalPodAutoscalerSpec{ScaleTargetRef: hub, MinReplicas: ptr.To[int32](1), MaxReplicas: 3},
	}
	_, err := e2e.client.AutoscalingV2().HorizontalPodAutoscalers(ns).Create(ctx, v2, metav1.CreateOptions{})
	refused(t, err, "autoscalers")

	v1 := &autoscalingv1.HorizontalPodAutoscaler{
		ObjectMeta: metav1.ObjectMeta{Name: "hub-v1", Namespace: ns},
		Spec: autoscalingv1.HorizontalPodAutoscalerSpec{MaxReplicas: 3,
			ScaleTargetRef: autoscalingv1.CrossVersionObjectReference{APIVersion: "apps/v1", Kind: "Deployment", Name: "hbih"}},
	}
	_, err = e2e.client.AutoscalingV1().HorizontalPodAutoscalers(ns).Create(ctx, v1, metav1.CreateOptions{})
	refused(t, err, "autoscalers")

	// An HPA on the web app is fine; pointing it at the Hub afterwards is not.
	onWeb := v2.DeepCopy()
	onWeb.Name = "web"
	onWeb.Spec.ScaleTargetRef.Name = web.Name
	onWeb, err = e2e.client.AutoscalingV2().HorizontalPodAutoscalers(ns).Create(ctx, onWeb, metav1.CreateOptions{})
	require.NoError(t, err, "an HPA on a Deployment that is no singleton is allowed")
	defer func() {
		_ = e2e.client.AutoscalingV2().HorizontalPodAutoscalers(ns).Delete(ctx, "web", metav1.DeleteOptions{})
	}()
	err = retry.RetryOnConflict(retry.DefaultRetry, func() error {
		onWeb, err := e2e.client.AutoscalingV2().HorizontalPodAutoscalers(ns).Get(ctx, "web", metav1.GetOptions{})
		if err != nil {
			return err
		}
		onWeb.Spec.ScaleTargetRef.Name = "hbih"
		_, err = e2e.client.AutoscalingV2().HorizontalPodAutoscalers(ns).Update(ctx, onWeb, metav1.UpdateOptions{})
		return err
	})
	refused(t, err, "autoscalers")

	dyn, err := dynamic.NewForConfig(e2e.cluster.Config)
	require.NoError(t, err)
	scaledObjects := dyn.Resource(schema.GroupVersionResource{Group: "keda.sh", Version: "v1alpha1", Resource: "scaledobjects"}).Namespace(ns)
	so := &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "keda.sh/v1alpha1", "kind": "ScaledObject",
		"metadata": map[string]any{"name": "hub", "namespace": ns},
		// No kind: KEDA scales a Deployment of that name.
		"spec": map[string]any{"scaleTargetRef": map[string]any{"name": "hbih"},
			"triggers": []any{map[string]any{"type": "cpu", "metricType": "Utilization", "metadata": map[string]any{"value": "50"}}}},
	}}
	_, err = scaledObjects.Create(ctx, so, metav1.CreateOptions{})
	refused(t, err, "autoscalers")
	require.NoError(t, unstructured.SetNestedField(so.Object, web.Name, "spec", "scaleTargetRef", "name"))
	so, err = scaledObjects.Create(ctx, so, metav1.CreateOptions{})
	require.NoError(t, err, "a ScaledObject on a Deployment that is no singleton is allowed")
	defer func() { _ = scaledObjects.Delete(ctx, so.GetName(), metav1.DeleteOptions{}) }()
	require.NoError(t, unstructured.SetNestedField(so.Object, "hbih", "spec", "scaleTargetRef", "name"))
	_, err = scaledObjects.Update(ctx, so, metav1.UpdateOptions{})
	refused(t, err, "autoscalers")
	assertOneHub(t, ns)
}

func testRefusedRollout(t *testing.T, ns string) {
	ctx := context.Background()
	patch := `{"spec":{"strategy":{"type":"RollingUpdate","rollingUpdate":{"maxSurge":1,"maxUnavailable":0}}}}`
	_, err := e2e.client.AppsV1().Deployments(ns).Patch(ctx, "hbih", types.StrategicMergePatchType, []byte(patch), metav1.PatchOptions{})
	refused(t, err, "rollout")
	// The default surge, 25%, too: kubectl edit that only sets the type.
	out, err := kubectl(t, "-n", ns, "patch", "deployment/hbih", "--type=json",
		`-p=[{"op":"replace","path":"/spec/strategy","value":{"type":"RollingUpdate"}}]`)
	require.Error(t, err, out)
	assert.Contains(t, out, "[rollout] Deployment "+ns+"/hbih is a singleton")
}

func testRefusedClaimMounts(t *testing.T, ns string) {
	ctx := context.Background()
	debug := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "debug", Namespace: ns}, Spec: restrictedPod("debug", claimVolume("hbih-appdata"))}
	_, err := e2e.client.CoreV1().Pods(ns).Create(ctx, debug, metav1.CreateOptions{})
	refused(t, err, "claims")
	assert.Contains(t, err.Error(), names.ClaimAccessReasonAnnotation)

	job := &batchv1.Job{
		ObjectMeta: metav1.ObjectMeta{Name: "backup", Namespace: ns},
		Spec: batchv1.JobSpec{BackoffLimit: ptr.To[int32](0), Template: corev1.PodTemplateSpec{Spec: func() corev1.PodSpec {
			s := restrictedPod("backup", claimVolume("hbih-appdata"))
			s.RestartPolicy = corev1.RestartPolicyNever
			return s
		}()}},
	}
	_, err = e2e.client.BatchV1().Jobs(ns).Create(ctx, job, metav1.CreateOptions{})
	require.NoError(t, err)
	defer func() {
		_ = e2e.client.BatchV1().Jobs(ns).Delete(ctx, "backup", metav1.DeleteOptions{PropagationPolicy: ptr.To(metav1.DeletePropagationBackground)})
	}()
	waitForRefusedPod(t, ns, "involvedObject.kind=Job,involvedObject.name=backup")

	labels := map[string]string{"app": "copy"}
	second := &appsv1.Deployment{
		ObjectMeta: metav1.ObjectMeta{Name: "hbih-copy", Namespace: ns},
		Spec: appsv1.DeploymentSpec{
			Replicas: ptr.To[int32](1),
			Selector: &metav1.LabelSelector{MatchLabels: labels},
			Template: corev1.PodTemplateSpec{ObjectMeta: metav1.ObjectMeta{Labels: labels}, Spec: restrictedPod("copy", claimVolume("hbih-appdata"))},
		},
	}
	_, err = e2e.client.AppsV1().Deployments(ns).Create(ctx, second, metav1.CreateOptions{})
	require.NoError(t, err)
	defer func() { _ = e2e.client.AppsV1().Deployments(ns).Delete(ctx, "hbih-copy", metav1.DeleteOptions{}) }()
	waitForRefusedPod(t, ns, "involvedObject.kind=ReplicaSet")
	pods, err := e2e.client.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{LabelSelector: "app=copy"})
	require.NoError(t, err)
	assert.Empty(t, pods.Items, "the second Deployment got no pod")
	assertOneHub(t, ns)
}

func testAllowed(t *testing.T, ns string, web *appsv1.Deployment) {
	ctx := context.Background()
	deployments := e2e.client.AppsV1().Deployments(ns)

	out, err := kubectl(t, "-n", ns, "scale", "deployment/hbih", "--replicas=0")
	require.NoError(t, err, "scaling the Hub to 0 for maintenance is allowed: %s", out)
	restore := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: "restore", Namespace: ns,
			Annotations: map[string]string{names.ClaimAccessReasonAnnotation: "restore drill while hbih is scaled to 0"}},
		Spec: restrictedPod("restore", claimVolume("hbih-appdata")),
	}
	_, err = e2e.client.CoreV1().Pods(ns).Create(ctx, restore, metav1.CreateOptions{})
	require.NoError(t, err, "a pod with hubkit.dev/claim-access-reason may mount the claim")
	require.NoError(t, e2e.client.CoreV1().Pods(ns).Delete(ctx, "restore", metav1.DeleteOptions{GracePeriodSeconds: ptr.To[int64](0)}))
	err = retry.RetryOnConflict(retry.DefaultRetry, func() error {
		return scale(ctx, e2e.client.AppsV1().Deployments(ns), "hbih", 1, metav1.UpdateOptions{})
	})
	require.NoError(t, err, "scaling the Hub back to 1 is allowed")
	before := hubIn(ns).WaitReady(t)

	patch := `{"spec":{"template":{"spec":{"containers":[{"name":"hub","image":"docker.io/library/highbyte:4.3.4"}]}}}}`
	_, err = deployments.Patch(ctx, "hbih", types.StrategicMergePatchType, []byte(patch), metav1.PatchOptions{})
	require.NoError(t, err, "a new image under Recreate is allowed")
	// Right after the patch the old pod is still the one Ready pod:
	// wait for its replacement, not for what was already there.
	hubIn(ns).WaitReplaced(t, before)

	out, err = kubectl(t, "-n", ns, "scale", "deployment/"+web.Name, "--replicas=3")
	require.NoError(t, err, "scaling a Deployment that is no singleton is allowed: %s", out)
	d, err := deployments.Get(ctx, "hbih", metav1.GetOptions{})
	require.NoError(t, err)
	assert.Equal(t, appsv1.RecreateDeploymentStrategyType, d.Spec.Strategy.Type)
	assertOneHub(t, ns)
}

// guardedStack renders test/e2e/testdata/<name> as kustomize's CLI does,
// with the function, applies its namespace (deleted with everything else
// when the test ends), and returns the namespace, the guard's parameters
// the function wrote, the stack's one StatefulSet and every object but the
// namespace, for the test to apply.
func guardedStack(t *testing.T, name string) (ns string, params, statefulSet *unstructured.Unstructured, rest []*unstructured.Unstructured) {
	t.Helper()
	e2e.fns.OnPath(t)
	out, stderr, err := render.CLI(context.Background(), testenv.Kustomize(t), filepath.Join(e2e.root, "test", "e2e", "testdata", name))
	require.NoError(t, err, "%s", stderr)
	objs, err := cluster.Objects(out)
	require.NoError(t, err)
	namespaces, rest := split(objs)
	a := applier(t)
	require.NoError(t, a.Apply(context.Background(), namespaces, false))
	t.Cleanup(func() { _ = a.Delete(context.Background(), objs) })
	for _, o := range rest {
		switch o.GetKind() {
		case "ConfigMap":
			params = o
		case "StatefulSet":
			statefulSet = o
		}
	}
	require.NotNil(t, params, "the function wrote the guard's parameters")
	require.NotNil(t, statefulSet)
	return namespaces[0].GetName(), params, statefulSet, rest
}

// A stack that is not the Hub, rendered by the function with the guard's
// parameters on: a lone database StatefulSet and a replicated web app.
func testGuardedStatefulSet(t *testing.T) {
	ns, params, db, rest := guardedStack(t, "guarded-stack")
	ctx := context.Background()
	a := applier(t)

	// The parameters first: then the StatefulSet cannot even be created with two replicas.
	require.NoError(t, a.Apply(ctx, []*unstructured.Unstructured{params}, false))
	two := db.DeepCopy()
	require.NoError(t, unstructured.SetNestedField(two.Object, int64(2), "spec", "replicas"))
	untilRefused(t, "replicas", "creating the StatefulSet with two replicas", func(ctx context.Context) error {
		return a.Apply(ctx, []*unstructured.Unstructured{two}, true)
	})
	require.NoError(t, a.Apply(ctx, rest, false))

	last := untilRefused(t, "replicas", "scaling the StatefulSet", func(ctx context.Context) error {
		return scale(ctx, e2e.client.AppsV1().StatefulSets(ns), "db", 2, metav1.UpdateOptions{DryRun: []string{metav1.DryRunAll}})
	})
	assert.Contains(t, last.Error(), "StatefulSet "+ns+"/db is a singleton")
	out2, err := kubectl(t, "-n", ns, "scale", "statefulset/db", "--replicas=3")
	require.Error(t, err, out2)
	assert.Contains(t, out2, "[replicas]")
	out2, err = kubectl(t, "-n", ns, "scale", "deployment/web", "--replicas=4")
	require.NoError(t, err, "the replicated app beside it scales: %s", out2)
}

// An HA group (hubkit.dev/ha-members: "2"), rendered by the function with the
// guard's parameters on: the StatefulSet runs 2 members, never 3 (by create,
// update, the scale subresource and kubectl scale); 1 and 0 are allowed; no
// autoscaler targets it; each member mounts its own claim, and no other pod
// (another member's claim included) mounts a member's claim.
func testGuardedHAGroup(t *testing.T) {
	ns, params, group, rest := guardedStack(t, "ha-group")
	ctx := context.Background()
	a := applier(t)

	data, _, _ := unstructured.NestedStringMap(params.Object, "data")
	assert.Equal(t, map[string]string{"ha.statefulset.hbih": "2", "ha.claim.appdata-hbih": "hbih"}, data)
	replicas, _, _ := unstructured.NestedInt64(group.Object, "spec", "replicas")
	assert.EqualValues(t, 2, replicas, "the function set the member count")
	terms, _, _ := unstructured.NestedSlice(group.Object, "spec", "template", "spec", "affinity", "podAntiAffinity", "requiredDuringSchedulingIgnoredDuringExecution")
	assert.Len(t, terms, 1, "the function added the anti-affinity across nodes")

	// The parameters first: then the group cannot even be created with three.
	require.NoError(t, a.Apply(ctx, []*unstructured.Unstructured{params}, false))
	three := group.DeepCopy()
	require.NoError(t, unstructured.SetNestedField(three.Object, int64(3), "spec", "replicas"))
	last := untilRefused(t, "ha-members", "creating the HA group with three members", func(ctx context.Context) error {
		return a.Apply(ctx, []*unstructured.Unstructured{three}, true)
	})
	assert.Contains(t, last.Error(), "StatefulSet "+ns+"/hbih is an HA group of 2 members")
	require.NoError(t, a.Apply(ctx, rest, false))

	statefulSets := e2e.client.AppsV1().StatefulSets(ns)
	err := retry.RetryOnConflict(retry.DefaultRetry, func() error {
		return scale(ctx, statefulSets, "hbih", 3, metav1.UpdateOptions{})
	})
	refused(t, err, "ha-members")
	err = retry.RetryOnConflict(retry.DefaultRetry, func() error {
		s, err := statefulSets.Get(ctx, "hbih", metav1.GetOptions{})
		if err != nil {
			return err
		}
		s.Spec.Replicas = ptr.To[int32](4)
		_, err = statefulSets.Update(ctx, s, metav1.UpdateOptions{})
		return err
	})
	refused(t, err, "ha-members")
	out2, err := kubectl(t, "-n", ns, "scale", "statefulset/hbih", "--replicas=3")
	require.Error(t, err, out2)
	assert.Contains(t, out2, "[ha-members] StatefulSet "+ns+"/hbih is an HA group of 2 members")
	for _, n := range []int32{1, 0, 2} {
		err = retry.RetryOnConflict(retry.DefaultRetry, func() error {
			return scale(ctx, statefulSets, "hbih", n, metav1.UpdateOptions{DryRun: []string{metav1.DryRunAll}})
		})
		require.NoError(t, err, "scaling the HA group to %d is allowed", n)
	}

	hpa := &autoscalingv2.HorizontalPodAutoscaler{
		ObjectMeta: metav1.ObjectMeta{Name: "hbih", Namespace: ns},
		Spec: autoscalingv2.HorizontalPodAutoscalerSpec{MinReplicas: ptr.To[int32](2), MaxReplicas: 4,
			ScaleTargetRef: autoscalingv2.CrossVersionObjectReference{APIVersion: "apps/v1", Kind: "StatefulSet", Name: "hbih"}},
	}
	_, err = e2e.client.AutoscalingV2().HorizontalPodAutoscalers(ns).Create(ctx, hpa, metav1.CreateOptions{})
	refused(t, err, "autoscalers")
	assert.Contains(t, err.Error(), "an HA group of 2 members")

	// The controller made both members, each on its own claim, past the guard.
	scenario.Until(t, "the StatefulSet controller to create members hbih-0 and hbih-1", 60*time.Second, func(ctx context.Context) (bool, string, error) {
		pods, err := e2e.client.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{LabelSelector: "app=hbih"})
		if err != nil {
			return false, "", err
		}
		var names []string
		for _, p := range pods.Items {
			names = append(names, p.Name)
		}
		return len(names) == 2, fmt.Sprintf("pods %q", names), nil
	})
	pods := e2e.client.CoreV1().Pods(ns)
	for _, p := range []*corev1.Pod{
		{ObjectMeta: metav1.ObjectMeta{Name: "debug", Namespace: ns}, Spec: restrictedPod("debug", claimVolume("appdata-hbih-0"))},
		// A pod that is named as a member, but that the StatefulSet does not control.
		{ObjectMeta: metav1.ObjectMeta{Name: "hbih-2", Namespace: ns}, Spec: restrictedPod("copy", claimVolume("appdata-hbih-2"))},
	} {
		_, err = pods.Create(ctx, p, metav1.CreateOptions{DryRun: []string{metav1.DryRunAll}})
		refused(t, err, "ha-claims")
		assert.Contains(t, err.Error(), "of HA group StatefulSet hbih")
	}
	// A member on another member's claim: member 1's pod as the controller
	// makes it, given member 0's claim.
	member, err := pods.Get(ctx, "hbih-1", metav1.GetOptions{})
	require.NoError(t, err)
	stray := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "hbih-1-copy", Namespace: ns, OwnerReferences: member.OwnerReferences}, Spec: member.Spec}
	stray.Spec.NodeName = ""
	for i, v := range stray.Spec.Volumes {
		if v.PersistentVolumeClaim != nil {
			stray.Spec.Volumes[i].PersistentVolumeClaim.ClaimName = "appdata-hbih-0"
		}
	}
	_, err = pods.Create(ctx, stray, metav1.CreateOptions{DryRun: []string{metav1.DryRunAll}})
	refused(t, err, "ha-claims")
	assert.Contains(t, err.Error(), "the state of member hbih-0 of HA group StatefulSet hbih")

	restore := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: "restore", Namespace: ns,
			Annotations: map[string]string{names.ClaimAccessReasonAnnotation: "restore drill of member 1 while the group runs one"}},
		Spec: restrictedPod("restore", claimVolume("appdata-hbih-1")),
	}
	_, err = pods.Create(ctx, restore, metav1.CreateOptions{DryRun: []string{metav1.DryRunAll}})
	require.NoError(t, err, "a pod with hubkit.dev/claim-access-reason may mount a member's claim")
}
