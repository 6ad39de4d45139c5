package node

import (
	"context"
	"errors"
	"fmt"
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
	}{{"start containerd", n.launchContainerd}, {"start the kubelet", n.launchKubelet}, {"start kube-proxy", n.launchKubeProxy}} {
		if err := s.do(ctx); err != nil {
			return fmt.Errorf("restart %s: %s: %w", n.opts.Name, s.what, err)
		}
	}
	return nil
}

// Lose takes the node away for good, as a power cut does: the kubelet and
// kube-proxy die without a word to the API server and every pod's processes
// die. The cluster sees only that the node stopped reporting. Stop still
// cleans up after it.
func (n *Node) Lose() error {
	if err := n.powerOff(); err != nil {
		return fmt.Errorf("lose %s: %w", n.opts.Name, err)
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
	errs = append(errs, n.RemovePods(), unmountUnder(n.path("kubelet")))
	return errors.Join(errs...)
}

// Running says whether the kubelet runs.
func (n *Node) Running() bool {
	d := n.daemons["kubelet"]
	return d != nil && !d.exited()
}
