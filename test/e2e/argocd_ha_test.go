package e2e

import (
	"context"
	"crypto/rand"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/hubkit/hubkit/internal/image"
	"github.com/hubkit/hubkit/internal/names"
	"github.com/hubkit/hubkit/test/images"
	"github.com/hubkit/hubkit/test/scenario"
)

// The HA pair under Argo CD, on two real nodes of its own with PostgreSQL:
// Argo CD's own health assessment of the StatefulSet with a standby, and a
// sync that lands while the members fail over. docs/gitops.md numbers these
// scenarios after prod's.
func TestHAPairUnderArgoCD(t *testing.T) {
	requireRealNode(t)
	a := argoCDHAFixture(t)
	t.Run("15 prod-ha Synced and Healthy with a standby, by Argo CD's own health assessment; one primary, the Service on it", a.synced)
	t.Run("16 a sync that lands during a failover: one primary at every sample, the preferred primary back, Synced and Healthy", a.syncDuringFailover)
	t.Run("17 handed to Flux: the Application deleted, the members' claims kept; Flux's hubkit-prod-ha Ready, both members back on them, one primary", a.handedToFlux)
}

// argoHA is the HA pair's Argo CD story's world.
type argoHA struct {
	*scenario.Group
	argo *argoCD
	fork fork
	app  string
}

// argoCDHAFixture: two real nodes of the test's own with the Hub's and the
// ha-role sidecar's images, kind's storage on them, PostgreSQL, prod-ha's
// Secrets made beside Git, the ha-role policy installed by the
// administrator, a fork that pins the image, Argo CD running.
func argoCDHAFixture(t *testing.T) *argoHA {
	ctx := context.Background()
	row := overlayRow(t, "prod-ha")
	_, hubTar, err := buildImage(ctx, images.Standin(), prodImage+":"+haTag)
	require.NoError(t, err)
	_, roleTar, err := buildImage(ctx, image.HARole(), "dev")
	require.NoError(t, err)
	onlyRealNode(t)
	nodes := nodesOfItsOwn(t, 2, hubTar, roleTar)
	useKindStorage(t, nodes...)
	db := startDatabase(t)
	f := userFork(t, haTag, "prod-ha")
	ns := row.Namespace
	t.Cleanup(func() { deleteNamespace(t, ns) }) // before the nodes go: the members stop, their volumes are torn down
	t.Cleanup(func() { _ = applier(t).Delete(context.Background(), guardObjects(t)) })
	ensureNamespace(t, ns)
	store := make([]byte, 64)
	_, err = rand.Read(store)
	require.NoError(t, err)
	applySecrets(t, ns, exampleDeployment(t), store)
	applyDatabaseSecret(t, ns, db.JDBCURI())
	installHARolePolicy(t)
	return &argoHA{Group: &scenario.Group{Client: e2e.client, Namespace: ns, Size: int(row.Members), Nodes: nodes}, argo: startArgoCD(t, f), fork: f}
}

func (a *argoHA) synced(t *testing.T) {
	guard := a.argo.apply(t, "guard.yaml")
	a.argo.waitSyncedHealthy(t, guard, "")
	a.app = a.argo.apply(t, "prod-ha.yaml")
	admitIngress(t, a.Namespace)
	a.SampleRoles(t) // from the members' start on
	a.WaitMembersReady(t)
	a.argo.waitSyncedHealthy(t, a.app, a.fork.head(t))
	a.FollowService(t)
	primary := a.WaitServedBy(t, "hbih-0", "the preferred primary")
	a.WaitEndpoints(t, primary)
	a.AssertNeverTwo(t)
}

func (a *argoHA) syncDuringFailover(t *testing.T) {
	a.SampleRoles(t)
	primary := a.WaitServedBy(t, "hbih-0", "the preferred primary")
	a.As(t, primary).DeletePod(t, primary)
	// The sync lands while the other member takes over: a change of the
	// Service's metadata, which Argo CD applies with the rest.
	dir := filepath.Join(a.fork.Work, "overlays", "prod-ha")
	require.NoError(t, os.WriteFile(filepath.Join(dir, "sync-during-failover.yaml"),
		[]byte("apiVersion: v1\nkind: Service\nmetadata:\n  name: "+names.Hub+"\n  annotations:\n    example.com/synced: during a failover\n"), 0o644))
	runKustomize(t, dir, "edit", "add", "patch", "--path", "sync-during-failover.yaml")
	rev := a.fork.commit(t, "Annotate the Service", a.fork.overlayFiles(t, "prod-ha"))
	a.argo.refresh(t, a.app)
	a.WaitPrimary(t, a.Member(t, "hbih-1"))
	back := a.WaitServedBy(t, "hbih-0", "the preferred primary again, recreated by its StatefulSet")
	a.WaitEndpoints(t, back)
	a.argo.waitSyncedHealthy(t, a.app, rev)
	svc, err := e2e.client.CoreV1().Services(a.Namespace).Get(context.Background(), names.Hub, metav1.GetOptions{})
	require.NoError(t, err)
	require.Equal(t, "during a failover", svc.Annotations["example.com/synced"], "the sync landed")
	a.AssertNeverTwo(t)
}

func (a *argoHA) handedToFlux(t *testing.T) {
	claims := a.Claims(t)
	require.Len(t, claims, a.Size, "a claim a member")
	a.argo.delete(t, a.app)
	a.WaitNoMembers(t)
	fl := startFlux(t, a.fork)
	ks := fl.apply(t, "prod-ha.yaml")
	a.SampleRoles(t) // from the members' start on
	a.WaitMembersReady(t)
	fl.waitReady(t, ks, a.fork.head(t))
	a.FollowService(t) // Flux made the Service anew: a new ClusterIP
	primary := a.WaitServedBy(t, "hbih-0", "the preferred primary")
	a.WaitEndpoints(t, primary)
	assert.Equal(t, claims, a.Claims(t), "the members' claims kept")
	a.AssertNeverTwo(t)
}
