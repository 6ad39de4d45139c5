package cluster

import (
	"context"
	"errors"
	"fmt"
	"math/bits"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/kubernetes"

	"github.com/hubkit/hubkit/test/node"
)

// The real nodes' addresses. A run has one /24 of pods (10.86.<pid mod
// 256>.0/24, so that two runs on a host do not collide), a quarter for each
// of its real nodes: the first node's slot is 0, AddNode takes the first
// free one after it, so that a test can have nodes of its own (to power
// off, say) beside the first. The database's address
// is 10.87.<pid mod 256>.1, on a link of the run's own: outside the pods'
// range, so that no node's NodePorts answer there, and the same whichever
// node is powered off. The Service range is the API server's, read from
// its ServiceCIDR.
const (
	maxRealNodes = 4
	// networkSuffix names the run's network (its directory and the
	// database's link); the node in slot i > 0 has a name ending in -<i+1>.
	networkSuffix = "db"
)

func podCIDR() netip.Prefix {
	return netip.PrefixFrom(netip.AddrFrom4([4]byte{10, 86, byte(os.Getpid() % 256), 0}), 24)
}

func databaseAddr() netip.Addr {
	return netip.AddrFrom4([4]byte{10, 87, byte(os.Getpid() % 256), 1})
}

// nodeSubnet is slot i's quarter of the run's pod range.
func nodeSubnet(i int) netip.Prefix {
	a := podCIDR().Addr().As4()
	a[3] = byte(i * 256 / maxRealNodes)
	return netip.PrefixFrom(netip.AddrFrom4(a), 24+bits.Len(maxRealNodes-1))
}

// runPID is the test process a node's or network's directory is named for.
func runPID(name string) (int, bool) {
	rest, ok := strings.CutPrefix(name, nodePrefix)
	if !ok {
		return 0, false
	}
	if i := strings.IndexFunc(rest, func(r rune) bool { return r < '0' || r > '9' }); i >= 0 {
		rest = rest[:i] // hubkit<pid>-2, hubkit<pid>db
	}
	pid, err := strconv.Atoi(rest)
	return pid, err == nil
}

// startRealNode prepares the host's network for the run's real nodes,
// then starts the first with the options ro.
func (c *Cluster) startRealNode(ctx context.Context, ro node.Options, nodesDir, binDir string) error {
	client, err := kubernetes.NewForConfig(c.Config)
	if err != nil {
		return err
	}
	services, err := serviceCIDR(ctx, client)
	if err != nil {
		return err
	}
	base := fmt.Sprintf("%s%d", nodePrefix, os.Getpid())
	c.Database = databaseAddr()
	network, err := node.StartNetwork(ctx, filepath.Join(nodesDir, base+networkSuffix), node.Network{
		PodCIDR: podCIDR(), ServiceCIDR: services, Hosts: []netip.Addr{c.Database},
	})
	if err != nil {
		return fmt.Errorf("the real nodes' network: %w", err)
	}
	c.Network = network.Network()
	stopCluster := c.stop
	c.stop = func() error { return errors.Join(network.Stop(), stopCluster()) }

	ro.Name, ro.Dir = base, filepath.Join(nodesDir, base)
	ro.BinDir, ro.Kubeconfig = binDir, c.Kubeconfig
	ro.Labels = map[string]string{RealNodeLabel: "real"}
	ro.Subnet, ro.Network = nodeSubnet(0), c.Network
	n, err := node.Start(ctx, ro)
	if err != nil {
		return err
	}
	c.Node, c.realNode, c.nodes[0] = n, ro, n
	withNetwork := c.stop
	c.stop = func() error { return errors.Join(n.Stop(), withNetwork()) }
	return nil
}

// AddNode starts another real node beside Node, as Node was started but
// in the first free slot, with a name, directory, bridge and subnet of its
// own, without the CSI driver and with images added to Node's: it shares
// the host's network namespace and lets Node save and restore the host's
// state (node.Options.SharesHost). RemoveNode stops it and frees its slot;
// Stop does if it still runs.
func (c *Cluster) AddNode(ctx context.Context, images ...string) (*node.Node, error) {
	if c.Node == nil {
		return nil, errors.New("the cluster has no real node to add one beside")
	}
	c.mu.Lock()
	slot := slices.Index(c.nodes[:], nil)
	if slot < 0 {
		c.mu.Unlock()
		return nil, fmt.Errorf("the run has %d real nodes, as many as its pod range has room for: remove one first", maxRealNodes)
	}
	c.nodes[slot] = &node.Node{} // taken while it starts
	c.mu.Unlock()
	o := c.realNode
	o.Name = fmt.Sprintf("%s-%d", o.Name, slot+1)
	o.Dir = filepath.Join(filepath.Dir(o.Dir), o.Name)
	o.Subnet = nodeSubnet(slot)
	o.SharesHost = true
	o.CSI, o.Kubelet = nil, nil
	o.Images = append(append([]string(nil), o.Images...), images...)
	n, err := node.Start(ctx, o)
	c.mu.Lock()
	defer c.mu.Unlock()
	if err != nil {
		c.nodes[slot] = nil
		return nil, err
	}
	c.nodes[slot] = n
	return n, nil
}

// RemoveNode stops a node AddNode started, deletes its Node object and
// frees its slot.
func (c *Cluster) RemoveNode(ctx context.Context, n *node.Node) error {
	client, err := kubernetes.NewForConfig(c.Config)
	if err != nil {
		return err
	}
	err = client.CoreV1().Nodes().Delete(ctx, n.Name(), metav1.DeleteOptions{})
	if apierrors.IsNotFound(err) {
		err = nil
	}
	err = errors.Join(n.Stop(), err)
	c.mu.Lock()
	if i := slices.Index(c.nodes[:], n); i > 0 {
		c.nodes[i] = nil
	}
	c.mu.Unlock()
	return err
}

// stopAddedNodes stops the nodes AddNode started that still run, last
// slot first.
func (c *Cluster) stopAddedNodes() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	var errs []error
	for i := len(c.nodes) - 1; i > 0; i-- {
		if n := c.nodes[i]; n != nil {
			errs = append(errs, n.Stop())
			c.nodes[i] = nil
		}
	}
	return errors.Join(errs...)
}

// serviceCIDR is the API server's Service range, from the ServiceCIDR it
// makes at its start.
func serviceCIDR(ctx context.Context, client kubernetes.Interface) (netip.Prefix, error) {
	var cidr netip.Prefix
	var last error
	err := wait.PollUntilContextTimeout(ctx, 100*time.Millisecond, 30*time.Second, true, func(ctx context.Context) (bool, error) {
		s, err := client.NetworkingV1().ServiceCIDRs().Get(ctx, "kubernetes", metav1.GetOptions{})
		if err != nil {
			last = err
			return false, nil
		}
		for _, c := range s.Spec.CIDRs {
			if p, err := netip.ParsePrefix(c); err == nil && p.Addr().Is4() {
				cidr = p
				return true, nil
			}
		}
		last = fmt.Errorf("no IPv4 range in %v", s.Spec.CIDRs)
		return false, nil
	})
	if err != nil {
		return cidr, fmt.Errorf("the API server's Service range (ServiceCIDR kubernetes): %w (last: %v)", err, last)
	}
	return cidr, nil
}
