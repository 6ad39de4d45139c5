// Package fleet_test holds hubkit's fleet (fleet.yaml and sites/) to what
// it promises: each site renders, its overlay's render (the singleton
// function applied) with its own layer, into a render that keeps its
// overlay's contract with the site's values and no token; a change to one site changes that site's
// render alone; the ApplicationSet puts every site in exactly one wave.
package fleet_test

import (
	"bytes"
	"context"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"text/template"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"sigs.k8s.io/yaml"

	"github.com/hubkit/hubkit/internal/contract"
	"github.com/hubkit/hubkit/internal/fleet"
	"github.com/hubkit/hubkit/internal/hub"
	"github.com/hubkit/hubkit/internal/names"
	"github.com/hubkit/hubkit/internal/overlays"
	"github.com/hubkit/hubkit/test/render"
	"github.com/hubkit/hubkit/test/testenv"
)

var fns testenv.Functions

func TestMain(m *testing.M) { fns.Main(m) }

// copyRoot is a repository of its own for one test: the repository's
// base, components, overlays and functions (linked) and a copy of its
// fleet/, which the test may change.
func copyRoot(t *testing.T) string {
	t.Helper()
	repo := testenv.RepoRoot(t)
	root := t.TempDir()
	for _, d := range []string{"base", "components", "overlays", "functions"} {
		require.NoError(t, os.Symlink(filepath.Join(repo, d), filepath.Join(root, d)))
	}
	require.NoError(t, os.CopyFS(filepath.Join(root, fleet.Dir), os.DirFS(filepath.Join(repo, fleet.Dir))))
	return root
}

func build(t *testing.T, root string) (*fleet.Inventory, fleet.Output) {
	t.Helper()
	fns.OnPath(t)
	inv, out, err := fleet.Build(root, fleet.Options{Work: filepath.Join(root, "build", "fleet")})
	require.NoError(t, err)
	return inv, out
}

// TestEverySiteKeepsItsOverlaysContract: a site's render is its overlay's
// with the site's values, held to the same gates as every overlay (the
// contract, with the site's claim size), with the site's labels, host,
// remote config and system variables, and no Secret: the token stays in
// the cluster.
func TestEverySiteKeepsItsOverlaysContract(t *testing.T) {
	root := copyRoot(t)
	inv, out := build(t, root)
	table, err := overlays.Load(testenv.RepoRoot(t))
	require.NoError(t, err)
	for _, s := range inv.Sites {
		t.Run(s.Name, func(t *testing.T) {
			rendered := out[filepath.Join(s.RenderDir(), "hub.yaml")]
			require.NotEmpty(t, rendered)
			i := slices.IndexFunc(table, func(o overlays.Overlay) bool { return o.Name == s.Overlay() })
			require.GreaterOrEqual(t, i, 0)
			want := table[i].Expect
			if s.Spec.Storage.Size != nil {
				want.Storage = s.Spec.Storage.Size.String()
			}
			m, err := contract.Parse(rendered)
			require.NoError(t, err)
			assert.Empty(t, contract.Check(m, want))

			assert.NotContains(t, string(rendered), "\nkind: Secret\n", "a site's render holds no Secret")
			assert.Contains(t, string(rendered), "host: "+s.Spec.Host)
			assert.Contains(t, string(rendered), names.SiteLabel+": "+s.Name)
			if s.Spec.Central != nil {
				remote := configMapFile(t, rendered, names.RemoteConfigConfigMap, hub.RemoteConfigFile)
				assert.Contains(t, remote, `"token": "`+fleet.TokenPlaceholder+`"`, "the token's place, filled from the Secret at start")
				assert.Contains(t, remote, `"clientId": "`+s.ClientID()+`"`)
				assert.Contains(t, string(rendered), "secretName: "+s.Spec.Central.TokenSecret)
			}
			if len(s.Spec.SystemVariables) > 0 {
				vars, err := s.SystemVariables()
				require.NoError(t, err)
				assert.Equal(t, string(vars), configMapFile(t, rendered, names.SystemVariablesConfigMap, hub.SystemVariablesFile))
			}
		})
	}
}

