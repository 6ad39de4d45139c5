package alerts_test

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"sigs.k8s.io/kustomize/api/types"
	kyaml "sigs.k8s.io/kustomize/kyaml/yaml"

	"github.com/hubkit/hubkit/plugin/singleton"
	"github.com/hubkit/hubkit/test/render"
	"github.com/hubkit/hubkit/test/testenv"
)

const (
	// scope is the partner of components/alerts, under transformers:.
	scope = "components/alerts/scope"
	// prod is the overlay a new user adds the alerts to.
	prod = "overlays/prod"
)

// withAlerts is dir as a user changes it: components/alerts among its
// components, and components/alerts/scope under its transformers, before
// the function, or (scoped false) forgotten.
func withAlerts(t *testing.T, dir string, scoped bool) string {
	t.Helper()
	return render.Variant(t, root(t, dir), func(k *types.Kustomization) {
		require.NotEmpty(t, k.Components)
		require.True(t, strings.HasSuffix(k.Transformers[len(k.Transformers)-1], "functions/singleton"), "%s ends in the function", dir)
		// The copy's references reach the repository's components, as its
		// first one does.
		components := filepath.Dir(k.Components[0])
		if !slices.ContainsFunc(k.Components, func(ref string) bool { return strings.HasSuffix(ref, "components/alerts") }) {
			k.Components = append(k.Components, filepath.Join(components, "alerts"))
		}
		k.Transformers = slices.DeleteFunc(k.Transformers, func(ref string) bool { return strings.HasSuffix(ref, scope) })
		if scoped {
			k.Transformers = slices.Insert(k.Transformers, len(k.Transformers)-1, filepath.Join(components, "alerts", "scope"))
		}
	})
}

// needs is the mark components/alerts leaves on its rules for scope/: the
// line an overlay without it is told to add.
func needs(t *testing.T) string {
	t.Helper()
	raw, err := os.ReadFile(root(t, "components/alerts/prometheus-rule.yaml"))
	require.NoError(t, err)
	n, err := kyaml.Parse(string(raw))
	require.NoError(t, err)
	v := n.GetAnnotations()[singleton.NeedsAnnotation]
	require.Contains(t, v, "- ../../components/alerts/scope", "the mark says the line")
	require.Contains(t, v, "transformers:", "the mark says where the line goes")
	return v
}

// An overlay that lists components/alerts and forgets components/alerts/scope
// (a new user adding the alerts to prod) would render rules that watch the
// namespace "set-by-overlay" and never fire. Its render fails instead, and the
// message is the line to add; with that line it renders, the rules name the
// overlay's namespace, and the mark is gone.
func TestTheAlertsWithoutTheirScopeFailTheRenderSayingTheLine(t *testing.T) {
	mark := needs(t)
	for _, dir := range []string{prod, operated} {
		t.Run(dir, func(t *testing.T) {
			t.Run("without the scope the render fails and names the line", func(t *testing.T) {
				fns.OnPath(t)
				unscoped := withAlerts(t, dir, false)
				out, err := render.Krusty(unscoped)
				require.Error(t, err, "the library rendered:\n%s", out)
				// The function's message is on its stderr, which the
				// library passes through and the CLI prints: read it there.
				out, stderr, err := render.CLI(context.Background(), testenv.Kustomize(t), unscoped)
				require.Error(t, err, "the CLI rendered:\n%s", out)
				assert.Empty(t, out, "nothing written")
				assert.Contains(t, string(stderr), "singleton: error: PrometheusRule ")
				assert.Contains(t, string(stderr), " metadata.annotations["+singleton.NeedsAnnotation+"]: [partners] ")
				assert.Contains(t, string(stderr), mark)
			})
			t.Run("with the scope the rules name the overlay's namespace and keep no mark", func(t *testing.T) {
				var namespace string
				var rules *kyaml.RNode
				for _, n := range render.Nodes(t, &fns, withAlerts(t, dir, true)) {
					switch n.GetKind() {
					case "Deployment":
						namespace = n.GetNamespace()
					case "PrometheusRule":
						rules = n
					}
				}
				require.NotEmpty(t, namespace)
				require.NotNil(t, rules)
				assert.NotContains(t, rules.GetAnnotations(), singleton.NeedsAnnotation)
				s, err := rules.String()
				require.NoError(t, err)
				assert.NotContains(t, s, "set-by-overlay")
				assert.Equal(t, strings.Count(s, "expr:"), strings.Count(s, `{namespace="`+namespace+`"`), "every expression names %s", namespace)
			})
		})
	}
}

// An overlay over one whose alerts are scoped, with a namespace of its own,
// lists the scope again: the rules name its namespace, and the scope finds
// no mark left to remove and does not mind.
func TestAnOverlayOverAScopedOneScopesAgain(t *testing.T) {
	dir := t.TempDir()
	k := "namespace: plant-9\nresources:\n- " + testenv.RelPath(t, dir, root(t, operated)) +
		"\ntransformers:\n- " + testenv.RelPath(t, dir, root(t, scope)) +
		"\n- " + testenv.RelPath(t, dir, root(t, "functions/singleton")) + "\n"
	require.NoError(t, os.WriteFile(filepath.Join(dir, "kustomization.yaml"), []byte(k), 0o644))
	h := rendered(t, dir)
	require.Equal(t, "plant-9", h.namespace)
	require.NotEmpty(t, h.file.alerts())
	for _, r := range h.file.alerts() {
		assert.Contains(t, r.Expr, `{namespace="plant-9"`, r.Alert)
	}
}
