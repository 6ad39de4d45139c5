// Package singleton is the singleton KRM function: it finds the workloads that
// must run as exactly one pod (Deployments and StatefulSets labelled
// hubkit.dev/singleton, selected in config, or mounting a ReadWriteOnce claim)
// and keeps them so: one replica, no autoscaler, Recreate rollouts, probes,
// drainable disruption budgets, resolvable claims and wiring. Each rule lives
// in its own rule_<id>.go; fnspec/README.md documents them for users.
package singleton

import (
	"errors"
	"fmt"
	"io"
	"strings"

	openapierrors "k8s.io/kube-openapi/pkg/validation/errors"
	"sigs.k8s.io/kustomize/kyaml/fn/framework"
	"sigs.k8s.io/kustomize/kyaml/yaml"
)

// Processor is the function as a framework.ResourceListProcessor.
type Processor struct {
	// Stderr gets one line per warning and error. kustomize drops a
	// function's results, so this is how its users see them.
	Stderr io.Writer
	// Input, when the ResourceList was read from it, explains a ResourceList
	// that yielded no items (an items field that is not a list).
	Input *Input
}

// Process checks every singleton against every rule. In enforce mode it
// applies the fixes, unless a finding that cannot be fixed is an error: then
// it changes nothing at all. It fails (returns the error results) when any
// result is an error.
func (p Processor) Process(rl *framework.ResourceList) error {
	spec, err := LoadSpec(rl.FunctionConfig)
	if err != nil {
		for _, line := range configErrorLines(err) {
			rl.Results = append(rl.Results, &framework.Result{Severity: errorSeverity, Message: "functionConfig: " + line})
		}
		return p.finish(rl)
	}
	if len(rl.Items) == 0 {
		if err := p.Input.checkItems(); err != nil {
			rl.Results = append(rl.Results, &framework.Result{Severity: errorSeverity, Message: "[input] " + err.Error(), Tags: map[string]string{"rule": "input"}})
			return p.finish(rl)
		}
	}
	ix := buildIndex(rl.Items, &spec)
	var findings []finding
	for _, r := range rules() {
		for _, f := range r.check(ix) {
			f.rule = r.id // each finding carries its rule's ID
			findings = append(findings, f)
		}
	}
	applying := spec.Mode == Enforce && !hasUnfixableError(findings)
	removed := map[*yaml.RNode]bool{}
	var added []*yaml.RNode
	for _, f := range findings {
		if applying && f.fix != nil {
			switch {
			case f.fix.remove:
				removed[f.node] = true
			case f.fix.add != nil:
				added = append(added, f.fix.add)
			default:
				if err := f.fix.apply(); err != nil {
					return fmt.Errorf("%s: %s: %w", f.rule, f.target, err)
				}
			}
		}
		rl.Results = append(rl.Results, f.result(spec.Mode, applying))
	}
	if len(removed) > 0 {
		kept := rl.Items[:0]
		for _, n := range rl.Items {
			if !removed[n] {
				kept = append(kept, n)
			}
		}
		rl.Items = kept
	}
	rl.Items = append(rl.Items, added...)
	return p.finish(rl)
}

func hasUnfixableError(findings []finding) bool {
	for _, f := range findings {
		if f.fix == nil && f.severity == errorSeverity {
			return true
		}
	}
	return false
}

// finish prints warnings and errors to Stderr, one line each, and returns
// the error results as the error, or nil (never a typed nil) when there are none.
func (p Processor) finish(rl *framework.ResourceList) error {
	var failed framework.Results
	for _, r := range rl.Results {
		if r.Severity != errorSeverity && r.Severity != warningSeverity {
			continue
		}
		if p.Stderr != nil {
			fmt.Fprintln(p.Stderr, stderrLine(r))
		}
		if r.Severity == errorSeverity {
			failed = append(failed, r)
		}
	}
	if len(failed) == 0 {
		return nil
	}
	return failed
}

// stderrLine is a result on one line: severity, resource, field and message.
func stderrLine(r *framework.Result) string {
	var b strings.Builder
	fmt.Fprintf(&b, "singleton: %s:", r.Severity)
	if id := r.ResourceRef; id != nil && id.Kind != "" && id.Name != "" {
		fmt.Fprintf(&b, " %s", ref{Kind: id.Kind, Namespace: id.Namespace, Name: id.Name})
		if r.Field != nil {
			fmt.Fprintf(&b, " %s", r.Field.Path)
		}
		b.WriteString(":")
	}
	b.WriteString(" " + r.Message)
	return strings.Join(strings.Fields(b.String()), " ")
}

// configErrorLines is a config error as one message per problem: the
// framework combines the schema's and Validate's errors into the schema
// library's composite error.
func configErrorLines(err error) []string {
	var c *openapierrors.CompositeError
	if errors.As(err, &c) {
		var out []string
		for _, e := range c.Errors {
			out = append(out, configErrorLines(e)...)
		}
		return out
	}
	return []string{strings.Join(strings.Fields(err.Error()), " ")}
}
