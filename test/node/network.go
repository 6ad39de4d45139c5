package node

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"path/filepath"
)

// Network is the cluster's network as every real node is told it, the same
// on each node.
//
// The real nodes share the host's network namespace: each has its own
// bridge, subnet, containerd, kubelet and kube-proxy, but one kernel routes
// between the bridges and one set of iptables rules serves every node's
// Services. A namespace per node (kind's container per node) would give
// each kube-proxy tables of its own, but also a veth, a kubelet and
// containerd that reach the API server and the host's directories through
// it, and tests that reach pods from the host (their PIDs, their claims'
// directories, NodePorts) through it too. Sharing costs one rule: every
// kube-proxy must write the same chains, or each rewrites the other's at
// every sync. So every node's kube-proxy gets the same clusterCIDR
// (PodCIDR) and the same nodePortAddresses (PodCIDR: the host's addresses
// in it, which are the nodes' own), and the tables it writes are the
// same, byte for byte, when it has seen what the others have seen (the
// e2e's TestTwoRealNodes shows them unchanged past a full sync of each).
// What cannot be the same on every node is not used: externalTrafficPolicy
// and internalTrafficPolicy Local (each kube-proxy would write its own
// node's endpoints into the one chain). One node, the first, saves the
// host's sysctls and iptables and restores them (Options.SharesHost); it
// must stop last.
//
// Pods get routes to exactly PodCIDR, ServiceCIDR and each of Hosts, all
// through their node's bridge, and no default route: anything else is
// "network is unreachable" in the pod. On the host, StartNetwork makes
// sure that what a pod may send never leaves it: an unreachable route for
// PodCIDR (below the bridges' own routes, so a subnet no bridge serves, a
// node powered off, is unreachable rather than sent to the host's default
// gateway), and a FORWARD rule that refuses what pods send beyond PodCIDR
// (a Service address no Service holds is not rewritten by kube-proxy, and
// would follow the default route out).
type Network struct {
	// PodCIDR holds every node's Subnet, and none of the host's other
	// addresses.
	PodCIDR netip.Prefix `json:"podCIDR"`
	// ServiceCIDR is the API server's Service range.
	ServiceCIDR netip.Prefix `json:"serviceCIDR"`
	// Hosts are addresses on the host that pods reach (the database's).
	Hosts []netip.Addr `json:"hosts,omitempty"`
}

// podRoutes are the routes a pod on subnet gets, beyond its own subnet.
func (w Network) podRoutes(subnet netip.Prefix) []netip.Prefix {
	var routes []netip.Prefix
	if w.PodCIDR.IsValid() && w.PodCIDR != subnet {
		routes = append(routes, w.PodCIDR)
	}
	if w.ServiceCIDR.IsValid() {
		routes = append(routes, w.ServiceCIDR)
	}
	for _, h := range w.Hosts {
		routes = append(routes, netip.PrefixFrom(h, h.BitLen()))
	}
	return routes
}

// podCIDR is the cluster's pod network: Network.PodCIDR, or a node's own
// subnet in a cluster of one.
func (n *Node) podCIDR() netip.Prefix {
	if n.opts.Network.PodCIDR.IsValid() {
		return n.opts.Network.PodCIDR
	}
	return n.opts.Subnet
}

// HostNetwork is what StartNetwork changed on the host for a Network: a
// link of its own holding the host addresses pods reach, the unreachable
// route and the FORWARD rule.
type HostNetwork struct {
	net  Network
	dir  string
	link string
	undo []step
}

// networkFile records, in the network's directory, what Clean undoes after
// a run that was killed.
const networkFile = "network.json"

// unreachableMetric puts the unreachable route for PodCIDR below the
// bridges' own (metric 0), which are more specific anyway.
const unreachableMetric = "4000"

