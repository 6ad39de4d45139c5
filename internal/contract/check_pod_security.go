package contract

import (
	"fmt"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/validation/field"
	psapi "k8s.io/pod-security-admission/api"
	"k8s.io/pod-security-admission/policy"
)

// Check pod-security forbids a pod template that Pod Security admission
// would refuse at the restricted level.
//
// Reads every rendered Deployment's and StatefulSet's spec.template, through
// k8s.io/pod-security-admission/policy's own checks (the code
// kube-apiserver runs), at the latest version. Allowed: what restricted
// allows.
func init() {
	addCheck(check{
		id:      "pod-security",
		promise: "every pod template passes Pod Security restricted, as kube-apiserver evaluates it",
		check:   checkPodSecurity,
	})
}

func checkPodSecurity(m *Manifest, _ Expect) field.ErrorList {
	eval, err := policy.NewEvaluator(policy.DefaultChecks(), nil)
	if err != nil {
		return field.ErrorList{field.InternalError(field.NewPath("PodSecurity"), fmt.Errorf("pod security evaluator: %w", err))}
	}
	var errs field.ErrorList
	lv := psapi.LevelVersion{Level: psapi.LevelRestricted, Version: psapi.LatestVersion()}
	check := func(owner *field.Path, t *corev1.PodTemplateSpec) {
		for _, r := range eval.EvaluatePod(lv, &t.ObjectMeta, &t.Spec) {
			if !r.Allowed {
				errs = append(errs, field.Forbidden(owner.Child("spec", "template"), fmt.Sprintf("violates Pod Security restricted: %s (%s)", r.ForbiddenReason, r.ForbiddenDetail)))
			}
		}
	}
	for i := range m.Deployments {
		check(object("Deployment", m.Deployments[i].Name), &m.Deployments[i].Spec.Template)
	}
	for i := range m.StatefulSets {
		check(object("StatefulSet", m.StatefulSets[i].Name), &m.StatefulSets[i].Spec.Template)
	}
	return errs
}
