package e2e

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/utils/ptr"

	"github.com/hubkit/hubkit/internal/contract"
	hubfiles "github.com/hubkit/hubkit/internal/hub"
	"github.com/hubkit/hubkit/internal/image"
	"github.com/hubkit/hubkit/test/cluster"
	"github.com/hubkit/hubkit/test/images"
	"github.com/hubkit/hubkit/test/node"
	"github.com/hubkit/hubkit/test/postgres"
	"github.com/hubkit/hubkit/test/render"
	"github.com/hubkit/hubkit/test/scenario"
	"github.com/hubkit/hubkit/test/standin"
)

// haTag is the stand-in's tag as prod-ha runs it on the two real nodes.
const haTag = "prod-ha-e2e"

// haPair is prod-ha running on the two real nodes: its members, the nodes
// they run on, the database, and a sampler of every member's role.
type haPair struct {
	ns      string
	nodes   []*node.Node
	db      *postgres.Server
	service string // the Service's ClusterIP:port
	roles   *roleSampler
}

// TestHAPairOnTwoRealNodes runs prod-ha as users run it, on two real nodes
// (the cluster's AddNode) with a real PostgreSQL, each member on its own
// node and its own claim (kind's local-path: per node, as HighByte advises
// appData to be), the guard and its ha-role policy installed; the stand-in
// in HA mode in each member, the ha-role sidecar beside it. Every scenario
// samples both members' /v2/readyz the whole time and wants never two
// primaries.
func TestHAPairOnTwoRealNodes(t *testing.T) {
	if e2e.cluster.Node == nil {
		t.Skipf("%s names a cluster of your own: a second real node runs on this host only", cluster.ExternalEnv)
	}
	onlyRealNode(t)
	ctx := context.Background()
	row := overlayRow(t, "prod-ha")
	objs := realNodeRender(t, "prod-ha", "StatefulSet", haTag, nil)

	_, hubTar, err := buildImage(ctx, images.Standin(), prodImage+":"+haTag)
	require.NoError(t, err)
	roleRef, err := image.HARole().Ref("dev")
	require.NoError(t, err)
	_, roleTar, err := buildImage(ctx, image.HARole(), "dev")
	require.NoError(t, err)
	first := e2e.cluster.Node
	for _, tar := range []string{hubTar, roleTar} {
		require.NoError(t, first.Import(ctx, tar))
	}
	require.NoError(t, first.HasImage(ctx, roleRef.String()))
	second, err := e2e.cluster.AddNode(ctx, hubTar, roleTar)
	require.NoError(t, err, "start a second real node")
	t.Cleanup(func() { assert.NoError(t, e2e.cluster.RemoveNode(context.Background(), second)) })
	useKindStorage(t, first, second)

	db, err := postgres.Start(ctx, postgres.Options{ListenAddress: e2e.cluster.Database})
	require.NoError(t, err, "start PostgreSQL on %s", e2e.cluster.Database)
	t.Cleanup(func() { assert.NoError(t, db.Stop()) })

	namespaces, rest := split(objs)
	require.NoError(t, applier(t).Apply(ctx, namespaces, false))
	store := make([]byte, 64)
	_, err = rand.Read(store)
	require.NoError(t, err)
	applySecrets(t, row.Namespace, exampleDeployment(t), store)
	applyDatabaseSecret(t, row.Namespace, db.JDBCURI())
	t.Cleanup(func() {
		for _, name := range []string{contract.DeploymentSecret, contract.CertificateStoreSecret, contract.GitBackupSecret, "hbih-db-app"} {
			assert.NoError(t, e2e.client.CoreV1().Secrets(row.Namespace).Delete(context.Background(), name, metav1.DeleteOptions{}))
		}
	})
	installHARolePolicy(t)
	require.NoError(t, applier(t).Apply(ctx, rest, false))
	applyGuard(t)
	untilRefused(t, "ha-members", "a scale of StatefulSet "+scenario.Name+" to 3 in "+row.Namespace, func(ctx context.Context) error {
		return scale(ctx, e2e.client.AppsV1().StatefulSets(row.Namespace), scenario.Name, 3, metav1.UpdateOptions{DryRun: []string{metav1.DryRunAll}})
	})
	t.Cleanup(func() {
		// Gone before the second node and kind's provisioner are: the
		// members stop on their nodes, their claims' volumes are torn down.
		_ = applier(t).Delete(context.Background(), rest)
		for _, name := range []string{"appdata-hbih-0", "appdata-hbih-1"} {
			_ = e2e.client.CoreV1().PersistentVolumeClaims(row.Namespace).Delete(context.Background(), name, metav1.DeleteOptions{})
		}
		scenario.Until(t, "the pair's pods and claims gone", 2*time.Minute, func(ctx context.Context) (bool, string, error) {
			pods, err := e2e.client.CoreV1().Pods(row.Namespace).List(ctx, metav1.ListOptions{LabelSelector: scenario.Selector})
			if err != nil {
				return false, "", err
			}
			claims, err := e2e.client.CoreV1().PersistentVolumeClaims(row.Namespace).List(ctx, metav1.ListOptions{})
			if err != nil {
				return false, "", err
			}
			return len(pods.Items) == 0 && len(claims.Items) == 0, fmt.Sprintf("%d pods, %d claims", len(pods.Items), len(claims.Items)), nil
		})
	})

	p := &haPair{ns: row.Namespace, nodes: []*node.Node{first, second}, db: db}
	p.waitMembersReady(t)
	svc, err := e2e.client.CoreV1().Services(p.ns).Get(ctx, scenario.Name, metav1.GetOptions{})
	require.NoError(t, err)
	p.service = net.JoinHostPort(svc.Spec.ClusterIP, strconv.Itoa(standin.HTTPPort))
	p.roles = sampleRoles(t, p)

	t.Run("both members run, one on each node, one primary, and the Service reaches it alone", func(t *testing.T) {
		members := p.members(t)
		require.Len(t, members, 2)
		assert.NotEqual(t, members[0].Spec.NodeName, members[1].Spec.NodeName, "one member a node")
		primary := p.waitServedBy(t, "hbih-0", "the preferred primary (create ran on hbih-0)")
		assert.Equal(t, "primary", primary.Labels["hubkit.dev/ha-role"], "the sidecar labelled it")
		p.waitEndpoints(t, primary)
		// Every member Ready, the standby too: the StatefulSet is rolled
		// out, as kubectl, Argo CD's and Flux's health checks read it.
		out, err := kubectl(t, "-n", p.ns, "rollout", "status", "statefulset/"+scenario.Name, "--timeout=60s")
		require.NoError(t, err, "rollout status with a healthy standby: %s", out)
		p.roles.assertNeverTwo(t)
	})

	t.Run("kill -9 of the primary's process: restarted within its lease, it stays primary; killed again, the kubelet's backoff outlasts the lease, the other member takes over, and the preferred primary takes control back once restarted", func(t *testing.T) {
		primary := p.waitServedBy(t, "hbih-0", "the preferred primary")
		killed := p.killHub(t, primary)
		p.waitRestartedPrimary(t, primary)
		again := time.Since(killed)
		t.Logf("kill -9 of the primary to it serving again as primary, restarted by the kubelet within its lease: %s", again.Round(time.Millisecond))

		// The second crash within minutes: the kubelet waits 10 s
		// (CrashLoopBackOff) before it restarts it, past the lease.
		primary = p.pod(t, "hbih-0")
		killed = p.killHub(t, primary)
		other := p.pod(t, "hbih-1")
		promoted := p.waitPrimary(t, other)
		p.waitEndpoints(t, other)
		routed := time.Since(promoted)
		p.waitServedBy(t, "hbih-1", "the other member, primary once hbih-0's lease ran out")
		over := time.Since(killed)
		back := p.waitServedBy(t, "hbih-0", "the preferred primary again, restarted by the kubelet")
		failback := time.Since(killed)
		p.waitEndpoints(t, back)
		p.roles.assertNeverTwo(t)
		t.Logf("killed again: the Service answering from the other member %s after the kill (its endpoints %s after its /v2/readyz said primary); back on the preferred primary %s after the kill",
			over.Round(time.Millisecond), routed.Round(time.Millisecond), failback.Round(time.Millisecond))
		writeFigure(t, "ha-restart-within-lease", fmt.Sprintf("HA pair, kill -9 of the primary's process to it serving again as primary, restarted by the kubelet within its lease: %s", again.Round(time.Millisecond)))
		writeFigure(t, "ha-failover-kill", fmt.Sprintf("HA pair, a second kill -9 of the primary (the kubelet's 10 s backoff outlasting the stand-in's 5 s lease) to the Service answering from the other member: %s", over.Round(time.Millisecond)))
		writeFigure(t, "ha-endpoints-after-role-change", fmt.Sprintf("HA pair, the new primary's /v2/readyz answering 200 to the Service's EndpointSlice holding it alone: %s (the ha-role sidecar's 500 ms poll, its label, the EndpointSlice controller)", routed.Round(time.Millisecond)))
		writeFigure(t, "ha-failback", fmt.Sprintf("HA pair, the killed preferred primary restarted by the kubelet (after its backoff) and primary again, %s after the kill", failback.Round(time.Millisecond)))
	})

	t.Run("the database stopped: the primary demotes itself before its lease runs out, no member serves, and the preferred primary is back once the database is", func(t *testing.T) {
		p.waitServedBy(t, "hbih-0", "the preferred primary")
		stopped := time.Now()
		require.NoError(t, p.db.Halt())
		scenario.Until(t, "no member primary without the database", time.Minute, func(ctx context.Context) (bool, string, error) {
			var roles []string
			for _, pod := range p.members(t) {
				r, err := getReadyz(ctx, net.JoinHostPort(pod.Status.PodIP, strconv.Itoa(standin.HTTPPort)))
				if err != nil {
					return false, err.Error(), nil
				}
				if r.Code == http.StatusOK {
					roles = append(roles, pod.Name+" primary")
				}
			}
			return len(roles) == 0, strings.Join(roles, ", "), nil
		})
		demoted := time.Since(stopped)
		require.NoError(t, p.db.Resume(context.Background()))
		p.waitServedBy(t, "hbih-0", "the preferred primary, with the database back")
		p.roles.assertNeverTwo(t)
		t.Logf("database stopped to no primary: %s", demoted.Round(time.Millisecond))
		writeFigure(t, "ha-database-lost", fmt.Sprintf("HA pair, the database stopped to the primary demoted (none serving): %s (the stand-in demotes 1 s before its 5 s lease ends)", demoted.Round(time.Millisecond)))
	})

	t.Run("a rolling update of the image completes one member at a time, the Service answering throughout but for the failover gap", func(t *testing.T) {
		p.waitServedBy(t, "hbih-0", "the preferred primary")
		next := haTag + "-next"
		_, tar, err := buildImage(ctx, images.Standin(), prodImage+":"+next)
		require.NoError(t, err)
		for _, n := range p.nodes {
			require.NoError(t, n.Import(ctx, tar))
		}
		gaps := watchService(t, p)
		require.NoError(t, applier(t).Apply(ctx, realNodeRender(t, "prod-ha", "StatefulSet", next, nil), false))
		scenario.Until(t, "the StatefulSet's rolling update done", 3*time.Minute, func(ctx context.Context) (bool, string, error) {
			s, err := e2e.client.AppsV1().StatefulSets(p.ns).Get(ctx, scenario.Name, metav1.GetOptions{})
			if err != nil {
				return false, "", err
			}
			return s.Status.ObservedGeneration == s.Generation && s.Status.UpdateRevision == s.Status.CurrentRevision && s.Status.UpdatedReplicas == 2 && s.Status.ReadyReplicas == 2,
				fmt.Sprintf("revision %s -> %s, %d updated, %d ready", s.Status.CurrentRevision, s.Status.UpdateRevision, s.Status.UpdatedReplicas, s.Status.ReadyReplicas), nil
		})
		p.waitServedBy(t, "hbih-0", "the preferred primary, updated")
		for _, pod := range p.members(t) {
			r, err := getReadyz(ctx, net.JoinHostPort(pod.Status.PodIP, strconv.Itoa(standin.HTTPPort)))
			require.NoError(t, err)
			assert.Equal(t, "ha", r.Deployment.Mode)
			assert.Contains(t, pod.Spec.Containers[0].Image, next, "%s runs the new image", pod.Name)
		}
		longest, down, fewestReady := gaps.stop()
		assert.GreaterOrEqual(t, fewestReady, 1, "at most one member down at any sample")
		p.roles.assertNeverTwo(t)
		t.Logf("rolling update: the Service unanswered %d times, the longest %s; at least %d member Ready throughout", down, longest.Round(time.Millisecond), fewestReady)
		writeFigure(t, "ha-rolling-update", fmt.Sprintf("HA pair, a rolling update of the image: the Service's longest time without an answer %s (the primary's replacement: SIGTERM hands the lease over at once)", longest.Round(time.Millisecond)))
	})

	t.Run("a drain of the standby's node proceeds: the budget lets one member go; the standby is back once the node is uncordoned", func(t *testing.T) {
		p.waitServedBy(t, "hbih-0", "the preferred primary")
		standby := p.pod(t, "hbih-1")
		drained := p.nodeOf(t, standby)
		out, err := kubectl(t, "drain", drained.Name(), "--ignore-daemonsets", "--delete-emptydir-data", "--pod-selector="+scenario.Selector, "--timeout=2m")
		require.NoError(t, err, "drain %s: %s", drained.Name(), out)
		t.Logf("$ kubectl drain %s\n%s", drained.Name(), strings.TrimSpace(out))
		out, err = kubectl(t, "uncordon", drained.Name())
		require.NoError(t, err, "uncordon: %s", out)
		p.waitMembersReady(t)
		assert.NotEqual(t, standby.UID, p.pod(t, "hbih-1").UID, "the standby was evicted and made again")
		p.waitServedBy(t, "hbih-0", "the primary, served throughout")
		p.roles.assertNeverTwo(t)
	})

	t.Run("the guard holds the pair: a scale to 3, an HPA and a pod on a member's claim are refused", func(t *testing.T) {
		testHAPairRefusals(t, p)
	})

	t.Run("node loss: the primary's node powered off, the other member serves with no taint and no person; the lost member's pod stays and comes back with its node", func(t *testing.T) {
		primary := p.waitServedBy(t, "hbih-0", "the preferred primary")
		// A change made in the primary's UI, synced to the other member
		// through the database before the node goes.
		ui := []byte(`{"directories": {"appData": "/usr/local/highbyte/appData"}, "settings": {"changed": "in the primary's UI, before its node is lost"}}`)
		(&scenario.Hub{Client: e2e.client, Namespace: p.ns, Node: p.nodeOf(t, primary)}).PutSettings(t, primary, ui)
		want := standin.Digest(ui)
		other := p.pod(t, "hbih-1")
		p.waitSynced(t, other, want)
		lost := p.nodeOf(t, primary)
		off := time.Now()
		require.NoError(t, lost.PowerOff())
		p.waitServedBy(t, "hbih-1", "the other member")
		over := time.Since(off)
		// The lost member is still Ready (its node is not NotReady yet):
		// the new primary's sidecar took its label, so the Service holds
		// the new primary alone.
		p.waitEndpoints(t, p.pod(t, "hbih-1"))
		routed := time.Since(off)
		assert.Equal(t, "secondary", p.pod(t, "hbih-0").Labels["hubkit.dev/ha-role"], "the lost member's label, taken by the new primary's sidecar")
		assert.Equal(t, want, p.haStatus(t, other).Files[hubfiles.SettingsFile], "nothing the primary had synced is lost")
		still := p.pod(t, "hbih-0")
		assert.Equal(t, primary.UID, still.UID, "the lost member's pod stays where it was: a StatefulSet never runs two of one ordinal")
		assert.Equal(t, lost.Name(), still.Spec.NodeName)
		require.NoError(t, lost.Restart(context.Background()), "the node comes back")
		p.waitMembersReady(t)
		p.waitServedBy(t, "hbih-0", "the preferred primary, back with its node")
		p.roles.assertNeverTwo(t)
		t.Logf("power-off of the primary's node to the Service answering from the other member: %s; its endpoints holding it alone: %s", over.Round(time.Millisecond), routed.Round(time.Millisecond))
		writeFigure(t, "ha-failover-node-loss", fmt.Sprintf("HA pair, the primary's node powered off to the Service answering from the other member: %s, with no taint and no person", over.Round(time.Millisecond)))
	})
}

