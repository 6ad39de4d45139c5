package e2e

import (
	"context"
	"crypto/rand"
	"fmt"
	"net"
	"slices"
	"strconv"
	"testing"
	"time"

	hubfiles "github.com/hubkit/hubkit/internal/hub"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/hubkit/hubkit/internal/contract"
	"github.com/hubkit/hubkit/test/node"
	"github.com/hubkit/hubkit/test/scenario"
)

// The namespaces TestNetworkPolicy's client pods run in, beside the Hub's
// own: one that declares itself an MQTT client, one that does not, and the
// Ingress controller's (prod's network-policy-http-from-ingress-controller.yaml).
const (
	netpolMQTTClients = "hubkit-netpol-mqtt-clients"
	netpolOther       = "hubkit-netpol-other"
	netpolIngress     = "ingress-nginx"
	// netpolOwn stands for the Hub's own namespace in the table.
	netpolOwn = "(the Hub's own)"
	// mqttClientLabel is the label the MQTT rule selects namespaces by.
	mqttClientLabel = "hubkit.dev/mqtt-client"
)

// netpolWalls is the README's "Who may reach it" table for the overlays the
// real node runs: the namespaces whose pods may reach the Hub's http port
// (the row's middle column) and its MQTT port (its last: the namespaces
// labelled as MQTT clients, in every overlay). Every client namespace not
// listed may not. kind's "anywhere" is every client and the host through
// the NodePort.
var netpolWalls = []struct {
	overlay  string
	httpFrom []string
	nodePort bool
}{
	{overlay: "dev", httpFrom: []string{netpolOwn}},
	{overlay: "kind", httpFrom: []string{netpolOwn, netpolOther, netpolMQTTClients, netpolIngress}, nodePort: true},
	{overlay: "prod", httpFrom: []string{netpolIngress}},
}

var netpolMQTTFrom = []string{netpolMQTTClients}

// TestNetworkPolicy enforces NetworkPolicy on the real node with a real
// implementation (node.EnforceNetworkPolicy: kube-router's firewall, see
// docs/end-to-end.md) and, for each overlay the real node runs, deploys
// the Hub and tries every row of the README's "who may reach it" table
// from a pod that may and from one that may not: a stand-in pod in the
// Hub's own namespace, in a namespace labelled as an MQTT client, in one
// that is not, and in the Ingress controller's. A connection allowed is a
// TCP handshake done; one refused is one not done within a timeout (the
// agent drops it). Every client pod first reaches a pod that no policy
// selects, so that none fails for want of a network. The agent runs on
// the first real node for the test's life only; Stop removes its rules.
func TestNetworkPolicy(t *testing.T) {
	requireRealNode(t)
	onlyRealNode(t)
	ctx := context.Background()
	n := e2e.cluster.Node
	started := time.Now()
	require.NoError(t, n.EnforceNetworkPolicy(ctx), "start the NetworkPolicy agent on %s", n.Name())
	t.Cleanup(func() { assert.NoError(t, n.StopNetworkPolicy(), "stop the NetworkPolicy agent and remove its rules") })
	t.Logf("NetworkPolicy agent on %s writing its chains in %s", n.Name(), time.Since(started).Round(10*time.Millisecond))

	ref := hubImage(t, realNodeRender(t, "dev", "Deployment", prodTag, nil))
	loadStandin(t, ref)
	clients := map[string]*corev1.Pod{}
	for _, ns := range []string{netpolMQTTClients, netpolOther, netpolIngress} {
		labels := map[string]string{}
		if slices.Contains(netpolMQTTFrom, ns) {
			labels[mqttClientLabel] = "true"
		}
		namespaceWithLabels(t, ns, labels)
		clients[ns] = runStandinOn(t, n, ns, "netpol-client", ref)
	}
	t.Run("every client pod reaches another, which no NetworkPolicy selects", func(t *testing.T) {
		for from, to := range map[string]string{netpolMQTTClients: netpolOther, netpolOther: netpolIngress, netpolIngress: netpolMQTTClients} {
			target := net.JoinHostPort(clients[to].Status.PodIP, strconv.Itoa(hubfiles.HTTPPort))
			scenario.Until(t, "the client in "+from+" to reach the one in "+to+" at "+target, 30*time.Second, try(n, clients[from], target, true))
		}
	})

	for _, wall := range netpolWalls {
		t.Run(wall.overlay, func(t *testing.T) {
			row := overlayRow(t, wall.overlay)
			objs := realNodeRender(t, wall.overlay, "Deployment", prodTag, nil)
			loadStandin(t, hubImage(t, objs)) // each overlay names the Hub's image its own way
			namespaces, _ := split(objs)
			require.NoError(t, applier(t).Apply(ctx, namespaces, false))
			if row.DeploymentFile {
				prodSecrets(t, row.Namespace)
			}
			require.NoError(t, applier(t).Apply(ctx, objs, false))
			t.Cleanup(func() { undeploy(t, objs) })
			hub := hubIn(row.Namespace)
			hub.WaitBound(t) // prod's 50Gi takes its time on the CSI disk
			pod := hub.WaitReady(t)
			// Named for the overlay: kind's and prod's share a namespace, and
			// a deleted stand-in takes a while to stop.
			own := runStandinOn(t, n, row.Namespace, "netpol-client-"+wall.overlay, ref)
			t.Cleanup(func() {
				_ = e2e.client.CoreV1().Pods(row.Namespace).Delete(context.Background(), own.Name, metav1.DeleteOptions{})
			})
			from := map[string]*corev1.Pod{netpolOwn: own}
			for ns, c := range clients {
				from[ns] = c
			}

			type attempt struct {
				what, addr string
				client     *corev1.Pod
				allowed    bool
			}
			var attempts []attempt
			for _, p := range []struct {
				name  string
				port  int
				allow []string
			}{{"http", hubfiles.HTTPPort, wall.httpFrom}, {"MQTT", hubfiles.MQTTPort, netpolMQTTFrom}} {
				for _, ns := range []string{netpolOwn, netpolMQTTClients, netpolOther, netpolIngress} {
					allowed := slices.Contains(p.allow, ns)
					word := "refused"
					if allowed {
						word = "reached"
					}
					attempts = append(attempts, attempt{
						what:   fmt.Sprintf("%s (%d) from a pod in %s: %s", p.name, p.port, ns, word),
						addr:   net.JoinHostPort(pod.Status.PodIP, strconv.Itoa(p.port)),
						client: from[ns], allowed: allowed,
					})
				}
			}
			reached := 0
			for _, a := range attempts {
				t.Run(a.what, func(t *testing.T) {
					scenario.Until(t, a.what, 30*time.Second, try(n, a.client, a.addr, a.allowed))
					if a.allowed {
						reached++
					}
				})
			}
			if wall.nodePort {
				t.Run("http through the NodePort from the host: reached", func(t *testing.T) {
					addr := net.JoinHostPort(n.IP().String(), strconv.Itoa(int(row.NodePort)))
					scenario.Until(t, "the host to reach "+addr, 30*time.Second, func(ctx context.Context) (bool, string, error) {
						err := dialOnce(ctx, addr, func(ctx context.Context, addr string) (net.Conn, error) {
							var d net.Dialer
							return d.DialContext(ctx, "tcp", addr)
						})
						return err == nil, fmt.Sprint(err), nil
					})
					reached++
				})
			}
			t.Run("every try again: the same answers, at least one connection made", func(t *testing.T) {
				require.Positive(t, reached, "no allowed connection was made: the refusals prove nothing")
				for _, a := range attempts {
					ok, seen, _ := try(n, a.client, a.addr, a.allowed)(ctx)
					assert.True(t, ok, "%s: %s", a.what, seen)
				}
			})
		})
	}
}

