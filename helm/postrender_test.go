package helm_test

import (
	"bytes"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/hubkit/hubkit/test/testenv"
)

var fns testenv.Functions

func TestMain(m *testing.M) { fns.Main(m) }

// The charts, from the modules that ship them, with the values and the
// function config their users would write. The first is the trap this
// issue names: MinIO's standalone chart surges 100 % with maxUnavailable 0
// on one claim, so its upgrade never completes.
func charts() []chart {
	realworld := "plugin/singleton/testdata/realworld/"
	return []chart{
		{name: "minio", pin: "MINIO_CHART", namespace: "minio", singleton: true, fixed: "type: Recreate",
			values: "helm/examples/minio/values.yaml", config: "helm/examples/minio/singleton.yaml"},
		{name: "grafana", pin: "GRAFANA_CHART", namespace: "grafana", singleton: true, fixed: "type: Recreate",
			values: "helm/examples/grafana/values.yaml", config: "helm/examples/grafana/singleton.yaml"},
		{name: "sealed-secrets", pin: "SEALED_SECRETS_CHART", namespace: "kube-system", singleton: true, fixed: "type: Recreate",
			config: realworld + "sealed-secrets/config.yaml"},
		{name: "postgres-operator", pin: "POSTGRES_OPERATOR_CHART", namespace: "postgres-operator", singleton: true, fixed: "type: Recreate",
			config: realworld + "postgres-operator/config.yaml"},
		{name: "loki", pin: "LOKI_CHART", namespace: "loki", singleton: true, fixed: "startupProbe:",
			values: realworld + "loki/values.yaml", config: realworld + "loki/config.yaml"},
		// Negative control: MinIO's default, distributed mode (a StatefulSet
		// of 16 with a claim each), under the same config.
		{name: "minio-distributed", pin: "MINIO_CHART", namespace: "minio",
			config: "helm/examples/minio/singleton.yaml"},
	}
}

// postRenderers are the two ways Helm runs the function after it renders a
// chart: Helm 3's executable (`--post-renderer singleton
// --post-renderer-args <config>`, args since 3.9) and Helm 4's plugin
// (`helm plugin install ./helm/singleton`, then `--post-renderer singleton
// --post-renderer-args <config>`).
func postRenderers() map[string]func(*testing.T, chart, *recorder) rendered {
	return map[string]func(*testing.T, chart, *recorder) rendered{
		"helm3": func(t *testing.T, c chart, r *recorder) rendered {
			if r == nil {
				return helm3Template(t, c, nil)
			}
			if r.next == nil {
				r.next = helm3Exec(t, c)
			}
			return helm3Template(t, c, r)
		},
		"helm4": func(t *testing.T, c chart, r *recorder) rendered {
			if r == nil {
				return helm4Template(t, c, nil)
			}
			if r.next == nil {
				r.next = helm4Plugin(t, c)
			}
			return helm4Template(t, c, r)
		},
	}
}

// A chart post-rendered by the function, with Helm 3 or Helm 4, keeps the
// function's rules: audit passes on the release, and the function run again
// on it changes nothing. A chart that ships the trap fails audit without the
// function; a negative control comes out as Helm rendered it.
func TestChartsPostRenderedByTheFunctionKeepItsRules(t *testing.T) {
	for helm, render := range postRenderers() {
		for _, c := range charts() {
			t.Run(helm+"/"+c.name, func(t *testing.T) {
				plain := render(t, c, nil)
				post := render(t, c, &recorder{})

				_, stderr, err := fn(t, c, "audit", plain.manifest)
				if c.singleton {
					require.Error(t, err, "audit fails on the chart as it ships")
					assert.Contains(t, stderr, "singleton: error:", "and says why")
				} else {
					require.NoError(t, err, "a negative control passes audit as it ships: %s", stderr)
					enforced, stderr, err := fn(t, c, "enforce", plain.manifest)
					require.NoError(t, err, stderr)
					assert.Equal(t, strings.TrimSpace(plain.manifest), strings.TrimSpace(enforced), "the function leaves a negative control as Helm rendered it")
				}

				if c.singleton {
					assert.Contains(t, post.manifest, c.fixed, "the release holds the function's fix")
				}
				_, stderr, err = fn(t, c, "audit", post.manifest)
				assert.NoError(t, err, "audit passes on the post-rendered release: %s", stderr)
				again, stderr, err := fn(t, c, "enforce", post.manifest)
				require.NoError(t, err, stderr)
				assert.Equal(t, strings.TrimSpace(post.manifest), strings.TrimSpace(again), "a second run changes nothing")
			})
		}
	}
}

// Helm 3 never post-renders a release's hooks; Helm 4 sends them with its
// templates (its default strategy, combined), and the function gives them
// back as they came. MinIO's chart has one: the Job that makes its users.
// (Helm 4 rewrites every document it sends to a post-renderer, as kyaml
// writes it, whatever the post-renderer does: the hooks are compared with
// those of a post-renderer that gives back what it is given.)
func TestHooksReachTheFunctionOnlyUnderHelm4(t *testing.T) {
	c := charts()[0]
	for helm, render := range postRenderers() {
		t.Run(helm, func(t *testing.T) {
			asGiven := render(t, c, &recorder{next: passThrough{}})
			require.NotEmpty(t, asGiven.hooks, "MinIO's chart renders a hook with its default users")
			r := &recorder{}
			post := render(t, c, r)
			assert.Equal(t, asGiven.hooks, post.hooks, "the function gives the hooks back as it was given them")
			sent := strings.Contains(r.input.String(), "helm.sh/hook")
			assert.Equal(t, helm == "helm4", sent, "the post-renderer was sent the hooks")
		})
	}
}

// passThrough is a post-renderer that gives back what it is given.
type passThrough struct{}

func (passThrough) Run(in *bytes.Buffer) (*bytes.Buffer, error) {
	return bytes.NewBuffer(in.Bytes()), nil
}

// recorder is a post-renderer that keeps what Helm gave it and hands it
// to the next one (the function, unless set).
type recorder struct {
	next interface {
		Run(*bytes.Buffer) (*bytes.Buffer, error)
	}
	input bytes.Buffer
}

func (r *recorder) Run(in *bytes.Buffer) (*bytes.Buffer, error) {
	r.input.Write(in.Bytes())
	return r.next.Run(in)
}
