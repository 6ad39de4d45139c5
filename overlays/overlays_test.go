// Package overlays_test holds every overlay to the Hub's contract, built both
// with the kustomize library and with the pinned kustomize CLI in bin/.
package overlays_test

import (
	"context"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	corev1 "k8s.io/api/core/v1"

	"github.com/hubkit/hubkit/internal/contract"
	"github.com/hubkit/hubkit/internal/render"
	"github.com/hubkit/hubkit/internal/testenv"
)

// overlays is what differs between environments; contract.Check holds the rest.
var overlays = []struct {
	name string
	want contract.Expect
}{
	{"dev", contract.Expect{Namespace: "hubkit-dev", Storage: "1Gi", AccessMode: corev1.ReadWriteOncePod, ServiceType: corev1.ServiceTypeClusterIP}},
	{"kind", contract.Expect{Namespace: "hubkit", Storage: "1Gi", AccessMode: corev1.ReadWriteOncePod, ServiceType: corev1.ServiceTypeNodePort, NodePort: 31245}},
	{"prod", contract.Expect{Namespace: "hubkit", Storage: "50Gi", AccessMode: corev1.ReadWriteOncePod, ServiceType: corev1.ServiceTypeClusterIP, Ingress: true, ImageDigest: true}},
}

var fns testenv.Functions

func TestMain(m *testing.M) { fns.Main(m) }

type builder struct {
	name  string
	build func(t *testing.T, dir string) []byte
}

// builders build an overlay as users do, with the function on PATH.
func builders() []builder {
	return []builder{
		{"library", func(t *testing.T, dir string) []byte {
			fns.OnPath(t)
			out, err := render.Krusty(dir)
			require.NoError(t, err)
			return out
		}},
		{"cli", func(t *testing.T, dir string) []byte {
			fns.OnPath(t)
			out, _, err := render.CLI(context.Background(), testenv.Kustomize(t), dir)
			require.NoError(t, err)
			return out
		}},
	}
}
func TestEveryOverlayKeepsTheContract(t *testing.T) {
	for _, o := range overlays {
		for _, b := range builders() {
			t.Run(o.name+"/"+b.name, func(t *testing.T) {
				m, err := contract.Parse(b.build(t, o.name))
				require.NoError(t, err)
				assert.Empty(t, contract.Check(m, o.want))
			})
		}
	}
}

func TestLibraryAndCLIRenderTheSameBytes(t *testing.T) {
	for _, o := range overlays {
		t.Run(o.name, func(t *testing.T) {
			lib, cli := builders()[0], builders()[1]
			assert.Equal(t, string(lib.build(t, o.name)), string(cli.build(t, o.name)))
		})
	}
}

func TestBaseBuildsOnItsOwn(t *testing.T) {
	out, err := render.Krusty(filepath.Join("..", "base"))
	require.NoError(t, err)
	m, err := contract.Parse(out)
	require.NoError(t, err)
	assert.Len(t, m.Deployments, 1)
	assert.Empty(t, m.Namespaces, "the base knows nothing of environments")
}

// runFunction runs the built function in standalone mode: config file, then
// resource files; it returns the combined output.
func runFunction(t *testing.T, args ...string) (string, error) {
	t.Helper()
	out, err := exec.Command(fns.Singleton(t), args...).CombinedOutput()
	return string(out), err
}
