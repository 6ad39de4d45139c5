package singleton

import (
	"strconv"

	"sigs.k8s.io/kustomize/kyaml/fn/framework"
	"sigs.k8s.io/kustomize/kyaml/kio/kioutil"
	"sigs.k8s.io/kustomize/kyaml/yaml"
)

const (
	errorSeverity   = framework.Error
	warningSeverity = framework.Warning
	infoSeverity    = framework.Info
)

// finding is one thing a rule found on one item. A finding with a fix is what
// enforce changes and audit fails on; one without is reported as it is in
// either mode.
type finding struct {
	rule   string
	target ref
	// item is what the finding is about, if it is in the input.
	item  *item
	field string
	// severity and message, for a finding without a fix or one not applied:
	// what is wrong and how to fix it.
	severity framework.Severity
	message  string
	current  any
	fix      *fix
}

// fix is what enforce does about a finding.
type fix struct {
	// severity and message say what was done, once it is.
	severity framework.Severity
	message  string
	proposed any
	// apply makes the change; remove drops the item instead; add is a new item.
	apply  func() error
	remove bool
	add    *yaml.RNode
}

// result is the finding as reported: applied says whether its fix was made.
func (f finding) result(mode Mode, applied bool) *framework.Result {
	sev, msg := f.severity, f.message
	switch {
	case f.fix != nil && applied:
		sev, msg = f.fix.severity, f.fix.message
	case f.fix != nil && mode == Audit:
		sev = errorSeverity
	case f.fix != nil:
		// enforce, but held back by an error elsewhere
		sev, msg = warningSeverity, msg+" (not fixed: an error elsewhere holds every fix back)"
	}
	r := &framework.Result{
		Severity: sev,
		Message:  "[" + f.rule + "] " + msg,
		Tags:     map[string]string{"rule": f.rule},
		ResourceRef: &yaml.ResourceIdentifier{
			TypeMeta: yaml.TypeMeta{APIVersion: f.target.APIVersion, Kind: f.target.Kind},
			NameMeta: yaml.NameMeta{Name: f.target.Name, Namespace: f.target.Namespace},
		},
	}
	if f.field != "" {
		r.Field = &framework.Field{Path: f.field, CurrentValue: f.current}
		if f.fix != nil {
			r.Field.ProposedValue = f.fix.proposed
		}
	}
	if f.item != nil {
		if path, index, err := kioutil.GetFileAnnotations(f.item.node()); err == nil && path != "" {
			r.File = &framework.File{Path: path}
			if i, err := strconv.Atoi(index); err == nil {
				r.File.Index = i
			}
		}
	}
	return r
}
