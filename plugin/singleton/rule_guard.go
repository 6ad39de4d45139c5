package singleton

import (
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"

	"github.com/hubkit/hubkit/internal/names"
	"sigs.k8s.io/kustomize/kyaml/yaml"
)

// Rule guard: with spec.guard.params, each namespace that holds singletons
// carries the in-cluster guard's parameters, and only such a namespace.
//
// Reads the singletons and the ConfigMaps labelled hubkit.dev/guard: params.
// The parameters are one ConfigMap, hubkit-singletons, per namespace with a
// singleton. Its data has a key per singleton, deployment.<name> or
// statefulset.<name>, whose value says why it is one, and a key per claim a
// singleton's pod mounts, claim.<name>, whose value lists the workloads
// allowed to mount it (Deployment/<name> StatefulSet/<name>, space-separated).
// Each HA group (hagroups.go; a StatefulSet with a valid member count) adds
// ha.statefulset.<name>, whose value is its member count ("2"), and a key
// per claim template, ha.claim.<template>-<name>, whose value is the
// StatefulSet's name: its members' claims are <template>-<name>-<ordinal>.
// Missing or different: enforce writes it (info); audit fails. Such a
// ConfigMap in a namespace without singletons or HA groups: enforce removes
// it (warning); audit fails. Without spec.guard.params the rule does nothing.
//
// Why: the guard's policies (guard/ in hubkit) refuse a second replica, an
// autoscaler, an overlapping rollout and a stray pod on a singleton's claim,
// and a scale above an HA group's member count, an autoscaler on it and a pod
// on a member's claim that is not that member, but only for the workloads
// these parameters name. Written by the function from what it found, they
// cannot drift from the manifests; a Scale request carries no labels, so the
// names must be in a parameter object.
func guardRule() rule {
	return rule{id: "guard", summary: "each namespace with singletons or HA groups carries the guard's parameters (spec.guard.params)", check: checkGuard}
}

func checkGuard(ix *index) []finding {
	if !ix.spec.Guard.Params {
		return nil
	}
	want := ix.guardParams()
	var out []finding
	for _, ns := range slices.Sorted(maps.Keys(want)) {
		data := want[ns]
		r := ref{APIVersion: "v1", Kind: "ConfigMap", Namespace: ns, Name: names.GuardParams}
		have := ix.guardConfigMaps[key{ns, names.GuardParams}]
		f := finding{target: r, item: have}
		switch {
		case have == nil:
			f.message = fmt.Sprintf("%s is missing: the guard does not know this namespace's singletons; enforce writes it", r)
			f.fix = &fix{severity: infoSeverity, message: "added for the guard: " + strings.Join(slices.Sorted(maps.Keys(data)), ", "),
				add: guardParamsNode(ns, data)}
		case !guardParamsEqual(have.node(), data):
			f.field = "data"
			f.message = fmt.Sprintf("%s does not match the singletons (want %s); enforce rewrites it", r, strings.Join(slices.Sorted(maps.Keys(data)), ", "))
			f.fix = &fix{severity: infoSeverity, message: "updated for the guard: " + strings.Join(slices.Sorted(maps.Keys(data)), ", "),
				apply: func() error { return setGuardParams(have.node(), data) }}
		default:
			continue
		}
		out = append(out, f)
	}
	for _, k := range slices.SortedFunc(maps.Keys(ix.guardConfigMaps), func(a, b key) int {
		return strings.Compare(a.namespace+"/"+a.name, b.namespace+"/"+b.name)
	}) {
		if _, ok := want[k.namespace]; ok && k.name == names.GuardParams {
			continue
		}
		it := ix.guardConfigMaps[k]
		n := it.node()
		if labels, _ := stringMap(n, "metadata", "labels"); labels[names.GuardParamsLabel] != names.GuardParamsValue {
			continue // a ConfigMap of the user's that only shares the name
		}
		out = append(out, finding{target: refOf(n), item: it,
			message: fmt.Sprintf("%s names no singleton of this input; remove it (or its %s label)", refOf(n), names.GuardParamsLabel),
			fix:     &fix{severity: warningSeverity, message: "removed: it names no singleton of this input", remove: true}})
	}
	return out
}

// guardParams is each namespace's parameter data.
func (ix *index) guardParams() map[string]map[string]string {
	out := map[string]map[string]string{}
	for _, w := range ix.singletons {
		ns := w.ref.Namespace
		if out[ns] == nil {
			out[ns] = map[string]string{}
		}
		out[ns][names.GuardWorkloadKey(w.ref.Kind, w.ref.Name)] = w.why
		for _, v := range w.template.Spec.Volumes {
			if v.PersistentVolumeClaim == nil || v.PersistentVolumeClaim.ClaimName == "" {
				continue
			}
			k, owner := names.GuardClaimKey(v.PersistentVolumeClaim.ClaimName), w.ref.Kind+"/"+w.ref.Name
			if owners := strings.Fields(out[ns][k]); !slices.Contains(owners, owner) {
				out[ns][k] = strings.Join(append(owners, owner), " ")
			}
		}
	}
	for _, g := range ix.haGroups() {
		if !g.valid() {
			continue
		}
		ns := g.ref.Namespace
		if out[ns] == nil {
			out[ns] = map[string]string{}
		}
		out[ns][names.GuardHAGroupKey(g.ref.Name)] = strconv.FormatInt(g.members, 10)
		for _, t := range g.claimTemplates() {
			if t.Metadata.Name != "" {
				out[ns][names.GuardHAClaimKey(t.Metadata.Name, g.ref.Name)] = g.ref.Name
			}
		}
	}
	return out
}

// guardParamsEqual reports whether n is labelled as the guard's parameters
// and holds exactly data (a data or labels field that does not decode is
// not equal: enforce rewrites it).
func guardParamsEqual(n *yaml.RNode, data map[string]string) bool {
	labels, err := stringMap(n, "metadata", "labels")
	if err != nil || labels[names.GuardParamsLabel] != names.GuardParamsValue {
		return false
	}
	have, err := stringMap(n, "data")
	return err == nil && maps.Equal(have, data)
}

func guardParamsNode(namespace string, data map[string]string) *yaml.RNode {
	n := yaml.NewRNode(&yaml.Node{Kind: yaml.MappingNode})
	n.SetApiVersion("v1")
	n.SetKind("ConfigMap")
	// Set* on a fresh node fail only on a non-map node; this one is a map.
	_ = n.SetName(names.GuardParams)
	if namespace != "" {
		_ = n.SetNamespace(namespace)
	}
	_ = setGuardParams(n, data)
	return n
}

// setGuardParams sets the label and replaces data, keys sorted.
func setGuardParams(n *yaml.RNode, data map[string]string) error {
	labels, err := lookupCreate(n, yaml.MappingNode, "metadata", "labels")
	if err != nil {
		return err
	}
	if err := labels.PipeE(yaml.SetField(names.GuardParamsLabel, yaml.NewScalarRNode(names.GuardParamsValue))); err != nil {
		return err
	}
	m := yaml.NewRNode(&yaml.Node{Kind: yaml.MappingNode})
	for _, k := range slices.Sorted(maps.Keys(data)) {
		if err := m.PipeE(yaml.SetField(k, yaml.NewStringRNode(data[k]))); err != nil {
			return err
		}
	}
	return n.PipeE(yaml.SetField("data", m))
}
