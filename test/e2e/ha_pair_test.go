package e2e

import (
	"context"
	"crypto/rand"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/hubkit/hubkit/internal/names"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"

	"github.com/hubkit/hubkit/internal/contract"
	hubfiles "github.com/hubkit/hubkit/internal/hub"
	"github.com/hubkit/hubkit/internal/image"
	"github.com/hubkit/hubkit/test/images"
	"github.com/hubkit/hubkit/test/postgres"
	"github.com/hubkit/hubkit/test/scenario"
	"github.com/hubkit/hubkit/test/standin"
)

// haTag is the stand-in's tag as prod-ha runs it on the two real nodes.
const haTag = "prod-ha-e2e"

// TestHAPairOnTwoRealNodes runs prod-ha as users run it, on two real nodes
// of its own with a real PostgreSQL, each member on its own node and its
// own claim (kind's local-path: per node, as HighByte advises appData to
// be), the guard and its ha-role policy installed; the stand-in in HA mode
// in each member, the ha-role sidecar beside it. Every step samples both
// members' /v2/readyz (scenario.Group.SampleRoles) and wants never two
// primaries, and at least one member heard.
func TestHAPairOnTwoRealNodes(t *testing.T) {
	requireRealNode(t)
	g := deployHAPair(t)
	t.Run("both members run, one on each node, one primary, and the Service reaches it alone", g.bothRun)
	t.Run("kill -9 of the primary's process: restarted within its lease, it stays primary; killed again, the kubelet's backoff outlasts the lease, the other member takes over, and the preferred primary takes control back once restarted", g.primaryKilled)
	t.Run("the database stopped: the primary demotes itself before its lease runs out, no member serves, and the preferred primary is back once the database is", g.databaseLost)
	t.Run("a rolling update of the image completes one member at a time, the Service answering throughout but for the failover gap", g.rollingUpdate)
	t.Run("a drain of the standby's node proceeds: the budget lets one member go; the standby is back once the node is uncordoned", g.standbyDrained)
	t.Run("the guard holds the pair: a scale to 3, an HPA and a pod on a member's claim are refused", g.refusals)
	t.Run("node loss: the primary's node powered off, the other member serves with no taint and no person; the lost member's pod stays and comes back with its node", g.primaryNodeLost)
}

// haPair is TestHAPairOnTwoRealNodes' fixture: the group, and its database.
type haPair struct {
	*scenario.Group
	db *postgres.Server
}

// deployHAPair is the fixture: two real nodes of the test's own with the
// stand-in and ha-role images, kind's storage on them, PostgreSQL, prod-ha
// applied as a user applies it, the guard and ha-role's policy; it returns
// once both members are Ready, the roles sampled from then on. Everything
// is deleted when the test ends, before the nodes are removed.
func deployHAPair(t *testing.T) *haPair {
	ctx := context.Background()
	row := overlayRow(t, "prod-ha")
	objs := realNodeRender(t, "prod-ha", "StatefulSet", haTag, nil)
	_, hubTar, err := buildImage(ctx, images.Standin(), prodImage+":"+haTag)
	require.NoError(t, err)
	_, roleTar, err := buildImage(ctx, image.HARole(), "dev")
	require.NoError(t, err)
	onlyRealNode(t)
	nodes := nodesOfItsOwn(t, 2, hubTar, roleTar)
	useKindStorage(t, nodes...)
	db := startDatabase(t)

	namespaces, rest := split(objs)
	require.NoError(t, applier(t).Apply(ctx, namespaces, false))
	store := make([]byte, 64)
	_, err = rand.Read(store)
	require.NoError(t, err)
	applySecrets(t, row.Namespace, exampleDeployment(t), store)
	applyDatabaseSecret(t, row.Namespace, db.JDBCURI())
	t.Cleanup(func() {
		for _, name := range []string{contract.DeploymentSecret, contract.CertificateStoreSecret, contract.GitBackupSecret, contract.HADatabaseSecret} {
			assert.NoError(t, e2e.client.CoreV1().Secrets(row.Namespace).Delete(context.Background(), name, metav1.DeleteOptions{}))
		}
	})
	installHARolePolicy(t)
	require.NoError(t, applier(t).Apply(ctx, rest, false))
	applyGuard(t)
	untilRefused(t, "ha-members", "a scale of StatefulSet "+names.Hub+" to 3 in "+row.Namespace, func(ctx context.Context) error {
		return scale(ctx, e2e.client.AppsV1().StatefulSets(row.Namespace), names.Hub, 3, metav1.UpdateOptions{DryRun: []string{metav1.DryRunAll}})
	})
	g := &haPair{Group: &scenario.Group{Client: e2e.client, Namespace: row.Namespace, Size: int(row.Members), Nodes: nodes}, db: db}
	t.Cleanup(func() {
		// Gone before the nodes and kind's provisioner are: the members
		// stop on their nodes, their claims' volumes are torn down.
		_ = applier(t).Delete(context.Background(), rest)
		g.DeleteClaims(t)
	})
	g.WaitMembersReady(t)
	svc, err := e2e.client.CoreV1().Services(g.Namespace).Get(ctx, names.Hub, metav1.GetOptions{})
	require.NoError(t, err)
	g.Service = standin.NewClient(svc.Spec.ClusterIP)
	g.SampleRoles(t)
	return g
}

