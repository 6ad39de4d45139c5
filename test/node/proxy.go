package node

import (
	"context"
	"net"
	"os"
	"strconv"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	proxyconfig "k8s.io/kube-proxy/config/v1alpha1"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/yaml"
)

// proxyConfig is kube-proxy's configuration: iptables mode, NodePorts on
// the nodes' own addresses only (the host's addresses in the cluster's pod
// network: the bridges'), the same clusterCIDR and nodePortAddresses on
// every node so that the kube-proxies sharing the host's iptables write the
// same rules (network.go), conntrack's sysctls left as they are, and
// its healthz and metrics servers on the node's address at ports nobody
// uses (left empty they default to 0.0.0.0:10256 and 127.0.0.1:10249, where
// a developer's kube-proxy or another run may be).
func (n *Node) proxyConfig(healthz, metrics int) *proxyconfig.KubeProxyConfiguration {
	c := &proxyconfig.KubeProxyConfiguration{
		TypeMeta:           metav1.TypeMeta{APIVersion: proxyconfig.SchemeGroupVersion.String(), Kind: "KubeProxyConfiguration"},
		HostnameOverride:   n.opts.Name,
		Mode:               proxyconfig.ProxyMode("iptables"),
		ClusterCIDR:        n.podCIDR().String(),
		NodePortAddresses:  []string{n.podCIDR().String()},
		BindAddress:        n.ip.String(),
		HealthzBindAddress: net.JoinHostPort(n.ip.String(), strconv.Itoa(healthz)),
		MetricsBindAddress: net.JoinHostPort(n.ip.String(), strconv.Itoa(metrics)),
	}
	c.ClientConnection.Kubeconfig = n.opts.Kubeconfig
	c.IPTables.LocalhostNodePorts = ptr.To(false)
	c.Conntrack.MaxPerCore = ptr.To[int32](0)
	c.Conntrack.Min = ptr.To[int32](0)
	c.Conntrack.TCPEstablishedTimeout = &metav1.Duration{}
	c.Conntrack.TCPCloseWaitTimeout = &metav1.Duration{}
	return c
}

// KubeProxyMetrics is the URL of kube-proxy's Prometheus metrics, on the
// node's address.
func (n *Node) KubeProxyMetrics() string { return n.proxyMetrics }

func (n *Node) startKubeProxy(ctx context.Context) error {
	// Its rules go with the iptables restore that saveHost registered.
	n.onStop("stop kube-proxy", func() error {
		if d := n.daemons["kube-proxy"]; d != nil {
			return d.stop(10 * time.Second)
		}
		return nil
	})
	return n.launchKubeProxy(ctx)
}

func (n *Node) launchKubeProxy(ctx context.Context) error {
	ports, err := freePorts(n.ip.String(), 2)
	if err != nil {
		return err
	}
	n.proxyMetrics = "http://" + net.JoinHostPort(n.ip.String(), strconv.Itoa(ports[1])) + "/metrics"
	cfg, err := yaml.Marshal(n.proxyConfig(ports[0], ports[1]))
	if err != nil {
		return err
	}
	if err := os.WriteFile(n.path("kube-proxy.yaml"), cfg, 0o644); err != nil {
		return err
	}
	d, err := n.startDaemon("kube-proxy", n.bin("kube-proxy"), "--config", n.path("kube-proxy.yaml"), "--v", "2")
	if err != nil {
		return err
	}
	// It is up once it has written its chains.
	return n.waitRunning(ctx, d, time.Minute, "kube-proxy's KUBE-NODEPORTS chain", func(ctx context.Context) (bool, error) {
		out, err := run(ctx, "iptables", "-t", "nat", "-S", "KUBE-NODEPORTS")
		return err == nil && len(out) > 0, err
	})
}
