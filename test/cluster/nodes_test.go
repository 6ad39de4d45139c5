package cluster

import (
	"net/netip"
	"testing"

	"github.com/stretchr/testify/assert"
)

func TestARealNodesDirectoryNamesItsRun(t *testing.T) {
	for name, want := range map[string]int{"hubkit123": 123, "hubkit123-2": 123, "hubkit123db": 123} {
		pid, ok := runPID(name)
		assert.True(t, ok, name)
		assert.Equal(t, want, pid, name)
	}
	for _, name := range []string{"hubkit", "hubkitdb", "other123"} {
		_, ok := runPID(name)
		assert.False(t, ok, name)
	}
}

func TestTheRealNodesSplitTheRunsPodRange(t *testing.T) {
	for i := range maxRealNodes {
		assert.True(t, podCIDR().Contains(nodeSubnet(i).Addr()), "slot %d", i)
		last := nodeSubnet(i).Addr().As4()
		last[3] += byte(1<<(32-nodeSubnet(i).Bits())) - 1
		assert.True(t, podCIDR().Contains(netip.AddrFrom4(last)), "slot %d ends inside the run's range", i)
		for j := range i {
			assert.False(t, nodeSubnet(i).Overlaps(nodeSubnet(j)), "slots %d and %d", j, i)
		}
	}
	assert.False(t, podCIDR().Contains(databaseAddr()), "the database is outside the pods' range, where no NodePort answers")
}

func TestAClustersNameNamesItsRun(t *testing.T) {
	for name, want := range map[string]int{"hubkit-e2e-123": 123, "hubkit-e2e-123-site-a": 123} {
		pid, ok := runOf(name)
		assert.True(t, ok, name)
		assert.Equal(t, want, pid, name)
	}
	for _, name := range []string{"hubkit-e2e-", "hubkit-e2e-x-1", "kwok"} {
		_, ok := runOf(name)
		assert.False(t, ok, name)
	}
}
