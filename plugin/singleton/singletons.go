package singleton

import (
	"fmt"
	"slices"

	"github.com/hubkit/hubkit/internal/names"
	"sigs.k8s.io/kustomize/kyaml/yaml"
)

// Which workloads are singletons (fnspec/README.md, "Which workloads are
// singletons", says the same for users): apps/v1 Deployments and
// StatefulSets that
//  1. are labelled hubkit.dev/singleton: "true", on the workload or on its
//     pod template, or
//  2. match an entry of spec.singletons.select (whose probes, if any, are
//     then theirs), or
//  3. mount a ReadWriteOnce or ReadWriteOncePod claim of the input, or a claim
//     of spec.externalClaims, unless spec.singletons.claimMounters is false.
// A workload labelled "false" (on it or its pod template) is never detected by
// its claims. A workload labelled hubkit.dev/ha-members is an HA group
// (hagroups.go), never a singleton.

// findSingletons marks the workloads that are singletons, and says why.
func (ix *index) findSingletons() {
	for _, w := range ix.workloads {
		if declaresHAGroup(w) {
			continue // the ha-* rules hold it
		}
		if i := w.selectedBy; i >= 0 {
			w.why = fmt.Sprintf("selected by spec.singletons.select[%d]", i)
			if sel := ix.spec.Singletons.Select[i]; sel.Probes != nil {
				w.probes = sel.Probes.over(ix.spec.Probes)
			}
		}
		if w.probes.Port == nil {
			w.probes = ix.spec.Probes
		}
		// Charts often let users label only the pod template: it counts too.
		label, templateLabel := w.labels[names.SingletonLabel], w.template.Metadata.Labels[names.SingletonLabel]
		switch {
		case label == "true":
			w.why = "labelled " + names.SingletonLabel + `: "true"`
		case templateLabel == "true":
			w.why = "pod template labelled " + names.SingletonLabel + `: "true"`
		case w.why == "" && label != "false" && templateLabel != "false" && *ix.spec.Singletons.ClaimMounters:
			if c := ix.singleNodeClaim(w); c != nil {
				w.why = "mounts " + c.accessModes[0] + " claim " + c.ref.Name
			} else if name := ix.externalClaimMounted(w); name != "" {
				w.why = "mounts claim " + name + " (spec.externalClaims: single-node)"
			}
		}
		if w.why != "" {
			ix.addSingleton(w)
		}
	}
}

// selectedBy returns the first entry of spec.singletons.select that
// matches workload n, or -1. The entries are matched one workload at a time,
// as buildIndex reads them: plain selectors match each object on its own.
func (ix *index) selectedBy(n *yaml.RNode) int {
	for i := range ix.spec.Singletons.Select {
		matched, err := ix.spec.Singletons.Select[i].Filter([]*yaml.RNode{n})
		if err == nil && len(matched) == 1 { // plain selectors do not fail; templated ones are not offered
			return i
		}
	}
	return -1
}

func (ix *index) addSingleton(w *workload) {
	ix.singletons = append(ix.singletons, w)
	ns := w.ref.Namespace
	ix.byNamespace[ns] = append(ix.byNamespace[ns], w)
	ix.byName[key{ns, w.ref.Name}] = append(ix.byName[key{ns, w.ref.Name}], w)
	if ix.byLabel[ns] == nil {
		ix.byLabel[ns] = map[string][]*workload{}
	}
	for k, v := range w.template.Metadata.Labels {
		ix.byLabel[ns][k+"="+v] = append(ix.byLabel[ns][k+"="+v], w)
	}
}

// singleNodeClaim returns the first claim in the input that w's pod mounts and
// that only one node can mount, or nil.
func (ix *index) singleNodeClaim(w *workload) *claim {
	for _, v := range w.template.Spec.Volumes {
		if v.PersistentVolumeClaim == nil {
			continue
		}
		if c := ix.claims[key{w.ref.Namespace, v.PersistentVolumeClaim.ClaimName}]; c != nil && c.singleNode() {
			return c
		}
	}
	return nil
}

// externalClaimMounted names the first claim of spec.externalClaims that
// w's pod mounts, or "".
func (ix *index) externalClaimMounted(w *workload) string {
	for _, v := range w.template.Spec.Volumes {
		if v.PersistentVolumeClaim != nil && ix.isExternalClaim(w.ref.Namespace, v.PersistentVolumeClaim.ClaimName) {
			return v.PersistentVolumeClaim.ClaimName
		}
	}
	return ""
}

func (ix *index) isExternalClaim(namespace, name string) bool {
	return slices.Contains(ix.spec.ExternalClaims, name) || slices.Contains(ix.spec.ExternalClaims, namespace+"/"+name)
}
