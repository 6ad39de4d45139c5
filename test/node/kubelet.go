package node

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/clientcmd"
	kubeletconfig "k8s.io/kubelet/config/v1beta1"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/yaml"
)

// kubeletConfig is the node's KubeletConfiguration. What this host needs:
// cgroup v1 with the cgroupfs driver (failCgroupV1: false), a cgroup root
// of the node's own, no iptables chains of the kubelet's, and no image
// garbage collection (the images were imported: nothing could pull them
// back). Eviction thresholds are low so a busy CI disk evicts nothing. The
// kubelet serves only on the node's own address, on a port nobody uses;
// its healthz and read-only ports are off.
func (n *Node) kubeletConfig(port int) *kubeletconfig.KubeletConfiguration {
	c := &kubeletconfig.KubeletConfiguration{
		TypeMeta:                 metav1.TypeMeta{APIVersion: kubeletconfig.SchemeGroupVersion.String(), Kind: "KubeletConfiguration"},
		Address:                  n.ip.String(),
		Port:                     int32(port),
		HealthzPort:              ptr.To[int32](0),
		ContainerRuntimeEndpoint: "unix://" + n.containerdSocket(),
		CgroupDriver:             "cgroupfs",
		FailCgroupV1:             ptr.To(false),
		CgroupRoot:               n.cgroup,
		MakeIPTablesUtilChains:   ptr.To(false),
		FailSwapOn:               ptr.To(false),
		PodLogsDir:               n.path("pod-logs"),
		Authentication: kubeletconfig.KubeletAuthentication{
			Anonymous: kubeletconfig.KubeletAnonymousAuthentication{Enabled: ptr.To(true)},
			Webhook:   kubeletconfig.KubeletWebhookAuthentication{Enabled: ptr.To(false)},
		},
		Authorization:               kubeletconfig.KubeletAuthorization{Mode: kubeletconfig.KubeletAuthorizationModeAlwaysAllow},
		ImageGCHighThresholdPercent: ptr.To[int32](100),
		ImageGCLowThresholdPercent:  ptr.To[int32](99),
		EvictionHard: map[string]string{
			"memory.available": "100Mi", "nodefs.available": "1%", "imagefs.available": "1%", "nodefs.inodesFree": "1%",
		},
		RegisterNode: ptr.To(true),
	}
	if n.opts.Kubelet != nil {
		n.opts.Kubelet(c)
	}
	return c
}

func (n *Node) startKubelet(ctx context.Context) error {
	n.onStop("stop the kubelet and remove its pods", n.stopKubelet)
	return n.launchKubelet(ctx)
}

// launchKubelet writes the kubelet's config, starts it and waits until it
// has reported the node Ready: a heartbeat newer than its start, so that a
// restarted kubelet is not taken for the one before it.
func (n *Node) launchKubelet(ctx context.Context) error {
	ports, err := freePorts(n.ip.String(), 1)
	if err != nil {
		return err
	}
	cfg, err := yaml.Marshal(n.kubeletConfig(ports[0]))
	if err != nil {
		return err
	}
	if err := os.WriteFile(n.path("kubelet.yaml"), cfg, 0o644); err != nil {
		return err
	}
	var labels []string
	for k, v := range n.opts.Labels {
		labels = append(labels, k+"="+v)
	}
	sort.Strings(labels)
	// The API server keeps seconds: a heartbeat in the second the kubelet
	// started counts.
	started := metav1.NewTime(time.Now().Truncate(time.Second))
	d, err := n.startDaemon("kubelet", n.bin("kubelet"),
		"--config", n.path("kubelet.yaml"),
		"--kubeconfig", n.opts.Kubeconfig,
		"--root-dir", n.path("kubelet"),
		"--cert-dir", n.path("kubelet", "pki"),
		"--hostname-override", n.opts.Name,
		"--node-ip", n.ip.String(),
		"--node-labels", strings.Join(labels, ","),
		// What the crash timelines read from its log is there at 2: the PLEG's
		// events ("SyncLoop (PLEG)", V2), the probes' results ("SyncLoop
		// (probe)", "Probe failed", V1).
		"--v", "2")
	if err != nil {
		return err
	}
	client, err := n.client()
	if err != nil {
		return err
	}
	return n.waitRunning(ctx, d, 2*time.Minute, "node "+n.opts.Name+" Ready", func(ctx context.Context) (bool, error) {
		node, err := client.CoreV1().Nodes().Get(ctx, n.opts.Name, metav1.GetOptions{})
		if err != nil {
			return false, err
		}
		for _, c := range node.Status.Conditions {
			if c.Type == corev1.NodeReady {
				ready := c.Status == corev1.ConditionTrue && !c.LastHeartbeatTime.Before(&started)
				return ready, fmt.Errorf("Ready=%s since %s: %s", c.Status, c.LastHeartbeatTime, c.Message)
			}
		}
		return false, nil
	})
}

// stopKubelet stops the kubelet, then removes every pod it left through the
// CRI (a stopped kubelet leaves its containers running), then unmounts what
// is left under its root.
func (n *Node) stopKubelet() error {
	var errs []error
	if d := n.daemons["kubelet"]; d != nil {
		errs = append(errs, d.stop(30*time.Second))
	}
	errs = append(errs, n.removePods(), unmountUnder(n.path("kubelet")))
	return errors.Join(errs...)
}

func (n *Node) bin(name string) string { return filepath.Join(n.opts.BinDir, name) }

func (n *Node) client() (kubernetes.Interface, error) {
	cfg, err := clientcmd.BuildConfigFromFlags("", n.opts.Kubeconfig)
	if err != nil {
		return nil, err
	}
	return kubernetes.NewForConfig(cfg)
}

// freePorts asks the kernel for count different ports nobody uses on addr.
func freePorts(addr string, count int) ([]int, error) {
	var ports []int
	for range count {
		l, err := net.Listen("tcp", net.JoinHostPort(addr, "0"))
		if err != nil {
			return nil, err
		}
		defer l.Close() // held until all are chosen, so they differ
		ports = append(ports, l.Addr().(*net.TCPAddr).Port)
	}
	return ports, nil
}