// configMapFile is the file key of the ConfigMap whose name starts with
// name (a generated ConfigMap has a hash after it).
func configMapFile(t *testing.T, rendered []byte, name, key string) string {
	t.Helper()
	for _, doc := range strings.Split(string(rendered), "\n---\n") {
		var cm struct {
			Kind     string            `json:"kind"`
			Metadata metav1.ObjectMeta `json:"metadata"`
			Data     map[string]string `json:"data"`
		}
		require.NoError(t, yaml.Unmarshal([]byte(doc), &cm))
		if cm.Kind == "ConfigMap" && strings.HasPrefix(cm.Metadata.Name, name+"-") {
			return cm.Data[key]
		}
	}
	t.Fatalf("no ConfigMap %s-<hash> in the render", name)
	return ""
}

// TestTheRenderIsWhatKustomizeBuilds: the kustomization the renderer
// writes for a site (build/fleet/<site>/) builds, with the kustomize CLI
// as users run it, to the very render it commits.
func TestTheRenderIsWhatKustomizeBuilds(t *testing.T) {
	root := copyRoot(t)
	inv, out := build(t, root)
	for _, s := range inv.Sites {
		t.Run(s.Name, func(t *testing.T) {
			cli, _, err := render.CLI(context.Background(), testenv.Kustomize(t), filepath.Join(root, "build", "fleet", s.Name))
			require.NoError(t, err)
			assert.Equal(t, string(out[filepath.Join(s.RenderDir(), "hub.yaml")]), string(cli))
		})
	}
}

// TestASiteChangeReachesThatSiteAlone: a change to one site's file (a
// system variable, its wave) changes that site's render and nothing
// else's; a second run changes nothing.
func TestASiteChangeReachesThatSiteAlone(t *testing.T) {
	root := copyRoot(t)
	_, before := build(t, root)
	_, again := build(t, root)
	assert.Equal(t, before, again, "two runs, one output")

	site := filepath.Join(root, fleet.SitesDir, "berlin", fleet.SiteFile)
	b, err := os.ReadFile(site)
	require.NoError(t, err)
	require.Contains(t, string(b), "value: plants/berlin")
	require.NoError(t, os.WriteFile(site, bytes.Replace(b, []byte("value: plants/berlin"), []byte("value: plants/berlin/line-2"), 1), 0o644))
	_, after := build(t, root)
	var changed []string
	for _, p := range slices.Sorted(maps.Keys(after)) {
		if !bytes.Equal(before[p], after[p]) {
			changed = append(changed, p)
		}
	}
	assert.Equal(t, []string{"deploy/sites/berlin/hub.yaml"}, changed)
}

// TestAMistakeWritesNothing: a site with a mistake fails the run, and no
// render, Flux file or rollout step is written or removed.
func TestAMistakeWritesNothing(t *testing.T) {
	root := copyRoot(t)
	site := filepath.Join(root, fleet.SitesDir, "berlin", fleet.SiteFile)
	b, err := os.ReadFile(site)
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(site, bytes.Replace(b, []byte("wave: canary"), []byte("wave: canry"), 1), 0o644))
	fns.OnPath(t)
	cmd := exec.Command("go", "run", "./tools/fleet", "-root", root)
	cmd.Dir = testenv.RepoRoot(t)
	stdout, err := cmd.Output()
	var exit *exec.ExitError
	require.ErrorAs(t, err, &exit, "%s", stdout)
	assert.Equal(t, 1, exit.ExitCode())
	assert.Contains(t, string(exit.Stderr), "fleet/sites/berlin/site.yaml: spec.wave: Unsupported value: \"canry\"")
	for _, d := range []string{"deploy", "gitops"} {
		assert.NoDirExists(t, filepath.Join(root, d))
	}
}

