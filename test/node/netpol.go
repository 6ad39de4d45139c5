package node

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// The node's NetworkPolicy agent: kube-router (`make tools` builds it;
// docs/end-to-end.md says why this one) with only its firewall running,
// which writes the NetworkPolicies that select the node's pods as iptables
// chains and ipsets. It runs only when a test asks (EnforceNetworkPolicy),
// on one node of the host at a time: every node shares the host's filter
// table, and a second agent would take the first one's chains for stale.
//
// It writes only its own chains (KUBE-ROUTER-INPUT, -FORWARD, -OUTPUT,
// jumped to from the built-in chains, and KUBE-NWPLCY-*, KUBE-POD-FW-*)
// and ipsets (KUBE-SRC-*, KUBE-DST-*), which match the node's pods'
// addresses; StopNetworkPolicy and Clean remove them all by those names.
// Its chains ACCEPT what a pod may send, ahead of the Network's FORWARD
// rule that refuses what pods send beyond PodCIDR: while it runs, the same
// refusal stands in the mangle table, which the filter table comes after.
const (
	netpolDaemon = "kube-router"
	netpolDir    = "netpol"
	// netpolGuardFile records the PodCIDR the mangle rule was made for.
	netpolGuardFile = "guard-cidr"
)

var (
	netpolChainPrefixes = []string{"KUBE-ROUTER-", "KUBE-NWPLCY-", "KUBE-POD-FW-"}
	netpolSetPrefixes   = []string{"KUBE-SRC-", "KUBE-DST-"}
)

// EnforceNetworkPolicy starts the node's NetworkPolicy agent and returns
// once it has written its chains: from then on the cluster's
// NetworkPolicies hold for the node's pods, within a moment of each
// change. StopNetworkPolicy, or Stop, undoes it.
func (n *Node) EnforceNetworkPolicy(ctx context.Context) error {
	if d := n.daemons[netpolDaemon]; d != nil && !d.exited() {
		return nil
	}
	if _, err := os.Stat(n.bin(netpolDaemon)); err != nil {
		return fmt.Errorf("%s is missing from %s: run `make tools`, which builds it", netpolDaemon, n.opts.BinDir)
	}
	if _, err := exec.LookPath("ipset"); err != nil {
		return errors.New("ipset is not on PATH: run `make tools`, which installs Debian's ipset")
	}
	if err := os.MkdirAll(n.path(netpolDir), 0o700); err != nil {
		return err
	}
	// A copy, so that the agent's command line names the node's directory
	// and a killed run's agent is found by it (Clean).
	kubeconfig, err := os.ReadFile(n.opts.Kubeconfig)
	if err != nil {
		return err
	}
	if err := os.WriteFile(n.path(netpolDir, "kubeconfig"), kubeconfig, 0o600); err != nil {
		return err
	}
	cidr := n.podCIDR()
	if err := os.WriteFile(n.path(netpolDir, netpolGuardFile), []byte(cidr.String()+"\n"), 0o644); err != nil {
		return err
	}
	if _, err := run(ctx, "iptables", append([]string{"-w", "-t", "mangle", "-I", "FORWARD", "1"}, netpolGuard(cidr)...)...); err != nil {
		return err
	}
	n.onStop("stop the NetworkPolicy agent", n.StopNetworkPolicy)
	services := n.opts.Network.ServiceCIDR
	if !services.IsValid() {
		return errors.New("the NetworkPolicy agent needs the cluster's ServiceCIDR (Options.Network)")
	}
	ports, err := freePorts("127.0.0.1", 1)
	if err != nil {
		return err
	}
	d, err := n.startDaemon(netpolDaemon, n.bin(netpolDaemon),
		"--run-firewall=true", "--run-router=false", "--run-service-proxy=false",
		"--kubeconfig", n.path(netpolDir, "kubeconfig"), "--hostname-override", n.opts.Name,
		"--service-cluster-ip-range", services.String(), "--enable-ipv6=false",
		"--health-port", strconv.Itoa(ports[0]), "--metrics-port", "0", "--v", "2")
	if err != nil {
		return err
	}
	healthz := fmt.Sprintf("http://127.0.0.1:%d/healthz", ports[0])
	return n.waitRunning(ctx, d, time.Minute, "the NetworkPolicy agent healthy at "+healthz+" with its chains written", func(ctx context.Context) (bool, error) {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, healthz, nil)
		if err != nil {
			return false, err
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			return false, err
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			return false, fmt.Errorf("%s", resp.Status)
		}
		out, err := run(ctx, "iptables", "-w", "-S", "FORWARD")
		if err != nil {
			return false, err
		}
		return bytes.Contains(out, []byte("-j KUBE-ROUTER-FORWARD")), errors.New("no jump to KUBE-ROUTER-FORWARD yet")
	})
}

