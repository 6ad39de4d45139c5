package cluster

import (
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
	assert.True(t, podCIDR().Contains(nodeSubnet(0).Addr()))
	assert.True(t, podCIDR().Contains(nodeSubnet(1).Addr()))
	assert.False(t, nodeSubnet(0).Overlaps(nodeSubnet(1)))
	assert.False(t, podCIDR().Contains(databaseAddr()), "the database is outside the pods' range, where no NodePort answers")
}
