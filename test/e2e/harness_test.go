package e2e

import (
	"context"
	"fmt"
	"slices"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	"github.com/hubkit/hubkit/test/cluster"
	"github.com/hubkit/hubkit/test/node"
	"github.com/hubkit/hubkit/test/postgres"
)

// The harness: this file, main_test.go (the cluster, started once), and
// the files of what every scenario uses: render_test.go (the renders),
// apply_test.go (applying them), images_test.go, pods_test.go,
// admission_test.go (the guard and kubectl), figures_test.go,
// kindstorage_test.go (kind's storage) and timeline_test.go (a crash's
// timeline). A scenario's own file holds its story and only what it alone
// uses; backup_test.go's drills are steps the real-node stories share.
//
// How the tests share the one cluster. None calls t.Parallel: they run one
// at a time, in any order (make test shuffles them), and each leaves the
// cluster and its first real node as it found them. What a test does to
// the shared world is said where it does it, as Kubernetes' e2e marks a
// test [Serial] or [Disruptive]:
//   - a test that powers a node off, or whose pods must not meet another
//     test's, is given nodes of its own (nodesOfItsOwn), removed when it ends;
//   - a test that needs pods on real nodes only cordons the simulated ones
//     for its life (onlyRealNode), one that must not use the real nodes
//     cordons them (onlySimulatedNodes);
//   - every daemon a test starts is tracked by the cluster (startDatabase),
//     so that an interrupted run stops it with the rest (main_test.go).

// requireRealNode skips a test that needs real nodes on a cluster of the
// user's own (HUBKIT_E2E_KUBECONFIG), whose nodes this host cannot power
// off or restart; make test's own cluster always has them.
func requireRealNode(t *testing.T) {
	t.Helper()
	if e2e.cluster.Node == nil {
		t.Skipf("%s names a cluster of your own: this test starts, kills and powers off processes of real nodes on this host, "+
			"so it runs only on the cluster make test starts", cluster.ExternalEnv)
	}
}

// nodesOfItsOwn starts count real nodes for the test alone (the
// cluster's AddNode), with images in their containerd, cordons every other
// real node for the test's life, so that what the test schedules on real
// nodes lands on its own, and removes them when the test ends, whatever the
// test did to them.
func nodesOfItsOwn(t *testing.T, count int, images ...string) []*node.Node {
	t.Helper()
	requireRealNode(t)
	var nodes []*node.Node
	var names []string
	for range count {
		n, err := e2e.cluster.AddNode(context.Background(), images...)
		require.NoError(t, err, "start a real node of the test's own")
		t.Cleanup(func() {
			assert.NoError(t, e2e.cluster.RemoveNode(context.Background(), n), "remove real node %s", n.Name())
		})
		nodes, names = append(nodes, n), append(names, n.Name())
	}
	cordon(t, metav1.ListOptions{LabelSelector: cluster.RealNodeLabel + "=real"}, names...)
	return nodes
}

// onlyRealNode cordons kwok's simulated nodes for the test, so that
// everything it schedules lands on real nodes.
func onlyRealNode(t *testing.T) {
	t.Helper()
	cordon(t, metav1.ListOptions{LabelSelector: "type=kwok"})
}

// onlySimulatedNodes cordons the real nodes for the test.
func onlySimulatedNodes(t *testing.T) {
	t.Helper()
	cordon(t, metav1.ListOptions{LabelSelector: cluster.RealNodeLabel + "=real"})
}

// cordon marks the nodes sel lists unschedulable, but those named in
// except, and sets each back as it was when the test ends, so that
// cordons nest (a subtest's inside its test's).
func cordon(t *testing.T, sel metav1.ListOptions, except ...string) {
	t.Helper()
	ctx := context.Background()
	nodes, err := e2e.client.CoreV1().Nodes().List(ctx, sel)
	require.NoError(t, err)
	set := func(name string, unschedulable bool) error {
		patch := fmt.Sprintf(`{"spec":{"unschedulable":%t}}`, unschedulable)
		_, err := e2e.client.CoreV1().Nodes().Patch(context.Background(), name, types.MergePatchType, []byte(patch), metav1.PatchOptions{})
		return err
	}
	for _, n := range nodes.Items {
		if n.Spec.Unschedulable || slices.Contains(except, n.Name) {
			continue
		}
		require.NoError(t, set(n.Name, true))
		t.Cleanup(func() {
			if err := set(n.Name, false); err != nil && !apierrors.IsNotFound(err) {
				t.Errorf("uncordon %s: %v", n.Name, err)
			}
		})
	}
}

// startDatabase starts a real PostgreSQL on the run's database address,
// which pods on every real node reach, stopped when the test ends or, if
// the run is interrupted first, with the cluster.
func startDatabase(t *testing.T) *postgres.Server {
	t.Helper()
	db, err := postgres.Start(context.Background(), postgres.Options{ListenAddress: e2e.cluster.Database})
	require.NoError(t, err, "start PostgreSQL on %s", e2e.cluster.Database)
	stop := e2e.cluster.Track("PostgreSQL on "+e2e.cluster.Database.String(), db.Stop)
	t.Cleanup(func() { assert.NoError(t, stop()) })
	return db
}
