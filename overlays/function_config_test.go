package overlays_test

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"sigs.k8s.io/yaml"

	"github.com/hubkit/hubkit/test/testenv"
)

// The Hub's function config (which container, which port, the probes'
// timings, the guard's parameters: all of spec but its mode) has one source, functions/singleton/enforce.yaml, which every
// overlay runs. The copies users meet elsewhere (the audit gate, the kpt
// package's pipeline, fnspec's examples) must say the same about the Hub,
// so a change of port or probe timing cannot leave one of them behind.
func TestHubFunctionConfigCopiesMatchTheOverlays(t *testing.T) {
	root := testenv.RepoRoot(t)
	spec := func(file string) map[string]any {
		t.Helper()
		b, err := os.ReadFile(filepath.Join(root, file))
		require.NoError(t, err)
		var cfg struct {
			Spec map[string]any `json:"spec"`
		}
		require.NoError(t, yaml.Unmarshal(b, &cfg), file)
		require.NotNil(t, cfg.Spec["probes"], "%s has no spec.probes", file)
		delete(cfg.Spec, "mode")
		return cfg.Spec
	}
	source := spec("functions/singleton/enforce.yaml")
	for _, copy := range []string{
		"functions/singleton/audit.yaml",
		"gitops/kpt/hub/singleton-enforce.yaml",
		"gitops/kpt/hub/singleton-audit.yaml",
		"fnspec/examples/enforce.yaml",
		"fnspec/examples/container.yaml",
	} {
		assert.Equal(t, source, spec(copy), "%s: spec (but its mode) differs from functions/singleton/enforce.yaml", copy)
	}
}
