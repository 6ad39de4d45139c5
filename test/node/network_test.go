package node

import (
	"encoding/json"
	"net/netip"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestPodsGetRoutesToThePodAndServiceRangesAndTheHostsOnly(t *testing.T) {
	w := Network{
		PodCIDR:     netip.MustParsePrefix("10.86.7.0/24"),
		ServiceCIDR: netip.MustParsePrefix("10.96.0.0/12"),
		Hosts:       []netip.Addr{netip.MustParseAddr("10.87.7.1")},
	}
	assert.Equal(t, []netip.Prefix{
		netip.MustParsePrefix("10.86.7.0/24"), netip.MustParsePrefix("10.96.0.0/12"), netip.MustParsePrefix("10.87.7.1/32"),
	}, w.podRoutes(netip.MustParsePrefix("10.86.7.128/25")))
	assert.Empty(t, Network{}.podRoutes(netip.MustParsePrefix("10.86.7.0/24")), "a node alone: its own subnet, no route out")
}

func TestTheCNIConfigRoutesThroughTheGatewayWithNoDefaultRoute(t *testing.T) {
	n := &Node{opts: Options{Name: "hubkit1-2", Dir: "/nodes/hubkit1-2", Subnet: netip.MustParsePrefix("10.86.1.128/25"),
		Network: Network{PodCIDR: netip.MustParsePrefix("10.86.1.0/24"), ServiceCIDR: netip.MustParsePrefix("10.96.0.0/12")}}}
	n.ip = n.opts.Subnet.Addr().Next()
	routes, err := cniRoutes(n.opts.Network.podRoutes(n.opts.Subnet))
	require.NoError(t, err)
	b, err := render("cni", cniConfig, configData{Name: n.opts.Name, Subnet: n.opts.Subnet.String(), IP: n.ip.String(), Routes: routes, Path: func(e string) string { return n.path(e) }})
	require.NoError(t, err)
	var conf struct {
		Plugins []struct {
			IsGateway        bool `json:"isGateway"`
			IsDefaultGateway bool `json:"isDefaultGateway"`
			IPMasq           bool `json:"ipMasq"`
			IPAM             struct {
				Ranges [][]struct{ Subnet, Gateway string } `json:"ranges"`
				Routes []map[string]string                  `json:"routes"`
			} `json:"ipam"`
		} `json:"plugins"`
	}
	require.NoError(t, json.Unmarshal(b, &conf), "%s", b)
	p := conf.Plugins[0]
	assert.True(t, p.IsGateway)
	assert.False(t, p.IsDefaultGateway, "no default route")
	assert.False(t, p.IPMasq)
	assert.Equal(t, "10.86.1.129", p.IPAM.Ranges[0][0].Gateway)
	assert.Equal(t, []map[string]string{{"dst": "10.86.1.0/24"}, {"dst": "10.96.0.0/12"}}, p.IPAM.Routes, "each through the gateway: no gw given")
}

func TestEveryKubeProxyOfANetworkGetsTheSameClusterCIDRAndNodePortAddresses(t *testing.T) {
	w := Network{PodCIDR: netip.MustParsePrefix("10.86.1.0/24"), ServiceCIDR: netip.MustParsePrefix("10.96.0.0/12")}
	var seen [][]string
	for _, subnet := range []string{"10.86.1.0/25", "10.86.1.128/25"} {
		n := &Node{opts: Options{Name: "n", Subnet: netip.MustParsePrefix(subnet), Network: w}}
		n.ip = n.opts.Subnet.Addr().Next()
		c := n.proxyConfig(1, 2)
		seen = append(seen, append([]string{c.ClusterCIDR}, c.NodePortAddresses...))
	}
	assert.Equal(t, []string{"10.86.1.0/24", "10.86.1.0/24"}, seen[0])
	assert.Equal(t, seen[0], seen[1])
}
