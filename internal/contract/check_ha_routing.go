package contract

import (
	"fmt"
	"slices"
	"strconv"
	"strings"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/validation/field"
)

// Check ha-routing forbids an HA group whose Service could reach a standby,
// or whose members' roles nobody labels.
//
// Reads every rendered Service's selector, the pod's containers (the
// sidecar ha-role: image, args; the Hub's volumeMounts), and the rendered
// Roles' rules on pods. Allowed: every Service selects hubkit.dev/ha-role:
// primary; a sidecar ha-role from ghcr.io/hubkit/ha-role told -members=<the
// row's members>; no service account token mounted into the Hub's
// container; a Role whose rules on pods allow only patch, on exactly the
// members' pods.
func init() {
	addCheck(check{
		id:      "ha-routing",
		promise: "the Service reaches the primary alone, by the role label that each member's ha-role sidecar keeps with a Role to patch only the members' pods",
		check:   checkHARouting,
	})
}

func checkHARouting(m *Manifest, want Expect) field.ErrorList {
	s, w := hubStatefulSet(m, want)
	if s == nil {
		return nil
	}
	var errs field.ErrorList
	for _, svc := range m.Services {
		if svc.Spec.Selector[HARoleLabel] != HARolePrimary {
			errs = append(errs, field.Invalid(object("Service", svc.Name).Child("spec", "selector").Key(HARoleLabel), svc.Spec.Selector[HARoleLabel], "want "+HARolePrimary+": the Service reaches the primary alone"))
		}
	}
	pod := w.Spec.Template.Spec
	i := slices.IndexFunc(pod.Containers, func(c corev1.Container) bool { return c.Name == HALabeler })
	if i < 0 {
		errs = append(errs, field.Required(podPath(w).Child("containers").Key("name="+HALabeler), "the sidecar that labels each member with its role"))
	} else {
		if img := pod.Containers[i].Image; !strings.HasPrefix(img, HALabelerImage+":") && !strings.HasPrefix(img, HALabelerImage+"@") {
			errs = append(errs, field.Invalid(containerPath(w, pod.Containers[i]).Child("image"), img, "want hubkit's "+HALabelerImage))
		}
		if arg := "-members=" + strconv.Itoa(int(want.Members)); !slices.Contains(pod.Containers[i].Args, arg) {
			errs = append(errs, field.Invalid(containerPath(w, pod.Containers[i]).Child("args"), pod.Containers[i].Args,
				"want "+arg+", the member count: a new primary's sidecar labels the other members secondary first"))
		}
		for _, vm := range pod.Containers[0].VolumeMounts {
			if strings.HasPrefix(vm.MountPath, "/var/run/secrets/kubernetes.io") {
				errs = append(errs, field.Forbidden(containerPath(w, pod.Containers[0]).Child("volumeMounts").Key("name="+vm.Name), "the Hub needs no API token; only "+HALabeler+" has one"))
			}
		}
	}
	wantNames := make([]string, want.Members)
	for k := range wantNames {
		wantNames[k] = fmt.Sprintf("%s-%d", s.Name, k)
	}
	var found bool
	for _, r := range m.Roles {
		for j, rule := range r.Rules {
			if !slices.Contains(rule.Resources, "pods") {
				continue
			}
			found = true
			path := object("Role", r.Name).Child("rules").Index(j)
			if !slices.Equal(rule.Verbs, []string{"patch"}) {
				errs = append(errs, field.Invalid(path.Child("verbs"), rule.Verbs, "want only patch"))
			}
			if !slices.Equal(slices.Sorted(slices.Values(rule.ResourceNames)), wantNames) {
				errs = append(errs, field.Invalid(path.Child("resourceNames"), rule.ResourceNames, fmt.Sprintf("want the members' pods %v", wantNames)))
			}
		}
	}
	if !found {
		errs = append(errs, field.Required(field.NewPath("Role"), "one that lets the sidecar patch the members' pods"))
	}
	return errs
}
