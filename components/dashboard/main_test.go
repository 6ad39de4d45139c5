// Package dashboard_test holds the Hub's Grafana dashboard to its promises,
// on a real render of overlays/testdata/operated: shipped where Grafana's
// sidecar finds it, every query one Prometheus parses, about the rendered
// Hub once its variables are set, its dashed lines the alerts' thresholds
// (queries_test.go), and drawn, from the synthetic day in testdata/day.yaml,
// as docs/dashboard.png (picture_test.go).
package dashboard_test

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"testing"

	"github.com/stretchr/testify/require"
	kyaml "sigs.k8s.io/kustomize/kyaml/yaml"

	"github.com/hubkit/hubkit/test/render"
	"github.com/hubkit/hubkit/test/testenv"
)

var fns testenv.Functions

func TestMain(m *testing.M) { fns.Main(m) }

// operated is the overlay the dashboard is tested on.
const operated = "overlays/testdata/operated"

// The dashboard's file in the ConfigMap, and the label Grafana's sidecar
// loads ConfigMaps by (its default).
const (
	dashboardFile = "hub.json"
	sidecarLabel  = "grafana_dashboard"
)

// dashboard is the part of Grafana's dashboard model the tests read.
type dashboard struct {
	UID        string `json:"uid"`
	Title      string `json:"title"`
	Templating struct {
		List []variable `json:"list"`
	} `json:"templating"`
	Panels []panel `json:"panels"`
}

type variable struct {
	Name  string `json:"name"`
	Type  string `json:"type"`
	Query any    `json:"query"`
}

type panel struct {
	Title       string `json:"title"`
	Description string `json:"description"`
	FieldConfig struct {
		Defaults struct {
			Unit       string `json:"unit"`
			Thresholds *struct {
				Steps []struct {
					Value *float64 `json:"value"`
				} `json:"steps"`
			} `json:"thresholds"`
		} `json:"defaults"`
	} `json:"fieldConfig"`
	Targets []struct {
		Expr   string `json:"expr"`
		Legend string `json:"legendFormat"`
	} `json:"targets"`
}

// threshold is the panel's line (its second step), if it has one.
func (p panel) threshold() (float64, bool) {
	th := p.FieldConfig.Defaults.Thresholds
	if th == nil || len(th.Steps) < 2 || th.Steps[1].Value == nil {
		return 0, false
	}
	return *th.Steps[1].Value, true
}

// hub is what a render says of the Hub and its dashboard.
type hub struct {
	namespace, service, claim string
	containers                []string
	// configMap is the dashboard's ConfigMap: its labels and files.
	labels map[string]string
	files  map[string]string
	board  dashboard
	// alerts are the PrometheusRule's expressions, by alert.
	alerts map[string]string
}

// rendered builds dir as users do (the function on PATH) and reads the Hub
// and its dashboard from the render.
func rendered(t *testing.T, dir string) hub {
	t.Helper()
	nodes := render.Nodes(t, &fns, dir)
	var h hub
	for _, n := range nodes {
		switch n.GetKind() {
		case "Deployment":
			h.namespace = n.GetNamespace()
			cs, err := n.Pipe(kyaml.Lookup("spec", "template", "spec", "containers"))
			require.NoError(t, err)
			names, err := cs.ElementValues("name")
			require.NoError(t, err)
			h.containers = names
		case "Service":
			h.service = n.GetName()
		case "PersistentVolumeClaim":
			h.claim = n.GetName()
		case "PrometheusRule":
			var rule struct {
				Spec struct {
					Groups []struct {
						Rules []struct{ Alert, Expr string }
					}
				}
			}
			s, err := n.MarshalJSON()
			require.NoError(t, err)
			require.NoError(t, json.Unmarshal(s, &rule))
			h.alerts = map[string]string{}
			for _, g := range rule.Spec.Groups {
				for _, r := range g.Rules {
					h.alerts[r.Alert] = r.Expr
				}
			}
		case "ConfigMap":
			if _, ok := n.GetDataMap()[dashboardFile]; ok {
				require.Nil(t, h.files, "one ConfigMap with %s", dashboardFile)
				h.labels, h.files = n.GetLabels(), n.GetDataMap()
			}
		}
	}
	require.NotNil(t, h.files, "the render has a ConfigMap with %s", dashboardFile)
	require.NoError(t, json.Unmarshal([]byte(h.files[dashboardFile]), &h.board))
	return h
}

func root(t *testing.T, path string) string {
	t.Helper()
	return filepath.Join(testenv.RepoRoot(t), path)
}

// rel is the repository's path as a kustomization in dir references it.
func rel(t *testing.T, dir, path string) string {
	t.Helper()
	return testenv.RelPath(t, dir, root(t, path))
}

func writeKustomization(t *testing.T, dir, body string) {
	t.Helper()
	require.NoError(t, os.WriteFile(filepath.Join(dir, "kustomization.yaml"), []byte(body), 0o644))
}

// grafanaVariable is how a query names a dashboard variable: $name or ${name}.
var grafanaVariable = regexp.MustCompile(`\$\{?(\w+)\}?`)

// set replaces the dashboard's variables in expr with values, as Grafana
// does before it sends the query; a variable without a value is an error.
func set(expr string, values map[string]string) (string, error) {
	var missing error
	out := grafanaVariable.ReplaceAllStringFunc(expr, func(v string) string {
		name := grafanaVariable.FindStringSubmatch(v)[1]
		value, ok := values[name]
		if !ok && missing == nil {
			missing = fmt.Errorf("the query uses $%s, which has no value here", name)
		}
		return value
	})
	return out, missing
}

// variables are the dashboard's variables set for the rendered Hub.
func (h hub) variables() map[string]string {
	return map[string]string{"namespace": h.namespace, "claim": h.claim, "service": h.service}
}