// TestEverySiteIsInExactlyOneWave evaluates the ApplicationSet's template
// for each site, as its controller does (goTemplate, missingkey=error,
// the site file's fields as parameters), and its rollout steps against
// the Application's labels: each site's Application is in one step, its
// wave's, and reads its own render on its own cluster.
func TestEverySiteIsInExactlyOneWave(t *testing.T) {
	repo := testenv.RepoRoot(t)
	inv, err := fleet.Load(repo)
	require.NoError(t, err)
	appSet := readAppSet(t, repo)
	assert.Equal(t, []string{"missingkey=error"}, appSet.Spec.GoTemplateOptions)
	require.Len(t, appSet.Spec.Generators, 1)
	git := appSet.Spec.Generators[0].Git
	assert.Equal(t, inv.Fleet.Spec.RepoURL, git.RepoURL)
	assert.Equal(t, inv.Fleet.Spec.Revision, git.Revision)
	assert.Equal(t, inv.Fleet.Spec.RepoURL, appSet.Spec.Template.Spec.Source.RepoURL)
	assert.Equal(t, inv.Fleet.Spec.Revision, appSet.Spec.Template.Spec.Source.TargetRevision)
	steps := rolloutSteps(t, repo)
	require.Len(t, steps, len(inv.Fleet.Spec.Waves))
	for _, s := range inv.Sites {
		raw, err := os.ReadFile(filepath.Join(repo, fleet.SitesDir, s.Name, fleet.SiteFile))
		require.NoError(t, err)
		var params map[string]any
		require.NoError(t, yaml.Unmarshal(raw, &params))
		app := map[string]string{}
		for k, v := range appSet.Spec.Template.Metadata.Labels {
			app["label "+k] = v
		}
		app["name"] = appSet.Spec.Template.Metadata.Name
		app["path"] = appSet.Spec.Template.Spec.Source.Path
		app["cluster"] = appSet.Spec.Template.Spec.Destination.Name
		for k, v := range app {
			tpl, err := template.New(k).Option("missingkey=error").Parse(v)
			require.NoError(t, err)
			var b strings.Builder
			require.NoError(t, tpl.Execute(&b, params), "site %s: %s", s.Name, k)
			app[k] = b.String()
		}
		assert.Equal(t, s.RenderDir(), app["path"])
		assert.Equal(t, s.Spec.Cluster, app["cluster"])
		set := labels.Set{}
		for k, v := range app {
			if l, ok := strings.CutPrefix(k, "label "); ok {
				set[l] = v
			}
		}
		var in []int
		for i, step := range steps {
			sel, err := metav1.LabelSelectorAsSelector(&metav1.LabelSelector{MatchExpressions: step.MatchExpressions})
			require.NoError(t, err)
			if sel.Matches(set) {
				in = append(in, i)
			}
		}
		wave := slices.Index(inv.Fleet.WaveNames(), s.Spec.Wave)
		assert.Equal(t, []int{wave}, in, "site %s (wave %s) is in its wave's step alone", s.Name, s.Spec.Wave)
	}
}

// appSet is what these tests read of the ApplicationSet, as kustomize
// builds gitops/argocd/fleet (its steps patched in).
type appSet struct {
	Spec struct {
		GoTemplateOptions []string `json:"goTemplateOptions"`
		Generators        []struct {
			Git struct {
				RepoURL  string `json:"repoURL"`
				Revision string `json:"revision"`
			} `json:"git"`
		} `json:"generators"`
		Strategy struct {
			RollingSync struct {
				Steps []fleet.Step `json:"steps"`
			} `json:"rollingSync"`
		} `json:"strategy"`
		Template struct {
			Metadata struct {
				Name   string            `json:"name"`
				Labels map[string]string `json:"labels"`
			} `json:"metadata"`
			Spec struct {
				Source struct {
					RepoURL        string `json:"repoURL"`
					TargetRevision string `json:"targetRevision"`
					Path           string `json:"path"`
				} `json:"source"`
				Destination struct {
					Name string `json:"name"`
				} `json:"destination"`
			} `json:"spec"`
		} `json:"template"`
	} `json:"spec"`
}

func readAppSet(t *testing.T, repo string) appSet {
	t.Helper()
	out, _, err := render.CLI(context.Background(), testenv.Kustomize(t), filepath.Join(repo, "gitops", "argocd", "fleet"))
	require.NoError(t, err)
	var a appSet
	require.NoError(t, yaml.Unmarshal(out, &a))
	return a
}

func rolloutSteps(t *testing.T, repo string) []fleet.Step {
	t.Helper()
	return readAppSet(t, repo).Spec.Strategy.RollingSync.Steps
}
