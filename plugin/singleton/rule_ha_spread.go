package singleton

import (
	"fmt"
	"slices"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"sigs.k8s.io/kustomize/kyaml/yaml"
)

// Rule ha-spread: no two members of an HA group run on one node.
//
// Reads spec.template.spec.affinity.podAntiAffinity and spec.selector of each
// HA group StatefulSet. Wanted: a requiredDuringSchedulingIgnoredDuringExecution
// term with topologyKey kubernetes.io/hostname whose labelSelector selects the
// group's own pods (its pod template's labels; namespaces unset or naming its
// own). Missing: enforce adds one, with spec.selector as its labelSelector
// (info); audit fails. Only a preferred term that would do: enforce moves it
// to required (warning); audit fails.
//
// Why: the group exists to survive the loss of a node; two members on one
// node go down together. A preferred term is dropped by the scheduler as soon
// as it is in the way, which on a cluster short of nodes is exactly then.
func haSpreadRule() rule {
	return rule{id: "ha-spread", summary: "an HA group's members are kept apart by a required pod anti-affinity across nodes", check: checkHASpread}
}

// hostnameTopology is the node label that tells nodes apart.
const hostnameTopology = "kubernetes.io/hostname"

type podAffinityTerm struct {
	LabelSelector *labelSelector `yaml:"labelSelector"`
	TopologyKey   string         `yaml:"topologyKey"`
	Namespaces    []string       `yaml:"namespaces"`
}

const antiAffinityField = "spec.template.spec.affinity.podAntiAffinity"

func checkHASpread(ix *index) []finding {
	var out []finding
	for _, g := range ix.haGroups() {
		if !g.valid() {
			continue // ha-members says why
		}
		var anti struct {
			Required  []podAffinityTerm `yaml:"requiredDuringSchedulingIgnoredDuringExecution"`
			Preferred []struct {
				PodAffinityTerm podAffinityTerm `yaml:"podAffinityTerm"`
			} `yaml:"preferredDuringSchedulingIgnoredDuringExecution"`
		}
		if err := decodeField(g.node(), &anti, "spec", "template", "spec", "affinity", "podAntiAffinity"); err != nil {
			continue // not an affinity Kubernetes would take
		}
		if slices.ContainsFunc(anti.Required, func(t podAffinityTerm) bool { return g.apart(t) }) {
			continue
		}
		if i := slices.IndexFunc(anti.Preferred, func(p struct {
			PodAffinityTerm podAffinityTerm `yaml:"podAffinityTerm"`
		}) bool {
			return g.apart(p.PodAffinityTerm)
		}); i >= 0 {
			out = append(out, finding{target: g.ref, item: g.item, field: antiAffinityField + ".preferredDuringSchedulingIgnoredDuringExecution", current: "preferred",
				message: fmt.Sprintf("the members of %s are kept apart only by a preferred anti-affinity, which the scheduler drops when nodes run short, and then two members share a node; make its term requiredDuringSchedulingIgnoredDuringExecution", g),
				fix: &fix{severity: warningSeverity, proposed: "required",
					message: fmt.Sprintf("the preferred pod anti-affinity across nodes made required: no two members of %s share a node", g),
					apply:   func() error { return requirePreferred(g.node(), i) }}})
			continue
		}
		selector, err := g.node().Pipe(yaml.Lookup("spec", "selector"))
		if err != nil || yaml.IsMissingOrNull(selector) || len(selector.YNode().Content) == 0 {
			continue // the apiserver refuses a StatefulSet without a selector, or with an empty one
		}
		// A term on spec.selector keeps the members apart only where it
		// selects the pod template's labels; where it does not, the
		// apiserver refuses the StatefulSet itself (and a term added here
		// would not count as the group's on the next run).
		var sel labelSelector
		if err := decodeField(g.node(), &sel, "spec", "selector"); err != nil ||
			!g.apart(podAffinityTerm{LabelSelector: &sel, TopologyKey: hostnameTopology}) {
			continue
		}
		term := antiAffinityTerm(selector)
		out = append(out, finding{target: g.ref, item: g.item, field: antiAffinityField + ".requiredDuringSchedulingIgnoredDuringExecution",
			message: fmt.Sprintf("nothing keeps two members of %s off one node, where one node's loss takes both; add a required pod anti-affinity with topologyKey %s on the group's labels", g, hostnameTopology),
			fix: &fix{severity: infoSeverity, proposed: "topologyKey " + hostnameTopology,
				message: fmt.Sprintf("required pod anti-affinity across nodes (topologyKey %s, spec.selector's labels) added: no two members of %s share a node", hostnameTopology, g),
				apply:   func() error { return addRequired(g.node(), term) }}})
	}
	return out
}