// testHAPairRefusals tries what the guard refuses an HA group, on the
// running pair: kubectl scale to 3, an HPA, a debug pod on a member's claim.
func testHAPairRefusals(t *testing.T, p *haPair) {
	ctx := context.Background()
	out, err := kubectl(t, "-n", p.ns, "scale", "statefulset/"+scenario.Name, "--replicas=3")
	require.Error(t, err, "a scale to 3: %s", out)
	assert.Contains(t, out, "[ha-members] StatefulSet "+p.ns+"/hbih is an HA group of 2 members")
	hpa := &autoscalingv2.HorizontalPodAutoscaler{
		ObjectMeta: metav1.ObjectMeta{Name: "hbih", Namespace: p.ns},
		Spec: autoscalingv2.HorizontalPodAutoscalerSpec{MinReplicas: ptr.To[int32](2), MaxReplicas: 4,
			ScaleTargetRef: autoscalingv2.CrossVersionObjectReference{APIVersion: "apps/v1", Kind: "StatefulSet", Name: "hbih"}},
	}
	_, err = e2e.client.AutoscalingV2().HorizontalPodAutoscalers(p.ns).Create(ctx, hpa, metav1.CreateOptions{})
	refused(t, err, "autoscalers")
	debug := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "debug", Namespace: p.ns}, Spec: restrictedPod("debug", claimVolume("appdata-hbih-0"))}
	_, err = e2e.client.CoreV1().Pods(p.ns).Create(ctx, debug, metav1.CreateOptions{})
	refused(t, err, "ha-claims")
	assert.Len(t, p.members(t), 2, "still two members")
}

