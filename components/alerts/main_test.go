// Package alerts_test holds the Hub's alerts to their promises, on a real
// render of an overlay as users write one (overlays/testdata/operated):
// scoped to that overlay's namespace and names (scope_test.go), and firing,
// or not, as Prometheus' own promtool evaluates them against the synthetic
// series in testdata/ (promtool_test.go).
package alerts_test

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"
	kyaml "sigs.k8s.io/kustomize/kyaml/yaml"
	"sigs.k8s.io/yaml"

	"github.com/hubkit/hubkit/test/render"
	"github.com/hubkit/hubkit/test/testenv"
)

var fns testenv.Functions

func TestMain(m *testing.M) { fns.Main(m) }

// operated is the overlay the alerts are tested on.
const operated = "overlays/testdata/operated"

// hub is what a render says of the Hub and its alerts.
type hub struct {
	namespace, service, claim string
	// rules is the PrometheusRule's spec: a Prometheus rule file.
	rules []byte
	file  ruleFile
}

type ruleFile struct {
	Groups []struct {
		Name  string `json:"name"`
		Rules []rule `json:"rules"`
	} `json:"groups"`
}

type rule struct {
	Alert       string            `json:"alert"`
	Expr        string            `json:"expr"`
	For         string            `json:"for"`
	Labels      map[string]string `json:"labels"`
	Annotations map[string]string `json:"annotations"`
}

func (f ruleFile) alerts() []rule {
	var all []rule
	for _, g := range f.Groups {
		all = append(all, g.Rules...)
	}
	return all
}

// rendered builds dir as users do (the function on PATH) and reads the Hub's
// namespace, Service, claim and PrometheusRule from the render.
func rendered(t *testing.T, dir string) hub {
	t.Helper()
	nodes := render.Nodes(t, &fns, dir)
	var h hub
	for _, n := range nodes {
		switch n.GetKind() {
		case "Deployment":
			h.namespace = n.GetNamespace()
		case "Service":
			h.service = n.GetName()
		case "PersistentVolumeClaim":
			h.claim = n.GetName()
		case "PrometheusRule":
			require.Nil(t, h.rules, "one PrometheusRule")
			spec, err := n.Pipe(kyaml.Lookup("spec"))
			require.NoError(t, err)
			s, err := spec.String()
			require.NoError(t, err)
			h.rules = []byte(s)
			require.NoError(t, yaml.UnmarshalStrict(h.rules, &h.file))
		}
	}
	require.NotEmpty(t, h.namespace, "the render has the Hub's Deployment")
	require.NotNil(t, h.rules, "the render has the Hub's PrometheusRule")
	return h
}

// root is the repository, where the test's paths start.
func root(t *testing.T, path string) string {
	t.Helper()
	return filepath.Join(testenv.RepoRoot(t), path)
}

// writeRules writes the rendered rules as rules.yaml into a directory of the
// test's own, with the promtool cases, which name it, beside it.
func writeRules(t *testing.T, h hub, cases []string) string {
	t.Helper()
	dir := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(dir, "rules.yaml"), h.rules, 0o644))
	for _, c := range cases {
		b, err := os.ReadFile(c)
		require.NoError(t, err)
		require.NoError(t, os.WriteFile(filepath.Join(dir, filepath.Base(c)), b, 0o644))
	}
	return dir
}
