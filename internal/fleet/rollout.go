package fleet

import (
	"encoding/json"
	"fmt"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/yaml"

	"github.com/hubkit/hubkit/internal/names"
)

// RolloutStepsFile is where RolloutSteps is written, beside the
// ApplicationSet it patches.
const RolloutStepsFile = "gitops/argocd/fleet/rollout-steps.yaml"

// Step is one RollingSync step of the ApplicationSet: the site
// Applications it syncs, by their labels.
type Step struct {
	MatchExpressions []metav1.LabelSelectorRequirement `json:"matchExpressions"`
}

// Steps are the ApplicationSet's RollingSync steps: one per wave, in the
// fleet's order, each selecting the Applications of that wave's sites. A
// site's wave is one of the fleet's (Load checks it), so each site is in
// exactly one step.
func (f *Fleet) Steps() []Step {
	var steps []Step
	for _, w := range f.Spec.Waves {
		steps = append(steps, Step{MatchExpressions: []metav1.LabelSelectorRequirement{{
			Key: names.WaveLabel, Operator: metav1.LabelSelectorOpIn, Values: []string{w.Name},
		}}})
	}
	return steps
}

// RolloutSteps is the patch that gives the ApplicationSet its steps.
func (f *Fleet) RolloutSteps() ([]byte, error) {
	steps, err := json.Marshal(f.Steps())
	if err != nil {
		return nil, err
	}
	patch, err := yaml.JSONToYAML([]byte(fmt.Sprintf(`[{"op": "replace", "path": "/spec/strategy/rollingSync/steps", "value": %s}]`, steps)))
	if err != nil {
		return nil, err
	}
	return append([]byte("# Made by hubkit's fleet renderer from "+FleetFile+"'s waves: one step per wave, in order.\n"), patch...), nil
}
