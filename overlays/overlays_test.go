// Package overlays_test holds every overlay to the Hub's contract, built both
// with the kustomize library and with the pinned kustomize CLI in bin/.
package overlays_test

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/hubkit/hubkit/internal/contract"
	"github.com/hubkit/hubkit/internal/overlays"
	"github.com/hubkit/hubkit/test/render"
	"github.com/hubkit/hubkit/test/testenv"
)

// table is overlays/overlays.yaml: each overlay and what differs between
// them; the audit gate and contract.Check hold the rest (keepsItsPromises).
func table(t *testing.T, root string) []overlays.Overlay {
	t.Helper()
	table, err := overlays.Load(root)
	require.NoError(t, err)
	return table
}

var fns testenv.Functions

func TestMain(m *testing.M) { fns.Main(m) }

type builder struct {
	name  string
	build func(t *testing.T, dir string) []byte
}

// builders build an overlay as users do, with the function on PATH.
func builders() []builder {
	return []builder{
		{"library", func(t *testing.T, dir string) []byte {
			fns.OnPath(t)
			out, err := render.Krusty(dir)
			require.NoError(t, err)
			return out
		}},
		{"cli", func(t *testing.T, dir string) []byte {
			fns.OnPath(t)
			out, _, err := render.CLI(context.Background(), testenv.Kustomize(t), dir)
			require.NoError(t, err)
			return out
		}},
	}
}
func TestEveryOverlayKeepsTheContract(t *testing.T) {
	keepsTheContract(t, testenv.RepoRoot(t))
}

// keepsTheContract builds every overlay of the table under root with the
// library and the CLI, and checks each render against its row.
func keepsTheContract(t *testing.T, root string) {
	for _, o := range table(t, root) {
		for _, b := range builders() {
			t.Run(o.Name+"/"+b.name, func(t *testing.T) {
				keepsItsPromises(t, b.build(t, o.Dir(root)), o.Expect)
			})
		}
	}
}

func TestLibraryAndCLIRenderTheSameBytes(t *testing.T) {
	root := testenv.RepoRoot(t)
	for _, o := range table(t, root) {
		t.Run(o.Name, func(t *testing.T) {
			lib, cli := builders()[0], builders()[1]
			assert.Equal(t, string(lib.build(t, o.Dir(root))), string(cli.build(t, o.Dir(root))))
		})
	}
}

// Adding an overlay is its folder plus one row: a throwaway fourth overlay,
// in a copy of the repository's kustomize tree, is built and held to its row
// by the same test as the others, and is refused until it has a row.
func TestAFourthOverlayIsOneFolderAndOneRow(t *testing.T) {
	repo, root := testenv.RepoRoot(t), t.TempDir()
	for _, dir := range []string{"base", "components", "functions", "overlays"} {
		require.NoError(t, os.CopyFS(filepath.Join(root, dir), os.DirFS(filepath.Join(repo, dir))))
	}
	staging := filepath.Join(root, "overlays", "staging")
	require.NoError(t, os.MkdirAll(staging, 0o755))
	policy := "network-policy-http-from-anywhere.yaml"
	patch, err := os.ReadFile(filepath.Join(root, "overlays", "kind", policy))
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(filepath.Join(staging, policy), patch, 0o644))
	require.NoError(t, os.WriteFile(filepath.Join(staging, "kustomization.yaml"), []byte(`apiVersion: kustomize.config.k8s.io/v1beta1
kind: Kustomization
namespace: hubkit-staging
resources:
- ../../base
components:
- ../../components/namespace
- ../../components/nodeport
- ../../components/network-policy
- ../../components/appdata-defaults
patches:
- path: network-policy-http-from-anywhere.yaml
  target:
    kind: NetworkPolicy
    name: hbih
transformers:
- ../../functions/singleton
`), 0o644))

	_, err = overlays.Load(root)
	require.Error(t, err, "a folder without a row")
	assert.Contains(t, err.Error(), "overlays/staging has no row in "+overlays.Table)

	row := `- name: staging
  namespace: hubkit-staging
  storage: 1Gi
  accessMode: ReadWriteOncePod
  serviceType: NodePort
  nodePort: 31245
`
	f, err := os.OpenFile(filepath.Join(root, overlays.Table), os.O_APPEND|os.O_WRONLY, 0)
	require.NoError(t, err)
	_, err = f.WriteString(row)
	require.NoError(t, err)
	require.NoError(t, f.Close())
	require.Contains(t, overlays.Names(table(t, root)), "staging")
	keepsTheContract(t, root)
}

func TestBaseBuildsOnItsOwn(t *testing.T) {
	out, err := render.Krusty(filepath.Join("..", "base"))
	require.NoError(t, err)
	m, err := contract.Parse(out)
	require.NoError(t, err)
	assert.Len(t, m.Deployments, 1)
	assert.Empty(t, m.Namespaces, "the base knows nothing of environments")
}

// runFunction runs the built function in standalone mode: config file, then
// resource files; it returns the combined output.
// keepsItsPromises holds a render to both gates that `make render` runs on
// every render: the function's audit gate (`singleton
// functions/singleton/audit.yaml`), which holds what the function can see,
// then the contract, which holds what only the overlay's row says
// (docs/testing.md). It returns the render as the contract reads it.
func keepsItsPromises(t *testing.T, out []byte, want contract.Expect) *contract.Manifest {
	t.Helper()
	rendered := filepath.Join(t.TempDir(), "rendered.yaml")
	require.NoError(t, os.WriteFile(rendered, out, 0o644))
	audit, err := runFunction(t, filepath.Join("..", "functions", "singleton", "audit.yaml"), rendered)
	require.NoError(t, err, "the audit gate: %s", audit)
	m, err := contract.Parse(out)
	require.NoError(t, err)
	assert.Empty(t, contract.Check(m, want))
	return m
}

func runFunction(t *testing.T, args ...string) (string, error) {
	t.Helper()
	out, err := exec.Command(fns.Singleton(t), args...).CombinedOutput()
	return string(out), err
}
