package gitops_test

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"testing"

	fluxkustomize "github.com/fluxcd/pkg/kustomize"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/kustomize/kyaml/kio"
	"sigs.k8s.io/yaml"

	"github.com/hubkit/hubkit/internal/overlays"
	"github.com/hubkit/hubkit/test/render"
	"github.com/hubkit/hubkit/test/testenv"
)

// fluxBuild builds dir (relative to root) as kustomize-controller does: the
// generator writes a kustomization.yaml where there is none, then a secure
// build with plugins disabled.
func fluxBuild(t *testing.T, root, dir, kustomizationFile string) ([]byte, error) {
	t.Helper()
	raw, err := os.ReadFile(kustomizationFile)
	require.NoError(t, err)
	var ks unstructured.Unstructured
	require.NoError(t, yaml.Unmarshal(raw, &ks.Object))
	path := filepath.Join(root, dir)
	action, err := fluxkustomize.NewGenerator(root, ks).WriteFile(path, fluxkustomize.WithSaveOriginalKustomization())
	require.NoError(t, err)
	defer func() { require.NoError(t, fluxkustomize.CleanDirectory(path, action)) }()
	m, err := fluxkustomize.SecureBuild(root, path, false)
	if err != nil {
		return nil, err
	}
	return m.AsYaml()
}

// objects is YAML as its objects, in order, formatted alike.
func objects(t *testing.T, b []byte) string {
	t.Helper()
	nodes, err := (&kio.ByteReader{Reader: bytes.NewReader(b), OmitReaderAnnotations: true}).Read()
	require.NoError(t, err)
	var out bytes.Buffer
	require.NoError(t, kio.ByteWriter{Writer: &out}.Write(nodes))
	return out.String()
}

// Each hydrated folder, built by Flux's own generator as kustomize-controller
// builds it from the GitRepository, gives the overlay's render.
func TestFluxBuildsTheHydratedRenders(t *testing.T) {
	root := testenv.RepoRoot(t)
	table, err := overlays.Load(root)
	require.NoError(t, err)
	for _, o := range overlays.Names(table) {
		t.Run(o, func(t *testing.T) {
			// A copy, as kustomize-controller works on a checkout.
			tmp := t.TempDir()
			hydrated, err := os.ReadFile(filepath.Join(root, "deploy", o, "hub.yaml"))
			require.NoError(t, err)
			require.NoError(t, os.MkdirAll(filepath.Join(tmp, "deploy", o), 0o755))
			require.NoError(t, os.WriteFile(filepath.Join(tmp, "deploy", o, "hub.yaml"), hydrated, 0o644))

			got, err := fluxBuild(t, tmp, filepath.Join("deploy", o), filepath.Join("flux", "git", o+".yaml"))
			require.NoError(t, err)

			fns.OnPath(t)
			want, _, err := render.CLI(context.Background(), testenv.Kustomize(t), filepath.Join(root, "overlays", o))
			require.NoError(t, err)
			assert.Equal(t, objects(t, want), objects(t, got), "Flux deploys what the overlay renders")
		})
	}
}

// deploy/guard, built as kustomize-controller builds it, is guard/.
func TestFluxBuildsTheHydratedGuard(t *testing.T) {
	root := testenv.RepoRoot(t)
	tmp := t.TempDir()
	hydrated, err := os.ReadFile(filepath.Join(root, "deploy", "guard", "guard.yaml"))
	require.NoError(t, err)
	require.NoError(t, os.MkdirAll(filepath.Join(tmp, "deploy", "guard"), 0o755))
	require.NoError(t, os.WriteFile(filepath.Join(tmp, "deploy", "guard", "guard.yaml"), hydrated, 0o644))
	got, err := fluxBuild(t, tmp, filepath.Join("deploy", "guard"), filepath.Join("flux", "git", "guard.yaml"))
	require.NoError(t, err)
	want, err := render.Krusty(filepath.Join(root, "guard"))
	require.NoError(t, err)
	assert.Equal(t, objects(t, want), objects(t, got), "Flux deploys what guard/ builds")
}

// Pointed at an overlay, Flux fails: it runs no plugins. That is why it
// takes the hydrated renders.
func TestFluxCannotBuildTheOverlays(t *testing.T) {
	root := testenv.RepoRoot(t)
	_, err := fluxkustomize.SecureBuild(root, filepath.Join(root, "overlays", "prod"), false)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "external plugins disabled")
}
