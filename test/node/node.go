// Package node starts a real Kubernetes node beside the end-to-end
// cluster's simulated ones: containerd (Debian's) with runc, the CNI bridge
// plugins, a kubelet and kube-proxy built from tools/cluster, joined to the
// cluster's API server, and, when asked, a CSI driver with its disk and
// sidecars (csi.go). Pods scheduled to it really run.
//
// Like envtest and kind's node setup, one Node owns everything it starts:
// each daemon's process, socket and directories live under Options.Dir, the
// bridge and the cgroup root carry the node's name, and Stop undoes, in
// reverse order, every step Start took, also after a failed start. What the
// kubelet and kube-proxy change on the host (kernel sysctls, iptables) is
// saved first and restored last. A run killed before Stop leaves its
// directory behind; Clean removes what such a run left, found by name.
package node

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"text/template"
	"time"

	"k8s.io/apimachinery/pkg/util/wait"
	kubeletconfig "k8s.io/kubelet/config/v1beta1"
)

// Options describe the node to start.
type Options struct {
	// Name is the node's name, the bridge's and the cgroup root's: short
	// (a bridge name has at most 15 characters), unique on the host.
	Name string
	// Dir holds all of the node's state: sockets, roots, logs, configs.
	Dir string
	// BinDir has kubelet and kube-proxy.
	BinDir string
	// Kubeconfig reaches the cluster's API server as an administrator.
	Kubeconfig string
	// Subnet is the pods' network; its first address is the bridge's and
	// the node's own IP, so nothing outside the host is ever addressed.
	Subnet netip.Prefix
	// Network is the cluster's network, the same for every real node
	// (network.go): the pods' routes beyond Subnet, and what kube-proxy
	// takes for the cluster's. Its zero value is a cluster of this node
	// alone, whose pods reach their own subnet only.
	Network Network
	// SharesHost says that another real node in the host's network
	// namespace saved the host's sysctls and iptables before this one
	// started and restores them when it stops, after this one: this node
	// then leaves them to it (a snapshot of its own would hold the other
	// node's kube-proxy rules, and put them back after that node stopped).
	SharesHost bool
	// SandboxImage is the pause image containerd runs pods' sandboxes from;
	// it must be among Images.
	SandboxImage string
	// Images are image tarballs imported into containerd before the
	// kubelet starts (nothing can be pulled).
	Images []string
	// Labels are the node's labels, so that tests can select it.
	Labels map[string]string
	// Kubelet, when set, changes the node's KubeletConfiguration before
	// the kubelet starts (for example its crashLoopBackOff).
	Kubelet func(*kubeletconfig.KubeletConfiguration)
	// CSI, when set, gives the node a CSI driver and its sidecars (csi.go).
	CSI *CSIOptions
}

// Node is a running real node.
type Node struct {
	opts    Options
	ip      netip.Addr
	cgroup  string
	undo    []step
	daemons map[string]*daemon
	// proxyMetrics is kube-proxy's metrics URL, as it was last started.
	proxyMetrics string
}

type step struct {
	what string
	do   func() error
}

// Start brings the node up: it returns once the kubelet has registered the
// node and the node is Ready. On error it has undone what it did.
func Start(ctx context.Context, o Options) (n *Node, err error) {
	if len(o.Name) > 15 {
		return nil, fmt.Errorf("node name %q: at most 15 characters (it names the bridge)", o.Name)
	}
	if !o.Subnet.Addr().Is4() || o.Subnet.Bits() > 28 {
		return nil, fmt.Errorf("subnet %s: want an IPv4 prefix of /28 or larger", o.Subnet)
	}
	for _, b := range []string{"kubelet", "kube-proxy"} {
		if _, err := os.Stat(filepath.Join(o.BinDir, b)); err != nil {
			return nil, fmt.Errorf("%s is missing from %s: run `make tools` (make test does)", b, o.BinDir)
		}
	}
	for _, b := range []string{"containerd", "containerd-shim-runc-v2", "runc", "ctr", "iptables-save", "ip"} {
		if _, err := exec.LookPath(b); err != nil {
			return nil, fmt.Errorf("%s is not on PATH: run `make tools`, which installs Debian's containerd, runc, iptables and iproute2", b)
		}
	}
	if _, err := os.Stat("/usr/lib/cni/bridge"); err != nil {
		return nil, errors.New("the CNI plugins are missing from /usr/lib/cni: run `make tools`, which installs Debian's containernetworking-plugins")
	}
	started := &Node{opts: o, ip: o.Subnet.Addr().Next(), cgroup: "/" + o.Name, daemons: map[string]*daemon{}}
	n = started
	defer func() {
		if err != nil { // n is nil by now: a failed step returns nil
			if stopErr := started.Stop(); stopErr != nil {
				err = fmt.Errorf("%w (and undoing the start: %v)", err, stopErr)
			}
			n = nil
		}
	}()
	for _, s := range []struct {
		what string
		do   func(context.Context) error
	}{
		{"make the node's directories", n.makeDirs},
		{"save the host's sysctls and iptables", n.saveHost}, // unless SharesHost
		{"create the bridge", n.createBridge},
		{"create the cgroup root", n.createCgroupRoot},
		{"start containerd", n.startContainerd},
		{"import the images", n.importImages},
		{"start the CSI driver on its disk", n.startCSIDriver},
		{"start the kubelet", n.startKubelet},
		{"start kube-proxy", n.startKubeProxy},
		{"start the CSI sidecars", n.startCSISidecars},
	} {
		if err := s.do(ctx); err != nil {
			return nil, fmt.Errorf("real node %s: %s: %w", o.Name, s.what, err)
		}
	}
	return n, nil
}

