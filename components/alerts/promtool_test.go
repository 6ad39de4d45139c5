package alerts_test

import (
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"sigs.k8s.io/kustomize/api/types"
	"sigs.k8s.io/yaml"

	"github.com/hubkit/hubkit/test/render"
	"github.com/hubkit/hubkit/test/testenv"
)

// promtoolCase is the part of a promtool test file the coverage check reads.
type promtoolCase struct {
	Tests []struct {
		Name       string `json:"name"`
		AlertTests []struct {
			Alertname string `json:"alertname"`
			ExpAlerts []any  `json:"exp_alerts"`
		} `json:"alert_rule_test"`
	} `json:"tests"`
}

func cases(t *testing.T) []string {
	t.Helper()
	files, err := filepath.Glob(filepath.Join("testdata", "*.yaml"))
	require.NoError(t, err)
	require.NotEmpty(t, files)
	return files
}

// promtool runs bin/promtool with args in dir and returns its output.
func promtool(t *testing.T, dir string, args ...string) (string, error) {
	t.Helper()
	cmd := exec.Command(testenv.Promtool(t), args...)
	cmd.Dir = dir
	out, err := cmd.CombinedOutput()
	return string(out), err
}

// The rendered rules are what Prometheus loads: promtool checks them as
// Prometheus reads a rule file.
func TestTheRenderedRulesPassPromtoolCheck(t *testing.T) {
	dir := writeRules(t, rendered(t, root(t, operated)), nil)
	out, err := promtool(t, dir, "check", "rules", "rules.yaml")
	require.NoError(t, err, out)
}

// Each file in testdata/ is one alert's promtool cases, named for what they
// show: synthetic series of the Hub's namespace that fire it, and ones that
// must not (below its threshold, shorter than its for:, another namespace's
// Hub, another pod or claim). promtool evaluates the rendered rules on them.
func TestAlertsFireAsTheirCasesSay(t *testing.T) {
	files := cases(t)
	dir := writeRules(t, rendered(t, root(t, operated)), files)
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			out, err := promtool(t, dir, "test", "rules", filepath.Base(f))
			assert.NoError(t, err, out)
		})
	}
}

// Every alert has a case that fires it and one that must not, and every
// case is about an alert the rules have.
func TestEveryAlertHasAFiringAndAQuietCase(t *testing.T) {
	h := rendered(t, root(t, operated))
	firing, quiet := map[string]bool{}, map[string]bool{}
	for _, f := range cases(t) {
		raw, err := os.ReadFile(f)
		require.NoError(t, err)
		var c promtoolCase
		require.NoError(t, yaml.Unmarshal(raw, &c), f)
		for _, tc := range c.Tests {
			for _, a := range tc.AlertTests {
				require.True(t, slices.ContainsFunc(h.file.alerts(), func(r rule) bool { return r.Alert == a.Alertname }),
					"%s: %q tests %s, which the rules do not have", f, tc.Name, a.Alertname)
				if len(a.ExpAlerts) > 0 {
					firing[a.Alertname] = true
				} else {
					quiet[a.Alertname] = true
				}
			}
		}
	}
	for _, r := range h.file.alerts() {
		assert.True(t, firing[r.Alert], "no case fires %s", r.Alert)
		assert.True(t, quiet[r.Alert], "no case keeps %s quiet", r.Alert)
	}
}

// The cases hold the rules to the overlay's Hub: rendered without
// components/alerts/scope (the overlay forgot it), the rules name no
// namespace anyone deploys to and every case's firing alert goes missing.
// The function refuses such a render (partner_test.go), so this one is
// rendered without it too.
func TestTheCasesFailWithoutTheScope(t *testing.T) {
	unscoped := render.Variant(t, root(t, operated), func(k *types.Kustomization) {
		n := len(k.Transformers)
		k.Transformers = slices.DeleteFunc(k.Transformers, func(ref string) bool {
			return strings.HasSuffix(ref, scope) || strings.HasSuffix(ref, "functions/singleton")
		})
		require.Len(t, k.Transformers, n-2, "the overlay lists %s and the function", scope)
	})
	files := cases(t)
	dir := writeRules(t, rendered(t, unscoped), files)
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			out, err := promtool(t, dir, "test", "rules", filepath.Base(f))
			assert.Error(t, err, "promtool passed the cases on unscoped rules:\n%s", out)
		})
	}
}
