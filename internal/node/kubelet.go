package node

import (
	"context"
	"fmt"
	"maps"
	"net"
	"os"
	"sort"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/clientcmd"
	"sigs.k8s.io/yaml"
)

// kubeletConfig is the node's KubeletConfiguration. What this host needs:
// cgroup v1 with the cgroupfs driver (failCgroupV1: false), a cgroup root
// of the node's own, no iptables chains of the kubelet's, and no image
// garbage collection (the images were imported: nothing could pull them
// back). Eviction thresholds are low so a busy CI disk evicts nothing.
func (n *Node) kubeletConfig(port int) map[string]any {
	c := map[string]any{
		"apiVersion":               "kubelet.config.k8s.io/v1beta1",
		"kind":                     "KubeletConfiguration",
		"address":                  n.ip.String(),
		"port":                     port,
		"readOnlyPort":             0,
		"healthzPort":              0,
		"containerRuntimeEndpoint": "unix://" + n.ContainerdSocket(),
		"cgroupDriver":             "cgroupfs",
		"failCgroupV1":             false,
		"cgroupRoot":               n.cgroup,
		"makeIPTablesUtilChains":   false,
		"failSwapOn":               false,
		"podLogsDir":               n.path("pod-logs"),
		"authentication": map[string]any{
			"anonymous": map[string]any{"enabled": true},
			"webhook":   map[string]any{"enabled": false},
		},
		"authorization":               map[string]any{"mode": "AlwaysAllow"},
		"imageGCHighThresholdPercent": 100,
		"imageGCLowThresholdPercent":  99,
		"evictionHard": map[string]any{
			"memory.available": "100Mi", "nodefs.available": "1%", "imagefs.available": "1%", "nodefs.inodesFree": "1%",
		},
		"registerNode": true,
	}
	maps.Copy(c, n.opts.KubeletConfig)
	return c
}

func (n *Node) startKubelet(ctx context.Context) error {
	port, err := freePort(n.ip.String())
	if err != nil {
		return err
	}
	n.onStop("stop the kubelet and remove its pods", n.stopKubelet)
	if err := n.writeKubeletConfig(port); err != nil {
		return err
	}
	return n.launchKubelet(ctx)
}

func (n *Node) writeKubeletConfig(port int) error {
	cfg, err := yaml.Marshal(n.kubeletConfig(port))
	if err != nil {
		return err
	}
	return os.WriteFile(n.path("kubelet.yaml"), cfg, 0o644)
}

// launchKubelet starts the kubelet from its written config and waits until
// the node is Ready.
func (n *Node) launchKubelet(ctx context.Context) error {
	var labels []string
	for k, v := range n.opts.Labels {
		labels = append(labels, k+"="+v)
	}
	sort.Strings(labels)
	d, err := n.startDaemon("kubelet", n.bin("kubelet"),
		"--config", n.path("kubelet.yaml"),
		"--kubeconfig", n.opts.Kubeconfig,
		"--root-dir", n.path("kubelet"),
		"--cert-dir", n.path("kubelet", "pki"),
		"--hostname-override", n.opts.Name,
		"--node-ip", n.ip.String(),
		"--node-labels", strings.Join(labels, ","),
		"--v", "2")
	if err != nil {
		return err
	}
	client, err := n.client()
	if err != nil {
		return err
	}
	return n.waitRunning(ctx, d, 2*time.Minute, "node "+n.opts.Name+" Ready", func() (bool, error) {
		node, err := client.CoreV1().Nodes().Get(ctx, n.opts.Name, metav1.GetOptions{})
		if err != nil {
			return false, err
		}
		for _, c := range node.Status.Conditions {
			if c.Type == corev1.NodeReady {
				return c.Status == corev1.ConditionTrue, fmt.Errorf("Ready=%s: %s", c.Status, c.Message)
			}
		}
		return false, nil
	})
}

// stopKubelet stops the kubelet, then removes every pod it left through the
// CRI (a stopped kubelet leaves its containers running), then unmounts what
// is left under its root.
func (n *Node) stopKubelet() error {
	var err error
	if d := n.daemons["kubelet"]; d != nil {
		err = d.stop(30 * time.Second)
	}
	if rmErr := n.RemovePods(); rmErr != nil {
		err = fmt.Errorf("%v; %w", err, rmErr)
	}
	if umErr := unmountUnder(n.path("kubelet")); umErr != nil {
		return fmt.Errorf("%v; %w", err, umErr)
	}
	return err
}

// RemovePods removes every pod sandbox from containerd, if it still runs.
func (n *Node) RemovePods() error {
	if d := n.daemons["containerd"]; d == nil || d.exited() {
		return nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	return n.removePods(ctx)
}

func (n *Node) bin(name string) string { return n.opts.BinDir + "/" + name }

func (n *Node) client() (kubernetes.Interface, error) {
	cfg, err := clientcmd.BuildConfigFromFlags("", n.opts.Kubeconfig)
	if err != nil {
		return nil, err
	}
	return kubernetes.NewForConfig(cfg)
}

// freePort asks the kernel for a port nobody uses on addr.
func freePort(addr string) (int, error) {
	l, err := net.Listen("tcp", net.JoinHostPort(addr, "0"))
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}