func (g *haPair) bothRun(t *testing.T) {
	members := g.Members(t)
	require.Len(t, members, 2)
	assert.NotEqual(t, members[0].Spec.NodeName, members[1].Spec.NodeName, "one member a node")
	primary := g.WaitServedBy(t, "hbih-0", "the preferred primary (create ran on hbih-0)")
	assert.Equal(t, hubfiles.RolePrimary, primary.Labels[names.HARoleLabel], "the sidecar labelled it")
	g.WaitEndpoints(t, primary)
	// Every member Ready, the standby too: the StatefulSet is rolled
	// out, as kubectl, Argo CD's and Flux's health checks read it.
	out, err := kubectl(t, "-n", g.Namespace, "rollout", "status", "statefulset/"+names.Hub, "--timeout=60s")
	require.NoError(t, err, "rollout status with a healthy standby: %s", out)
	g.AssertNeverTwo(t)
}

func (g *haPair) primaryKilled(t *testing.T) {
	primary := g.WaitServedBy(t, "hbih-0", "the preferred primary")
	killed := g.Kill(t, primary)
	g.WaitRestartedPrimary(t, primary)
	again := time.Since(killed)
	t.Logf("kill -9 of the primary to it serving again as primary, restarted by the kubelet within its lease: %s", again.Round(time.Millisecond))

	// The second crash within minutes: the kubelet waits 10 s
	// (CrashLoopBackOff) before it restarts it, past the lease.
	killed = g.Kill(t, g.Member(t, "hbih-0"))
	other := g.Member(t, "hbih-1")
	promoted := g.WaitPrimary(t, other)
	g.WaitEndpoints(t, other)
	routed := time.Since(promoted)
	g.WaitServedBy(t, "hbih-1", "the other member, primary once hbih-0's lease ran out")
	over := time.Since(killed)
	back := g.WaitServedBy(t, "hbih-0", "the preferred primary again, restarted by the kubelet")
	failback := time.Since(killed)
	g.WaitEndpoints(t, back)
	g.AssertNeverTwo(t)
	t.Logf("killed again: the Service answering from the other member %s after the kill (its endpoints %s after its /v2/readyz said primary); back on the preferred primary %s after the kill",
		over.Round(time.Millisecond), routed.Round(time.Millisecond), failback.Round(time.Millisecond))
	writeFigure(t, "ha-restart-within-lease", fmt.Sprintf("HA pair, kill -9 of the primary's process to it serving again as primary, restarted by the kubelet within its lease: %s", again.Round(time.Millisecond)))
	writeFigure(t, "ha-failover-kill", fmt.Sprintf("HA pair, a second kill -9 of the primary (the kubelet's 10 s backoff outlasting the stand-in's 5 s lease) to the Service answering from the other member: %s", over.Round(time.Millisecond)))
	writeFigure(t, "ha-endpoints-after-role-change", fmt.Sprintf("HA pair, the new primary's /v2/readyz answering 200 to the Service's EndpointSlice holding it alone: %s (the ha-role sidecar's 500 ms poll, its label, the EndpointSlice controller)", routed.Round(time.Millisecond)))
	writeFigure(t, "ha-failback", fmt.Sprintf("HA pair, the killed preferred primary restarted by the kubelet (after its backoff) and primary again, %s after the kill", failback.Round(time.Millisecond)))
}

