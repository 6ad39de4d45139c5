package alerts_test

import (
	"slices"
	"testing"

	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/promql/parser"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/hubkit/hubkit/internal/names"
	"github.com/hubkit/hubkit/internal/overlays"
	"github.com/hubkit/hubkit/test/testenv"
)

// anchorNames says, for each label an anchor may name the Hub's object by,
// which of the rendered names it must carry.
var anchorNames = map[string]func(hub) string{
	"persistentvolumeclaim": func(h hub) string { return h.claim },
	"endpoint":              func(h hub) string { return h.service },
}

// Every rule, as rendered, is about the overlay's own Hub: its first
// selector (its anchor) names the rendered namespace and the rendered claim
// or Service, and no other selector names a namespace or an object, so the
// rest is joined to the anchor. The overlay puts the Hub in a namespace no
// real overlay uses and prefixes its names, so nothing written in the
// component, nor any real overlay's value, passes for the rendered one.
func TestEveryRuleIsScopedToTheOverlaysHub(t *testing.T) {
	h := rendered(t, root(t, operated))
	table, err := overlays.Load(testenv.RepoRoot(t))
	require.NoError(t, err)
	for _, o := range table {
		require.NotEqual(t, o.Namespace, h.namespace, "the test overlay's namespace is no real overlay's")
	}
	require.NotEqual(t, names.Hub, h.service, "the test overlay renames the Hub")
	require.NotEmpty(t, h.file.alerts())

	for _, r := range h.file.alerts() {
		t.Run(r.Alert, func(t *testing.T) {
			expr, err := parser.NewParser(parser.Options{}).ParseExpr(r.Expr)
			require.NoError(t, err, "Prometheus' parser reads the rendered expression")
			selectors := parser.ExtractSelectors(expr)
			require.NotEmpty(t, selectors)
			anchor := selectors[0]
			assert.Contains(t, anchor, equal("namespace", h.namespace), "the anchor %s names the Hub's namespace", anchor)
			named := slices.IndexFunc(anchor, func(m *labels.Matcher) bool { return anchorNames[m.Name] != nil })
			if assert.GreaterOrEqual(t, named, 0, "the anchor %s names the Hub's claim or Service", anchor) {
				m := anchor[named]
				assert.Equal(t, equal(m.Name, anchorNames[m.Name](h)).String(), m.String(), "the anchor names the rendered %s", m.Name)
			}
			for _, s := range selectors[1:] {
				for _, m := range s {
					assert.False(t, m.Name == "namespace" || anchorNames[m.Name] != nil,
						"%s: only the anchor names the Hub; join the rest on(namespace, ...)", s)
				}
			}
		})
	}
}

func equal(name, value string) *labels.Matcher {
	return labels.MustNewMatcher(labels.MatchEqual, name, value)
}
