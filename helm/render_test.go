package helm_test

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
	chart3 "helm.sh/helm/v3/pkg/chart/loader"
	postrender3 "helm.sh/helm/v3/pkg/postrender"
	release3 "helm.sh/helm/v3/pkg/release"
	helm4 "helm.sh/helm/v4/pkg/action"
	common4 "helm.sh/helm/v4/pkg/chart/common"
	chart4 "helm.sh/helm/v4/pkg/chart/loader"
	cli4 "helm.sh/helm/v4/pkg/cli"
	postrender4 "helm.sh/helm/v4/pkg/postrenderer"
	release4 "helm.sh/helm/v4/pkg/release/v1"
	"sigs.k8s.io/kustomize/kyaml/yaml"
	sigyaml "sigs.k8s.io/yaml"

	"github.com/hubkit/hubkit/test/helmchart"
	"github.com/hubkit/hubkit/test/pins"
	"github.com/hubkit/hubkit/test/testenv"
)

// chart is a chart from the module that ships it, installed as its user
// would: with their values and, as Helm's post-renderer, the function's
// config they would write.
type chart struct {
	name      string
	pin       string // tools/pins.mk's name of the module@version and of the chart's path in it: <pin>_MODULE, <pin>_PATH
	namespace string
	values    string // a values file, relative to the repository; "" for the chart's defaults
	config    string // the function's config, relative to the repository
	// singleton: the chart ships the trap (audit fails on its plain render);
	// false for a negative control, which the function must leave as it is.
	singleton bool
	fixed     string // a line of the fix the function makes in the release
}

// dir is the chart's directory in its module, downloaded through the Go
// module proxy if the module cache lacks it.
func (c chart) dir(t *testing.T) string {
	t.Helper()
	dir, err := helmchart.ModuleChart(context.Background(), pins.Get(t, c.pin+"_MODULE"), pins.Get(t, c.pin+"_PATH"))
	require.NoError(t, err)
	return dir
}

// vals reads the chart's values file, if it has one.
func (c chart) vals(t *testing.T) map[string]any {
	t.Helper()
	vals := map[string]any{}
	if c.values != "" {
		b, err := os.ReadFile(filepath.Join(testenv.RepoRoot(t), c.values))
		require.NoError(t, err)
		require.NoError(t, sigyaml.Unmarshal(b, &vals), c.values)
	}
	return vals
}

// configPath is the function's config, as its user passes it to Helm.
func (c chart) configPath(t *testing.T) string {
	return filepath.Join(testenv.RepoRoot(t), c.config)
}

// rendered is a release as Helm made it: its manifest (what a post-renderer
// gave back) and its hooks' manifests, in Helm's order.
type rendered struct {
	manifest string
	hooks    []string
}

// helm3Template renders c as `helm template` does with Helm 3's library
// (helmchart.Template), with post (nil: none) as its post-renderer.
func helm3Template(t *testing.T, c chart, post postrender3.PostRenderer) rendered {
	t.Helper()
	ch, err := chart3.Load(c.dir(t))
	require.NoError(t, err, "load chart %s", c.name)
	rel, err := helmchart.Template(ch, c.name, c.namespace, c.vals(t), post)
	require.NoError(t, err)
	return rendered{manifest: rel.Manifest, hooks: hooks3(rel.Hooks)}
}

func hooks3(hs []*release3.Hook) []string {
	var out []string
	for _, h := range hs {
		out = append(out, h.Manifest)
	}
	return out
}

// helm3Exec is Helm 3's post-renderer for `--post-renderer singleton
// --post-renderer-args <config>`: the executable, given args, reading the
// manifests on stdin.
func helm3Exec(t *testing.T, c chart) postrender3.PostRenderer {
	t.Helper()
	post, err := postrender3.NewExec(fns.Singleton(t), c.configPath(t))
	require.NoError(t, err)
	return post
}

// helm4Template installs c as Helm 4's `helm template` does (a client dry
// run), with post (nil: none) as its post-renderer.
func helm4Template(t *testing.T, c chart, post postrender4.PostRenderer) rendered {
	t.Helper()
	ch, err := chart4.Load(c.dir(t))
	require.NoError(t, err, "load chart %s", c.name)
	install := helm4.NewInstall(helm4.NewConfiguration())
	install.DryRunStrategy, install.Replace = helm4.DryRunClient, true
	install.ReleaseName, install.Namespace = c.name, c.namespace
	v, err := helmchart.KubeVersion()
	require.NoError(t, err)
	kv, err := common4.ParseKubeVersion(v)
	require.NoError(t, err)
	install.KubeVersion = kv
	install.PostRenderer = post
	out, err := install.Run(ch, c.vals(t))
	require.NoError(t, err, "helm 4 install --dry-run=client %s", c.name)
	rel, ok := out.(*release4.Release)
	require.True(t, ok, "Helm 4 returns a v1 release, not %T", out)
	var hooks []string
	for _, h := range rel.Hooks {
		hooks = append(hooks, h.Manifest)
	}
	return rendered{manifest: rel.Manifest, hooks: hooks}
}

// helm4Plugin is Helm 4's post-renderer for `--post-renderer singleton
// --post-renderer-args <config>`: hubkit's plugin, found as Helm finds it
// in its plugin directory.
func helm4Plugin(t *testing.T, c chart) postrender4.PostRenderer {
	t.Helper()
	fns.OnPath(t) // the plugin runs the function found on PATH
	settings := cli4.New()
	settings.PluginsDirectory = plugins(t)
	post, err := postrender4.NewPostRendererPlugin(settings, "singleton", c.configPath(t))
	require.NoError(t, err, "find Helm 4 post-renderer plugin singleton in %s", settings.PluginsDirectory)
	return post
}

// plugins is a Helm plugin directory holding hubkit's post-renderer plugin
// (helm/singleton), as `helm plugin install ./helm/singleton` leaves it.
func plugins(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	src := filepath.Join(testenv.RepoRoot(t), "helm", "singleton")
	require.NoError(t, os.CopyFS(filepath.Join(dir, "singleton"), os.DirFS(src)))
	return dir
}

// fn runs the function as a user runs it by hand on a render:
// `singleton <config> < manifests`, the config's spec.mode set to mode.
// It returns what the function printed and its error (exit status 1 on any
// error finding).
func fn(t *testing.T, c chart, mode, manifests string) (string, string, error) {
	t.Helper()
	raw, err := os.ReadFile(c.configPath(t))
	require.NoError(t, err)
	cfg, err := yaml.Parse(string(raw))
	require.NoError(t, err)
	require.NoError(t, cfg.PipeE(yaml.LookupCreate(yaml.ScalarNode, "spec", "mode"), yaml.FieldSetter{StringValue: mode}))
	path := filepath.Join(t.TempDir(), "config.yaml")
	require.NoError(t, os.WriteFile(path, []byte(cfg.MustString()), 0o600))
	cmd := exec.Command(fns.Singleton(t), path)
	cmd.Stdin = strings.NewReader(manifests)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err = cmd.Run()
	return stdout.String(), stderr.String(), err
}
