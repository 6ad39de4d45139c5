package overlays_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/hubkit/hubkit/internal/contract"
	"github.com/hubkit/hubkit/test/render"
	"github.com/hubkit/hubkit/test/testenv"
)

func TestAdversarialOverlays(t *testing.T) {
	cases := []struct {
		overlay string
		rule    string
		// fixed is what enforce must leave behind; nil when enforce must fail too.
		fixed func(t *testing.T, m *contract.Manifest)
	}{
		{"replicas-3", "replicas", func(t *testing.T, m *contract.Manifest) {
			require.Len(t, m.Deployments, 1)
			assert.EqualValues(t, 1, *m.Deployments[0].Spec.Replicas)
		}},
		{"hpa", "autoscalers", func(t *testing.T, m *contract.Manifest) {
			for _, o := range m.Objects {
				assert.NotEqual(t, "HorizontalPodAutoscaler", o.Kind)
			}
		}},
		{"rolling-update", "rollout", func(t *testing.T, m *contract.Manifest) {
			require.Len(t, m.Deployments, 1)
			assert.EqualValues(t, "Recreate", m.Deployments[0].Spec.Strategy.Type)
			assert.Nil(t, m.Deployments[0].Spec.Strategy.RollingUpdate)
		}},
		{"pdb-min-available", "disruption", nil},
	}
	for _, tc := range cases {
		overlay := filepath.Join("testdata", "adversarial", tc.overlay)
		t.Run(tc.overlay+"/enforce", func(t *testing.T) {
			fns.OnPath(t)
			out, stderr, err := render.CLI(context.Background(), testenv.Kustomize(t), testenv.WithFunction(t, overlay, "enforce"))
			if tc.fixed == nil {
				require.Error(t, err, "enforce cannot fix this: the build must fail")
				assert.Contains(t, string(stderr), "singleton: error:")
				assert.Contains(t, string(stderr), "["+tc.rule+"]")
				return
			}
			require.NoError(t, err)
			assert.Contains(t, string(stderr), "singleton: warning:")
			assert.Contains(t, string(stderr), "["+tc.rule+"]", "enforce must say what it fixed")
			m, err := contract.Parse(out)
			require.NoError(t, err)
			tc.fixed(t, m)
		})
		t.Run(tc.overlay+"/audit", func(t *testing.T) {
			fns.OnPath(t)
			_, stderr, err := render.CLI(context.Background(), testenv.Kustomize(t), testenv.WithFunction(t, overlay, "audit"))
			require.Error(t, err)
			assert.Contains(t, string(stderr), "singleton: error:")
			assert.Contains(t, string(stderr), "["+tc.rule+"]", "audit must name the rule")
		})
	}
}

// The audit gate that `make render` runs: every overlay's render passes it.
func TestEveryRenderPassesTheAuditGate(t *testing.T) {
	for _, o := range table(t, testenv.RepoRoot(t)) {
		t.Run(o.Name, func(t *testing.T) {
			fns.OnPath(t)
			out, _, err := render.CLI(context.Background(), testenv.Kustomize(t), o.Name)
			require.NoError(t, err)
			rendered := filepath.Join(t.TempDir(), "rendered.yaml")
			require.NoError(t, os.WriteFile(rendered, out, 0o644))
			audit, err := runFunction(t, filepath.Join("..", "functions", "singleton", "audit.yaml"), rendered)
			require.NoError(t, err, "audit found what enforce should have fixed: %s", audit)
		})
	}
}

// kustomize v5.8.2 fails every exec validator, even one that only echoes its
// input, because of its own tracking annotations (kubernetes-sigs/kustomize#5036).
// That is why hubkit's audit gate runs after the build instead of under
// `validators:`. When this test fails, kustomize has fixed it: move the gate.
func TestKustomizeValidatorsRejectEvenCat(t *testing.T) {
	dir := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(dir, "kustomization.yaml"), fmt.Appendf(nil,
		"resources:\n- %s\nvalidators:\n- cat.yaml\n", testenv.RelPath(t, dir, "dev")), 0o644))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "cat.yaml"), []byte(`apiVersion: example.com/v1
kind: Identity
metadata:
  name: cat
  annotations:
    config.kubernetes.io/function: |
      exec:
        path: /bin/cat
`), 0o644))
	fns.OnPath(t)
	_, stderr, err := render.CLI(context.Background(), testenv.Kustomize(t), dir)
	require.Error(t, err)
	assert.Contains(t, string(stderr), "validator shouldn't modify the resource map")
}
