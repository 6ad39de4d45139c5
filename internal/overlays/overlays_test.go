package overlays_test

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/hubkit/hubkit/internal/overlays"
	"github.com/hubkit/hubkit/test/testenv"
)

// The repository's table matches its folders.
func TestTheRepositorysTableLoads(t *testing.T) {
	table, err := overlays.Load(testenv.RepoRoot(t))
	require.NoError(t, err)
	assert.NotEmpty(t, table)
}

// Each way the table and the folders can disagree is refused, naming the fix.
func TestLoadRefusesATableThatDisagrees(t *testing.T) {
	for _, tc := range []struct {
		name, table string
		folders     []string
		err         string
	}{
		{"a folder without a row", "- {name: dev, namespace: d}\n", []string{"dev", "qa"},
			"overlays/qa has no row in overlays/overlays.yaml"},
		{"a row without a folder", "- {name: dev}\n- {name: qa}\n", []string{"dev"},
			"overlay qa has a row but overlays/qa/kustomization.yaml does not exist"},
		{"two rows for one overlay", "- {name: dev}\n- {name: dev}\n", []string{"dev"},
			"overlay dev has two rows"},
		{"a row without a name", "- {namespace: x}\n", nil,
			"row 0 has no name"},
		{"a field the table does not know", "- {name: dev, replicas: 2}\n", []string{"dev"},
			`unknown field "replicas"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			root := t.TempDir()
			for _, f := range tc.folders {
				require.NoError(t, os.MkdirAll(filepath.Join(root, "overlays", f), 0o755))
				require.NoError(t, os.WriteFile(filepath.Join(root, "overlays", f, "kustomization.yaml"), nil, 0o644))
			}
			require.NoError(t, os.MkdirAll(filepath.Join(root, "overlays"), 0o755))
			require.NoError(t, os.WriteFile(filepath.Join(root, overlays.Table), []byte(tc.table), 0o644))
			_, err := overlays.Load(root)
			require.Error(t, err)
			assert.Contains(t, err.Error(), tc.err)
		})
	}
}
