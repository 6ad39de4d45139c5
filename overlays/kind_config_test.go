package overlays_test

import (
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	corev1 "k8s.io/api/core/v1"
	kindv1alpha4 "sigs.k8s.io/kind/pkg/apis/config/v1alpha4"
	"sigs.k8s.io/yaml"

	"github.com/hubkit/hubkit/internal/contract"
	"github.com/hubkit/hubkit/internal/hub"
	"github.com/hubkit/hubkit/test/render"
)

// The kind cluster must publish on the host the very nodePort that the kind
// overlay renders, or http://localhost:31245 reaches nothing.
func TestKindConfigPublishesTheRenderedNodePort(t *testing.T) {
	raw, err := os.ReadFile(filepath.Join("kind", "kind-config.yaml"))
	require.NoError(t, err)
	var cluster kindv1alpha4.Cluster
	require.NoError(t, yaml.UnmarshalStrict(raw, &cluster), "kind-config.yaml must decode strictly into kind's v1alpha4 Cluster")
	assert.Equal(t, "Cluster", cluster.Kind)
	assert.Equal(t, "kind.x-k8s.io/v1alpha4", cluster.APIVersion)
	kindv1alpha4.SetDefaultsCluster(&cluster)

	fns.OnPath(t)
	out, err := render.Krusty("kind")
	require.NoError(t, err)
	m, err := contract.Parse(out)
	require.NoError(t, err)
	require.Len(t, m.Services, 1)
	i := slices.IndexFunc(m.Services[0].Spec.Ports, func(p corev1.ServicePort) bool { return p.Name == hub.HTTPPortName })
	require.GreaterOrEqual(t, i, 0)
	nodePort := m.Services[0].Spec.Ports[i].NodePort
	require.NotZero(t, nodePort)

	i = slices.IndexFunc(cluster.Nodes, func(n kindv1alpha4.Node) bool { return n.Role == kindv1alpha4.ControlPlaneRole })
	require.GreaterOrEqual(t, i, 0, "kind-config.yaml needs a control-plane node")
	published := slices.ContainsFunc(cluster.Nodes[i].ExtraPortMappings, func(p kindv1alpha4.PortMapping) bool {
		return p.ContainerPort == nodePort && p.HostPort == nodePort && p.Protocol == kindv1alpha4.PortMappingProtocolTCP
	})
	assert.True(t, published, "the control-plane node must map host port %d to node port %d over TCP, got %+v",
		nodePort, nodePort, cluster.Nodes[i].ExtraPortMappings)
}
