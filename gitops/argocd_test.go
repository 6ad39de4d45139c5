package gitops_test

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"sigs.k8s.io/yaml"

	"github.com/hubkit/hubkit/internal/overlays"
	"github.com/hubkit/hubkit/test/render"
	"github.com/hubkit/hubkit/test/testenv"
)

// The parts of Argo CD's objects these tests read.
type plugin struct {
	Metadata struct{ Name string }
	Spec     struct {
		Version string
		// Init runs before Generate, in the same directory (the Helm
		// plugin's; the kustomize plugin has none).
		Init     command
		Generate command
	}
}

// command is a plugin's command and its args, as Argo CD runs them.
type command struct {
	Command []string
	Args    []string
}

// argv is the command line c runs.
func (c command) argv() []string { return append(append([]string{}, c.Command...), c.Args...) }

type application struct {
	Metadata struct{ Name string }
	Spec     struct {
		Source struct {
			RepoURL        string `json:"repoURL"`
			TargetRevision string `json:"targetRevision"`
			Path           string
			Plugin         struct{ Name string }
		}
		Destination struct{ Namespace string }
	}
}

func readYAML(t *testing.T, path string, v any) {
	t.Helper()
	b, err := os.ReadFile(path)
	require.NoError(t, err)
	require.NoError(t, yaml.Unmarshal(b, v))
}

// generate runs the plugin's generate command as the CMP sidecar does: in the
// Application's path, with the ARGOCD_APP_* variables, and PATH as given.
func generate(t *testing.T, p plugin, app application, path string) (stdout, stderr string, err error) {
	t.Helper()
	root := testenv.RepoRoot(t)
	argv := p.Spec.Generate.argv()
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Dir = filepath.Join(root, app.Spec.Source.Path)
	cmd.Env = []string{
		"PATH=" + path,
		"HOME=" + t.TempDir(),
		"ARGOCD_APP_NAME=" + app.Metadata.Name,
		"ARGOCD_APP_NAMESPACE=" + app.Spec.Destination.Namespace,
		"ARGOCD_APP_REVISION=0123456789abcdef",
		"ARGOCD_APP_SOURCE_PATH=" + app.Spec.Source.Path,
		"ARGOCD_APP_SOURCE_REPO_URL=" + app.Spec.Source.RepoURL,
		"ARGOCD_APP_SOURCE_TARGET_REVISION=" + app.Spec.Source.TargetRevision,
	}
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	err = cmd.Run()
	return out.String(), errOut.String(), err
}

// Each Application, built by the plugin as the sidecar would, gives exactly
// what `make render` gives for its overlay.
func TestArgoCDPluginRendersEachApplication(t *testing.T) {
	var p plugin
	readYAML(t, filepath.Join("argocd", "plugin.yaml"), &p)
	apps, err := filepath.Glob(filepath.Join("argocd", "applications", "*.yaml"))
	require.NoError(t, err)
	table, err := overlays.Load(testenv.RepoRoot(t))
	require.NoError(t, err)
	var paths []string
	kustomize := testenv.Kustomize(t)
	for _, file := range apps {
		var app application
		readYAML(t, file, &app)
		if app.Spec.Source.Plugin.Name == "" {
			continue // the guard: TestArgoCDGuardApplication
		}
		paths = append(paths, app.Spec.Source.Path)
		t.Run(app.Metadata.Name, func(t *testing.T) {
			assert.Equal(t, p.Metadata.Name+"-"+p.Spec.Version, app.Spec.Source.Plugin.Name, "the Application names the plugin as Argo CD names v2 plugins")
			// The sidecar's PATH: the function and kustomize, and the system.
			path := strings.Join([]string{fns.Dir(t), filepath.Dir(kustomize), "/usr/bin", "/bin"}, string(os.PathListSeparator))
			got, stderr, err := generate(t, p, app, path)
			require.NoError(t, err, stderr)

			fns.OnPath(t)
			want, _, err := render.CLI(context.Background(), kustomize, filepath.Join(testenv.RepoRoot(t), app.Spec.Source.Path))
			require.NoError(t, err)
			assert.Equal(t, string(want), got)
		})
	}
	var want []string
	for _, o := range table {
		want = append(want, "overlays/"+o.Name)
	}
	assert.ElementsMatch(t, want, paths, "one plugin Application per overlay of the table")
}

// The guard's Application builds guard/ as Argo CD builds any kustomize app:
// no plugin, no function, exec off.
func TestArgoCDGuardApplication(t *testing.T) {
	var app application
	readYAML(t, filepath.Join("argocd", "applications", "guard.yaml"), &app)
	assert.Empty(t, app.Spec.Source.Plugin.Name, "the guard needs no plugin")
	assert.Equal(t, "guard", app.Spec.Source.Path)
	out, err := exec.Command(testenv.Kustomize(t), "build", filepath.Join(testenv.RepoRoot(t), app.Spec.Source.Path)).CombinedOutput()
	require.NoError(t, err, "%s", out)
	assert.Contains(t, string(out), "kind: ValidatingAdmissionPolicyBinding")
}

// A sidecar without the function must fail the sync, never render nothing.
func TestArgoCDPluginFailsWithoutTheFunction(t *testing.T) {
	var p plugin
	readYAML(t, filepath.Join("argocd", "plugin.yaml"), &p)
	var app application
	readYAML(t, filepath.Join("argocd", "applications", "prod.yaml"), &app)
	onlyKustomize := t.TempDir() // bin/ may hold a singleton too
	kustomize, err := filepath.Abs(testenv.Kustomize(t))
	require.NoError(t, err)
	require.NoError(t, os.Symlink(kustomize, filepath.Join(onlyKustomize, "kustomize")))
	path := strings.Join([]string{onlyKustomize, "/usr/bin", "/bin"}, string(os.PathListSeparator))
	got, stderr, err := generate(t, p, app, path)
	require.Error(t, err, "the build must fail")
	assert.Empty(t, got, "and print no manifests")
	assert.Contains(t, stderr, "singleton")
}

// The repo-server Components, added to an Argo CD install (a stand-in in
// testdata), give the repo-server a sidecar each and each plugin its
// ConfigMap; the two share the function's image volume.
func TestArgoCDRepoServerComponent(t *testing.T) {
	out, err := exec.Command(testenv.Kustomize(t), "build", "--load-restrictor", "LoadRestrictionsNone",
		filepath.Join("testdata", "argocd-install")).CombinedOutput()
	require.NoError(t, err, "%s", out)
	rendered := string(out)
	assert.Contains(t, rendered, "name: hubkit-cmp")
	assert.Contains(t, rendered, "command:\n        - /var/run/argocd/argocd-cmp-server")
	assert.Contains(t, rendered, "reference: ghcr.io/hubkit/singleton:dev")
	pluginYAML, err := os.ReadFile(filepath.Join("argocd", "plugin.yaml"))
	require.NoError(t, err)
	assert.Contains(t, rendered, "name: hubkit-cmp-plugin")
	assert.Contains(t, rendered, strings.Split(string(pluginYAML), "\n")[3], "the ConfigMap carries plugin.yaml")

	assert.Contains(t, rendered, "name: hubkit-cmp-helm\n")
	assert.Contains(t, rendered, "name: hubkit-cmp-helm-plugin")
	assert.Contains(t, rendered, "name: hubkit-singleton-helm", "the Helm plugin's ConfigMap carries its plugin.yaml")
	assert.Equal(t, 1, strings.Count(rendered, "reference: ghcr.io/hubkit/singleton:dev"), "one image volume for both sidecars")
}
