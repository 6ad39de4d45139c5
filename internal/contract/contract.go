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
	"k8s.io/apimachinery/pkg/util/validation/field"
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
	// High availability (ha.go): the Hub as an HA group of this many
	// members, a StatefulSet; 0 for the single Hub, a Deployment.
	Members int32 `json:"members,omitempty"`
	// Workload is the Hub's kind: Deployment (the default) or StatefulSet,
	// which members > 0 requires.
	Workload string `json:"workload,omitempty"`
}

// Check returns every way m breaks the contract for an overlay expected to
// look like want: one field.Error per broken promise, its Field rooted at the
// object (Deployment[hbih].spec.replicas) and its Origin the ID of the check
// that found it (CheckIDs). An empty list means the overlay keeps the contract.
func Check(m *Manifest, want Expect) field.ErrorList {
	var f findings
	checkNamespace(&f, m, want)
	var dep *workload
	if want.Members > 0 {
		dep = checkHAGroup(&f, m, want)
	} else {
		dep = checkDeployment(&f, m)
		checkProbes(&f, dep)
	}
	checkHardening(&f, m, dep, want)
	checkClaim(&f, m, dep, want)
	checkService(&f, m, dep, want)
	checkIngress(&f, m, want)
	checkNoAutoscaler(&f, m)
	checkPodSecurity(&f, m)
	checkConfiguration(&f, m, dep, want)
	return f.list
}

// The checks' IDs: stable, so that users and tests can grep for them;
// tools/contract prints each finding as [id], as the singleton function
// prints its rules' results. A check that holds a promise one of the
// function's rules also keeps has the rule's ID (replicas, rollout, probes,
// claims, wiring, autoscalers); one that holds a configuration component's
// promise has the component's name.
const (
	checkIDNamespace        = "namespace"         // one Namespace, Pod Security restricted, every object in it
	checkIDDeployment       = "deployment"        // one Deployment with one container
	checkIDReplicas         = "replicas"          // spec.replicas is 1
	checkIDRollout          = "rollout"           // spec.strategy is Recreate
	checkIDProbes           = "probes"            // readiness, liveness and startup probes
	checkIDHardening        = "hardening"         // no API token, its own ServiceAccount, bounded resources, image by digest
	checkIDNetworkPolicy    = "network-policy"    // one NetworkPolicy, selecting the Hub and admitting http
	checkIDClaims           = "claims"            // appData on the rendered claim, its size and access mode
	checkIDService          = "service"           // one Service, its type and nodePort
	checkIDWiring           = "wiring"            // the Service selects the pod and targets its ports; the Ingress routes to the Service's ports
	checkIDIngress          = "ingress"           // an Ingress with a class and TLS where promised, none elsewhere
	checkIDAutoscalers      = "autoscalers"       // no autoscaler
	checkIDPodSecurity      = "pod-security"      // every pod template passes Pod Security restricted
	checkIDJSON             = "json"              // every JSON file in a ConfigMap parses
	checkIDAppDataDefaults  = "appdata-defaults"  // components/appdata-defaults, after the others
	checkIDInitContainers   = "init-containers"   // every init container runs the Hub's image, hardened
	checkIDSettings         = "settings"          // components/settings-seeded or settings-managed, as promised
	checkIDCertificateStore = "certificate-store" // components/certificate-store, as promised
	checkIDProjectFromGit   = "project-from-git"  // components/project-from-git, as promised
	checkIDGitBackup        = "git-backup"        // components/git-backup, as promised
)

// CheckIDs lists the ID of every check.
func CheckIDs() []string {
	return []string{
		checkIDNamespace, checkIDDeployment, checkIDReplicas, checkIDRollout, checkIDProbes,
		checkIDHardening, checkIDNetworkPolicy, checkIDClaims, checkIDService, checkIDWiring,
		checkIDIngress, checkIDAutoscalers, checkIDPodSecurity, checkIDJSON, checkIDAppDataDefaults,
		checkIDInitContainers, checkIDSettings, checkIDCertificateStore, checkIDProjectFromGit, checkIDGitBackup,
		checkIDHAGroup, checkIDHAClaims, checkIDHAPlacement, checkIDHACommand, checkIDHAProbes, checkIDHARouting, checkIDHADisruption,
	}
}

// findings collects what the checks find.
type findings struct{ list field.ErrorList }

// add records err as found by check.
func (f *findings) add(check string, err *field.Error) {
	f.list = append(f.list, err.WithOrigin(check))
}

// object is the path of a rendered object, the root of its fields' paths.
func object(kind, name string) *field.Path { return field.NewPath(kind).Key(name) }

