package contract

import (
	"fmt"
	"slices"
	"strings"

	"github.com/hubkit/hubkit/internal/hub"
	"github.com/hubkit/hubkit/internal/portref"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	psapi "k8s.io/pod-security-admission/api"
	"k8s.io/pod-security-admission/policy"
)

// Expect is what differs between overlays; everything else is the same
// promise. overlays/overlays.yaml holds one per overlay (internal/overlays).
type Expect struct {
	Namespace   string                            `json:"namespace"`             // every namespaced object lives here
	Storage     string                            `json:"storage"`               // the appData claim's request, e.g. "1Gi"
	AccessMode  corev1.PersistentVolumeAccessMode `json:"accessMode"`            // the claim's one access mode
	ServiceType corev1.ServiceType                `json:"serviceType"`           // ClusterIP or NodePort
	NodePort    int32                             `json:"nodePort,omitempty"`    // the http port's nodePort; 0 for none
	Ingress     bool                              `json:"ingress,omitempty"`     // an Ingress with TLS routes to the Service
	TLSSecret   string                            `json:"tlsSecret,omitempty"`   // the Ingress's TLS secret, when it has one
	ImageDigest bool                              `json:"imageDigest,omitempty"` // the image is pinned by digest
	// The Hub's own configuration (configuration.go).
	Settings         Stance `json:"settings,omitempty"`         // how the overlay's settings file reaches appData
	CertificateStore bool   `json:"certificateStore,omitempty"` // the certificate store from a Secret
	DeploymentFile   bool   `json:"deploymentFile,omitempty"`   // the project from Git: HIGHBYTE_DEPLOYMENT_FILE from a Secret
	GitBackup        bool   `json:"gitBackup,omitempty"`        // scheduled Git Backup, its password from a Secret
}

// Check returns every way m breaks the contract for an overlay expected to look
// like want. Each violation names the object and the field.
func Check(m *Manifest, want Expect) []string {
	var v violations
	checkNamespace(&v, m, want)
	dep := checkDeployment(&v, m)
	checkProbes(&v, dep)
	checkHardening(&v, m, dep, want)
	checkClaim(&v, m, dep, want)
	checkService(&v, m, dep, want)
	checkIngress(&v, m, want)
	checkNoAutoscaler(&v, m)
	checkPodSecurity(&v, m)
	checkConfiguration(&v, m, dep, want)
	return v
}

type violations []string

func (v *violations) add(format string, args ...any) { *v = append(*v, fmt.Sprintf(format, args...)) }

func checkNamespace(v *violations, m *Manifest, want Expect) {
	if len(m.Namespaces) != 1 || m.Namespaces[0].Name != want.Namespace {
		v.add("want exactly one Namespace %q, got %d", want.Namespace, len(m.Namespaces))
	} else if got := m.Namespaces[0].Labels[psapi.EnforceLevelLabel]; got != string(psapi.LevelRestricted) {
		v.add("Namespace %s: label %s is %q, want %q", want.Namespace, psapi.EnforceLevelLabel, got, psapi.LevelRestricted)
	}
	for _, o := range m.Objects {
		if o.Kind != "Namespace" && o.Namespace != want.Namespace {
			v.add("%s: metadata.namespace is %q, want %q", o, o.Namespace, want.Namespace)
		}
	}
}

// checkDeployment returns the Hub's Deployment, or nil when there is not exactly one.
func checkDeployment(v *violations, m *Manifest) *appsv1.Deployment {
	if len(m.Deployments) != 1 {
		v.add("want exactly one Deployment, got %d", len(m.Deployments))
		return nil
	}
	d := &m.Deployments[0]
	if d.Spec.Replicas == nil || *d.Spec.Replicas != 1 {
		v.add("Deployment %s: spec.replicas is %s, want 1: the Hub must never run twice", d.Name, intPtr(d.Spec.Replicas))
	}
	if d.Spec.Strategy.Type != appsv1.RecreateDeploymentStrategyType {
		v.add("Deployment %s: spec.strategy.type is %q, want Recreate: a rolling update runs two Hubs on one claim", d.Name, d.Spec.Strategy.Type)
	}
	if len(d.Spec.Template.Spec.Containers) != 1 {
		v.add("Deployment %s: want one container, got %d", d.Name, len(d.Spec.Template.Spec.Containers))
		return nil
	}
	return d
}

