package contract

import (
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/hubkit/hubkit/internal/hub"
	"github.com/hubkit/hubkit/internal/names"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	"k8s.io/apimachinery/pkg/util/validation/field"
)

// What components/high-availability gives an HA group, and the names it
// reads (docs/high-availability.md), beside its labels (names.HAMembersLabel,
// names.HARoleLabel) and the Hub's endpoints (hub.Livez, hub.Readyz).
const (
	// HARoleLabel is names.HARoleLabel, kept while test/e2e reads it here.
	//
	// Deprecated: use names.HARoleLabel.
	HARoleLabel = names.HARoleLabel
	// HALabeler is the sidecar that writes names.HARoleLabel, from the image
	// HALabelerImage (internal/image.HARole, held equal by its test).
	HALabeler      = "ha-role"
	HALabelerImage = "ghcr.io/hubkit/ha-role"
	// The member's node id and the database's JDBC URI, as environment
	// variables of the Hub's container.
	HANodeIDEnv = "POD_NAME"
	HAJDBCEnv   = "HUB_JDBC_URI"
	// HADatabaseSecret holds the JDBC URI at HADatabaseKey: CloudNativePG's
	// <cluster>-app Secret (components/cloudnative-pg), or one you make.
	HADatabaseSecret = "hbih-db-app"
	HADatabaseKey    = "jdbc-uri"
)

// The HA checks' IDs (CheckIDs).
const (
	checkIDHAGroup      = "ha-group"      // one StatefulSet of the promised members, labelled with the count, no Deployment
	checkIDHAClaims     = "ha-claims"     // each member its own claim (volumeClaimTemplates), no shared claim
	checkIDHAPlacement  = "ha-placement"  // one member per node (required), spread across zones (ScheduleAnyway)
	checkIDHACommand    = "ha-command"    // HAMain start -n $(POD_NAME) -j ${HUB_JDBC_URI}, the URI from a Secret
	checkIDHAProbes     = "ha-probes"     // liveness /v2/livez, never /v2/readyz; Ready while alive
	checkIDHARouting    = "ha-routing"    // the Service selects the primary; the sidecar that labels it; its Role
	checkIDHADisruption = "ha-disruption" // a PodDisruptionBudget that lets one member go at a time
)

// checkHAGroup holds an HA group's render to components/high-availability's
// promises and returns the StatefulSet as the other checks read a workload,
// or nil when there is not exactly one.
func checkHAGroup(f *findings, m *Manifest, want Expect) *workload {
	for _, d := range m.Deployments {
		f.add(checkIDHAGroup, field.Forbidden(object("Deployment", d.Name), "an HA group runs as a StatefulSet alone"))
	}
	if want.Workload != "StatefulSet" {
		f.add(checkIDHAGroup, field.Invalid(field.NewPath("workload"), want.Workload, "the overlay's row: members need workload: StatefulSet"))
	}
	if len(m.StatefulSets) != 1 {
		f.add(checkIDHAGroup, exactlyOne(field.NewPath("StatefulSet"), len(m.StatefulSets), "the Hub's HA group"))
		return nil
	}
	s := &m.StatefulSets[0]
	w := &workload{Kind: "StatefulSet", Name: s.Name, Spec: workloadSpec{Template: s.Spec.Template}}
	spec := object(w.Kind, s.Name).Child("spec")
	count := strconv.Itoa(int(want.Members))
	if got := s.Labels[names.HAMembersLabel]; got != count {
		f.add(checkIDHAGroup, field.Invalid(object(w.Kind, s.Name).Child("metadata", "labels").Key(names.HAMembersLabel), got, "want "+strconv.Quote(count)+": the member count, which the function keeps"))
	}
	if s.Spec.Replicas == nil || *s.Spec.Replicas != want.Members {
		f.add(checkIDHAGroup, field.Invalid(spec.Child("replicas"), deref(s.Spec.Replicas), "want "+count+", the member count"))
	}
	if t := s.Spec.UpdateStrategy.Type; t != "" && t != appsv1.RollingUpdateStatefulSetStrategyType {
		f.add(checkIDHAGroup, field.Invalid(spec.Child("updateStrategy", "type"), t, "want RollingUpdate: one member at a time"))
	}
	pod := s.Spec.Template.Spec
	if len(pod.Containers) == 0 || pod.Containers[0].Name != names.HubContainer {
		f.add(checkIDHAGroup, field.Required(podPath(w).Child("containers").Index(0), "the Hub's container, hub, first"))
		return nil
	}
	checkHAClaims(f, m, s, w, want)
	checkHAPlacement(f, s, w)
	checkHACommand(f, w)
	checkHAProbes(f, w)
	checkHARouting(f, m, s, w, want)
	checkHADisruption(f, m, s)
	return w
}

