// Package gitops_test runs the consumer paths with the real tools: the kpt
// package's pipeline with kpt itself.
package gitops_test

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/hubkit/hubkit/internal/names"
	"github.com/hubkit/hubkit/test/testenv"
)

var fns testenv.Functions

func TestMain(m *testing.M) { fns.Main(m) }

// copyPackage copies the kpt package into a temporary directory, as
// `kpt pkg get` would, so that rendering it changes nothing in the repo.
func copyPackage(t *testing.T) string {
	t.Helper()
	dst := filepath.Join(t.TempDir(), "hub")
	require.NoError(t, os.MkdirAll(dst, 0o755))
	entries, err := os.ReadDir(filepath.Join("kpt", "hub"))
	require.NoError(t, err)
	for _, e := range entries {
		b, err := os.ReadFile(filepath.Join("kpt", "hub", e.Name()))
		require.NoError(t, err)
		require.NoError(t, os.WriteFile(filepath.Join(dst, e.Name()), b, 0o644))
	}
	return dst
}

func kptRender(t *testing.T, kpt, pkg string) (string, error) {
	t.Helper()
	fns.OnPath(t)
	out, err := exec.Command(kpt, "fn", "render", pkg, "--allow-exec", "--truncate-output=false").CombinedOutput()
	return string(out), err
}

// deploymentFile is the Hub's Deployment in the kpt package, as kustomize
// build -o names its files.
const deploymentFile = "apps_v1_deployment_" + names.Hub + ".yaml"

func deployment(t *testing.T, pkg string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(pkg, deploymentFile))
	require.NoError(t, err)
	return string(b)
}

// The package's pipeline, as kpt runs it: the mutator injects the probes,
// the validator passes, and a second render changes nothing.
func TestKptRenderKeepsTheHubSingle(t *testing.T) {
	kpt := testenv.Kpt(t)
	pkg := copyPackage(t)
	out, err := kptRender(t, kpt, pkg)
	require.NoError(t, err, out)
	assert.Contains(t, out, "Successfully executed 2 function(s)")
	rendered := deployment(t, pkg)
	for _, probe := range []string{"readinessProbe:", "livenessProbe:", "startupProbe:"} {
		assert.Contains(t, rendered, probe)
	}
	assert.Contains(t, rendered, "replicas: 1")

	out, err = kptRender(t, kpt, pkg)
	require.NoError(t, err, out)
	assert.Equal(t, rendered, deployment(t, pkg), "a second render changes nothing")
}

// A user's edit that breaks a promise: the mutator fixes it, and says so.
func TestKptRenderFixesThreeReplicas(t *testing.T) {
	kpt := testenv.Kpt(t)
	pkg := copyPackage(t)
	path := filepath.Join(pkg, deploymentFile)
	require.NoError(t, os.WriteFile(path, []byte(strings.Replace(deployment(t, pkg), "replicas: 1", "replicas: 3", 1)), 0o644))
	out, err := kptRender(t, kpt, pkg)
	require.NoError(t, err, out)
	assert.Contains(t, out, "[replicas] spec.replicas was 3; set to 1")
	assert.Contains(t, deployment(t, pkg), "replicas: 1")
}

// What cannot be fixed fails the render, and kpt leaves the package as it was.
func TestKptRenderFailsOnABlockingPDB(t *testing.T) {
	kpt := testenv.Kpt(t)
	pkg := copyPackage(t)
	before := deployment(t, pkg)
	require.NoError(t, os.WriteFile(filepath.Join(pkg, "pdb.yaml"), []byte(`apiVersion: policy/v1
kind: PodDisruptionBudget
metadata:
  name: `+names.Hub+`
spec:
  minAvailable: 1
  selector:
    matchLabels:
      app.kubernetes.io/name: `+names.HubApp+`
`), 0o644))
	out, err := kptRender(t, kpt, pkg)
	require.Error(t, err, out)
	assert.Contains(t, out, "[disruption]")
	assert.Equal(t, before, deployment(t, pkg), "a failed render writes nothing")
}

// kpt fn eval with the function by a relative path, which kpt resolves
// against the directory it runs in (here the repository root).
func TestKptEvalAuditByRelativePath(t *testing.T) {
	kpt := testenv.Kpt(t)
	pkg := copyPackage(t)
	root := testenv.RepoRoot(t)
	rel, err := filepath.Rel(root, fns.Singleton(t))
	if err != nil || strings.HasPrefix(rel, "..") {
		// The built function lives outside the repo; link it where the docs say.
		require.NoError(t, os.MkdirAll(filepath.Join(root, "build"), 0o755))
		rel = filepath.Join("build", "singleton-kpt-test")
		_ = os.Remove(filepath.Join(root, rel))
		require.NoError(t, os.Symlink(fns.Singleton(t), filepath.Join(root, rel)))
		t.Cleanup(func() { _ = os.Remove(filepath.Join(root, rel)) })
	}
	eval := exec.Command(kpt, "fn", "eval", pkg, "--exec", rel, "--truncate-output=false", "--", "mode=audit")
	eval.Dir = root
	out, err := eval.CombinedOutput()
	require.Error(t, err, "the unrendered base has no probes: audit fails\n%s", out)
	assert.Contains(t, string(out), "[probes] readinessProbe is missing")

	rendered, err := kptRender(t, kpt, pkg)
	require.NoError(t, err, rendered)
	eval = exec.Command(kpt, eval.Args[1:]...)
	eval.Dir = root
	out, err = eval.CombinedOutput()
	require.NoError(t, err, "after render, audit passes\n%s", out)
}