// pod is the member called name now.
func (p *haPair) pod(t *testing.T, name string) *corev1.Pod {
	t.Helper()
	pod, err := e2e.client.CoreV1().Pods(p.ns).Get(context.Background(), name, metav1.GetOptions{})
	require.NoError(t, err)
	return pod
}

// applyDatabaseSecret makes the Secret prod-ha reads its database's JDBC
// URI from, as overlays/prod-ha/secrets does from jdbc-uri.
func applyDatabaseSecret(t *testing.T, ns, uri string) {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "secrets")
	require.NoError(t, os.CopyFS(dir, os.DirFS(filepath.Join(e2e.root, "overlays", "prod-ha", "secrets"))))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "jdbc-uri"), []byte(uri), 0o600))
	out, err := render.Krusty(dir)
	require.NoError(t, err)
	objs, err := cluster.Objects(out)
	require.NoError(t, err)
	var db []*unstructured.Unstructured
	for _, o := range objs {
		if o.GetName() == "hbih-db-app" {
			db = append(db, o)
		}
	}
	require.Len(t, db, 1, "overlays/prod-ha/secrets makes hbih-db-app")
	db[0].SetNamespace(ns)
	require.NoError(t, applier(t).Apply(context.Background(), db, false))
}

// installHARolePolicy applies guard/ha-role for the test, with no warning
// from the API server, and waits until it has type-checked it.
func installHARolePolicy(t *testing.T) {
	t.Helper()
	out, err := render.Krusty(filepath.Join(e2e.root, "guard", "ha-role"))
	require.NoError(t, err)
	policy, err := cluster.Objects(out)
	require.NoError(t, err)
	appliesWithoutWarning(t, policy)
	require.NoError(t, applier(t).Apply(context.Background(), policy, false))
	t.Cleanup(func() { _ = applier(t).Delete(context.Background(), policy) })
	waitForTypeChecked(t, "hubkit-ha-role")
}

