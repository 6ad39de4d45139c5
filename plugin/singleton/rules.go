package singleton

import (
	"fmt"
	"strings"
)

// rule is one promise a singleton keeps. Its check is a pure function of the
// index: it returns findings, and the processor decides, from the mode, which
// fixes to make and how loudly to report them.
type rule struct {
	// id is stable: users grep for it in results, stderr and fnspec/README.md.
	id      string
	summary string
	check   func(ix *index) []finding
}

// rules lists every rule, in the order their findings are reported. A new
// rule is a new rule_<id>.go with its golden cases, and one line here.
func rules() []rule {
	return []rule{
		inputRule(),
		partnersRule(),
		replicasRule(),
		autoscalersRule(),
		rolloutRule(),
		probesRule(),
		disruptionRule(),
		claimsRule(),
		wiringRule(),
		haMembersRule(),
		haRolloutRule(),
		haClaimsRule(),
		haProbesRule(),
		haSpreadRule(),
		guardRule(),
	}
}

// Usage is the function's help text: how it is run, and each rule's ID and
// one-line summary (fnspec/README.md has the rest).
func Usage() string {
	var b strings.Builder
	b.WriteString(`singleton keeps single-instance stateful workloads single, and HA groups
at their member count.

  kustomize and kpt: a ResourceList on stdin, the result on stdout
  standalone:        singleton config.yaml [file|-]...  (no file: stdin)

Rules (results name them as [id]):
`)
	for _, r := range rules() {
		fmt.Fprintf(&b, "  %-12s %s\n", r.id, r.summary)
	}
	b.WriteString("\nConfig and rules: https://github.com/hubkit/hubkit/tree/main/fnspec\n")
	return b.String()
}

// RuleIDs lists the stable IDs of every rule, in report order.
func RuleIDs() []string {
	var ids []string
	for _, r := range rules() {
		ids = append(ids, r.id)
	}
	return ids
}
