// Package testenv gives tests the real parts they run: the singleton function
// built from this checkout, and the pinned kustomize CLI and promtool from bin/.
package testenv

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"
)

// FindRepoRoot returns the directory of hubkit's go.mod, above the working
// directory; for TestMain, which has no testing.TB.
func FindRepoRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", fmt.Errorf("no go.mod above %s", dir)
		}
		dir = parent
	}
}

// RepoRoot is the directory of hubkit's go.mod.
func RepoRoot(t testing.TB) string {
	t.Helper()
	root, err := FindRepoRoot()
	require.NoError(t, err)
	return root
}

// Kpt returns the kpt on PATH, or skips the test saying why: kpt is the one
// tool that cannot be installed from the package registries.
func Kpt(t testing.TB) string {
	t.Helper()
	kpt, err := exec.LookPath("kpt")
	if err != nil {
		t.Skip("kpt is not on PATH: it cannot be installed from the package registries; machines of this kind ship kpt 1.0.0-beta.56")
	}
	return kpt
}

// Kustomize returns the pinned kustomize CLI: $KUSTOMIZE, or bin/kustomize.
func Kustomize(t testing.TB) string {
	t.Helper()
	bin := os.Getenv("KUSTOMIZE")
	if bin == "" {
		bin = filepath.Join(RepoRoot(t), "bin", "kustomize")
	}
	_, err := os.Stat(bin)
	require.NoError(t, err, "the kustomize CLI is missing: run `make tools` (make test does) or set KUSTOMIZE")
	return bin
}

// Promtool returns Prometheus' promtool from bin/, built by `make tools` from
// its pin (PROMTOOL_PKG in tools/pins.mk); the alerts' tests run it.
func Promtool(t testing.TB) string {
	t.Helper()
	return built(t, "promtool", "Prometheus' promtool")
}

// Cosign returns the cosign CLI from bin/, built by `make tools` from its
// pin (COSIGN_PKG in tools/pins.mk); the image signing and checking tests
// run it.
func Cosign(t testing.TB) string {
	t.Helper()
	return built(t, "cosign", "cosign")
}

// Helm returns Helm 3's CLI from bin/, built by `make tools` from its pin
// (HELM_PKG in tools/pins.mk); kustomize's helmCharts and the Argo CD
// plugin's `helm template` run it.
func Helm(t testing.TB) string {
	t.Helper()
	return built(t, "helm", "Helm 3's CLI")
}

// Krew returns krew (as kubectl-krew) and krew's validate-krew-manifest
// from bin/, built by `make tools` from their pins (KREW_PKG,
// KREW_VALIDATE_PKG in tools/pins.mk); the plugin's manifest's test runs them.
func Krew(t testing.TB) (krew, validate string) {
	t.Helper()
	return built(t, "kubectl-krew", "krew's commands"), built(t, "validate-krew-manifest", "krew's commands")
}

// built is bin/<name>, which make tools builds (what: what it builds),
// or fails the test saying so.
func built(t testing.TB, name, what string) string {
	t.Helper()
	bin := filepath.Join(RepoRoot(t), "bin", name)
	_, err := os.Stat(bin)
	require.NoError(t, err, "%s is missing: run make tools (it builds %s into bin/)", name, what)
	return bin
}

// Functions builds ./plugin as `singleton` into a directory of its own, once
// per test binary. The zero value is ready to use.
type Functions struct {
	once sync.Once
	dir  string
	err  error
	out  []byte
}

// Dir builds the function (once) and returns the directory it is in.
func (f *Functions) Dir(t testing.TB) string {
	t.Helper()
	f.once.Do(func() {
		root := RepoRoot(t)
		f.dir, f.err = os.MkdirTemp("", "hubkit-fn-")
		if f.err != nil {
			return
		}
		cmd := exec.Command("go", "build", "-o", filepath.Join(f.dir, "singleton"), "./plugin")
		cmd.Dir = root
		f.out, f.err = cmd.CombinedOutput()
	})
	require.NoError(t, f.err, "go build ./plugin: %s", f.out)
	return f.dir
}

// Singleton returns the path of the built function.
func (f *Functions) Singleton(t testing.TB) string {
	return filepath.Join(f.Dir(t), "singleton")
}

// OnPath puts the built function first on PATH for this test, as overlays
// name it `singleton`.
func (f *Functions) OnPath(t *testing.T) {
	t.Helper()
	t.Setenv("PATH", f.Dir(t)+string(os.PathListSeparator)+os.Getenv("PATH"))
}

// Cleanup removes the built function.
func (f *Functions) Cleanup() {
	if f.dir != "" {
		_ = os.RemoveAll(f.dir)
	}
}

// Main runs the package's tests and then removes the built function:
//
//	func TestMain(m *testing.M) { fns.Main(m) }
func (f *Functions) Main(m *testing.M) {
	code := m.Run()
	f.Cleanup()
	os.Exit(code)
}

// RelPath is target as a path relative to dir, as kustomize wants a
// kustomization's references (it refuses absolute ones).
func RelPath(t testing.TB, dir, target string) string {
	t.Helper()
	abs, err := filepath.Abs(target)
	require.NoError(t, err)
	rel, err := filepath.Rel(dir, abs)
	require.NoError(t, err)
	return rel
}

// WithFunction writes a kustomization that builds overlay and then runs the
// singleton function (mode enforce or audit) as its outermost transformer,
// as a user adds it on top of an overlay, and returns its directory.
func WithFunction(t testing.TB, overlay, mode string) string {
	t.Helper()
	dir := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(dir, "kustomization.yaml"), fmt.Appendf(nil,
		"resources:\n- %s\ntransformers:\n- singleton.yaml\n", RelPath(t, dir, overlay)), 0o644))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "singleton.yaml"), fmt.Appendf(nil, `apiVersion: fn.hubkit.dev/v1alpha1
kind: Singleton
metadata:
  name: singleton
  annotations:
    config.kubernetes.io/function: |
      exec:
        path: singleton
spec:
  mode: %s
`, mode), 0o644))
	return dir
}