// members are the pair's pods, by name.
func (p *haPair) members(t *testing.T) []corev1.Pod {
	t.Helper()
	pods, err := e2e.client.CoreV1().Pods(p.ns).List(context.Background(), metav1.ListOptions{LabelSelector: scenario.Selector})
	require.NoError(t, err)
	slices.SortFunc(pods.Items, func(a, b corev1.Pod) int { return strings.Compare(a.Name, b.Name) })
	return pods.Items
}

// waitMembersReady waits until both members run Ready (alive: /v2/livez).
func (p *haPair) waitMembersReady(t *testing.T) {
	t.Helper()
	scenario.Until(t, "both members of the pair Ready", 3*time.Minute, func(ctx context.Context) (bool, string, error) {
		pods, err := e2e.client.CoreV1().Pods(p.ns).List(ctx, metav1.ListOptions{LabelSelector: scenario.Selector})
		if err != nil {
			return false, "", err
		}
		var seen []string
		ready := 0
		for _, pod := range pods.Items {
			r := scenario.PodReady(&pod)
			if r && pod.DeletionTimestamp == nil {
				ready++
			}
			seen = append(seen, fmt.Sprintf("%s on %q %s ready=%t role=%s", pod.Name, pod.Spec.NodeName, pod.Status.Phase, r, pod.Labels["hubkit.dev/ha-role"]))
		}
		return ready == 2, strings.Join(seen, "; "), nil
	})
}