// netpolDialTimeout is how long a try waits for a TCP handshake: a
// connection the agent drops is refused after it.
const netpolDialTimeout = 2 * time.Second

// try is a condition that holds when a connection from client to addr is
// made (want) or refused (!want).
func try(n *node.Node, client *corev1.Pod, addr string, want bool) scenario.Condition {
	cid := containerID(client)
	return func(ctx context.Context) (bool, string, error) {
		err := dialOnce(ctx, addr, func(ctx context.Context, addr string) (net.Conn, error) {
			return n.DialFromPod(ctx, cid, addr)
		})
		if err == nil {
			return want, "connected", nil
		}
		return !want, "not connected: " + err.Error(), nil
	}
}

// dialOnce opens and closes one TCP connection to addr, waiting at most
// netpolDialTimeout for it.
func dialOnce(ctx context.Context, addr string, dial func(context.Context, string) (net.Conn, error)) error {
	ctx, cancel := context.WithTimeout(ctx, netpolDialTimeout)
	defer cancel()
	conn, err := dial(ctx, addr)
	if err != nil {
		return err
	}
	return conn.Close()
}

// prodSecrets makes the Secrets prod's Hub starts with (TestProdOnTheRealNode's)
// and deletes them when the test ends.
func prodSecrets(t *testing.T, ns string) {
	t.Helper()
	store := make([]byte, 64)
	_, err := rand.Read(store)
	require.NoError(t, err)
	applySecrets(t, ns, exampleDeployment(t), store)
	t.Cleanup(func() {
		for _, name := range []string{contract.DeploymentSecret, contract.CertificateStoreSecret, contract.GitBackupSecret} {
			assert.NoError(t, e2e.client.CoreV1().Secrets(ns).Delete(context.Background(), name, metav1.DeleteOptions{}))
		}
	})
}

// namespaceWithLabels creates namespace name with labels, deleted when the
// test ends.
func namespaceWithLabels(t *testing.T, name string, labels map[string]string) {
	t.Helper()
	namespaces := e2e.client.CoreV1().Namespaces()
	_, err := namespaces.Create(context.Background(), &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: name, Labels: labels}}, metav1.CreateOptions{})
	require.NoError(t, err, "namespace %s", name)
	t.Cleanup(func() {
		if err := namespaces.Delete(context.Background(), name, metav1.DeleteOptions{}); err != nil && !apierrors.IsNotFound(err) {
			t.Errorf("delete namespace %s: %v", name, err)
		}
	})
}