func deref(p *int32) any {
	if p == nil {
		return "unset"
	}
	return *p
}

func checkHAClaims(f *findings, m *Manifest, s *appsv1.StatefulSet, w *workload, want Expect) {
	hubC := w.Spec.Template.Spec.Containers[0]
	i := slices.IndexFunc(hubC.VolumeMounts, func(vm corev1.VolumeMount) bool { return vm.MountPath == hub.AppData })
	if i < 0 {
		f.add(checkIDHAClaims, field.Required(containerPath(w, hubC).Child("volumeMounts"), "mounts nothing at "+hub.AppData))
		return
	}
	name := hubC.VolumeMounts[i].Name
	if j := slices.IndexFunc(w.Spec.Template.Spec.Volumes, func(v corev1.Volume) bool { return v.Name == name }); j >= 0 {
		f.add(checkIDHAClaims, field.Forbidden(podPath(w).Child("volumes").Key("name="+name), "appData from the pod template is one volume for every member: two writers; use volumeClaimTemplates"))
	}
	k := slices.IndexFunc(s.Spec.VolumeClaimTemplates, func(c corev1.PersistentVolumeClaim) bool { return c.Name == name })
	path := object("StatefulSet", s.Name).Child("spec", "volumeClaimTemplates").Key("metadata.name=" + name)
	if k < 0 {
		f.add(checkIDHAClaims, field.Required(path, "each member's own appData claim"))
	} else {
		c := s.Spec.VolumeClaimTemplates[k]
		got := c.Spec.Resources.Requests[corev1.ResourceStorage]
		if wantQ := resource.MustParse(want.Storage); got.Cmp(wantQ) != 0 {
			f.add(checkIDHAClaims, field.Invalid(path.Child("spec", "resources", "requests").Key("storage"), got.String(), "want "+want.Storage))
		}
		if !slices.Equal(c.Spec.AccessModes, []corev1.PersistentVolumeAccessMode{want.AccessMode}) {
			f.add(checkIDHAClaims, field.Invalid(path.Child("spec", "accessModes"), c.Spec.AccessModes, fmt.Sprintf("want only %s", want.AccessMode)))
		}
	}
	for _, pvc := range m.Claims {
		f.add(checkIDHAClaims, field.Forbidden(object("PersistentVolumeClaim", pvc.Name), "a claim outside volumeClaimTemplates would be shared by the members"))
	}
}

func checkHAPlacement(f *findings, s *appsv1.StatefulSet, w *workload) {
	pod := s.Spec.Template.Spec
	selects := func(labels map[string]string) bool {
		if len(labels) == 0 {
			return false
		}
		for k, v := range labels {
			if s.Spec.Template.Labels[k] != v {
				return false
			}
		}
		return true
	}
	var anti bool
	if a := pod.Affinity; a != nil && a.PodAntiAffinity != nil {
		anti = slices.ContainsFunc(a.PodAntiAffinity.RequiredDuringSchedulingIgnoredDuringExecution, func(t corev1.PodAffinityTerm) bool {
			return t.TopologyKey == corev1.LabelHostname && t.LabelSelector != nil && selects(t.LabelSelector.MatchLabels)
		})
	}
	if !anti {
		f.add(checkIDHAPlacement, field.Required(podPath(w).Child("affinity", "podAntiAffinity", "requiredDuringSchedulingIgnoredDuringExecution"),
			"one member per node (topologyKey kubernetes.io/hostname, selecting the members): a node's loss takes one member, never both"))
	}
	spread := slices.ContainsFunc(pod.TopologySpreadConstraints, func(c corev1.TopologySpreadConstraint) bool {
		return c.TopologyKey == corev1.LabelTopologyZone && c.LabelSelector != nil && selects(c.LabelSelector.MatchLabels)
	})
	i := slices.IndexFunc(pod.TopologySpreadConstraints, func(c corev1.TopologySpreadConstraint) bool { return c.TopologyKey == corev1.LabelTopologyZone })
	switch {
	case !spread:
		f.add(checkIDHAPlacement, field.Required(podPath(w).Child("topologySpreadConstraints"), "spread the members across zones (topology.kubernetes.io/zone)"))
	case pod.TopologySpreadConstraints[i].WhenUnsatisfiable != corev1.ScheduleAnyway:
		f.add(checkIDHAPlacement, field.Invalid(podPath(w).Child("topologySpreadConstraints").Index(i).Child("whenUnsatisfiable"), pod.TopologySpreadConstraints[i].WhenUnsatisfiable,
			"want ScheduleAnyway: a cluster with one zone must still schedule every member"))
	}
}