// readyz is what a member's /v2/readyz says: its status and its body.
type readyz struct {
	Code       int
	Deployment struct {
		Mode          string `json:"mode"`
		Role          string `json:"role"`
		NodeID        string `json:"nodeId"`
		PrimaryNodeID string `json:"primaryNodeId"`
	} `json:"deployment"`
}

var haClient = &http.Client{Timeout: 500 * time.Millisecond, Transport: &http.Transport{DisableKeepAlives: true}}

func getReadyz(ctx context.Context, addr string) (readyz, error) {
	var r readyz
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+addr+"/v2/readyz", nil)
	if err != nil {
		return r, err
	}
	resp, err := haClient.Do(req)
	if err != nil {
		return r, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return r, err
	}
	r.Code = resp.StatusCode
	return r, json.Unmarshal(b, &r)
}

// waitServedBy waits until the Service answers from the member called
// name, as primary, and returns its pod.
func (p *haPair) waitServedBy(t *testing.T, name, why string) *corev1.Pod {
	t.Helper()
	scenario.Until(t, "the Service to answer from "+name+", "+why, 2*time.Minute, func(ctx context.Context) (bool, string, error) {
		r, err := getReadyz(ctx, p.service)
		if err != nil {
			return false, err.Error(), nil
		}
		return r.Code == http.StatusOK && r.Deployment.NodeID == name && r.Deployment.Role == "primary",
			fmt.Sprintf("%d from %s (%s)", r.Code, r.Deployment.NodeID, r.Deployment.Role), nil
	})
	pod, err := e2e.client.CoreV1().Pods(p.ns).Get(context.Background(), name, metav1.GetOptions{})
	require.NoError(t, err)
	return pod
}

