package singleton

import (
	"fmt"
	"slices"

	"github.com/hubkit/hubkit/internal/names"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/util/validation/field"
	"sigs.k8s.io/kustomize/kyaml/yaml"
)

// workload is an apps/v1 Deployment or StatefulSet.
type workload struct {
	*item
	ref      ref
	template podTemplate
	// why says what made it a singleton; empty when it is not one.
	why string
	// labels are the workload's own metadata.labels.
	labels map[string]string
	// probes is how it is probed: spec.probes, under the settings of the
	// select entry that chose it, if any.
	probes Probes
	// selectedBy is the first entry of spec.singletons.select that matches
	// it, or -1.
	selectedBy int
}

type claim struct {
	*item
	ref         ref
	accessModes []string
}

func (c *claim) singleNode() bool {
	return slices.Contains(c.accessModes, "ReadWriteOnce") || slices.Contains(c.accessModes, "ReadWriteOncePod")
}

type service struct {
	*item
	ref  ref
	spec serviceSpec
}

type ingress struct {
	*item
	ref  ref
	spec ingressSpec
}

type autoscaler struct {
	*item
	ref    ref
	target scaleTarget
}

type pdb struct {
	*item
	ref         ref
	selector    labels.Selector // nil: selects nothing
	matchLabels map[string]string
}

// index is the input sorted by what the rules need, built in one pass so that
// matching Services, autoscalers and budgets to singletons stays linear.
type index struct {
	spec          *Spec
	workloads     []*workload
	singletons    []*workload
	claims        map[key]*claim
	services      []*service
	serviceByName map[key]*service
	ingresses     []*ingress
	autoscalers   []*autoscaler
	pdbs          []*pdb
	// guardConfigMaps are the ConfigMaps labelled as the guard's parameters
	// or named as they are.
	guardConfigMaps map[key]*item
	// byLabel finds singletons by one pod label: namespace, then "key=value".
	byLabel map[string]map[string][]*workload
	// byNamespace lists the singletons of each namespace.
	byNamespace map[string][]*workload
	// byName finds singletons by namespace and name.
	byName map[key][]*workload
	// unreadable are the items whose fields could not be read, or hold what
	// the apiserver would refuse.
	unreadable []finding
	// needs are the items a component's partner has yet to finish.
	needs []*needing
}

// buildIndex reads each item once, in order: an item that came as bytes is
// parsed, indexed and let go again (the index keeps what the rules read, and
// the rules parse an item again only when they read or change more of it).
// Its error is resourcelist.ErrUnusual, for an item that came as bytes and
// that kyaml would read otherwise or not at all (resourcelist.Item.Load).
func buildIndex(items []*item, spec *Spec) (*index, error) {
	ix := &index{spec: spec, claims: map[key]*claim{}, serviceByName: map[key]*service{}, byLabel: map[string]map[string][]*workload{}, byNamespace: map[string][]*workload{}, byName: map[key][]*workload{}, guardConfigMaps: map[key]*item{}}
	seen := make(map[ref]int, len(items))
	for i, it := range items {
		if _, err := it.Load(); err != nil {
			return nil, err
		}
		ix.addItem(i, it, seen)
		it.Release()
	}
	ix.findSingletons()
	return ix, nil
}

// addItem checks item i and indexes it, or records why it cannot be read.
func (ix *index) addItem(i int, it *item, seen map[ref]int) {
	if f, ok := checkItem(i, it, seen); !ok {
		ix.unreadable = append(ix.unreadable, f)
		return
	}
	ix.addNeeds(it)
	refusals, err := ix.add(it)
	if err != nil {
		r := refOf(it.node())
		ix.unreadable = append(ix.unreadable, finding{target: r, item: it, severity: errorSeverity,
			message: fmt.Sprintf("cannot read %s: %v; fix the manifest", r, firstTypeError(err))})
	}
	for _, e := range refusals {
		ix.unreadable = append(ix.unreadable, refused(it, e))
	}
}