// checkHACommand wants HighByte's HA command on the Hub's container: HAMain
// start, the pod name as node id, and -j a reference the Hub expands, to an
// environment variable from the database's Secret.
func checkHACommand(f *findings, w *workload) {
	c := w.Spec.Template.Spec.Containers[0]
	path := containerPath(w, c)
	args := append(slices.Clone(c.Command), c.Args...)
	i := slices.Index(args, "com.highbyte.intelligencehub.runtime.HAMain")
	if i < 0 || i+1 >= len(args) || args[i+1] != "start" {
		f.add(checkIDHACommand, field.Invalid(path.Child("args"), args, "want HighByte's HA command: ... com.highbyte.intelligencehub.runtime.HAMain start -n $(POD_NAME) -j ${HUB_JDBC_URI}"))
		return
	}
	flag := func(name string) string {
		j := slices.Index(args[i:], name)
		if j < 0 || i+j+1 >= len(args) {
			return ""
		}
		return args[i+j+1]
	}
	if got := flag("-n"); got != "$("+HANodeIDEnv+")" {
		f.add(checkIDHACommand, field.Invalid(path.Child("args"), got, "want -n $("+HANodeIDEnv+"): the pod name, a node id stable across restarts"))
	}
	if got := flag("-j"); got != "${"+HAJDBCEnv+"}" {
		// The value is left out: it may be the password.
		f.add(checkIDHACommand, field.Invalid(path.Child("args"), field.OmitValueType{}, "want -j ${"+HAJDBCEnv+"}, expanded by the Hub: anything else puts the URI in Git or its password in argv"))
	}
	env := map[string]corev1.EnvVar{}
	for _, e := range c.Env {
		env[e.Name] = e
	}
	if e := env[HANodeIDEnv]; e.ValueFrom == nil || e.ValueFrom.FieldRef == nil || e.ValueFrom.FieldRef.FieldPath != "metadata.name" {
		f.add(checkIDHACommand, field.Required(path.Child("env").Key("name="+HANodeIDEnv).Child("valueFrom", "fieldRef"), "the pod's name, metadata.name"))
	}
	if e := env[HAJDBCEnv]; e.Value != "" || e.ValueFrom == nil || e.ValueFrom.SecretKeyRef == nil ||
		e.ValueFrom.SecretKeyRef.Name != HADatabaseSecret || e.ValueFrom.SecretKeyRef.Key != HADatabaseKey {
		f.add(checkIDHACommand, field.Required(path.Child("env").Key("name="+HAJDBCEnv).Child("valueFrom", "secretKeyRef"),
			fmt.Sprintf("from Secret %s, key %s: the URI holds the database's password", HADatabaseSecret, HADatabaseKey)))
	}
	for _, c := range append(slices.Clone(w.Spec.Template.Spec.InitContainers), w.Spec.Template.Spec.Containers...) {
		for _, a := range append(slices.Clone(c.Command), c.Args...) {
			if strings.Contains(a, "$("+HAJDBCEnv+")") {
				f.add(checkIDHACommand, field.Forbidden(containerPath(w, c), "$("+HAJDBCEnv+") is expanded by Kubernetes into argv, where ps shows the password"))
			}
			if strings.Contains(a, "HAMain create") && c.Name != haCreateInit {
				f.add(checkIDHACommand, field.Forbidden(containerPath(w, c), "HAMain create runs once, in init container "+haCreateInit))
			}
		}
	}
	if !slices.ContainsFunc(w.Spec.Template.Spec.InitContainers, func(c corev1.Container) bool { return c.Name == haCreateInit }) {
		f.add(checkIDHACommand, field.Required(podPath(w).Child("initContainers").Key("name="+haCreateInit), "HAMain create, at the preferred primary's first start"))
	}
}

func checkHAProbes(f *findings, w *workload) {
	c := w.Spec.Template.Spec.Containers[0]
	path := containerPath(w, c)
	get := func(p *corev1.Probe) string {
		if p == nil || p.HTTPGet == nil {
			return ""
		}
		return p.HTTPGet.Path
	}
	if got := get(c.LivenessProbe); got != hub.Livez {
		f.add(checkIDHAProbes, field.Invalid(path.Child("livenessProbe", "httpGet", "path"), got, "want "+hub.Livez+": on "+hub.Readyz+" a healthy standby (503) would be restarted forever"))
	}
	if got := get(c.ReadinessProbe); got != hub.Livez {
		f.add(checkIDHAProbes, field.Invalid(path.Child("readinessProbe", "httpGet", "path"), got, "want "+hub.Livez+": a standby stays Ready (rollouts, drains, GitOps health); the role label routes"))
	}
	if c.StartupProbe == nil {
		f.add(checkIDHAProbes, field.Required(path.Child("startupProbe"), "time for the Hub to start"))
	}
}

