package e2e

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"helm.sh/helm/v3/pkg/postrender"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/hubkit/hubkit/test/cluster"
	"github.com/hubkit/hubkit/test/helmchart"
	"github.com/hubkit/hubkit/test/images"
)

// What a Flux user has where no post-renderer can run (a HelmRelease takes
// only patches): the guard, with the parameters the function writes for the
// chart (docs/helm.md#flux). MinIO's chart, installed by Helm 3's library as
// helm-controller installs a HelmRelease, on the real apiserver with
// guard/ installed (steps numbered as docs/gitops.md numbers them):
//  9. the function, run once on the chart's render with `guard.params`,
//     names MinIO's Deployment and claim; those parameters are applied in
//     the release's namespace, as Git would hold them;
//  10. Helm alone: its install is refused at admission, the Deployment's
//     surging rollout named, so no pod of a second MinIO can ever start
//     beside the first;
//  11. Helm with the function as post-renderer: the install is allowed, and
//     MinIO serves.
func TestGuardHoldsAChartHelmAloneRenders(t *testing.T) {
	onlyRealNode(t)
	m := loadMinIOChart(t)
	loadImage(t, images.MinIO(), m.image(m.tag))
	applyGuard(t)

	var params *unstructured.Unstructured
	t.Run("9 the function names MinIO in the guard's parameters", func(t *testing.T) {
		params = guardParams(t, m)
		data, _, _ := unstructured.NestedStringMap(params.Object, "data")
		assert.Equal(t, "Deployment/"+minioName, data["claim."+minioName], "the claim, as its Deployment's")
		assert.Contains(t, data, "deployment."+minioName)
	})
	t.Run("10 Helm alone: the install is refused at admission, its surging rollout named", func(t *testing.T) {
		r := m.release(t, "minio-guarded", nil)
		applyParams(t, params, r.Namespace)
		plain := renderedDeployment(t, m)
		plain.SetNamespace(r.Namespace)
		untilRefused(t, "rollout", "MinIO's Deployment as the chart renders it", func(ctx context.Context) error {
			return applier(t).Apply(ctx, []*unstructured.Unstructured{plain}, true)
		})
		err := r.tryInstall()
		require.Error(t, err, "helm install")
		assert.Contains(t, err.Error(), "[rollout] Deployment "+r.Namespace+"/"+minioName+" is a singleton")
		assert.False(t, r.HasDeployment(t), "no Deployment was made")
	})
	t.Run("11 Helm with the function as post-renderer: allowed, MinIO serves", func(t *testing.T) {
		e2e.fns.OnPath(t)
		post, err := postrender.NewExec("singleton", filepath.Join(e2e.root, "helm", "examples", "minio", "singleton.yaml"))
		require.NoError(t, err)
		r := m.release(t, "minio-guarded-singleton", post)
		applyParams(t, params, r.Namespace)
		r.install(t)
		pod := r.WaitRolledOut(t, m.image(m.tag))
		r.assertServing(t, pod)
	})
}

// guardParams is the ConfigMap of the guard's parameters the function
// writes for MinIO's chart (helm/examples/minio/singleton.yaml with
// `guard.params: true`), run by hand on the chart's render.
func guardParams(t *testing.T, m *minioChart) *unstructured.Unstructured {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join(e2e.root, "helm", "examples", "minio", "singleton.yaml"))
	require.NoError(t, err)
	withParams := strings.Replace(string(raw), "\nspec:\n", "\nspec:\n  guard:\n    params: true\n", 1)
	require.NotEqual(t, string(raw), withParams, "the config has a spec")
	path := filepath.Join(t.TempDir(), "singleton.yaml")
	require.NoError(t, os.WriteFile(path, []byte(withParams), 0o600))

	cmd := exec.Command(e2e.fns.Singleton(t), path)
	cmd.Stdin = strings.NewReader(chartManifest(t, m))
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	require.NoError(t, err, "singleton: %s", stderr.String())
	objs, err := cluster.Objects(out)
	require.NoError(t, err)
	for _, o := range objs {
		if o.GetKind() == "ConfigMap" && o.GetName() == "hubkit-singletons" {
			return o
		}
	}
	require.FailNow(t, "the function wrote no guard parameters")
	return nil
}

// chartManifest is MinIO's chart rendered as `helm template` renders it.
func chartManifest(t *testing.T, m *minioChart) string {
	t.Helper()
	rel, err := helmchart.Template(m.chart, minioName, "minio", m.values, nil)
	require.NoError(t, err)
	return rel.Manifest
}

// renderedDeployment is the chart's Deployment as Helm alone renders it.
func renderedDeployment(t *testing.T, m *minioChart) *unstructured.Unstructured {
	t.Helper()
	objs, err := cluster.Objects([]byte(chartManifest(t, m)))
	require.NoError(t, err)
	d := find(objs, "Deployment")
	require.NotNil(t, d, "the chart rendered no Deployment")
	return d
}

// applyParams applies the guard's parameters in ns.
func applyParams(t *testing.T, params *unstructured.Unstructured, ns string) {
	t.Helper()
	p := params.DeepCopy()
	p.SetNamespace(ns)
	require.NoError(t, applier(t).Apply(context.Background(), []*unstructured.Unstructured{p}, false))
}