// apart reports whether term keeps g's members on different nodes.
func (g *haGroup) apart(t podAffinityTerm) bool {
	if t.TopologyKey != hostnameTopology || t.LabelSelector == nil {
		return false
	}
	if len(t.Namespaces) > 0 && !slices.Contains(t.Namespaces, g.ref.Namespace) {
		return false
	}
	ls := &metav1.LabelSelector{MatchLabels: t.LabelSelector.MatchLabels}
	for _, e := range t.LabelSelector.MatchExpressions {
		ls.MatchExpressions = append(ls.MatchExpressions, metav1.LabelSelectorRequirement{
			Key: e.Key, Operator: metav1.LabelSelectorOperator(e.Operator), Values: e.Values})
	}
	s, err := metav1.LabelSelectorAsSelector(ls)
	return err == nil && s.Matches(labels.Set(g.template.Metadata.Labels))
}

// antiAffinityTerm is a required term that keeps the pods selector selects
// on different nodes.
func antiAffinityTerm(selector *yaml.RNode) *yaml.RNode {
	t := yaml.NewMapRNode(nil)
	_ = t.PipeE(yaml.SetField("labelSelector", selector.Copy()))
	_ = t.PipeE(yaml.SetField("topologyKey", yaml.NewScalarRNode(hostnameTopology)))
	return t
}

func addRequired(n *yaml.RNode, term *yaml.RNode) error {
	required, err := lookupCreate(n, yaml.SequenceNode, "spec", "template", "spec", "affinity", "podAntiAffinity", "requiredDuringSchedulingIgnoredDuringExecution")
	if err != nil {
		return err
	}
	required.YNode().Content = append(required.YNode().Content, term.Copy().YNode())
	return nil
}

// requirePreferred moves the podAffinityTerm of preferred term i to the
// required terms, and drops the preferred list when it is left empty.
func requirePreferred(n *yaml.RNode, i int) error {
	anti, err := n.Pipe(yaml.Lookup("spec", "template", "spec", "affinity", "podAntiAffinity"))
	if err != nil || anti == nil {
		return fmt.Errorf("%s not found: %w", antiAffinityField, err)
	}
	preferred, err := anti.Pipe(yaml.Lookup("preferredDuringSchedulingIgnoredDuringExecution"))
	if err != nil || preferred == nil || len(preferred.YNode().Content) <= i {
		return fmt.Errorf("preferred term %d not found: %w", i, err)
	}
	term, err := yaml.NewRNode(preferred.YNode().Content[i]).Pipe(yaml.Lookup("podAffinityTerm"))
	if err != nil || term == nil {
		return fmt.Errorf("preferred term %d has no podAffinityTerm: %w", i, err)
	}
	preferred.YNode().Content = slices.Delete(preferred.YNode().Content, i, i+1)
	if len(preferred.YNode().Content) == 0 {
		if err := anti.PipeE(yaml.Clear("preferredDuringSchedulingIgnoredDuringExecution")); err != nil {
			return err
		}
	}
	return addRequired(n, term)
}
