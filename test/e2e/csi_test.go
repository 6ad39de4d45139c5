package e2e

import (
	"context"
	"slices"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	storagev1 "k8s.io/api/storage/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/dynamic"

	"github.com/hubkit/hubkit/test/cluster"
	"github.com/hubkit/hubkit/test/csidriver"
)

// The real node's storage is the cluster's, as a cloud's is: the kubelet
// registered hubkit's CSI test driver (test/csidriver) and labelled the
// node with its topology, and the cluster's default StorageClass, which
// lets claims grow, and its default VolumeSnapshotClass are the driver's.
// (A claim on it: TestProdOnTheRealNode.)
func TestStorageOnTheRealNode(t *testing.T) {
	if e2e.cluster.Node == nil {
		t.Skipf("%s names a cluster of your own: its storage is its own", cluster.ExternalEnv)
	}
	ctx := context.Background()
	name := e2e.cluster.Node.Name()
	csiNode, err := e2e.client.StorageV1().CSINodes().Get(ctx, name, metav1.GetOptions{})
	require.NoError(t, err)
	i := slices.IndexFunc(csiNode.Spec.Drivers, func(d storagev1.CSINodeDriver) bool { return d.Name == csidriver.DriverName })
	require.GreaterOrEqual(t, i, 0, "CSINode %s lists the driver", name)
	assert.Equal(t, name, csiNode.Spec.Drivers[i].NodeID)
	assert.Equal(t, []string{csidriver.TopologyKey}, csiNode.Spec.Drivers[i].TopologyKeys)
	n, err := e2e.client.CoreV1().Nodes().Get(ctx, name, metav1.GetOptions{})
	require.NoError(t, err)
	assert.Equal(t, name, n.Labels[csidriver.TopologyKey], "the kubelet labelled the node with the driver's topology")

	classes, err := e2e.client.StorageV1().StorageClasses().List(ctx, metav1.ListOptions{})
	require.NoError(t, err)
	var defaults []string
	for _, c := range classes.Items {
		if c.Annotations["storageclass.kubernetes.io/is-default-class"] == "true" {
			defaults = append(defaults, c.Name)
			assert.Equal(t, csidriver.DriverName, c.Provisioner)
			require.NotNil(t, c.AllowVolumeExpansion)
			assert.True(t, *c.AllowVolumeExpansion, "claims may grow")
		}
	}
	assert.Len(t, defaults, 1, "one default StorageClass: %v", defaults)

	dyn, err := dynamic.NewForConfig(e2e.cluster.Config)
	require.NoError(t, err)
	snapClasses, err := dyn.Resource(schema.GroupVersionResource{Group: "snapshot.storage.k8s.io", Version: "v1", Resource: "volumesnapshotclasses"}).
		List(ctx, metav1.ListOptions{})
	require.NoError(t, err)
	defaults = nil
	for _, c := range snapClasses.Items {
		if c.GetAnnotations()["snapshot.storage.kubernetes.io/is-default-class"] == "true" {
			defaults = append(defaults, c.GetName())
			assert.Equal(t, csidriver.DriverName, c.Object["driver"])
		}
	}
	assert.Len(t, defaults, 1, "one default VolumeSnapshotClass: %v", defaults)
}