// named is the path of the element called name of the list at path, as the
// singleton function's results name it (containers[name=hub]), or its index
// when it has no name.
func named(path *field.Path, i int, name string) *field.Path {
	if name == "" {
		return path.Index(i)
	}
	return path.Key("name=" + name)
}

// exactlyOne is the finding for n items at path where one is wanted.
func exactlyOne(path *field.Path, n int, why string) *field.Error {
	if n == 0 {
		return field.Required(path, "want exactly one: "+why)
	}
	return field.TooMany(path, n, 1)
}

// wantBool is the finding for a boolean at path that is not value.
func wantBool(path *field.Path, got *bool, value bool, why string) *field.Error {
	if got == nil {
		return field.Required(path, fmt.Sprintf("want %t: %s", value, why))
	}
	return field.Invalid(path, *got, fmt.Sprintf("want %t: %s", value, why))
}

func checkNamespace(f *findings, m *Manifest, want Expect) {
	switch {
	case len(m.Namespaces) != 1:
		f.add(checkIDNamespace, exactlyOne(field.NewPath("Namespace"), len(m.Namespaces), fmt.Sprintf("%q, where every object lives", want.Namespace)))
	case m.Namespaces[0].Name != want.Namespace:
		ns := m.Namespaces[0].Name
		f.add(checkIDNamespace, field.Invalid(object("Namespace", ns).Child("metadata", "name"), ns, fmt.Sprintf("want %q", want.Namespace)))
	default:
		ns := m.Namespaces[0]
		if got := ns.Labels[psapi.EnforceLevelLabel]; got != string(psapi.LevelRestricted) {
			f.add(checkIDNamespace, field.Invalid(object("Namespace", ns.Name).Child("metadata", "labels").Key(psapi.EnforceLevelLabel), got, fmt.Sprintf("want %q", psapi.LevelRestricted)))
		}
	}
	for _, o := range m.Objects {
		if o.Kind != "Namespace" && o.Namespace != want.Namespace {
			f.add(checkIDNamespace, field.Invalid(object(o.Kind, o.Name).Child("metadata", "namespace"), o.Namespace, fmt.Sprintf("want %q", want.Namespace)))
		}
	}
}

// checkDeployment returns the Hub's Deployment, or nil when there is not exactly one.
func checkDeployment(f *findings, m *Manifest) *workload {
	if len(m.Deployments) != 1 {
		f.add(checkIDDeployment, exactlyOne(field.NewPath("Deployment"), len(m.Deployments), "the Hub's"))
		return nil
	}
	d := &m.Deployments[0]
	spec := object("Deployment", d.Name).Child("spec")
	const once = "want 1: the Hub must never run twice"
	if d.Spec.Replicas == nil {
		f.add(checkIDReplicas, field.Required(spec.Child("replicas"), once))
	} else if *d.Spec.Replicas != 1 {
		f.add(checkIDReplicas, field.Invalid(spec.Child("replicas"), *d.Spec.Replicas, once))
	}
	if d.Spec.Strategy.Type != appsv1.RecreateDeploymentStrategyType {
		f.add(checkIDRollout, field.Invalid(spec.Child("strategy", "type"), d.Spec.Strategy.Type, "want Recreate: a rolling update runs two Hubs on one claim"))
	}
	if n := len(d.Spec.Template.Spec.Containers); n != 1 {
		f.add(checkIDDeployment, exactlyOne(spec.Child("template", "spec", "containers"), n, "the Hub's"))
		return nil
	}
	return &workload{Kind: "Deployment", Name: d.Name, Spec: workloadSpec{Template: d.Spec.Template}}
}

// podPath is the path of d's pod spec; containerPath, of its container c.
func podPath(d *workload) *field.Path {
	return object(d.Kind, d.Name).Child("spec", "template", "spec")
}

func containerPath(d *workload, c corev1.Container) *field.Path {
	return podPath(d).Child("containers").Key("name=" + c.Name)
}

// checkProbes wants the probes that the singleton function injects: the Hub is
// restarted when it hangs, gets traffic only when it answers, and has time to start.
func checkProbes(f *findings, d *workload) {
	if d == nil {
		return
	}
	c := d.Spec.Template.Spec.Containers[0]
	for _, p := range []struct {
		field string
		probe *corev1.Probe
	}{{"readinessProbe", c.ReadinessProbe}, {"livenessProbe", c.LivenessProbe}, {"startupProbe", c.StartupProbe}} {
		if p.probe == nil {
			f.add(checkIDProbes, field.Required(containerPath(d, c).Child(p.field), "the singleton function injects it: render with the function"))
		}
	}
}