// waitRestartedPrimary waits until the member pod was restarted (its hub
// container's restart count up) and the Service answers from it as
// primary.
func (p *haPair) waitRestartedPrimary(t *testing.T, pod *corev1.Pod) {
	t.Helper()
	restarts := func(pod *corev1.Pod) int32 {
		for _, c := range pod.Status.ContainerStatuses {
			if c.Name == scenario.Container {
				return c.RestartCount
			}
		}
		return 0
	}
	before := restarts(pod)
	scenario.Until(t, pod.Name+" restarted by the kubelet", time.Minute, func(ctx context.Context) (bool, string, error) {
		now, err := e2e.client.CoreV1().Pods(p.ns).Get(ctx, pod.Name, metav1.GetOptions{})
		if err != nil {
			return false, "", err
		}
		return restarts(now) > before && scenario.PodReady(now), fmt.Sprintf("restarts %d, ready %t", restarts(now), scenario.PodReady(now)), nil
	})
	p.waitServedBy(t, pod.Name, "restarted")
}

// haStatus is what a member's GET /debug/ha says.
func (p *haPair) haStatus(t *testing.T, pod *corev1.Pod) standin.HAStatus {
	t.Helper()
	var st standin.HAStatus
	require.NoError(t, getJSON(context.Background(), net.JoinHostPort(pod.Status.PodIP, strconv.Itoa(standin.HTTPPort)), "/debug/ha", &st))
	return st
}

