package cluster

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
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
// 256>.0/24, so that two runs on a host do not collide): the first node has
// its lower half, a node added by AddNode the upper. The database's address
// is 10.87.<pid mod 256>.1, on a link of the run's own: outside the pods'
// range, so that no node's NodePorts answer there, and the same whichever
// node is powered off. The Service range is the API server's, read from
// its ServiceCIDR.
const (
	maxRealNodes = 2
	// networkSuffix names the run's network (its directory and the
	// database's link); a second node's name ends in -2.
	networkSuffix = "db"
)

func podCIDR() netip.Prefix {
	return netip.PrefixFrom(netip.AddrFrom4([4]byte{10, 86, byte(os.Getpid() % 256), 0}), 24)
}

func databaseAddr() netip.Addr {
	return netip.AddrFrom4([4]byte{10, 87, byte(os.Getpid() % 256), 1})
}

// nodeSubnet is the i-th node's half of the run's pod range.
func nodeSubnet(i int) netip.Prefix {
	a := podCIDR().Addr().As4()
	a[3] = byte(i * 128)
	return netip.PrefixFrom(netip.AddrFrom4(a), 25)
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
	c.Node, c.realNode = n, ro
	withNetwork := c.stop
	c.stop = func() error { return errors.Join(n.Stop(), withNetwork()) }
	return nil
}

// AddNode starts a second real node beside Node, as Node was started but
// with a name, directory, bridge and subnet of its own, without the CSI
// driver and with images added to Node's: it shares the host's network
// namespace and lets Node save and restore the host's state
// (node.Options.SharesHost). RemoveNode stops it; Stop does if it runs.
func (c *Cluster) AddNode(ctx context.Context, images ...string) (*node.Node, error) {
	if c.Node == nil {
		return nil, errors.New("the cluster has no real node to add one beside")
	}
	o := c.realNode
	o.Name = fmt.Sprintf("%s-%d", o.Name, maxRealNodes)
	o.Dir = filepath.Join(filepath.Dir(o.Dir), o.Name)
	o.Subnet = nodeSubnet(maxRealNodes - 1)
	o.SharesHost = true
	o.CSI, o.Kubelet = nil, nil
	o.Images = append(append([]string(nil), o.Images...), images...)
	if _, err := os.Stat(o.Dir); err == nil {
		return nil, fmt.Errorf("real node %s is already there: at most %d real nodes", o.Name, maxRealNodes)
	}
	n, err := node.Start(ctx, o)
	if err != nil {
		return nil, err
	}
	stop := c.stop
	c.stop = func() error { return errors.Join(n.Stop(), stop()) }
	return n, nil
}

// RemoveNode stops a node AddNode started and deletes its Node object.
func (c *Cluster) RemoveNode(ctx context.Context, n *node.Node) error {
	client, err := kubernetes.NewForConfig(c.Config)
	if err != nil {
		return err
	}
	err = client.CoreV1().Nodes().Delete(ctx, n.Name(), metav1.DeleteOptions{})
	if apierrors.IsNotFound(err) {
		err = nil
	}
	return errors.Join(n.Stop(), err)
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