// add indexes it, unless a field the rules read does not decode (the error)
// or is one the apiserver would refuse (the list).
func (ix *index) add(it *item) (field.ErrorList, error) {
	n := it.node()
	r := refOf(n)
	switch r.APIVersion + " " + r.Kind {
	case "apps/v1 Deployment", "apps/v1 StatefulSet":
		w := &workload{item: it, ref: r, selectedBy: -1}
		// Selectors read labels and annotations through kyaml, which panics
		// on a map that is not one: such a workload is unreadable instead.
		var err error
		if w.labels, err = stringMap(n, "metadata", "labels"); err != nil {
			return nil, err
		}
		if _, err := stringMap(n, "metadata", "annotations"); err != nil {
			return nil, err
		}
		if err := decodeField(n, &w.template, "spec", "template"); err != nil {
			return nil, fmt.Errorf("spec.template: %w", err)
		}
		if errs := w.template.validate(field.NewPath("spec", "template")); len(errs) > 0 {
			return errs, nil
		}
		w.selectedBy = ix.selectedBy(n)
		ix.workloads = append(ix.workloads, w)
	case "v1 PersistentVolumeClaim":
		var s claimSpec
		if err := n.YNode().Decode(&s); err != nil {
			return nil, err
		}
		ix.claims[key{r.Namespace, r.Name}] = &claim{item: it, ref: r, accessModes: s.Spec.AccessModes}
	case "v1 Service":
		s := &service{item: it, ref: r}
		if err := n.YNode().Decode(&s.spec); err != nil {
			return nil, err
		}
		if errs := s.spec.validate(); len(errs) > 0 {
			return errs, nil
		}
		ix.services = append(ix.services, s)
		ix.serviceByName[key{r.Namespace, r.Name}] = s
	case "networking.k8s.io/v1 Ingress":
		i := &ingress{item: it, ref: r}
		if err := n.YNode().Decode(&i.spec); err != nil {
			return nil, err
		}
		if errs := i.spec.validate(); len(errs) > 0 {
			return errs, nil
		}
		ix.ingresses = append(ix.ingresses, i)
	case "autoscaling/v1 HorizontalPodAutoscaler", "autoscaling/v2 HorizontalPodAutoscaler",
		"autoscaling/v2beta2 HorizontalPodAutoscaler", "autoscaling/v2beta1 HorizontalPodAutoscaler",
		"keda.sh/v1alpha1 ScaledObject":
		return nil, ix.addAutoscaler(it, r, "scaleTargetRef")
	case "autoscaling.k8s.io/v1 VerticalPodAutoscaler":
		return nil, ix.addAutoscaler(it, r, "targetRef")
	case "v1 ConfigMap":
		labels, err := stringMap(n, "metadata", "labels") // unreadable: not labelled the guard's
		if r.Name == names.GuardParams && err != nil {
			return nil, err // the guard rule rewrites its labels
		}
		if r.Name == names.GuardParams || labels[names.GuardParamsLabel] == names.GuardParamsValue {
			ix.guardConfigMaps[key{r.Namespace, r.Name}] = it
		}
	case "policy/v1 PodDisruptionBudget", "policy/v1beta1 PodDisruptionBudget":
		return nil, ix.addPDB(it, r)
	}
	return nil, nil
}

func (ix *index) addAutoscaler(it *item, r ref, targetField string) error {
	a := &autoscaler{item: it, ref: r}
	if err := decodeField(it.node(), &a.target, "spec", targetField); err != nil {
		return fmt.Errorf("spec.%s: %w", targetField, err)
	}
	if a.target.Kind == "" && r.Kind == "ScaledObject" {
		a.target.Kind = "Deployment" // KEDA's default
	}
	ix.autoscalers = append(ix.autoscalers, a)
	return nil
}

func (ix *index) addPDB(it *item, r ref) error {
	p := &pdb{item: it, ref: r}
	f, err := it.node().Pipe(yaml.Lookup("spec", "selector"))
	if err != nil {
		return err
	}
	if f != nil { // a missing selector selects nothing; an empty one, every pod
		var s labelSelector
		if err := f.YNode().Decode(&s); err != nil {
			return fmt.Errorf("spec.selector: %w", err)
		}
		p.matchLabels = s.MatchLabels
		ls := &metav1.LabelSelector{MatchLabels: s.MatchLabels}
		for _, e := range s.MatchExpressions {
			ls.MatchExpressions = append(ls.MatchExpressions, metav1.LabelSelectorRequirement{
				Key: e.Key, Operator: metav1.LabelSelectorOperator(e.Operator), Values: e.Values})
		}
		if p.selector, err = metav1.LabelSelectorAsSelector(ls); err != nil {
			return fmt.Errorf("spec.selector: %w", err)
		}
	}
	ix.pdbs = append(ix.pdbs, p)
	return nil
}

// candidates returns the singletons in namespace that carry one pair of
// matchLabels (any pair will do, as all must match), or every singleton of the
// namespace when there are none: callers still check the whole selector.
func (ix *index) candidates(namespace string, matchLabels map[string]string) []*workload {
	for k, v := range matchLabels {
		return ix.byLabel[namespace][k+"="+v]
	}
	return ix.byNamespace[namespace]
}

// singletonsSelectedBy returns the singletons in namespace whose pod labels
// include every pair of selector (a Service's selector); empty selects none.
func (ix *index) singletonsSelectedBy(namespace string, selector map[string]string) []*workload {
	if len(selector) == 0 {
		return nil
	}
	var out []*workload
	for _, w := range ix.candidates(namespace, selector) {
		if labels.SelectorFromSet(selector).Matches(labels.Set(w.template.Metadata.Labels)) {
			out = append(out, w)
		}
	}
	return out
}

// singletonsBudgetedBy returns the singletons in p's namespace that p selects.
func (ix *index) singletonsBudgetedBy(p *pdb) []*workload {
	if p.selector == nil {
		return nil
	}
	var out []*workload
	for _, w := range ix.candidates(p.ref.Namespace, p.matchLabels) {
		if p.selector.Matches(labels.Set(w.template.Metadata.Labels)) {
			out = append(out, w)
		}
	}
	return out
}

// singleton returns the singleton that an autoscaler in namespace aims at, or nil.
func (ix *index) singleton(namespace string, t scaleTarget) *workload {
	for _, w := range ix.byName[key{namespace, t.Name}] {
		if w.ref.Kind == t.Kind && (t.APIVersion == "" || t.APIVersion == w.ref.APIVersion) {
			return w
		}
	}
	return nil
}
