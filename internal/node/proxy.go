package node

import (
	"context"
	"os"
	"time"

	"sigs.k8s.io/yaml"
)

// proxyConfig is kube-proxy's configuration: iptables mode, NodePorts on
// the node's own address only, and conntrack's sysctls left as they are.
func (n *Node) proxyConfig() map[string]any {
	return map[string]any{
		"apiVersion":         "kubeproxy.config.k8s.io/v1alpha1",
		"kind":               "KubeProxyConfiguration",
		"clientConnection":   map[string]any{"kubeconfig": n.opts.Kubeconfig},
		"hostnameOverride":   n.opts.Name,
		"mode":               "iptables",
		"clusterCIDR":        n.opts.Subnet.String(),
		"nodePortAddresses":  []string{n.ip.String() + "/32"},
		"healthzBindAddress": "",
		"metricsBindAddress": "",
		"iptables":           map[string]any{"localhostNodePorts": false, "masqueradeAll": false},
		"conntrack": map[string]any{
			"maxPerCore": 0, "min": 0, "tcpEstablishedTimeout": "0s", "tcpCloseWaitTimeout": "0s",
		},
	}
}

func (n *Node) startKubeProxy(ctx context.Context) error {
	cfg, err := yaml.Marshal(n.proxyConfig())
	if err != nil {
		return err
	}
	if err := os.WriteFile(n.path("kube-proxy.yaml"), cfg, 0o644); err != nil {
		return err
	}
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
	d, err := n.startDaemon("kube-proxy", n.bin("kube-proxy"), "--config", n.path("kube-proxy.yaml"), "--v", "2")
	if err != nil {
		return err
	}
	// It is up once it has written its chains.
	return n.waitRunning(ctx, d, time.Minute, "kube-proxy's KUBE-NODEPORTS chain", func() (bool, error) {
		out, err := run(ctx, "iptables", "-t", "nat", "-S", "KUBE-NODEPORTS")
		return err == nil && len(out) > 0, err
	})
}