func (g *haPair) databaseLost(t *testing.T) {
	g.WaitServedBy(t, "hbih-0", "the preferred primary")
	stopped := time.Now()
	require.NoError(t, g.db.Halt())
	g.WaitNoPrimary(t, "the database stopped")
	demoted := time.Since(stopped)
	require.NoError(t, g.db.Resume(context.Background()))
	g.WaitServedBy(t, "hbih-0", "the preferred primary, with the database back")
	g.AssertNeverTwo(t)
	t.Logf("database stopped to no primary: %s", demoted.Round(time.Millisecond))
	writeFigure(t, "ha-database-lost", fmt.Sprintf("HA pair, the database stopped to the primary demoted (none serving): %s (the stand-in demotes 1 s before its 5 s lease ends)", demoted.Round(time.Millisecond)))
}

func (g *haPair) rollingUpdate(t *testing.T) {
	ctx := context.Background()
	g.WaitServedBy(t, "hbih-0", "the preferred primary")
	next := haTag + "-next"
	_, tar, err := buildImage(ctx, images.Standin(), prodImage+":"+next)
	require.NoError(t, err)
	for _, n := range g.Nodes {
		require.NoError(t, n.Import(ctx, tar))
	}
	watch := g.WatchService(t)
	require.NoError(t, applier(t).Apply(ctx, realNodeRender(t, "prod-ha", "StatefulSet", next, nil), false))
	g.WaitRolledOut(t)
	g.WaitServedBy(t, "hbih-0", "the preferred primary, updated")
	for _, pod := range g.Members(t) {
		_, h, err := g.Hub(&pod).Readyz(ctx)
		require.NoError(t, err)
		assert.Equal(t, "ha", h.Deployment.Mode)
		assert.Contains(t, pod.Spec.Containers[0].Image, next, "%s runs the new image", pod.Name)
	}
	gaps := watch.Stop(t)
	assert.GreaterOrEqual(t, gaps.FewestReady, 1, "at most one member down at any sample")
	g.AssertNeverTwo(t)
	t.Logf("rolling update: the Service unanswered %d times, the longest %s; at least %d member Ready throughout", gaps.Gaps, gaps.Longest.Round(time.Millisecond), gaps.FewestReady)
	writeFigure(t, "ha-rolling-update", fmt.Sprintf("HA pair, a rolling update of the image: the Service's longest time without an answer %s (the primary's replacement: SIGTERM hands the lease over at once)", gaps.Longest.Round(time.Millisecond)))
}

func (g *haPair) standbyDrained(t *testing.T) {
	g.WaitServedBy(t, "hbih-0", "the preferred primary")
	standby := g.Member(t, "hbih-1")
	drained := g.NodeOf(t, standby)
	out, err := kubectl(t, "drain", drained.Name(), "--ignore-daemonsets", "--delete-emptydir-data", "--pod-selector="+names.HubSelector, "--timeout=2m")
	require.NoError(t, err, "drain %s: %s", drained.Name(), out)
	t.Logf("$ kubectl drain %s\n%s", drained.Name(), strings.TrimSpace(out))
	out, err = kubectl(t, "uncordon", drained.Name())
	require.NoError(t, err, "uncordon: %s", out)
	g.WaitMembersReady(t)
	assert.NotEqual(t, standby.UID, g.Member(t, "hbih-1").UID, "the standby was evicted and made again")
	g.WaitServedBy(t, "hbih-0", "the primary, served throughout")
	g.AssertNeverTwo(t)
}