// Name is the node's name in the cluster.
func (n *Node) Name() string { return n.opts.Name }

// IP is the node's address: its NodePorts answer there.
func (n *Node) IP() netip.Addr { return n.ip }

// Stop undoes everything Start did, in reverse order, and reports every
// step that failed. It may be called more than once.
func (n *Node) Stop() error {
	var errs []error
	for i := len(n.undo) - 1; i >= 0; i-- {
		if err := n.undo[i].do(); err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", n.undo[i].what, err))
		}
	}
	n.undo = nil
	return errors.Join(errs...)
}

func (n *Node) onStop(what string, do func() error) { n.undo = append(n.undo, step{what, do}) }

func (n *Node) path(elem ...string) string {
	return filepath.Join(append([]string{n.opts.Dir}, elem...)...)
}

func (n *Node) makeDirs(context.Context) error {
	for _, d := range []string{"containerd/root", "containerd/state", "runc", "cni/net.d", "cni/ipam", "kubelet", "pod-logs", "logs"} {
		if err := os.MkdirAll(n.path(d), 0o755); err != nil {
			return err
		}
	}
	// A unix socket's path is at most 107 bytes.
	if sock := n.path("containerd", "containerd.sock.ttrpc"); len(sock) > 100 {
		return fmt.Errorf("%s is too long for a unix socket: use a shorter Dir", sock)
	}
	n.onStop("remove "+n.opts.Dir, func() error { return os.RemoveAll(n.opts.Dir) })
	return nil
}

// render executes a text/template with data.
func render(name, text string, data any) ([]byte, error) {
	t, err := template.New(name).Option("missingkey=error").Parse(text)
	if err != nil {
		return nil, err
	}
	var b bytes.Buffer
	if err := t.Execute(&b, data); err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	return b.Bytes(), nil
}

// run runs a command to its end and returns its output, or an error with it.
func run(ctx context.Context, name string, args ...string) ([]byte, error) {
	out, err := exec.CommandContext(ctx, name, args...).CombinedOutput()
	if err != nil {
		return out, fmt.Errorf("%s %s: %w: %s", name, strings.Join(args, " "), err, bytes.TrimSpace(out))
	}
	return out, nil
}

// waitFor polls cond every 100 ms until it holds or timeout passes. An
// error from cond is kept for the message, not fatal, unless it wraps
// errGaveUp.
func waitFor(ctx context.Context, timeout time.Duration, what string, cond func(context.Context) (bool, error)) error {
	var last error
	err := wait.PollUntilContextTimeout(ctx, 100*time.Millisecond, timeout, true, func(ctx context.Context) (bool, error) {
		ok, err := cond(ctx)
		if errors.Is(err, errGaveUp) {
			return false, err
		}
		last = err
		return ok, nil
	})
	switch {
	case err == nil:
		return nil
	case errors.Is(err, errGaveUp) || last == nil:
		return fmt.Errorf("%s: %w", what, err)
	default:
		return fmt.Errorf("%s: not within %s: %w", what, timeout, last)
	}
}

// errGaveUp, wrapped in a condition's error, ends waitFor at once.
var errGaveUp = errors.New("gave up")
