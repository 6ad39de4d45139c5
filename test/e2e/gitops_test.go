package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/dynamic"

	"github.com/hubkit/hubkit/test/cluster"
	"github.com/hubkit/hubkit/test/pins"
	"github.com/hubkit/hubkit/test/scenario"
	"github.com/hubkit/hubkit/test/testenv"
)

// moduleDir downloads a module through the Go module proxy and returns its directory.
func moduleDir(t *testing.T, module string) string {
	t.Helper()
	out, err := exec.Command("go", "mod", "download", "-json", module).Output()
	require.NoError(t, err, "go mod download %s", module)
	var m struct{ Dir, Error string }
	require.NoError(t, json.Unmarshal(out, &m))
	require.Empty(t, m.Error)
	return m.Dir
}

// installCRD applies a CRD for real and waits until it is served.
func installCRD(t *testing.T, path string) {
	t.Helper()
	raw, err := os.ReadFile(path)
	require.NoError(t, err)
	objs, err := cluster.Objects(raw)
	require.NoError(t, err)
	ctx := context.Background()
	require.NoError(t, applier(t).Apply(ctx, objs, false))
	dyn, err := dynamic.NewForConfig(e2e.cluster.Config)
	require.NoError(t, err)
	crds := dyn.Resource(schema.GroupVersionResource{Group: "apiextensions.k8s.io", Version: "v1", Resource: "customresourcedefinitions"})
	for _, o := range objs {
		scenario.Until(t, "CRD "+o.GetName()+" Established", 30*time.Second, func(ctx context.Context) (bool, string, error) {
			u, err := crds.Get(ctx, o.GetName(), metav1.GetOptions{})
			if err != nil {
				return false, "", err
			}
			conditions, _, _ := unstructured.NestedSlice(u.Object, "status", "conditions")
			for _, c := range conditions {
				if m, ok := c.(map[string]any); ok && m["type"] == "Established" && m["status"] == "True" {
					return true, "", nil
				}
			}
			return false, fmt.Sprintf("conditions %v", conditions), nil
		})
	}
}

func ensureNamespace(t *testing.T, name string) {
	t.Helper()
	_, err := e2e.client.CoreV1().Namespaces().Create(context.Background(), &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: name}}, metav1.CreateOptions{})
	if !apierrors.IsAlreadyExists(err) {
		require.NoError(t, err)
	}
}

func manifests(t *testing.T, glob string) []*unstructured.Unstructured {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(e2e.root, glob))
	require.NoError(t, err)
	require.NotEmpty(t, files, glob)
	var objs []*unstructured.Unstructured
	for _, f := range files {
		raw, err := os.ReadFile(f)
		require.NoError(t, err)
		o, err := cluster.Objects(raw)
		require.NoError(t, err)
		objs = append(objs, o...)
	}
	return objs
}

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

	sidecar, err := os.ReadFile(filepath.Join(e2e.root, "gitops", "argocd", "repo-server", "sidecar.yaml"))
	require.NoError(t, err)
	assert.Contains(t, string(sidecar), "quay.io/argoproj/argocd:"+pins.Version(argoCD), "the sidecar runs the Argo CD release whose CRDs are tested")
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
