package e2e

import (
	"bytes"
	"context"
	"fmt"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"

	hubfiles "github.com/hubkit/hubkit/internal/hub"
	"github.com/hubkit/hubkit/internal/names"
	"github.com/hubkit/hubkit/test/cluster"
	"github.com/hubkit/hubkit/test/render"
	"github.com/hubkit/hubkit/test/scenario"
	"github.com/hubkit/hubkit/test/testenv"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/client-go/kubernetes"
	"k8s.io/utils/ptr"
)

// paramsKeeper is a ValidatingAdmissionPolicy and its binding that take a
// ConfigMap as params and match nothing, kept for the cluster's life. The
// guard's policies take their namespace's ConfigMap as params, and the
// scenarios install and delete the guard more than once (the restore drill,
// then TestGuard). Kubernetes 1.36.3's apiserver stops its ConfigMap params
// informer once no binding names that paramKind and never starts it again
// (a shared informer, kubernetes/kubernetes#130887): a guard installed
// after that sees no params created since, and with parameterNotFoundAction
// Allow, allows everything in their namespaces. This binding keeps the
// informer running, as any other ConfigMap-param policy in a cluster would.
const paramsKeeper = "hubkit-e2e-keep-configmap-params"

func keepParamsInformer(ctx context.Context, client kubernetes.Interface) error {
	policies := client.AdmissionregistrationV1()
	_, err := policies.ValidatingAdmissionPolicies().Create(ctx, &admissionregistrationv1.ValidatingAdmissionPolicy{
		ObjectMeta: metav1.ObjectMeta{Name: paramsKeeper},
		Spec: admissionregistrationv1.ValidatingAdmissionPolicySpec{
			FailurePolicy: ptr.To(admissionregistrationv1.Ignore),
			ParamKind:     &admissionregistrationv1.ParamKind{APIVersion: "v1", Kind: "ConfigMap"},
			MatchConstraints: &admissionregistrationv1.MatchResources{ResourceRules: []admissionregistrationv1.NamedRuleWithOperations{{
				RuleWithOperations: admissionregistrationv1.RuleWithOperations{
					Operations: []admissionregistrationv1.OperationType{admissionregistrationv1.Create},
					Rule:       admissionregistrationv1.Rule{APIGroups: []string{"e2e.hubkit.dev"}, APIVersions: []string{"v1"}, Resources: []string{"nothings"}},
				},
			}}},
			Validations: []admissionregistrationv1.Validation{{Expression: "true"}},
		},
	}, metav1.CreateOptions{})
	if err != nil {
		return fmt.Errorf("policy %s: %w", paramsKeeper, err)
	}
	_, err = policies.ValidatingAdmissionPolicyBindings().Create(ctx, &admissionregistrationv1.ValidatingAdmissionPolicyBinding{
		ObjectMeta: metav1.ObjectMeta{Name: paramsKeeper},
		Spec: admissionregistrationv1.ValidatingAdmissionPolicyBindingSpec{
			PolicyName: paramsKeeper,
			ParamRef: &admissionregistrationv1.ParamRef{
				Selector:                &metav1.LabelSelector{MatchLabels: map[string]string{"e2e.hubkit.dev/params": "none"}},
				ParameterNotFoundAction: ptr.To(admissionregistrationv1.AllowAction),
			},
			ValidationActions: []admissionregistrationv1.ValidationAction{admissionregistrationv1.Deny},
		},
	}, metav1.CreateOptions{})
	if err != nil {
		return fmt.Errorf("binding %s: %w", paramsKeeper, err)
	}
	return nil
}

// kubectl runs the pinned kubectl (bin/, same release as the apiserver) on
// the cluster and returns its combined output.
func kubectl(t *testing.T, args ...string) (string, error) {
	t.Helper()
	path := filepath.Join(e2e.root, "bin", "kubectl")
	require.FileExists(t, path, "make tools builds kubectl")
	var out bytes.Buffer
	cmd := exec.Command(path, append([]string{"--kubeconfig", e2e.cluster.Kubeconfig}, args...)...)
	cmd.Stdout, cmd.Stderr = &out, &out
	err := cmd.Run()
	return out.String(), err
}

// refused wants err to be the apiserver refusing with the rule's ID.
func refused(t *testing.T, err error, rule string) {
	t.Helper()
	require.Error(t, err, "the guard let it through")
	assert.True(t, apierrors.IsInvalid(err) || apierrors.IsForbidden(err), "refused by admission, not %v", err)
	assert.Contains(t, err.Error(), "["+rule+"]")
	assert.Contains(t, err.Error(), "hubkit guard")
}

// untilRefused repeats try until it fails other than by a write conflict, as
// it does once the apiserver has the guard's policies and the namespace's
// parameters, and wants that failure to be the guard's refusal for rule.
func untilRefused(t *testing.T, rule, what string, try func(context.Context) error) error {
	t.Helper()
	var last error
	scenario.Until(t, "the guard to refuse "+what, 30*time.Second, func(ctx context.Context) (bool, string, error) {
		last = try(ctx)
		switch {
		case last == nil:
			return false, "allowed", nil
		case apierrors.IsConflict(last):
			return false, "a write conflict: " + last.Error(), nil
		}
		return true, "", nil
	})
	refused(t, last, rule)
	return last
}

// scale scales name through the scale subresource, as kubectl scale and the
// HPA controller do, with opts (a dry run, say).
func scale(ctx context.Context, s scaler, name string, replicas int32, opts metav1.UpdateOptions) error {
	sc, err := s.GetScale(ctx, name, metav1.GetOptions{})
	if err != nil {
		return err
	}
	sc.Spec.Replicas = replicas
	_, err = s.UpdateScale(ctx, name, sc, opts)
	return err
}

