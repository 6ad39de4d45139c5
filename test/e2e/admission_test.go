package e2e

import (
	"context"
	"fmt"

	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
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