// waitSynced waits until member pod holds the settings file with the
// digest want: the primary's, synced through the database.
func (p *haPair) waitSynced(t *testing.T, pod *corev1.Pod, want string) {
	t.Helper()
	addr := net.JoinHostPort(pod.Status.PodIP, strconv.Itoa(standin.HTTPPort))
	scenario.Until(t, pod.Name+" to hold the primary's settings, synced", time.Minute, func(ctx context.Context) (bool, string, error) {
		var st standin.HAStatus
		if err := getJSON(ctx, addr, "/debug/ha", &st); err != nil {
			return false, err.Error(), nil
		}
		return st.Files[hubfiles.SettingsFile] == want, fmt.Sprintf("files %v", st.Files), nil
	})
}

func getJSON(ctx context.Context, addr, path string, out any) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+addr+path, nil)
	if err != nil {
		return err
	}
	resp, err := haClient.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("GET %s: %s", path, resp.Status)
	}
	return json.NewDecoder(resp.Body).Decode(out)
}

// waitPrimary waits until pod's own /v2/readyz says it is primary, and
// returns when it first did.
func (p *haPair) waitPrimary(t *testing.T, pod *corev1.Pod) time.Time {
	t.Helper()
	var at time.Time
	addr := net.JoinHostPort(pod.Status.PodIP, strconv.Itoa(standin.HTTPPort))
	scenario.Until(t, pod.Name+"'s /v2/readyz to say primary", time.Minute, func(ctx context.Context) (bool, string, error) {
		r, err := getReadyz(ctx, addr)
		if err != nil {
			return false, err.Error(), nil
		}
		at = time.Now()
		return r.Code == http.StatusOK && r.Deployment.Role == "primary", fmt.Sprintf("%d, role %s", r.Code, r.Deployment.Role), nil
	})
	return at
}

// waitEndpoints waits until the Service's EndpointSlices list primary's
// address alone, ready.
func (p *haPair) waitEndpoints(t *testing.T, primary *corev1.Pod) {
	t.Helper()
	scenario.Until(t, "the Service's endpoints to hold "+primary.Name+" alone", 30*time.Second, func(ctx context.Context) (bool, string, error) {
		slices, err := e2e.client.DiscoveryV1().EndpointSlices(p.ns).List(ctx, metav1.ListOptions{LabelSelector: "kubernetes.io/service-name=" + scenario.Name})
		if err != nil {
			return false, "", err
		}
		var ready []string
		for _, s := range slices.Items {
			for _, e := range s.Endpoints {
				if e.Conditions.Ready != nil && *e.Conditions.Ready {
					ready = append(ready, e.Addresses...)
				}
			}
		}
		return len(ready) == 1 && ready[0] == primary.Status.PodIP, fmt.Sprintf("ready endpoints %v, want [%s]", ready, primary.Status.PodIP), nil
	})
}