// checkHARouting wants the Service to select the primary alone and every
// member to run the sidecar that labels it, with a Role to patch the
// members' pods and nothing else.
func checkHARouting(f *findings, m *Manifest, s *appsv1.StatefulSet, w *workload, want Expect) {
	for _, svc := range m.Services {
		if svc.Spec.Selector[names.HARoleLabel] != names.HARolePrimary {
			f.add(checkIDHARouting, field.Invalid(object("Service", svc.Name).Child("spec", "selector").Key(names.HARoleLabel), svc.Spec.Selector[names.HARoleLabel], "want "+names.HARolePrimary+": the Service reaches the primary alone"))
		}
	}
	pod := w.Spec.Template.Spec
	i := slices.IndexFunc(pod.Containers, func(c corev1.Container) bool { return c.Name == HALabeler })
	if i < 0 {
		f.add(checkIDHARouting, field.Required(podPath(w).Child("containers").Key("name="+HALabeler), "the sidecar that labels each member with its role"))
	} else {
		if img := pod.Containers[i].Image; !strings.HasPrefix(img, HALabelerImage+":") && !strings.HasPrefix(img, HALabelerImage+"@") {
			f.add(checkIDHARouting, field.Invalid(containerPath(w, pod.Containers[i]).Child("image"), img, "want hubkit's "+HALabelerImage))
		}
		if arg := "-members=" + strconv.Itoa(int(want.Members)); !slices.Contains(pod.Containers[i].Args, arg) {
			f.add(checkIDHARouting, field.Invalid(containerPath(w, pod.Containers[i]).Child("args"), pod.Containers[i].Args,
				"want "+arg+", the member count: a new primary's sidecar labels the other members secondary first"))
		}
		for _, vm := range pod.Containers[0].VolumeMounts {
			if strings.HasPrefix(vm.MountPath, "/var/run/secrets/kubernetes.io") {
				f.add(checkIDHARouting, field.Forbidden(containerPath(w, pod.Containers[0]).Child("volumeMounts").Key("name="+vm.Name), "the Hub needs no API token; only "+HALabeler+" has one"))
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
				f.add(checkIDHARouting, field.Invalid(path.Child("verbs"), rule.Verbs, "want only patch"))
			}
			if !slices.Equal(slices.Sorted(slices.Values(rule.ResourceNames)), wantNames) {
				f.add(checkIDHARouting, field.Invalid(path.Child("resourceNames"), rule.ResourceNames, fmt.Sprintf("want the members' pods %v", wantNames)))
			}
		}
	}
	if !found {
		f.add(checkIDHARouting, field.Required(field.NewPath("Role"), "one that lets the sidecar patch the members' pods"))
	}
}

func checkHADisruption(f *findings, m *Manifest, s *appsv1.StatefulSet) {
	i := slices.IndexFunc(m.PodDisruptionBudgets, func(p policyv1.PodDisruptionBudget) bool {
		if p.Spec.Selector == nil || len(p.Spec.Selector.MatchLabels) == 0 {
			return false
		}
		for k, v := range p.Spec.Selector.MatchLabels {
			if s.Spec.Template.Labels[k] != v {
				return false
			}
		}
		return true
	})
	if i < 0 {
		f.add(checkIDHADisruption, field.Required(field.NewPath("PodDisruptionBudget"), "one selecting the members: one at a time"))
		return
	}
	p := m.PodDisruptionBudgets[i]
	spec := object("PodDisruptionBudget", p.Name).Child("spec")
	if p.Spec.MaxUnavailable == nil || p.Spec.MaxUnavailable.String() != "1" || p.Spec.MinAvailable != nil {
		f.add(checkIDHADisruption, field.Invalid(spec.Child("maxUnavailable"), p.Spec.MaxUnavailable, "want 1 (and no minAvailable): one member at a time"))
	}
	if pol := p.Spec.UnhealthyPodEvictionPolicy; pol == nil || *pol != policyv1.AlwaysAllow {
		f.add(checkIDHADisruption, field.Invalid(spec.Child("unhealthyPodEvictionPolicy"), pol, "want AlwaysAllow: a broken member never blocks a drain"))
	}
}
