package helm_test

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"sigs.k8s.io/yaml"

	"github.com/hubkit/hubkit/test/testenv"
)

// kustomize's helmCharts renders MinIO's chart with Helm 3's CLI, and the
// function, a transformer of the same kustomization, holds what it rendered
// to its rules (helm/examples/minio/kustomization.yaml). The chart is put
// where kustomize looks before it pulls (charts/<name>-<version>/<name>
// beside the kustomization), as a vendored copy or kustomize's own earlier
// pull would be: there is no network.
func TestKustomizeHelmChartsWithTheFunction(t *testing.T) {
	c := charts()[0]
	example := filepath.Join(testenv.RepoRoot(t), "helm", "examples", "minio")
	var k struct {
		HelmCharts []struct{ Name, Version string } `json:"helmCharts"`
	}
	b, err := os.ReadFile(filepath.Join(example, "kustomization.yaml"))
	require.NoError(t, err)
	require.NoError(t, yaml.Unmarshal(b, &k))
	require.Len(t, k.HelmCharts, 1)
	var meta struct{ Version string }
	b, err = os.ReadFile(filepath.Join(c.dir(t), "Chart.yaml"))
	require.NoError(t, err)
	require.NoError(t, yaml.Unmarshal(b, &meta))
	require.Equal(t, meta.Version, k.HelmCharts[0].Version, "the example names the chart version the test renders")

	dir := t.TempDir()
	require.NoError(t, os.CopyFS(dir, os.DirFS(example)))
	name := k.HelmCharts[0].Name
	require.NoError(t, os.CopyFS(filepath.Join(dir, "charts", name+"-"+meta.Version, name), os.DirFS(c.dir(t))))
	fns.OnPath(t)
	cmd := exec.Command(testenv.Kustomize(t), "build", "--enable-helm", "--helm-command", testenv.Helm(t),
		"--enable-alpha-plugins", "--enable-exec", dir)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	require.NoError(t, err, "kustomize build: %s", stderr.String())

	assert.Contains(t, string(out), "type: Recreate", "the function made MinIO's rollout Recreate")
	_, fnErr, err := fn(t, c, "audit", string(out))
	assert.NoError(t, err, "audit passes on the build: %s", fnErr)
}