// restrictedPod is a pod spec that Pod Security "restricted" admits.
func restrictedPod(name string, volumes ...corev1.Volume) corev1.PodSpec {
	return corev1.PodSpec{
		SecurityContext: &corev1.PodSecurityContext{RunAsNonRoot: ptr.To(true), RunAsUser: ptr.To[int64](hubfiles.UID),
			SeccompProfile: &corev1.SeccompProfile{Type: corev1.SeccompProfileTypeRuntimeDefault}},
		Containers: []corev1.Container{{Name: name, Image: "example.com/" + name + ":1",
			SecurityContext: &corev1.SecurityContext{AllowPrivilegeEscalation: ptr.To(false),
				Capabilities: &corev1.Capabilities{Drop: []corev1.Capability{"ALL"}}}}},
		Volumes: volumes,
	}
}

func claimVolume(claim string) corev1.Volume {
	return corev1.Volume{Name: "data", VolumeSource: corev1.VolumeSource{
		PersistentVolumeClaim: &corev1.PersistentVolumeClaimVolumeSource{ClaimName: claim}}}
}

// waitForRefusedPod waits for a FailedCreate event, on the objects that
// fieldSelector picks, that carries the guard's [claims] refusal.
func waitForRefusedPod(t *testing.T, ns, fieldSelector string) {
	t.Helper()
	scenario.Until(t, "a FailedCreate event with [claims] for "+fieldSelector, 30*time.Second, func(ctx context.Context) (bool, string, error) {
		events, err := e2e.client.CoreV1().Events(ns).List(ctx, metav1.ListOptions{FieldSelector: fieldSelector + ",reason=FailedCreate"})
		if err != nil {
			return false, "", err
		}
		var messages []string
		for _, e := range events.Items {
			if strings.Contains(e.Message, "[claims]") {
				return true, "", nil
			}
			messages = append(messages, e.Message)
		}
		return false, fmt.Sprintf("%d FailedCreate events %q", len(messages), messages), nil
	})
}

// guardObjects builds guard/ with the pinned kustomize.
func guardObjects(t *testing.T) []*unstructured.Unstructured {
	t.Helper()
	out, err := exec.Command(testenv.Kustomize(t), "build", filepath.Join(e2e.root, "guard")).Output()
	require.NoError(t, err)
	objs, err := cluster.Objects(out)
	require.NoError(t, err)
	return objs
}

// applyGuard applies guard/ for the test, deleted when it ends; the caller
// waits until it is in force for what it guards.
func applyGuard(t *testing.T) {
	t.Helper()
	guard := guardObjects(t)
	require.NoError(t, applier(t).Apply(context.Background(), guard, false))
	t.Cleanup(func() { require.NoError(t, applier(t).Delete(context.Background(), guard)) })
}

// installGuard applies guard/ for the test and waits until it is in force
// in ns (waitForGuard: a singleton Deployment's scale refused).
func installGuard(t *testing.T, ns string) {
	t.Helper()
	applyGuard(t)
	waitForGuard(t, ns)
}

// installHARolePolicy applies guard/ha-role for the test (installGuardPolicy).
func installHARolePolicy(t *testing.T) {
	t.Helper()
	installGuardPolicy(t, "ha-role", "hubkit-ha-role")
}

// installGuardPolicy applies the optional policy guard/<dir> for the test,
// with no warning from the API server, and waits until it has type-checked
// policy.
func installGuardPolicy(t *testing.T, dir, policy string) {
	t.Helper()
	out, err := render.Krusty(filepath.Join(e2e.root, "guard", dir))
	require.NoError(t, err)
	objs, err := cluster.Objects(out)
	require.NoError(t, err)
	appliesWithoutWarning(t, objs)
	require.NoError(t, applier(t).Apply(context.Background(), objs, false))
	t.Cleanup(func() { _ = applier(t).Delete(context.Background(), objs) })
	waitForTypeChecked(t, policy)
}

// waitForTypeChecked waits until the apiserver has type-checked policy and
// wants no warning from it.
func waitForTypeChecked(t *testing.T, policy string) {
	t.Helper()
	var warnings []string
	scenario.Until(t, "the apiserver to type-check "+policy, 30*time.Second, func(ctx context.Context) (bool, string, error) {
		p, err := e2e.client.AdmissionregistrationV1().ValidatingAdmissionPolicies().Get(ctx, policy, metav1.GetOptions{})
		if err != nil {
			return false, "", err
		}
		if p.Status.TypeChecking == nil || p.Status.ObservedGeneration != p.Generation {
			return false, "not type-checked yet", nil
		}
		for _, w := range p.Status.TypeChecking.ExpressionWarnings {
			warnings = append(warnings, w.FieldRef+": "+w.Warning)
		}
		return true, "", nil
	})
	assert.Empty(t, warnings, "the apiserver's type check of %s", policy)
}

// waitForGuard waits until the apiserver has the guard's policies and the
// namespace's parameters: a dry-run scale to 2 is refused.
func waitForGuard(t *testing.T, ns string) {
	t.Helper()
	untilRefused(t, "replicas", "a scale of Deployment "+names.Hub+" to 2 in "+ns, func(ctx context.Context) error {
		return scale(ctx, e2e.client.AppsV1().Deployments(ns), names.Hub, 2, metav1.UpdateOptions{DryRun: []string{metav1.DryRunAll}})
	})
}
