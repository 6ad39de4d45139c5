package e2e

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/hubkit/hubkit/test/cluster"
	"github.com/hubkit/hubkit/test/pins"
	"github.com/hubkit/hubkit/test/testenv"
)

// The Argo CD objects hubkit ships are what Argo CD's own CRDs accept.
func TestArgoCDObjectsAreValid(t *testing.T) {
	// Argo CD's own CRDs, of a release whose go.mod works with this Go (v3.6
	// needs Go 1.27).
	argoCD := pins.Get(t, "ARGOCD_MODULE")
	crds := filepath.Join(moduleDir(t, argoCD), "manifests", "crds")
	installCRD(t, filepath.Join(crds, "application-crd.yaml"))
	ensureNamespace(t, "argocd")
	a := applier(t)
	apps := manifests(t, "gitops/argocd/applications/*.yaml")
	require.Len(t, apps, len(overlayTable(t))+1, "one per overlay and the guard's")
	require.NoError(t, a.Apply(context.Background(), apps, true), "server-side dry-run of the Applications")
	assert.Empty(t, a.Warnings())

	helmApp := manifests(t, "gitops/argocd/helm/application.yaml")
	require.NoError(t, a.Apply(context.Background(), helmApp, true), "server-side dry-run of the Helm plugin's example Application")
	assert.Empty(t, a.Warnings())

	for _, path := range []string{"gitops/argocd/repo-server/sidecar.yaml", "gitops/argocd/helm/repo-server/sidecar.yaml"} {
		sidecar, err := os.ReadFile(filepath.Join(e2e.root, path))
		require.NoError(t, err)
		assert.Contains(t, string(sidecar), "quay.io/argoproj/argocd:"+pins.Version(argoCD), "%s runs the Argo CD release whose CRDs are tested", path)
	}
}

// The repo-server with hubkit's sidecar (on the stand-in for Argo CD's own
// Deployment in gitops/testdata) is accepted by the API server, image volume included.
func TestArgoCDRepoServerSidecarIsValid(t *testing.T) {
	out, err := exec.Command(testenv.Kustomize(t), "build", "--load-restrictor", "LoadRestrictionsNone",
		filepath.Join(e2e.root, "gitops", "testdata", "argocd-install")).Output()
	require.NoError(t, err)
	objs, err := cluster.Objects(out)
	require.NoError(t, err)
	ensureNamespace(t, "argocd")
	a := applier(t)
	require.NoError(t, a.Apply(context.Background(), objs, true), "server-side dry-run of the patched repo-server")
	assert.Empty(t, a.Warnings())
}

// The Flux objects hubkit ships are what Flux's own CRDs accept: those of
// the last Flux releases whose go.mod works with this Go.
func TestFluxObjectsAreValid(t *testing.T) {
	fluxSource, fluxKustomize := pins.Get(t, "FLUX_SOURCE_MODULE"), pins.Get(t, "FLUX_KUSTOMIZE_MODULE")
	source := filepath.Join(moduleDir(t, fluxSource), "config", "crd", "bases")
	installCRD(t, filepath.Join(source, "source.toolkit.fluxcd.io_gitrepositories.yaml"))
	installCRD(t, filepath.Join(source, "source.toolkit.fluxcd.io_ocirepositories.yaml"))
	installCRD(t, filepath.Join(moduleDir(t, fluxKustomize), "config", "crd", "bases", "kustomize.toolkit.fluxcd.io_kustomizations.yaml"))
	ensureNamespace(t, "flux-system")
	for _, variant := range []string{"git", "oci"} {
		t.Run(variant, func(t *testing.T) {
			a := applier(t)
			objs := manifests(t, filepath.Join("gitops", "flux", variant, "*.yaml"))
			require.NoError(t, a.Apply(context.Background(), objs, true), "server-side dry-run of the Flux objects")
			assert.Empty(t, a.Warnings())
		})
	}
}