// checkProbes wants the probes that the singleton function injects: the Hub is
// restarted when it hangs, gets traffic only when it answers, and has time to start.
func checkProbes(v *violations, d *appsv1.Deployment) {
	if d == nil {
		return
	}
	c := d.Spec.Template.Spec.Containers[0]
	for name, p := range map[string]*corev1.Probe{"readinessProbe": c.ReadinessProbe, "livenessProbe": c.LivenessProbe, "startupProbe": c.StartupProbe} {
		if p == nil {
			v.add("Deployment %s: container %s has no %s", d.Name, c.Name, name)
		}
	}
}

// checkHardening wants what a production pod needs beyond Pod Security: its
// own identity with no API token, bounded resources, a NetworkPolicy that
// admits http to it, and, where asked, an image pinned by digest.
func checkHardening(v *violations, m *Manifest, d *appsv1.Deployment, want Expect) {
	if d == nil {
		return
	}
	pod := d.Spec.Template.Spec
	if pod.AutomountServiceAccountToken == nil || *pod.AutomountServiceAccountToken {
		v.add("Deployment %s: spec.template.spec.automountServiceAccountToken is not false", d.Name)
	}
	i := slices.IndexFunc(m.ServiceAccounts, func(sa corev1.ServiceAccount) bool { return sa.Name == pod.ServiceAccountName })
	if pod.ServiceAccountName == "" || i < 0 {
		v.add("Deployment %s: serviceAccountName %q is not a rendered ServiceAccount", d.Name, pod.ServiceAccountName)
	} else if sa := m.ServiceAccounts[i]; sa.AutomountServiceAccountToken == nil || *sa.AutomountServiceAccountToken {
		v.add("ServiceAccount %s: automountServiceAccountToken is not false", sa.Name)
	}
	c := pod.Containers[0]
	for _, r := range []corev1.ResourceName{corev1.ResourceCPU, corev1.ResourceMemory, corev1.ResourceEphemeralStorage} {
		if _, ok := c.Resources.Requests[r]; !ok {
			v.add("Deployment %s: container %s has no %s request", d.Name, c.Name, r)
		}
		if _, ok := c.Resources.Limits[r]; !ok {
			v.add("Deployment %s: container %s has no %s limit", d.Name, c.Name, r)
		}
	}
	if want.ImageDigest && !strings.Contains(c.Image, "@sha256:") {
		v.add("Deployment %s: image %s is not pinned by digest", d.Name, c.Image)
	}
	checkNetworkPolicy(v, m, d)
}

func checkNetworkPolicy(v *violations, m *Manifest, d *appsv1.Deployment) {
	if len(m.NetworkPolicies) != 1 {
		v.add("want exactly one NetworkPolicy, got %d", len(m.NetworkPolicies))
		return
	}
	np := m.NetworkPolicies[0]
	for k, val := range np.Spec.PodSelector.MatchLabels {
		if d.Spec.Template.Labels[k] != val {
			v.add("NetworkPolicy %s: spec.podSelector %s=%s does not select the pods of Deployment %s", np.Name, k, val, d.Name)
		}
	}
	if !slices.Contains(np.Spec.PolicyTypes, networkingv1.PolicyTypeIngress) {
		v.add("NetworkPolicy %s: spec.policyTypes does not include Ingress", np.Name)
	}
	// The http port, as a rule may name it: by name, or by the container's number.
	c := d.Spec.Template.Spec.Containers[0]
	i := slices.IndexFunc(c.Ports, func(p corev1.ContainerPort) bool { return p.Name == "http" })
	admitsHTTP := i >= 0 && slices.ContainsFunc(np.Spec.Ingress, func(r networkingv1.NetworkPolicyIngressRule) bool {
		return slices.ContainsFunc(r.Ports, func(p networkingv1.NetworkPolicyPort) bool {
			return p.Port != nil && portref.Names(*p.Port, c.Ports[i].Name, c.Ports[i].ContainerPort)
		})
	})
	if !admitsHTTP {
		v.add("NetworkPolicy %s: no ingress rule admits the http port", np.Name)
	}
}

