package e2e

import (
	"bufio"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"

	hubfiles "github.com/hubkit/hubkit/internal/hub"
	"github.com/hubkit/hubkit/test/images"
	"github.com/hubkit/hubkit/test/node"
	"github.com/hubkit/hubkit/test/scenario"
	"github.com/hubkit/hubkit/test/standin"
)

// twoNodesNamespace holds TestTwoRealNodes' pods and Service, which run
// the stand-in built as twoNodesImage.
const (
	twoNodesNamespace = "hubkit-two-nodes-e2e"
	twoNodesImage     = "docker.io/library/hubkit-standin:two-nodes"
)

// TestTwoRealNodes runs a second real node beside the first (the cluster's
// AddNode: its own containerd, kubelet, kube-proxy, bridge and quarter of
// the run's pod range, in the host's network namespace: test/node's Network)
// and a stand-in pod on each, and pins the network HA mode needs: pods
// reach each other across nodes, a Service through kube-proxy, and the
// database's address on the host, and nothing else; the two kube-proxies
// keep the one set of iptables rules as it is; a powered-off node's pods
// stop answering.
func TestTwoRealNodes(t *testing.T) {
	requireRealNode(t)
	onlyRealNode(t)
	ctx := context.Background()
	ref, tar, err := buildImage(ctx, images.Standin(), twoNodesImage)
	require.NoError(t, err)
	first := e2e.cluster.Node
	require.NoError(t, first.Import(ctx, tar), "import the stand-in into %s", first.Name())
	started := time.Now()
	second, err := e2e.cluster.AddNode(ctx, tar)
	require.NoError(t, err, "start a second real node")
	t.Cleanup(func() { assert.NoError(t, e2e.cluster.RemoveNode(context.Background(), second)) })
	t.Logf("second real node %s (%s) Ready in %s", second.Name(), second.IP(), time.Since(started).Round(10*time.Millisecond))

	ensureNamespace(t, twoNodesNamespace)
	t.Cleanup(func() {
		_ = e2e.client.CoreV1().Namespaces().Delete(context.Background(), twoNodesNamespace, metav1.DeleteOptions{})
	})
	a := runStandinOn(t, first, twoNodesNamespace, "standin-a", ref)
	b := runStandinOn(t, second, twoNodesNamespace, "standin-b", ref)
	fromA, fromB := podClient(first, a), podClient(second, b)
	svc := standinService(t, "standin-b")

	t.Run("a pod on one node reaches a pod on the other over HTTP, both ways", func(t *testing.T) {
		assert.Equal(t, b.Name, standinHost(t, fromA, b.Status.PodIP), "pod A on %s reached pod B on %s", first.Name(), second.Name())
		assert.Equal(t, a.Name, standinHost(t, fromB, a.Status.PodIP), "pod B on %s reached pod A on %s", second.Name(), first.Name())
	})
	t.Run("a pod reaches a ClusterIP Service whose pod runs on the other node", func(t *testing.T) {
		// kube-proxy writes the Service's rules a moment after its
		// EndpointSlice: asked until they are there.
		addr := net.JoinHostPort(svc.Spec.ClusterIP, strconv.Itoa(hubfiles.HTTPPort))
		scenario.Until(t, "pod A to reach "+addr+" (Service "+svc.Name+")", 30*time.Second, func(ctx context.Context) (bool, string, error) {
			host, err := getStandinHost(ctx, fromA, addr)
			return host == b.Name, "answered by " + host, err
		})
	})
	t.Run("a pod reaches the database's address on the host and logs in there from its own address", func(t *testing.T) {
		db := startDatabase(t)
		for _, p := range []struct {
			n   *node.Node
			pod *corev1.Pod
		}{{first, a}, {second, b}} {
			cfg, err := pgx.ParseConfig(db.DSN())
			require.NoError(t, err)
			cid := containerID(p.pod)
			cfg.DialFunc = func(ctx context.Context, _, addr string) (net.Conn, error) { return p.n.DialFromPod(ctx, cid, addr) }
			conn, err := pgx.ConnectConfig(ctx, cfg)
			require.NoError(t, err, "log in to %s from %s", db.Addr(), p.pod.Name)
			var client string
			require.NoError(t, conn.QueryRow(ctx, "SELECT host(inet_client_addr())").Scan(&client))
			assert.Equal(t, p.pod.Status.PodIP, client, "the server saw the pod's own address")
			require.NoError(t, conn.Close(ctx))
		}
	})
	t.Run("a pod reaches nothing beyond the nodes, the Services and the database: unreachable", func(t *testing.T) {
		targets := []string{"1.1.1.1:80", net.JoinHostPort(unusedServiceIP(t).String(), "80")}
		for _, h := range hostAddrs(t) {
			targets = append(targets, net.JoinHostPort(h.String(), "22"))
		}
		for _, target := range targets {
			_, err := getStandinHost(ctx, fromA, target)
			assert.True(t, unreachable(err), "pod A to %s: want unreachable, got %v", target, err)
		}
	})
	t.Run("two kube-proxies in one network namespace write the same rules: a full sync of each leaves them as they were, NodePorts answering on both nodes", func(t *testing.T) {
		port := strconv.Itoa(int(svc.Spec.Ports[0].NodePort))
		host := &http.Client{Timeout: 2 * time.Second, Transport: &http.Transport{DisableKeepAlives: true}}
		answers := func(ctx context.Context) (bool, string, error) {
			for _, n := range []*node.Node{first, second} {
				url := "http://" + net.JoinHostPort(n.IP().String(), port) + "/debug/standin"
				got, err := getStandinHostURL(ctx, host, url)
				if err != nil || got != b.Name {
					return false, url + " answered by " + got, err
				}
			}
			return true, "", nil
		}
		scenario.Until(t, "the NodePort to answer on both nodes", 30*time.Second, answers)
		rules := kubeRules(t)
		// A kube-proxy's full syncs come at its start and then hourly (or
		// when its canary chain is gone): restarted, each rewrites every
		// chain it keeps over what the other wrote.
		for _, n := range []*node.Node{first, second, first} {
			require.NoError(t, n.RestartKubeProxy(ctx))
			scenario.Until(t, "the restarted kube-proxy of "+n.Name()+" to make its full sync", 30*time.Second, func(ctx context.Context) (bool, string, error) {
				syncs, err := fullSyncs(ctx, n)
				return syncs > 0, fmt.Sprint(syncs, " full syncs"), err
			})
			assert.Equal(t, rules, kubeRules(t), "the KUBE-* rules after the full sync of %s's kube-proxy", n.Name())
			ok, seen, err := answers(ctx)
			assert.True(t, ok && err == nil, "the NodePort answers on both nodes after the full sync of %s's kube-proxy: %s %v", n.Name(), seen, err)
		}
	})
	// Last: the second node stays off.
	t.Run("a powered-off node's pods are unreachable from the other node's, and its address answers no more", func(t *testing.T) {
		require.NoError(t, second.PowerOff())
		podB := net.JoinHostPort(b.Status.PodIP, strconv.Itoa(hubfiles.HTTPPort))
		scenario.Until(t, "pod A's connection to pod B at "+podB+" unreachable", 10*time.Second, func(ctx context.Context) (bool, string, error) {
			host, err := getStandinHost(ctx, fromA, podB)
			return unreachable(err), fmt.Sprintf("answered by %q, error %v", host, err), nil
		})
		// The node's address is gone from the host, but the first node's
		// kube-proxy still rewrites connections to its NodePort until its
		// next sync: to pod B, which is gone. Nothing answers either way.
		nodePort := net.JoinHostPort(second.IP().String(), strconv.Itoa(int(svc.Spec.Ports[0].NodePort)))
		scenario.Until(t, "no answer at the powered-off node's NodePort "+nodePort+" from pod A", 10*time.Second, func(ctx context.Context) (bool, string, error) {
			host, err := getStandinHost(ctx, fromA, nodePort)
			return err != nil, fmt.Sprintf("answered by %q", host), nil
		})
	})
}

