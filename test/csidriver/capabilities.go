package csidriver

import (
	"fmt"

	"github.com/container-storage-interface/spec/lib/go/csi"
)

// singleNode says whether a mode is one of a volume on one node.
// MULTI_NODE_* modes are not: a volume lives on its node's disk.
func singleNode(m csi.VolumeCapability_AccessMode_Mode) bool {
	switch m {
	case csi.VolumeCapability_AccessMode_SINGLE_NODE_WRITER,
		csi.VolumeCapability_AccessMode_SINGLE_NODE_READER_ONLY,
		csi.VolumeCapability_AccessMode_SINGLE_NODE_SINGLE_WRITER,
		csi.VolumeCapability_AccessMode_SINGLE_NODE_MULTI_WRITER:
		return true
	}
	return false
}

// checkCapability says why the driver cannot give a volume the capability,
// or nil: mount access (btrfs, the only file system) in a single-node mode.
func checkCapability(c *csi.VolumeCapability) error {
	if c == nil {
		return fmt.Errorf("a volume capability is empty")
	}
	m := c.GetMount()
	if m == nil {
		return fmt.Errorf("access type %T: only mount volumes are offered, not block", c.GetAccessType())
	}
	if fs := m.GetFsType(); fs != "" && fs != "btrfs" {
		return fmt.Errorf("fs_type %q: volumes are btrfs subvolumes", fs)
	}
	if _, err := mountFlags(m.GetMountFlags()); err != nil {
		return err
	}
	if mode := c.GetAccessMode().GetMode(); !singleNode(mode) {
		return fmt.Errorf("access mode %s: a volume is reachable on its one node only", mode)
	}
	return nil
}

func checkCapabilities(cs []*csi.VolumeCapability) error {
	if len(cs) == 0 {
		return fmt.Errorf("volume_capabilities are required")
	}
	for _, c := range cs {
		if err := checkCapability(c); err != nil {
			return err
		}
	}
	return nil
}

// multiPublish says whether a volume published in this mode may also be
// published at another target path: the CSI spec's table for a plugin with
// SINGLE_NODE_MULTI_WRITER lets only that mode (and MULTI_NODE_*, which
// the driver does not offer) be; every other mode, SINGLE_NODE_WRITER and
// SINGLE_NODE_READER_ONLY among them, is FAILED_PRECONDITION.
func multiPublish(m csi.VolumeCapability_AccessMode_Mode) bool {
	return m == csi.VolumeCapability_AccessMode_SINGLE_NODE_MULTI_WRITER
}