// checkHardening wants what a production pod needs beyond Pod Security: its
// own identity with no API token, bounded resources, a NetworkPolicy that
// admits http to it, and, where asked, an image pinned by digest.
func checkHardening(f *findings, m *Manifest, d *workload, want Expect) {
	if d == nil {
		return
	}
	pod := d.Spec.Template.Spec
	if t := pod.AutomountServiceAccountToken; t == nil || *t {
		f.add(checkIDHardening, wantBool(podPath(d).Child("automountServiceAccountToken"), t, false, "the Hub needs no API token"))
	}
	i := slices.IndexFunc(m.ServiceAccounts, func(sa corev1.ServiceAccount) bool { return sa.Name == pod.ServiceAccountName })
	if pod.ServiceAccountName == "" || i < 0 {
		f.add(checkIDHardening, field.Invalid(podPath(d).Child("serviceAccountName"), pod.ServiceAccountName, "not a rendered ServiceAccount: the Hub runs as its own"))
	} else if sa := m.ServiceAccounts[i]; sa.AutomountServiceAccountToken == nil || *sa.AutomountServiceAccountToken {
		f.add(checkIDHardening, wantBool(object("ServiceAccount", sa.Name).Child("automountServiceAccountToken"), sa.AutomountServiceAccountToken, false, "the Hub needs no API token"))
	}
	c := pod.Containers[0]
	resources := containerPath(d, c).Child("resources")
	for _, r := range []corev1.ResourceName{corev1.ResourceCPU, corev1.ResourceMemory, corev1.ResourceEphemeralStorage} {
		if _, ok := c.Resources.Requests[r]; !ok {
			f.add(checkIDHardening, field.Required(resources.Child("requests").Key(string(r)), "the scheduler places the pod by it"))
		}
		if _, ok := c.Resources.Limits[r]; !ok {
			f.add(checkIDHardening, field.Required(resources.Child("limits").Key(string(r)), "an unbounded pod can starve its node"))
		}
	}
	if want.ImageDigest && !strings.Contains(c.Image, "@sha256:") {
		f.add(checkIDHardening, field.Invalid(containerPath(d, c).Child("image"), c.Image, "not pinned by digest (@sha256:...): the overlay promises it"))
	}
	checkNetworkPolicy(f, m, d)
}

func checkNetworkPolicy(f *findings, m *Manifest, d *workload) {
	if len(m.NetworkPolicies) != 1 {
		f.add(checkIDNetworkPolicy, exactlyOne(field.NewPath("NetworkPolicy"), len(m.NetworkPolicies), "the one that admits http to the Hub"))
		return
	}
	np := m.NetworkPolicies[0]
	spec := object("NetworkPolicy", np.Name).Child("spec")
	for k, val := range np.Spec.PodSelector.MatchLabels {
		if d.Spec.Template.Labels[k] != val {
			f.add(checkIDNetworkPolicy, field.Invalid(spec.Child("podSelector", "matchLabels").Key(k), val, "does not select the pods of Deployment "+d.Name))
		}
	}
	if !slices.Contains(np.Spec.PolicyTypes, networkingv1.PolicyTypeIngress) {
		f.add(checkIDNetworkPolicy, field.Invalid(spec.Child("policyTypes"), np.Spec.PolicyTypes, "want Ingress among them"))
	}
	// The http port, as a rule may name it: by name, or by the container's number.
	c := d.Spec.Template.Spec.Containers[0]
	i := slices.IndexFunc(c.Ports, func(p corev1.ContainerPort) bool { return p.Name == hub.HTTPPortName })
	admitsHTTP := i >= 0 && slices.ContainsFunc(np.Spec.Ingress, func(r networkingv1.NetworkPolicyIngressRule) bool {
		return slices.ContainsFunc(r.Ports, func(p networkingv1.NetworkPolicyPort) bool {
			return p.Port != nil && portref.Names(*p.Port, c.Ports[i].Name, c.Ports[i].ContainerPort)
		})
	})
	if !admitsHTTP {
		f.add(checkIDNetworkPolicy, field.Required(spec.Child("ingress"), "no rule admits the http port (by name, or by the container's number)"))
	}
}