func checkClaim(v *violations, m *Manifest, d *appsv1.Deployment, want Expect) {
	if d == nil {
		return
	}
	c := d.Spec.Template.Spec.Containers[0]
	i := slices.IndexFunc(c.VolumeMounts, func(vm corev1.VolumeMount) bool { return vm.MountPath == hub.AppData })
	if i < 0 {
		v.add("Deployment %s: container %s mounts nothing at %s", d.Name, c.Name, hub.AppData)
		return
	}
	mount := c.VolumeMounts[i]
	j := slices.IndexFunc(d.Spec.Template.Spec.Volumes, func(vol corev1.Volume) bool { return vol.Name == mount.Name })
	if j < 0 || d.Spec.Template.Spec.Volumes[j].PersistentVolumeClaim == nil {
		v.add("Deployment %s: volume %q mounted at %s is not a persistentVolumeClaim", d.Name, mount.Name, hub.AppData)
		return
	}
	claimName := d.Spec.Template.Spec.Volumes[j].PersistentVolumeClaim.ClaimName
	k := slices.IndexFunc(m.Claims, func(pvc corev1.PersistentVolumeClaim) bool { return pvc.Name == claimName })
	if k < 0 {
		v.add("Deployment %s: volume %q names claim %q, which is not rendered", d.Name, mount.Name, claimName)
		return
	}
	pvc := m.Claims[k]
	got := pvc.Spec.Resources.Requests[corev1.ResourceStorage]
	if wantQ := resource.MustParse(want.Storage); got.Cmp(wantQ) != 0 {
		v.add("PersistentVolumeClaim %s: spec.resources.requests.storage is %s, want %s", pvc.Name, got.String(), want.Storage)
	}
	if !slices.Equal(pvc.Spec.AccessModes, []corev1.PersistentVolumeAccessMode{want.AccessMode}) {
		v.add("PersistentVolumeClaim %s: spec.accessModes is %v, want [%s]", pvc.Name, pvc.Spec.AccessModes, want.AccessMode)
	}
}

func checkService(v *violations, m *Manifest, d *appsv1.Deployment, want Expect) {
	if len(m.Services) != 1 {
		v.add("want exactly one Service, got %d", len(m.Services))
		return
	}
	s := m.Services[0]
	if s.Spec.Type != want.ServiceType {
		v.add("Service %s: spec.type is %q, want %q", s.Name, s.Spec.Type, want.ServiceType)
	}
	i := slices.IndexFunc(s.Spec.Ports, func(p corev1.ServicePort) bool { return p.Name == "http" })
	if i < 0 {
		v.add("Service %s: no port named http", s.Name)
	} else if got := s.Spec.Ports[i].NodePort; got != want.NodePort {
		v.add("Service %s: spec.ports[http].nodePort is %d, want %d", s.Name, got, want.NodePort)
	}
	if d == nil {
		return
	}
	if len(s.Spec.Selector) == 0 {
		v.add("Service %s: spec.selector is empty", s.Name)
	}
	for k, val := range s.Spec.Selector {
		if d.Spec.Template.Labels[k] != val {
			v.add("Service %s: spec.selector %s=%s does not match the pod labels of Deployment %s", s.Name, k, val, d.Name)
		}
	}
	// Stricter than the function's wiring rule, which lets a number through
	// whether or not a container declares it: the Hub's Service sends to a
	// port its container declares.
	c := d.Spec.Template.Spec.Containers[0]
	for _, p := range s.Spec.Ports {
		target := portref.ServiceTarget(p.Port, p.TargetPort)
		declared := slices.ContainsFunc(c.Ports, func(cp corev1.ContainerPort) bool { return portref.Names(target, cp.Name, cp.ContainerPort) })
		if !declared {
			v.add("Service %s: port %s targets %s, which container %s does not expose", s.Name, p.Name, target.String(), c.Name)
		}
	}
}