func (g *haPair) primaryNodeLost(t *testing.T) {
	primary := g.WaitServedBy(t, "hbih-0", "the preferred primary")
	// A change made in the primary's UI, synced to the other member
	// through the database before the node goes.
	ui := []byte(`{"directories": {"appData": "/usr/local/highbyte/appData"}, "settings": {"changed": "in the primary's UI, before its node is lost"}}`)
	require.NoError(t, g.Hub(primary).PutSettings(context.Background(), ui))
	want := standin.Digest(ui)
	other := g.Member(t, "hbih-1")
	g.WaitSynced(t, other, hubfiles.SettingsFile, want)
	lost := g.NodeOf(t, primary)
	off := time.Now()
	require.NoError(t, lost.PowerOff())
	g.WaitServedBy(t, "hbih-1", "the other member")
	over := time.Since(off)
	// The lost member is still Ready (its node is not NotReady yet): the
	// new primary's sidecar took its label, so the Service holds the new
	// primary alone.
	g.WaitEndpoints(t, g.Member(t, "hbih-1"))
	routed := time.Since(off)
	assert.Equal(t, hubfiles.RoleSecondary, g.Member(t, "hbih-0").Labels[names.HARoleLabel], "the lost member's label, taken by the new primary's sidecar")
	assert.Equal(t, want, g.HAStatus(t, other).Files[hubfiles.SettingsFile], "nothing the primary had synced is lost")
	still := g.Member(t, "hbih-0")
	assert.Equal(t, primary.UID, still.UID, "the lost member's pod stays where it was: a StatefulSet never runs two of one ordinal")
	assert.Equal(t, lost.Name(), still.Spec.NodeName)
	require.NoError(t, lost.Restart(context.Background()), "the node comes back")
	g.WaitMembersReady(t)
	g.WaitServedBy(t, "hbih-0", "the preferred primary, back with its node")
	g.AssertNeverTwo(t)
	t.Logf("power-off of the primary's node to the Service answering from the other member: %s; its endpoints holding it alone: %s", over.Round(time.Millisecond), routed.Round(time.Millisecond))
	writeFigure(t, "ha-failover-node-loss", fmt.Sprintf("HA pair, the primary's node powered off to the Service answering from the other member: %s, with no taint and no person", over.Round(time.Millisecond)))
}

// refusals tries what the guard refuses an HA group, on the
// running pair: kubectl scale to 3, an HPA, a debug pod on a member's claim.
func (g *haPair) refusals(t *testing.T) {
	ctx := context.Background()
	out, err := kubectl(t, "-n", g.Namespace, "scale", "statefulset/"+names.Hub, "--replicas=3")
	require.Error(t, err, "a scale to 3: %s", out)
	assert.Contains(t, out, "[ha-members] StatefulSet "+g.Namespace+"/hbih is an HA group of 2 members")
	hpa := &autoscalingv2.HorizontalPodAutoscaler{
		ObjectMeta: metav1.ObjectMeta{Name: "hbih", Namespace: g.Namespace},
		Spec: autoscalingv2.HorizontalPodAutoscalerSpec{MinReplicas: ptr.To[int32](2), MaxReplicas: 4,
			ScaleTargetRef: autoscalingv2.CrossVersionObjectReference{APIVersion: "apps/v1", Kind: "StatefulSet", Name: "hbih"}},
	}
	_, err = e2e.client.AutoscalingV2().HorizontalPodAutoscalers(g.Namespace).Create(ctx, hpa, metav1.CreateOptions{})
	refused(t, err, "autoscalers")
	debug := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "debug", Namespace: g.Namespace}, Spec: restrictedPod("debug", claimVolume("appdata-hbih-0"))}
	_, err = e2e.client.CoreV1().Pods(g.Namespace).Create(ctx, debug, metav1.CreateOptions{})
	refused(t, err, "ha-claims")
	assert.Len(t, g.Members(t), 2, "still two members")
}
