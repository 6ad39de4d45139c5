package singleton

import (
	"fmt"
	"strconv"

	"github.com/hubkit/hubkit/internal/names"
)

// Which workloads are HA groups (fnspec/README.md, "HA groups", says the
// same for users): apps/v1 Deployments and StatefulSets labelled
//
//	hubkit.dev/ha-members: "<n>"
//
// on the workload or on its pod template, n an integer of 2 or more: n
// members of one app, each with its own state, one of them active (HighByte's
// HA mode: n Hubs, each its own appData, one primary through PostgreSQL). An
// HA group is never a singleton, whatever hubkit.dev/singleton, the select
// entries or its claims say: the ha-* rules hold it instead, and the guard
// holds it to its member count.

// haGroup is a workload declared an HA group.
type haGroup struct {
	*workload
	// members is the label's count; 0 when the label is not one (problem).
	members int64
	// label is where the count was read, for messages; labelField, its path.
	label, labelField string
	// problem says what is wrong with the label, or "".
	problem string
}

// valid reports whether the group is one the member rules can hold: a
// StatefulSet with a member count.
func (g *haGroup) valid() bool {
	return g.problem == "" && g.ref.Kind == "StatefulSet"
}

func (g *haGroup) String() string {
	return fmt.Sprintf("%s, an HA group of %d members (%s)", g.ref, g.members, g.label)
}

// declaresHAGroup reports whether w carries the HA label, on it or on its pod
// template, whatever its value.
func declaresHAGroup(w *workload) bool {
	_, own := w.labels[names.HAMembersLabel]
	_, template := w.template.Metadata.Labels[names.HAMembersLabel]
	return own || template
}

// haGroups lists the workloads declared HA groups, in input order. It reads
// only the labels the index holds, so each rule may call it.
func (ix *index) haGroups() []*haGroup {
	var out []*haGroup
	for _, w := range ix.workloads {
		if !declaresHAGroup(w) {
			continue
		}
		out = append(out, newHAGroup(w))
	}
	return out
}

func newHAGroup(w *workload) *haGroup {
	g := &haGroup{workload: w}
	own, onWorkload := w.labels[names.HAMembersLabel]
	template, onTemplate := w.template.Metadata.Labels[names.HAMembersLabel]
	value := own
	g.label = fmt.Sprintf("labelled %s: %q", names.HAMembersLabel, own)
	g.labelField = "metadata.labels[" + names.HAMembersLabel + "]"
	switch {
	case onWorkload && onTemplate && own != template:
		g.problem = fmt.Sprintf("%s is %q on the workload and %q on its pod template; give it one value", names.HAMembersLabel, own, template)
		return g
	case !onWorkload:
		value = template
		g.label = fmt.Sprintf("pod template labelled %s: %q", names.HAMembersLabel, template)
		g.labelField = "spec.template." + g.labelField
	}
	n, err := strconv.ParseInt(value, 10, 32)
	if err != nil || n < 2 {
		g.problem = fmt.Sprintf("%s is %q, not a member count: use an integer of 2 or more (a workload of one is a singleton: label it %s: \"true\" instead)", names.HAMembersLabel, value, names.SingletonLabel)
		return g
	}
	g.members = n
	return g
}

// haGroupTargeted returns the HA group in namespace that an autoscaler aims
// at, or nil (a group whose label is wrong is ha-members' to report).
func haGroupTargeted(groups []*haGroup, namespace string, t scaleTarget) *haGroup {
	for _, g := range groups {
		if g.problem == "" && g.ref.Namespace == namespace && g.ref.Name == t.Name && g.ref.Kind == t.Kind && (t.APIVersion == "" || t.APIVersion == g.ref.APIVersion) {
			return g
		}
	}
	return nil
}

// claimTemplate is one entry of a StatefulSet's spec.volumeClaimTemplates.
type claimTemplate struct {
	Metadata struct {
		Name string `yaml:"name"`
	} `yaml:"metadata"`
	Spec struct {
		AccessModes []string `yaml:"accessModes"`
	} `yaml:"spec"`
}

// claimTemplates decodes g's spec.volumeClaimTemplates; a field that does not
// decode is none (the apiserver refuses it).
func (g *haGroup) claimTemplates() []claimTemplate {
	var ts []claimTemplate
	if err := decodeField(g.node(), &ts, "spec", "volumeClaimTemplates"); err != nil {
		return nil
	}
	return ts
}
