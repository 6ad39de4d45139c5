package render

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
	"sigs.k8s.io/kustomize/api/types"
	"sigs.k8s.io/yaml"
)

// Variant copies the kustomization in dir, and the files beside it, into a
// directory of the test's own, changed by edit, and returns that directory:
// an overlay as a user would change it, built like the original. References
// that leave dir (../../base) are rewritten to reach the same folders from
// the copy.
func Variant(t testing.TB, dir string, edit func(k *types.Kustomization)) string {
	t.Helper()
	src, err := filepath.Abs(dir)
	require.NoError(t, err)
	out := t.TempDir()
	require.NoError(t, os.CopyFS(out, os.DirFS(src)))
	raw, err := os.ReadFile(filepath.Join(src, "kustomization.yaml"))
	require.NoError(t, err)
	var k types.Kustomization
	require.NoError(t, yaml.UnmarshalStrict(raw, &k))
	for _, list := range []*[]string{&k.Resources, &k.Components, &k.Transformers, &k.Generators} {
		for i, ref := range *list {
			if strings.HasPrefix(ref, "..") {
				rel, err := filepath.Rel(out, filepath.Join(src, ref))
				require.NoError(t, err)
				(*list)[i] = rel
			}
		}
	}
	edit(&k)
	raw, err = yaml.Marshal(&k)
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(filepath.Join(out, "kustomization.yaml"), raw, 0o644))
	return out
}