func checkClaim(f *findings, m *Manifest, d *workload, want Expect) {
	if d == nil || want.Members > 0 { // an HA group's claims: checkHAGroup
		return
	}
	if d == nil {
		return
	}
	c := d.Spec.Template.Spec.Containers[0]
	i := slices.IndexFunc(c.VolumeMounts, func(vm corev1.VolumeMount) bool { return vm.MountPath == hub.AppData })
	if i < 0 {
		f.add(checkIDClaims, field.Required(containerPath(d, c).Child("volumeMounts"), fmt.Sprintf("mounts nothing at %s: the Hub's state lives on its claim", hub.AppData)))
		return
	}
	mount := c.VolumeMounts[i]
	volumes := d.Spec.Template.Spec.Volumes
	volume := podPath(d).Child("volumes").Key("name=" + mount.Name)
	j := slices.IndexFunc(volumes, func(vol corev1.Volume) bool { return vol.Name == mount.Name })
	if j < 0 || volumes[j].PersistentVolumeClaim == nil {
		f.add(checkIDClaims, field.Required(volume.Child("persistentVolumeClaim"), fmt.Sprintf("the volume mounted at %s is not a persistentVolumeClaim", hub.AppData)))
		return
	}
	claimName := volumes[j].PersistentVolumeClaim.ClaimName
	k := slices.IndexFunc(m.Claims, func(pvc corev1.PersistentVolumeClaim) bool { return pvc.Name == claimName })
	if k < 0 {
		f.add(checkIDClaims, field.Invalid(volume.Child("persistentVolumeClaim", "claimName"), claimName, "not a rendered PersistentVolumeClaim"))
		return
	}
	pvc := m.Claims[k]
	spec := object("PersistentVolumeClaim", pvc.Name).Child("spec")
	got := pvc.Spec.Resources.Requests[corev1.ResourceStorage]
	if wantQ := resource.MustParse(want.Storage); got.Cmp(wantQ) != 0 {
		f.add(checkIDClaims, field.Invalid(spec.Child("resources", "requests").Key(string(corev1.ResourceStorage)), got.String(), "want "+want.Storage))
	}
	if !slices.Equal(pvc.Spec.AccessModes, []corev1.PersistentVolumeAccessMode{want.AccessMode}) {
		f.add(checkIDClaims, field.Invalid(spec.Child("accessModes"), pvc.Spec.AccessModes, fmt.Sprintf("want only %s", want.AccessMode)))
	}
}

func checkService(f *findings, m *Manifest, d *workload, want Expect) {
	if len(m.Services) != 1 {
		f.add(checkIDService, exactlyOne(field.NewPath("Service"), len(m.Services), "the Hub's"))
		return
	}
	s := m.Services[0]
	spec := object("Service", s.Name).Child("spec")
	if s.Spec.Type != want.ServiceType {
		f.add(checkIDService, field.Invalid(spec.Child("type"), s.Spec.Type, fmt.Sprintf("want %s", want.ServiceType)))
	}
	i := slices.IndexFunc(s.Spec.Ports, func(p corev1.ServicePort) bool { return p.Name == hub.HTTPPortName })
	if i < 0 {
		f.add(checkIDService, field.Required(spec.Child("ports"), "no port named http"))
	} else if got := s.Spec.Ports[i].NodePort; got != want.NodePort {
		f.add(checkIDService, field.Invalid(spec.Child("ports").Key("name=http").Child("nodePort"), got, fmt.Sprintf("want %d", want.NodePort)))
	}
	if d == nil {
		return
	}
	if len(s.Spec.Selector) == 0 {
		f.add(checkIDWiring, field.Required(spec.Child("selector"), "select the pods of Deployment "+d.Name))
	}
	for k, val := range s.Spec.Selector {
		if k == HARoleLabel && want.Members > 0 {
			continue // set on the primary by its sidecar (checkHAGroup)
		}
		if d.Spec.Template.Labels[k] != val {
			f.add(checkIDWiring, field.Invalid(spec.Child("selector").Key(k), val, "does not match the pod labels of Deployment "+d.Name))
		}
	}
	// Stricter than the function's wiring rule, which lets a number through
	// whether or not a container declares it: the Hub's Service sends to a
	// port its container declares.
	c := d.Spec.Template.Spec.Containers[0]
	for i, p := range s.Spec.Ports {
		target := portref.ServiceTarget(p.Port, p.TargetPort)
		declared := slices.ContainsFunc(c.Ports, func(cp corev1.ContainerPort) bool { return portref.Names(target, cp.Name, cp.ContainerPort) })
		if !declared {
			f.add(checkIDWiring, field.Invalid(named(spec.Child("ports"), i, p.Name).Child("targetPort"), target.String(), fmt.Sprintf("container %s declares no such port", c.Name)))
		}
	}
}

