package dashboard_test

import (
	"path/filepath"
	"regexp"
	"slices"
	"testing"

	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/promql/parser"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// Grafana's sidecar loads every ConfigMap labelled grafana_dashboard (its
// default label, any value) from the namespaces it watches.
func TestItShipsWhereGrafanasSidecarLooksForIt(t *testing.T) {
	h := rendered(t, root(t, operated))
	assert.Equal(t, "1", h.labels[sidecarLabel])
	assert.NotEmpty(t, h.board.UID, "a uid, so that a new version replaces the old one in Grafana")
	assert.NotEmpty(t, h.board.Panels)
}

// Every panel's queries are PromQL that Prometheus' own parser reads once
// Grafana has set the dashboard's variables for the rendered Hub, and each
// opens with a selector of the Hub's namespace: the dashboard shows the one
// Hub picked in its menu, nothing of another namespace.
func TestEveryQueryParsesAndIsAboutTheChosenHub(t *testing.T) {
	h := rendered(t, root(t, operated))
	for _, p := range h.board.Panels {
		t.Run(p.Title, func(t *testing.T) {
			require.NotEmpty(t, p.Targets)
			for _, target := range p.Targets {
				q, err := set(target.Expr, h.variables())
				require.NoError(t, err)
				expr, err := parser.NewParser(parser.Options{}).ParseExpr(q)
				require.NoError(t, err, "Prometheus' parser reads %s", q)
				selectors := parser.ExtractSelectors(expr)
				require.NotEmpty(t, selectors, q)
				assert.Contains(t, selectors[0], labels.MustNewMatcher(labels.MatchEqual, "namespace", h.namespace), "%s opens with the Hub's namespace", q)
			}
		})
	}
	// The namespace menu's query (Grafana's label_values) is a selector too.
	for _, v := range h.board.Templating.List {
		if v.Type != "query" {
			continue
		}
		query := v.Query.(map[string]any)["query"].(string)
		m := regexp.MustCompile(`^label_values\((.+), (\w+)\)$`).FindStringSubmatch(query)
		require.NotNil(t, m, "variable %s: %s is label_values(selector, label)", v.Name, query)
		q, err := set(m[1], h.variables())
		require.NoError(t, err)
		_, err = parser.NewParser(parser.Options{}).ParseExpr(q)
		assert.NoError(t, err, "variable %s: %s", v.Name, q)
	}
}

// The dashboard names the Hub's claim and Service in two variables, the
// base's names by default, and its container as the base does; every
// variable a query uses is one the dashboard defines.
func TestItsDefaultsAreTheBasesNames(t *testing.T) {
	base := renderedBase(t)
	board := rendered(t, root(t, operated)).board
	defaults := map[string]string{}
	for _, v := range board.Templating.List {
		if v.Type == "textbox" {
			defaults[v.Name] = v.Query.(string)
		}
	}
	assert.Equal(t, map[string]string{"claim": base.claim, "service": base.service}, defaults)

	defined := map[string]bool{}
	for _, v := range board.Templating.List {
		defined[v.Name] = true
	}
	container := regexp.MustCompile(`container="([^"]+)"`)
	for _, p := range board.Panels {
		for _, target := range p.Targets {
			for _, m := range grafanaVariable.FindAllStringSubmatch(target.Expr, -1) {
				assert.True(t, defined[m[1]], "%s: $%s is not a variable of the dashboard", p.Title, m[1])
			}
			for _, m := range container.FindAllStringSubmatch(target.Expr, -1) {
				assert.True(t, slices.Contains(base.containers, m[1]), "%s: container %q is not the base's %v", p.Title, m[1], base.containers)
			}
		}
	}
}

// renderedBase is the base with the dashboard: the names the dashboard
// defaults to.
func renderedBase(t *testing.T) hub {
	t.Helper()
	dir := t.TempDir()
	writeKustomization(t, dir, "resources:\n- "+rel(t, dir, "base")+"\ncomponents:\n- "+rel(t, dir, filepath.Join("components", "dashboard"))+"\n")
	return rendered(t, dir)
}

// Each panel that draws an alert's threshold names the alert in its
// description ("alert HubClaimAlmostFull above 85 %"), and its dashed line
// is a threshold that alert's expression compares with: the rules hold the
// number, the dashboard's copy is held to it.
func TestEveryDashedLineIsItsAlertsThreshold(t *testing.T) {
	h := rendered(t, root(t, operated))
	require.NotEmpty(t, h.alerts, "the overlay renders the alerts too")
	alertName := regexp.MustCompile(`alert (Hub\w+)`)
	drawn := 0
	for _, p := range h.board.Panels {
		line, ok := p.threshold()
		if !ok {
			continue
		}
		drawn++
		t.Run(p.Title, func(t *testing.T) {
			m := alertName.FindStringSubmatch(p.Description)
			require.NotNil(t, m, "the description names the alert whose threshold the panel draws: %q", p.Description)
			expr, ok := h.alerts[m[1]]
			require.True(t, ok, "no alert %s in the rules", m[1])
			parsed, err := parser.NewParser(parser.Options{}).ParseExpr(expr)
			require.NoError(t, err)
			assert.Contains(t, comparedWith(parsed), line, "%s compares with %v", m[1], comparedWith(parsed))
		})
	}
	assert.NotZero(t, drawn)
}

// comparedWith is every number the expression compares a series with.
func comparedWith(expr parser.Expr) []float64 {
	var out []float64
	parser.Inspect(expr, func(n parser.Node, _ []parser.Node) error {
		if b, ok := n.(*parser.BinaryExpr); ok && b.Op.IsComparisonOperator() {
			if num, ok := b.RHS.(*parser.NumberLiteral); ok {
				out = append(out, num.Val)
			}
		}
		return nil
	})
	return out
}