// StopNetworkPolicy stops the agent and removes what it wrote: its chains
// and ipsets, and the mangle rule. It may be called more than once.
func (n *Node) StopNetworkPolicy() error {
	if err := n.stopDaemon(netpolDaemon, 10*time.Second); err != nil {
		return err
	}
	return cleanNetworkPolicy(n.opts.Dir)
}

// netpolGuard refuses what pods forward beyond cidr, as the Network's
// FORWARD rule does, in the mangle table.
func netpolGuard(cidr netip.Prefix) []string {
	return []string{"-s", cidr.String(), "!", "-d", cidr.String(),
		"-m", "comment", "--comment", "hubkit e2e: pods reach nothing beyond the host (under the NetworkPolicy agent)",
		"-j", "DROP"}
}

// cleanNetworkPolicy removes the agent's chains, its ipsets and the mangle
// rule of the node whose directory is dir, if it ran one there (its process
// is gone by then).
func cleanNetworkPolicy(dir string) error {
	b, err := os.ReadFile(filepath.Join(dir, netpolDir, netpolGuardFile))
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	cidr, err := netip.ParsePrefix(strings.TrimSpace(string(b)))
	if err != nil {
		return fmt.Errorf("%s: %w", netpolGuardFile, err)
	}
	ctx := context.Background()
	var errs []error
	// The jumps from the built-in chains, by rule number, last first.
	for _, chain := range []string{"INPUT", "FORWARD", "OUTPUT"} {
		out, err := run(ctx, "iptables", "-w", "-t", "filter", "-L", chain, "-n", "--line-numbers")
		if err != nil {
			errs = append(errs, err)
			continue
		}
		var nums []string
		sc := bufio.NewScanner(bytes.NewReader(out))
		for sc.Scan() {
			f := strings.Fields(sc.Text())
			if len(f) > 1 && netpolName(f[1], netpolChainPrefixes) {
				nums = append([]string{f[0]}, nums...)
			}
		}
		for _, num := range nums {
			if _, err := run(ctx, "iptables", "-w", "-t", "filter", "-D", chain, num); err != nil {
				errs = append(errs, err)
			}
		}
	}
	// Its chains: all emptied first, as they jump to each other.
	out, err := run(ctx, "iptables", "-w", "-t", "filter", "-S")
	if err != nil {
		errs = append(errs, err)
	}
	var chains []string
	sc := bufio.NewScanner(bytes.NewReader(out))
	for sc.Scan() {
		if name, ok := strings.CutPrefix(sc.Text(), "-N "); ok && netpolName(name, netpolChainPrefixes) {
			chains = append(chains, name)
		}
	}
	for _, op := range []string{"-F", "-X"} {
		for _, c := range chains {
			if _, err := run(ctx, "iptables", "-w", "-t", "filter", op, c); err != nil {
				errs = append(errs, err)
			}
		}
	}
	if _, err := exec.LookPath("ipset"); err == nil {
		out, err := run(ctx, "ipset", "list", "-n")
		if err != nil {
			errs = append(errs, err)
		}
		for _, name := range strings.Fields(string(out)) {
			if netpolName(name, netpolSetPrefixes) {
				if _, err := run(ctx, "ipset", "destroy", name); err != nil {
					errs = append(errs, err)
				}
			}
		}
	}
	// The mangle rule, until there is none.
	for {
		if _, err := run(ctx, "iptables", append([]string{"-w", "-t", "mangle", "-C", "FORWARD"}, netpolGuard(cidr)...)...); err != nil {
			break
		}
		if _, err := run(ctx, "iptables", append([]string{"-w", "-t", "mangle", "-D", "FORWARD"}, netpolGuard(cidr)...)...); err != nil {
			errs = append(errs, err)
			break
		}
	}
	if len(errs) == 0 {
		errs = append(errs, os.RemoveAll(filepath.Join(dir, netpolDir)))
	}
	return errors.Join(errs...)
}

func netpolName(name string, prefixes []string) bool {
	for _, p := range prefixes {
		if strings.HasPrefix(name, p) {
			return true
		}
	}
	return false
}