// standinService is a NodePort Service (and so a ClusterIP) for the pod
// labelled app=name.
func standinService(t *testing.T, name string) *corev1.Service {
	t.Helper()
	svc, err := e2e.client.CoreV1().Services(twoNodesNamespace).Create(context.Background(), &corev1.Service{
		ObjectMeta: metav1.ObjectMeta{Name: name},
		Spec: corev1.ServiceSpec{
			Type:     corev1.ServiceTypeNodePort,
			Selector: map[string]string{"app": name},
			Ports:    []corev1.ServicePort{{Name: "http", Port: hubfiles.HTTPPort, TargetPort: intstr.FromInt32(hubfiles.HTTPPort)}},
		},
	}, metav1.CreateOptions{})
	require.NoError(t, err)
	return svc
}

// standinHost asks the stand-in at ip which pod it is.
func standinHost(t *testing.T, c *http.Client, ip string) string {
	t.Helper()
	host, err := getStandinHost(context.Background(), c, net.JoinHostPort(ip, strconv.Itoa(hubfiles.HTTPPort)))
	require.NoError(t, err)
	return host
}

// getStandinHost is the hostname (its pod's name) the stand-in at addr
// reports on GET /debug/standin.
func getStandinHost(ctx context.Context, c *http.Client, addr string) (string, error) {
	return getStandinHostURL(ctx, c, "http://"+addr+"/debug/standin")
}

