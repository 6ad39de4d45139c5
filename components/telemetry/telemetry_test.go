// Package telemetry_test holds components/telemetry to its promise, on real
// renders of overlays/testdata/operated: the Hub's container names the
// collector the overlay's telemetry-settings name, in the form the Hub's
// version takes, and nothing else of the pod changes.
package telemetry_test

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"sigs.k8s.io/kustomize/api/types"
	"sigs.k8s.io/yaml"

	hubfiles "github.com/hubkit/hubkit/internal/hub"
	"github.com/hubkit/hubkit/internal/names"
	"github.com/hubkit/hubkit/test/render"
	"github.com/hubkit/hubkit/test/testenv"
)

var fns testenv.Functions

func TestMain(m *testing.M) { fns.Main(m) }

const (
	operated  = "overlays/testdata/operated"
	component = "components/telemetry"
)

// collector is what the overlay names: telemetry-settings' data.collector.
func collector(t *testing.T) string {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join(testenv.RepoRoot(t), operated, "telemetry-settings.yaml"))
	require.NoError(t, err)
	var cm corev1.ConfigMap
	require.NoError(t, yaml.UnmarshalStrict(raw, &cm))
	require.Equal(t, "telemetry-settings", cm.Name)
	require.NotEmpty(t, cm.Data["collector"])
	return cm.Data["collector"]
}

// hubPod builds dir as users do (the function on PATH) and returns the
// Hub's pod template and the name of every ConfigMap the render keeps.
func hubPod(t *testing.T, dir string) (corev1.PodSpec, []string) {
	t.Helper()
	nodes := render.Nodes(t, &fns, dir)
	var pod *corev1.PodSpec
	var configMaps []string
	for _, n := range nodes {
		switch n.GetKind() {
		case "Deployment":
			s, err := n.String()
			require.NoError(t, err)
			var d appsv1.Deployment
			require.NoError(t, yaml.Unmarshal([]byte(s), &d))
			pod = &d.Spec.Template.Spec
		case "ConfigMap":
			configMaps = append(configMaps, n.GetName())
		}
	}
	require.NotNil(t, pod, "the render has the Hub's Deployment")
	return *pod, configMaps
}

// withForm is operated with components/telemetry replaced by one of its
// forms, as an overlay that runs another Hub version lists it.
func withForm(t *testing.T, form string) string {
	t.Helper()
	return render.Variant(t, filepath.Join(testenv.RepoRoot(t), operated), func(k *types.Kustomization) {
		i := slices.IndexFunc(k.Components, func(ref string) bool { return strings.HasSuffix(ref, component) })
		require.GreaterOrEqual(t, i, 0, "%s lists %s", operated, component)
		k.Components[i] += "/" + form
	})
}

func TestTheHubNamesTheOverlaysCollector(t *testing.T) {
	c := collector(t)
	for _, tc := range []struct {
		name string
		dir  func(t *testing.T) string
		args []string
		env  string // OTEL_COLLECTOR_ENDPOINT, "" when unset
	}{
		{
			name: "components/telemetry: the Hub version's form, the entrypoint's start otel <host:port>",
			dir:  func(t *testing.T) string { return filepath.Join(testenv.RepoRoot(t), operated) },
			args: []string{"start", "otel", c},
		},
		{
			name: "components/telemetry/otel-command, listed by itself",
			dir:  func(t *testing.T) string { return withForm(t, "otel-command") },
			args: []string{"start", "otel", c},
		},
		{
			name: "components/telemetry/otel-env: OTEL_COLLECTOR_ENDPOINT, the image's own command",
			dir:  func(t *testing.T) string { return withForm(t, "otel-env") },
			env:  "http://" + c,
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			pod, configMaps := hubPod(t, tc.dir(t))
			var hub *corev1.Container
			for i := range pod.Containers {
				if pod.Containers[i].Name == names.HubContainer {
					hub = &pod.Containers[i]
				}
			}
			require.NotNil(t, hub)
			assert.Equal(t, tc.args, hub.Args)
			assert.Empty(t, hub.Command, "the image's entrypoint stays")
			env := ""
			for _, e := range hub.Env {
				if e.Name == hubfiles.OtelCollectorEnv {
					env = e.Value
				}
			}
			assert.Equal(t, tc.env, env)
			for _, init := range pod.InitContainers {
				assert.Empty(t, init.Args, "init container %s", init.Name)
			}
			assert.NotContains(t, configMaps, "telemetry-settings", "the settings are local-config: they never reach the cluster")
		})
	}
}

// An overlay that lists the component without saying where its collector
// is fails to build, naming what is missing, instead of shipping a
// placeholder.
func TestWithoutTelemetrySettingsTheBuildFails(t *testing.T) {
	dir := render.Variant(t, filepath.Join(testenv.RepoRoot(t), operated), func(k *types.Kustomization) {
		k.Resources = slices.DeleteFunc(k.Resources, func(ref string) bool { return ref == "telemetry-settings.yaml" })
	})
	fns.OnPath(t)
	_, err := render.Krusty(dir)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "telemetry-settings")
}
