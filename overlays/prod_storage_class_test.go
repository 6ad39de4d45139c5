package overlays_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/hubkit/hubkit/internal/contract"
	"github.com/hubkit/hubkit/test/render"
	"github.com/hubkit/hubkit/test/testenv"
)

// prod's kustomization documents a hook: list storage-class.yaml under
// patches: to pin the claim's StorageClass. Doing just that must work.
func TestProdStorageClassHook(t *testing.T) {
	kustomization, err := os.ReadFile(filepath.Join("prod", "kustomization.yaml"))
	require.NoError(t, err)
	require.Contains(t, string(kustomization), "# - path: storage-class.yaml", "the hook is documented where users look")

	dir := filepath.Join(t.TempDir(), "prod")
	// The overlay's own files (its settings among them); kustomization.yaml
	// is rewritten below.
	require.NoError(t, os.CopyFS(dir, os.DirFS("prod")))
	rel := testenv.RelPath(t, dir, ".")
	// prod's kustomization with the hook uncommented, its paths made relative to dir.
	enabled := []byte(replaceAll(string(kustomization), map[string]string{
		"# - path: storage-class.yaml": "- path: storage-class.yaml",
		"../../":                       rel + "/../",
	}))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "kustomization.yaml"), enabled, 0o644))

	fns.OnPath(t)
	out, err := render.Krusty(dir)
	require.NoError(t, err)
	m, err := contract.Parse(out)
	require.NoError(t, err)
	require.Len(t, m.Claims, 1)
	require.NotNil(t, m.Claims[0].Spec.StorageClassName)
	assert.Equal(t, "fast-retain", *m.Claims[0].Spec.StorageClassName)
	assert.Equal(t, "50Gi", m.Claims[0].Spec.Resources.Requests.Storage().String(), "the size patch still applies")
}

func replaceAll(s string, pairs map[string]string) string {
	for old, repl := range pairs {
		s = strings.ReplaceAll(s, old, repl)
	}
	return s
}