func checkIngress(f *findings, m *Manifest, want Expect) {
	if !want.Ingress {
		for _, ing := range m.Ingresses {
			f.add(checkIDIngress, field.Forbidden(object("Ingress", ing.Name), "the overlay promises no Ingress"))
		}
		return
	}
	if len(m.Ingresses) != 1 {
		f.add(checkIDIngress, exactlyOne(field.NewPath("Ingress"), len(m.Ingresses), "the overlay promises one, with TLS"))
		return
	}
	ing := m.Ingresses[0]
	spec := object("Ingress", ing.Name).Child("spec")
	if ing.Spec.IngressClassName == nil || *ing.Spec.IngressClassName == "" {
		f.add(checkIDIngress, field.Required(spec.Child("ingressClassName"), "name the controller that serves it"))
	}
	secret := spec.Child("tls").Index(0).Child("secretName")
	if len(ing.Spec.TLS) == 0 || ing.Spec.TLS[0].SecretName == "" {
		f.add(checkIDIngress, field.Required(secret, "the Hub is served over TLS"))
	} else if want.TLSSecret != "" && ing.Spec.TLS[0].SecretName != want.TLSSecret {
		f.add(checkIDIngress, field.Invalid(secret, ing.Spec.TLS[0].SecretName, "want "+want.TLSSecret))
	}
	for i, rule := range ing.Spec.Rules {
		if !slices.ContainsFunc(ing.Spec.TLS, func(t networkingv1.IngressTLS) bool { return slices.Contains(t.Hosts, rule.Host) }) {
			f.add(checkIDIngress, field.Invalid(spec.Child("rules").Index(i).Child("host"), rule.Host, "not covered by spec.tls"))
		}
		if rule.HTTP == nil {
			continue
		}
		for j, p := range rule.HTTP.Paths {
			checkBackend(f, m, spec.Child("rules").Index(i).Child("http", "paths").Index(j).Child("backend", "service"), p.Backend.Service)
		}
	}
}

func checkBackend(f *findings, m *Manifest, path *field.Path, b *networkingv1.IngressServiceBackend) {
	if b == nil {
		f.add(checkIDWiring, field.Required(path, "route to the Hub's Service"))
		return
	}
	i := slices.IndexFunc(m.Services, func(s corev1.Service) bool { return s.Name == b.Name })
	if i < 0 {
		f.add(checkIDWiring, field.Invalid(path.Child("name"), b.Name, "not a rendered Service"))
		return
	}
	port := portref.IngressBackend(b.Port.Name, b.Port.Number)
	if !slices.ContainsFunc(m.Services[i].Spec.Ports, func(p corev1.ServicePort) bool { return portref.Names(port, p.Name, p.Port) }) {
		f.add(checkIDWiring, field.Invalid(path.Child("port"), port.String(), "not a port of Service "+b.Name))
	}
}

func checkNoAutoscaler(f *findings, m *Manifest) {
	for _, o := range m.Objects {
		if o.Kind == "HorizontalPodAutoscaler" || o.Kind == "ScaledObject" {
			f.add(checkIDAutoscalers, field.Forbidden(object(o.Kind, o.Name), "the Hub must never be autoscaled"))
		}
	}
}

// checkPodSecurity evaluates every pod template with the same checks that
// kube-apiserver's PodSecurity admission runs, at the restricted level.
func checkPodSecurity(f *findings, m *Manifest) {
	eval, err := policy.NewEvaluator(policy.DefaultChecks(), nil)
	if err != nil {
		f.add(checkIDPodSecurity, field.InternalError(field.NewPath("PodSecurity"), fmt.Errorf("pod security evaluator: %w", err)))
		return
	}
	lv := psapi.LevelVersion{Level: psapi.LevelRestricted, Version: psapi.LatestVersion()}
	check := func(owner *field.Path, t *corev1.PodTemplateSpec) {
		for _, r := range eval.EvaluatePod(lv, &t.ObjectMeta, &t.Spec) {
			if !r.Allowed {
				f.add(checkIDPodSecurity, field.Forbidden(owner.Child("spec", "template"), fmt.Sprintf("violates Pod Security restricted: %s (%s)", r.ForbiddenReason, r.ForbiddenDetail)))
			}
		}
	}
	for i := range m.Deployments {
		check(object("Deployment", m.Deployments[i].Name), &m.Deployments[i].Spec.Template)
	}
	for i := range m.StatefulSets {
		check(object("StatefulSet", m.StatefulSets[i].Name), &m.StatefulSets[i].Spec.Template)
	}
}
