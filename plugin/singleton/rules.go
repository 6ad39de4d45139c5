package singleton

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
		replicasRule(),
		autoscalersRule(),
		rolloutRule(),
		probesRule(),
		disruptionRule(),
		claimsRule(),
		wiringRule(),
		guardRule(),
	}
}

// RuleIDs lists the stable IDs of every rule, in report order.
func RuleIDs() []string {
	var ids []string
	for _, r := range rules() {
		ids = append(ids, r.id)
	}
	return ids
}
