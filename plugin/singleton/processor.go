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

	"github.com/hubkit/hubkit/plugin/resourcelist"
)

// Processor is the function as a framework.ResourceListProcessor.
type Processor struct {
	// Stderr gets one line per warning and error. kustomize drops a
	// function's results, so this is how its users see them.
	Stderr io.Writer
	// Input, when the ResourceList was read from it, explains a ResourceList
	// that yielded no items (an items field that is not a list).
	Input *resourcelist.Input
}

// Process checks every singleton against every rule. In enforce mode it
// applies the fixes, unless a finding that cannot be fixed is an error: then
// it changes nothing at all. It fails (returns the error results) when any
// result is an error. This is the function on kyaml's reader and writer
// (framework.Execute); resourcelist.Execute runs ProcessItems instead.
func (p Processor) Process(rl *framework.ResourceList) error {
	items := make([]*item, len(rl.Items))
	for i, n := range rl.Items {
		items[i] = nodeItem(n)
	}
	kept, results, err := p.process(rl.FunctionConfig, items)
	rl.Results = append(rl.Results, results...)
	rl.Items = rl.Items[:0]
	for _, it := range kept {
		rl.Items = append(rl.Items, it.node())
	}
	if err != nil {
		return err // a fix that failed
	}
	return p.finish(rl.Results)
}

// ProcessItems is Process on the items as resourcelist.Execute reads them
// (resourcelist.Function): it returns the items to write and the results,
// and fails as Process does. Its error is resourcelist.ErrUnusual, before
// anything is reported, for an input kyaml would read otherwise.
func (p Processor) ProcessItems(fc *yaml.RNode, in []*resourcelist.Item) ([]*resourcelist.Item, framework.Results, error) {
	items, wrapped := make([]*item, len(in)), make([]item, len(in))
	for i, it := range in {
		wrapped[i].Item = it
		items[i] = &wrapped[i]
	}
	kept, results, err := p.process(fc, items)
	if errors.Is(err, resourcelist.ErrUnusual) {
		return nil, nil, err
	}
	if err == nil { // as Process: a fix that failed is the error, and nothing is printed
		err = p.finish(results)
	}
	out := make([]*resourcelist.Item, len(kept))
	for i, it := range kept {
		out[i] = it.Item
	}
	return out, results, err
}

// process runs the rules over the items with the functionConfig fc. It
// returns the items to write (fixed in place, the removed ones left out, the
// added ones last) and the results. Its error is a fix that could not be
// made, or resourcelist.ErrUnusual: an item that came as bytes and that
// kyaml would read otherwise (buildIndex). The items are read before the config, so that an
// input kyaml cannot read is refused as kyaml refuses it, whatever the config.
func (p Processor) process(fc *yaml.RNode, items []*item) ([]*item, framework.Results, error) {
	spec, specErr := LoadSpec(fc)
	indexed := &spec
	if specErr != nil {
		indexed = &Spec{}
		indexed.defaults()
	}
	ix, err := buildIndex(items, indexed)
	if err != nil {
		return nil, nil, err
	}
	var results framework.Results
	if specErr != nil {
		for _, line := range configErrorLines(specErr) {
			results = append(results, &framework.Result{Severity: errorSeverity, Message: "functionConfig: " + line})
		}
		return items, results, nil
	}
	if len(items) == 0 {
		if err := p.Input.CheckItems(); err != nil {
			results = append(results, &framework.Result{Severity: errorSeverity, Message: "[input] " + err.Error(), Tags: map[string]string{"rule": "input"}})
			return items, results, nil
		}
	}
	var findings []finding
	for _, r := range rules() {
		for _, f := range r.check(ix) {
			f.rule = r.id // each finding carries its rule's ID
			findings = append(findings, f)
		}
	}
	applying := spec.Mode == Enforce && !hasUnfixableError(findings)
	var added []*item
	before := map[*item]*yaml.RNode{} // each fixed item, before its first fix
	for _, f := range findings {
		if applying && f.fix != nil {
			switch {
			case f.fix.remove:
				f.item.removed = true
			case f.fix.add != nil:
				added = append(added, nodeItem(f.fix.add))
			default:
				if _, ok := before[f.item]; !ok {
					before[f.item] = f.item.node().Copy()
				}
				if err := f.fix.apply(); err != nil {
					for it, n := range before { // all or nothing: no item half-fixed
						it.Undo(n)
					}
					for _, it := range items {
						it.removed = false
					}
					return items, nil, fmt.Errorf("%s: %s: %w", f.rule, f.target, err)
				}
				f.item.MarkChanged()
			}
		}
		results = append(results, f.result(spec.Mode, applying))
	}
	kept := make([]*item, 0, len(items)+len(added))
	for _, it := range items {
		if !it.removed {
			kept = append(kept, it)
		}
	}
	return append(kept, added...), results, nil
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
func (p Processor) finish(results framework.Results) error {
	var failed framework.Results
	for _, r := range results {
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
