package node

import (
	"context"
	"errors"
	"fmt"
	"os"
	"time"

	kubeletconfig "k8s.io/kubelet/config/v1beta1"
)

// Restart is a node's reboot: the kubelet and kube-proxy stop, every pod's
// processes die with containerd's sandboxes, containerd stops; then
// containerd and the kubelet start again from the same state and the node
// is Ready again. Pods come back as the kubelet recreates them.
func (n *Node) Restart(ctx context.Context) error {
	if err := n.powerOff(); err != nil {
		return fmt.Errorf("restart %s: %w", n.opts.Name, err)
	}
	if err := n.stopContainerd(); err != nil {
		return fmt.Errorf("restart %s: %w", n.opts.Name, err)
	}
	for _, s := range []struct {
		what string
		do   func(context.Context) error
	}{
		{"connect the bridge", n.connect}, // after a PowerOff
		{"start containerd", n.launchContainerd}, {"start the kubelet", n.launchKubelet}, {"start kube-proxy", n.launchKubeProxy},
	} {
		if err := s.do(ctx); err != nil {
			return fmt.Errorf("restart %s: %s: %w", n.opts.Name, s.what, err)
		}
	}
	return nil
}

// PowerOff is a node lost for good, as far as the cluster can tell: the
// kubelet and kube-proxy die with every pod, nothing starts them again, and
// the node leaves the network: its bridge goes down without its address,
// so neither the node's address nor its pods' answer any more, from the
// host or from another node's pods (no route to them: network.go).
// (containerd, holding no pods, runs on until Stop, which still undoes
// everything Start did.)
func (n *Node) PowerOff() error {
	if err := errors.Join(n.powerOff(), n.disconnect(context.Background())); err != nil {
		return fmt.Errorf("power off %s: %w", n.opts.Name, err)
	}
	return nil
}

// powerOff kills the kubelet and kube-proxy and removes every pod sandbox.
func (n *Node) powerOff() error {
	var errs []error
	for _, name := range []string{"kubelet", "kube-proxy"} {
		if d := n.daemons[name]; d != nil {
			errs = append(errs, d.kill())
		}
	}
	errs = append(errs, n.removePods(), unmountUnder(n.path("kubelet")))
	return errors.Join(errs...)
}

// RestartKubeProxy stops kube-proxy and starts it again, which then
// rewrites every chain it keeps (a full sync), as at its first start; it
// returns once the new one runs.
func (n *Node) RestartKubeProxy(ctx context.Context) error {
	if d := n.daemons["kube-proxy"]; d != nil {
		if err := d.stop(10 * time.Second); err != nil {
			return fmt.Errorf("restart kube-proxy on %s: %w", n.opts.Name, err)
		}
	}
	if err := n.launchKubeProxy(ctx); err != nil {
		return fmt.Errorf("restart kube-proxy on %s: %w", n.opts.Name, err)
	}
	return nil
}

// ReconfigureKubelet restarts the kubelet with its configuration changed
// by change (nil: as the node started it). Pods keep running: a kubelet
// restart leaves containers alone and adopts them again.
func (n *Node) ReconfigureKubelet(ctx context.Context, change func(*kubeletconfig.KubeletConfiguration)) error {
	if d := n.daemons["kubelet"]; d != nil {
		if err := d.stop(30 * time.Second); err != nil {
			return err
		}
	}
	n.opts.Kubelet = change
	return n.launchKubelet(ctx)
}

// VolumeDir makes and returns a directory on the node for a local
// PersistentVolume, under the node's directory, root-owned as a disk's
// mount point would be.
func (n *Node) VolumeDir(name string) (string, error) {
	dir := n.path("volumes", name)
	return dir, os.MkdirAll(dir, 0o755)
}