func getStandinHostURL(ctx context.Context, c *http.Client, url string) (string, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return "", err
	}
	resp, err := c.Do(req)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return "", fmt.Errorf("GET %s: %s", url, resp.Status)
	}
	var st standin.Status
	if err := json.NewDecoder(resp.Body).Decode(&st); err != nil {
		return "", fmt.Errorf("GET %s: %w", url, err)
	}
	return st.Hostname, nil
}

// unreachable says whether a connection failed for want of a route: in the
// pod ("network is unreachable") or on the host (its ICMP answer).
func unreachable(err error) bool {
	return errors.Is(err, syscall.ENETUNREACH) || errors.Is(err, syscall.EHOSTUNREACH)
}

// hostAddrs are the host's IPv4 addresses outside the real nodes' network:
// its own, which no pod may reach.
func hostAddrs(t *testing.T) []netip.Addr {
	t.Helper()
	addrs, err := net.InterfaceAddrs()
	require.NoError(t, err)
	var out []netip.Addr
	for _, a := range addrs {
		p, err := netip.ParsePrefix(a.String())
		if err != nil || !p.Addr().Is4() || p.Addr().IsLoopback() || e2e.cluster.Network.PodCIDR.Contains(p.Addr()) || p.Addr() == e2e.cluster.Database {
			continue
		}
		out = append(out, p.Addr())
	}
	require.NotEmpty(t, out, "the host has an address of its own")
	return out
}

// unusedServiceIP is an address in the Service range that no Service holds:
// kube-proxy rewrites nothing sent there.
func unusedServiceIP(t *testing.T) netip.Addr {
	t.Helper()
	svcs, err := e2e.client.CoreV1().Services("").List(context.Background(), metav1.ListOptions{})
	require.NoError(t, err)
	used := map[string]bool{}
	for _, s := range svcs.Items {
		used[s.Spec.ClusterIP] = true
	}
	r := e2e.cluster.Network.ServiceCIDR
	a := r.Addr().Next().Next()
	for used[a.String()] {
		a = a.Next()
	}
	require.True(t, r.Contains(a))
	return a
}

// kubeRules is a digest of kube-proxy's rules in the nat and filter tables,
// as a set: kube-proxy writes a chain's rules for Services in map order.
func kubeRules(t *testing.T) string {
	t.Helper()
	var rules []string
	for _, table := range []string{"nat", "filter"} {
		out, err := exec.Command("iptables-save", "-t", table).Output()
		require.NoError(t, err, "iptables-save -t %s", table)
		for _, line := range strings.Split(string(out), "\n") {
			if strings.Contains(line, "KUBE-") && !strings.HasPrefix(line, "#") {
				rules = append(rules, table+" "+line)
			}
		}
	}
	slices.Sort(rules)
	sum := sha256.Sum256([]byte(strings.Join(rules, "\n")))
	return fmt.Sprintf("%d rules, sha256 %s", len(rules), hex.EncodeToString(sum[:8]))
}

// fullSyncs is how many full syncs n's kube-proxy made since it started.
func fullSyncs(ctx context.Context, n *node.Node) (float64, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, n.KubeProxyMetrics(), nil)
	if err != nil {
		return 0, err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	return metric(resp.Body, `kubeproxy_sync_full_proxy_rules_duration_seconds_count{ip_family="IPv4"}`)
}

// metric is the value of a sample, named with its labels, in Prometheus'
// text format.
func metric(r io.Reader, sample string) (float64, error) {
	s := bufio.NewScanner(r)
	for s.Scan() {
		if v, ok := strings.CutPrefix(s.Text(), sample+" "); ok {
			return strconv.ParseFloat(strings.TrimSpace(v), 64)
		}
	}
	return 0, errors.Join(s.Err(), fmt.Errorf("no sample %s", sample))
}