// StartNetwork prepares the host for the nodes of w: dir is its directory
// (its name names a bridge with no ports that holds w.Hosts, so at most 15
// characters), made here and removed by Stop. On error it has undone what
// it did.
func StartNetwork(ctx context.Context, dir string, w Network) (h *HostNetwork, err error) {
	name := filepath.Base(dir)
	if len(name) > 15 {
		return nil, fmt.Errorf("network %q: at most 15 characters (it names a link)", name)
	}
	if !w.PodCIDR.IsValid() || !w.ServiceCIDR.IsValid() {
		return nil, fmt.Errorf("network %s: want a PodCIDR and a ServiceCIDR, have %s and %s", name, w.PodCIDR, w.ServiceCIDR)
	}
	h = &HostNetwork{net: w, dir: dir, link: name}
	defer func() {
		if err != nil {
			if stopErr := h.Stop(); stopErr != nil {
				err = fmt.Errorf("%w (and undoing the start: %v)", err, stopErr)
			}
			h = nil
		}
	}()
	taken := append([]netip.Prefix{w.PodCIDR}, hostPrefixes(w.Hosts)...)
	if err := notOnHost(taken...); err != nil {
		return nil, fmt.Errorf("network %s: %w", name, err)
	}
	if err := os.MkdirAll(filepath.Join(dir, "logs"), 0o755); err != nil {
		return nil, err
	}
	h.onStop("remove "+dir, func() error { return os.RemoveAll(dir) })
	b, err := json.Marshal(w)
	if err != nil {
		return nil, err
	}
	if err := os.WriteFile(filepath.Join(dir, "logs", networkFile), b, 0o644); err != nil {
		return nil, err
	}
	if _, err := run(ctx, "ip", "route", "add", "unreachable", w.PodCIDR.String(), "metric", unreachableMetric); err != nil {
		return nil, err
	}
	h.onStop("delete the unreachable route for "+w.PodCIDR.String(), func() error { return deleteUnreachable(w) })
	if _, err := run(ctx, "iptables", append([]string{"-w", "-I", "FORWARD", "1"}, forwardRule(w)...)...); err != nil {
		return nil, err
	}
	h.onStop("delete the FORWARD rule", func() error { return deleteForwardRule(w) })
	if len(w.Hosts) > 0 {
		if _, err := run(ctx, "ip", "link", "add", name, "type", "bridge"); err != nil {
			return nil, err
		}
		h.onStop("delete the link "+name, func() error {
			_, err := run(context.Background(), "ip", "link", "delete", name)
			return err
		})
		for _, a := range hostPrefixes(w.Hosts) {
			if _, err := run(ctx, "ip", "addr", "add", a.String(), "dev", name); err != nil {
				return nil, err
			}
		}
		if _, err := run(ctx, "ip", "link", "set", name, "up"); err != nil {
			return nil, err
		}
	}
	return h, nil
}

// Network is the network the host was prepared for.
func (h *HostNetwork) Network() Network { return h.net }

// Stop undoes what StartNetwork did, in reverse order. It may be called
// more than once.
func (h *HostNetwork) Stop() error {
	var errs []error
	for i := len(h.undo) - 1; i >= 0; i-- {
		if err := h.undo[i].do(); err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", h.undo[i].what, err))
		}
	}
	h.undo = nil
	return errors.Join(errs...)
}

func (h *HostNetwork) onStop(what string, do func() error) { h.undo = append(h.undo, step{what, do}) }

// forwardRule refuses what pods forward beyond PodCIDR. kube-proxy's
// rewrites (a Service address to a pod's) come before it (PREROUTING), and
// the Hosts are the host's own (INPUT): neither meets it.
func forwardRule(w Network) []string {
	return []string{"-s", w.PodCIDR.String(), "!", "-d", w.PodCIDR.String(),
		"-m", "comment", "--comment", "hubkit e2e: pods reach nothing beyond the host",
		"-j", "REJECT", "--reject-with", "icmp-net-unreachable"}
}

func deleteForwardRule(w Network) error {
	// Until there is none: a node's iptables restore may have put back a copy.
	for {
		if _, err := run(context.Background(), "iptables", append([]string{"-w", "-C", "FORWARD"}, forwardRule(w)...)...); err != nil {
			return nil
		}
		if _, err := run(context.Background(), "iptables", append([]string{"-w", "-D", "FORWARD"}, forwardRule(w)...)...); err != nil {
			return err
		}
	}
}

func deleteUnreachable(w Network) error {
	_, err := run(context.Background(), "ip", "route", "delete", "unreachable", w.PodCIDR.String(), "metric", unreachableMetric)
	return err
}

// cleanNetwork undoes, for a killed run, what StartNetwork recorded in dir.
func cleanNetwork(dir string) error {
	b, err := os.ReadFile(filepath.Join(dir, "logs", networkFile))
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	var w Network
	if err := json.Unmarshal(b, &w); err != nil {
		return fmt.Errorf("%s: %w", networkFile, err)
	}
	var errs []error
	if out, err := run(context.Background(), "ip", "route", "show", "type", "unreachable", w.PodCIDR.String()); err == nil && len(out) > 0 {
		errs = append(errs, deleteUnreachable(w))
	}
	return errors.Join(append(errs, deleteForwardRule(w))...)
}

func hostPrefixes(hosts []netip.Addr) []netip.Prefix {
	var out []netip.Prefix
	for _, h := range hosts {
		out = append(out, netip.PrefixFrom(h, h.BitLen()))
	}
	return out
}

// notOnHost fails when a prefix overlaps an address the host has.
func notOnHost(prefixes ...netip.Prefix) error {
	addrs, err := net.InterfaceAddrs()
	if err != nil {
		return err
	}
	for _, a := range addrs {
		p, err := netip.ParsePrefix(a.String())
		if err != nil {
			continue
		}
		for _, want := range prefixes {
			if p.Overlaps(want) {
				return fmt.Errorf("%s overlaps %s, already on this host (another run, or a network of the host's): choose another", want, p)
			}
		}
	}
	return nil
}