// roleSampler asks both members' /v2/readyz every 100 ms for the test's
// whole life and keeps every sample in which more than one said primary.
type roleSampler struct {
	mu      sync.Mutex
	samples int
	two     []string
}

func sampleRoles(t *testing.T, p *haPair) *roleSampler {
	t.Helper()
	s := &roleSampler{}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		tick := time.NewTicker(100 * time.Millisecond)
		defer tick.Stop()
		for {
			pods, err := e2e.client.CoreV1().Pods(p.ns).List(ctx, metav1.ListOptions{LabelSelector: scenario.Selector})
			if err == nil {
				var primaries []string
				for _, pod := range pods.Items {
					if pod.Status.PodIP == "" {
						continue
					}
					r, err := getReadyz(ctx, net.JoinHostPort(pod.Status.PodIP, strconv.Itoa(standin.HTTPPort)))
					if err == nil && r.Code == http.StatusOK {
						primaries = append(primaries, pod.Name)
					}
				}
				s.mu.Lock()
				s.samples++
				if len(primaries) > 1 {
					s.two = append(s.two, time.Now().Format(time.StampMilli)+": "+strings.Join(primaries, ", "))
				}
				s.mu.Unlock()
			}
			select {
			case <-ctx.Done():
				return
			case <-tick.C:
			}
		}
	}()
	t.Cleanup(func() {
		cancel()
		<-done
		s.assertNeverTwo(t)
	})
	return s
}

// assertNeverTwo wants no sample so far with two primaries.
func (s *roleSampler) assertNeverTwo(t *testing.T) {
	t.Helper()
	s.mu.Lock()
	defer s.mu.Unlock()
	assert.NotZero(t, s.samples, "the roles were sampled")
	assert.Empty(t, s.two, "two primaries at once, in %d samples", s.samples)
}

// killHub kills -9 the Hub's process in pod, on the node it runs on, and
// returns when.
func (p *haPair) killHub(t *testing.T, pod *corev1.Pod) time.Time {
	t.Helper()
	return (&scenario.Hub{Client: e2e.client, Namespace: p.ns, Node: p.nodeOf(t, pod)}).Kill(t, pod)
}

func (p *haPair) nodeOf(t *testing.T, pod *corev1.Pod) *node.Node {
	t.Helper()
	for _, n := range p.nodes {
		if n.Name() == pod.Spec.NodeName {
			return n
		}
	}
	t.Fatalf("pod %s runs on %q, no real node", pod.Name, pod.Spec.NodeName)
	return nil
}

// serviceGaps asks the Service every 100 ms until stopped and keeps the
// spans in which it gave no answer from a primary, and the fewest members
// Ready at any sample.
type serviceGaps struct {
	stop func() (longest time.Duration, spans, fewestReady int)
}

func watchService(t *testing.T, p *haPair) serviceGaps {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	var longest time.Duration
	var spans int
	fewestReady := 2
	go func() {
		defer close(done)
		var since time.Time
		for ctx.Err() == nil {
			if pods, err := e2e.client.CoreV1().Pods(p.ns).List(ctx, metav1.ListOptions{LabelSelector: scenario.Selector}); err == nil {
				ready := 0
				for _, pod := range pods.Items {
					if pod.DeletionTimestamp == nil && scenario.PodReady(&pod) {
						ready++
					}
				}
				fewestReady = min(fewestReady, ready)
			}
			r, err := getReadyz(ctx, p.service)
			now := time.Now()
			switch {
			case err == nil && r.Code == http.StatusOK:
				if !since.IsZero() {
					longest = max(longest, now.Sub(since))
					since = time.Time{}
				}
			case since.IsZero():
				since = now
				spans++
			}
			select {
			case <-ctx.Done():
			case <-time.After(100 * time.Millisecond):
			}
		}
	}()
	stopped := false
	stop := func() (time.Duration, int, int) {
		if !stopped {
			stopped = true
			cancel()
			<-done
		}
		return longest, spans, fewestReady
	}
	t.Cleanup(func() { stop() })
	return serviceGaps{stop: stop}
}