func checkIngress(v *violations, m *Manifest, want Expect) {
	if !want.Ingress {
		if len(m.Ingresses) != 0 {
			v.add("want no Ingress, got %d", len(m.Ingresses))
		}
		return
	}
	if len(m.Ingresses) != 1 {
		v.add("want exactly one Ingress, got %d", len(m.Ingresses))
		return
	}
	ing := m.Ingresses[0]
	if ing.Spec.IngressClassName == nil || *ing.Spec.IngressClassName == "" {
		v.add("Ingress %s: spec.ingressClassName is unset", ing.Name)
	}
	if len(ing.Spec.TLS) == 0 || ing.Spec.TLS[0].SecretName == "" {
		v.add("Ingress %s: spec.tls has no secretName", ing.Name)
	} else if want.TLSSecret != "" && ing.Spec.TLS[0].SecretName != want.TLSSecret {
		v.add("Ingress %s: spec.tls[0].secretName is %s, want %s", ing.Name, ing.Spec.TLS[0].SecretName, want.TLSSecret)
	}
	for _, rule := range ing.Spec.Rules {
		if !slices.ContainsFunc(ing.Spec.TLS, func(t networkingv1.IngressTLS) bool { return slices.Contains(t.Hosts, rule.Host) }) {
			v.add("Ingress %s: host %q is not covered by spec.tls", ing.Name, rule.Host)
		}
		if rule.HTTP == nil {
			continue
		}
		for _, p := range rule.HTTP.Paths {
			checkBackend(v, m, ing.Name, p.Backend.Service)
		}
	}
}

func checkBackend(v *violations, m *Manifest, ingress string, b *networkingv1.IngressServiceBackend) {
	if b == nil {
		v.add("Ingress %s: a path has no service backend", ingress)
		return
	}
	i := slices.IndexFunc(m.Services, func(s corev1.Service) bool { return s.Name == b.Name })
	if i < 0 {
		v.add("Ingress %s: backend Service %q is not rendered", ingress, b.Name)
		return
	}
	port := portref.IngressBackend(b.Port.Name, b.Port.Number)
	ok := slices.ContainsFunc(m.Services[i].Spec.Ports, func(p corev1.ServicePort) bool { return portref.Names(port, p.Name, p.Port) })
	if !ok {
		v.add("Ingress %s: backend port %q/%d is not a port of Service %s", ingress, b.Port.Name, b.Port.Number, b.Name)
	}
}

func checkNoAutoscaler(v *violations, m *Manifest) {
	for _, o := range m.Objects {
		if o.Kind == "HorizontalPodAutoscaler" || o.Kind == "ScaledObject" {
			v.add("%s: the Hub must never be autoscaled", o)
		}
	}
}

// checkPodSecurity evaluates every pod template with the same checks that
// kube-apiserver's PodSecurity admission runs, at the restricted level.
func checkPodSecurity(v *violations, m *Manifest) {
	eval, err := policy.NewEvaluator(policy.DefaultChecks(), nil)
	if err != nil {
		v.add("pod security evaluator: %v", err)
		return
	}
	lv := psapi.LevelVersion{Level: psapi.LevelRestricted, Version: psapi.LatestVersion()}
	check := func(owner string, t *corev1.PodTemplateSpec) {
		for _, r := range eval.EvaluatePod(lv, &t.ObjectMeta, &t.Spec) {
			if !r.Allowed {
				v.add("%s: pod template violates Pod Security restricted: %s (%s)", owner, r.ForbiddenReason, r.ForbiddenDetail)
			}
		}
	}
	for i := range m.Deployments {
		check("Deployment "+m.Deployments[i].Name, &m.Deployments[i].Spec.Template)
	}
	for i := range m.StatefulSets {
		check("StatefulSet "+m.StatefulSets[i].Name, &m.StatefulSets[i].Spec.Template)
	}
}

func intPtr(p *int32) string {
	if p == nil {
		return "unset"
	}
	return fmt.Sprint(*p)
}
