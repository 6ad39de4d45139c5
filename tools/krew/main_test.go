package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"sigs.k8s.io/yaml"

	"github.com/hubkit/hubkit/test/testenv"
)

// The manifest make krew writes is one krew accepts: krew's own validator
// passes it, and krew installs the plugin from it and its archive, offline
// (--archive), as a user's `kubectl krew install` does from the index; the
// installed kubectl-hubkit runs. Two builds give one archive.
func TestKrewInstallsThePluginFromItsManifest(t *testing.T) {
	krew, validate := testenv.Krew(t)
	root := testenv.RepoRoot(t)
	t.Chdir(root)
	out := t.TempDir()
	host := runtime.GOOS + "/" + runtime.GOARCH
	require.NoError(t, run("v0.1.0", "https://example.com/releases", out, []string{host}))

	b, err := os.ReadFile(filepath.Join(out, "hubkit.yaml"))
	require.NoError(t, err)
	var p plugin
	require.NoError(t, yaml.UnmarshalStrict(b, &p))
	require.Len(t, p.Spec.Platforms, 1)
	name := "kubectl-hubkit_" + runtime.GOOS + "_" + runtime.GOARCH + ".tar.gz"
	assert.Equal(t, "https://example.com/releases/v0.1.0/"+name, p.Spec.Platforms[0].URI)

	cmd := exec.Command(validate, "-manifest", filepath.Join(out, "hubkit.yaml"), "-skip-install")
	got, err := cmd.CombinedOutput()
	require.NoError(t, err, "validate-krew-manifest: %s", got)
	assert.Contains(t, string(got), "structural validation OK")

	home := t.TempDir()
	cmd = exec.Command(krew, "install", "--manifest="+filepath.Join(out, "hubkit.yaml"), "--archive="+filepath.Join(out, name))
	cmd.Env = append(os.Environ(), "KREW_ROOT="+home, "KREW_NO_UPGRADE_CHECK=1")
	got, err = cmd.CombinedOutput()
	require.NoError(t, err, "krew install: %s", got)
	got, err = exec.Command(filepath.Join(home, "bin", "kubectl-hubkit"), "--help").CombinedOutput()
	require.NoError(t, err, "the installed plugin: %s", got)
	assert.Contains(t, string(got), "kubectl hubkit runs the README's runbooks")

	again := t.TempDir()
	require.NoError(t, run("v0.1.0", "https://example.com/releases", again, []string{host}))
	b2, err := os.ReadFile(filepath.Join(again, "hubkit.yaml"))
	require.NoError(t, err)
	assert.Equal(t, string(b), string(b2), "a second build, the same archive and sha256")
}

func TestAPlatformIsOsSlashArch(t *testing.T) {
	assert.ErrorContains(t, run("v0.1.0", "https://example.com", t.TempDir(), []string{"linux-amd64"}), `-platforms: "linux-amd64" is not os/arch`)
}
