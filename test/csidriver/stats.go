package csidriver

import (
	"context"
	"fmt"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/container-storage-interface/spec/lib/go/csi"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// VolumeDir is the directory of volume id in the pool mounted at pool:
// where its files are on the node's host, as a restore or a test reads them.
func VolumeDir(pool, id string) string { return filepath.Join(pool, "volumes", id) }

// Usage is what a subvolume (a volume's directory) references and its qgroup
// limit, in bytes, as btrfs counts them once the writes so far are
// committed (it syncs the file system first); limit is 0 when there is none.
// This is the volume's df: statfs on a subvolume reports the whole pool,
// whatever its limit.
func Usage(ctx context.Context, subvolume string) (used, limit int64, err error) {
	out, err := btrfs(ctx, "inspect-internal", "rootid", subvolume)
	if err != nil {
		return 0, 0, err
	}
	qgroup := "0/" + strings.TrimSpace(string(out))
	if out, err = btrfs(ctx, "qgroup", "show", "-r", "--raw", "--sync", "-f", subvolume); err != nil {
		return 0, 0, err
	}
	// qgroupid rfer excl max_rfer [path]
	for _, line := range strings.Split(string(out), "\n") {
		f := strings.Fields(line)
		if len(f) < 4 || f[0] != qgroup {
			continue
		}
		if used, err = strconv.ParseInt(f[1], 10, 64); err != nil {
			return 0, 0, fmt.Errorf("qgroup %s of %s: referenced %q: %w", qgroup, subvolume, f[1], err)
		}
		if f[3] == "none" {
			return used, 0, nil
		}
		if limit, err = strconv.ParseInt(f[3], 10, 64); err != nil {
			return 0, 0, fmt.Errorf("qgroup %s of %s: max referenced %q: %w", qgroup, subvolume, f[3], err)
		}
		return used, limit, nil
	}
	return 0, 0, fmt.Errorf("btrfs qgroup show lists no qgroup %s for %s: %q", qgroup, subvolume, out)
}

// NodeGetVolumeStats is the volume's use where it is published, from its
// qgroup: its capacity (the limit), the bytes it references, and what is
// left of its capacity or of the pool's free bytes, whichever is less (the
// volumes are thin). The kubelet reports it as kubelet_volume_stats_*,
// which hubkit's alerts read. Inodes are not counted: btrfs makes them as
// it needs them, and reports none.
func (n node) NodeGetVolumeStats(ctx context.Context, req *csi.NodeGetVolumeStatsRequest) (*csi.NodeGetVolumeStatsResponse, error) {
	d := n.d
	if err := required(field{"volume_id", req.GetVolumeId()}, field{"volume_path", req.GetVolumePath()}); err != nil {
		return nil, err
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	v, err := d.publishedAt(req.GetVolumeId(), req.GetVolumePath())
	if err != nil {
		return nil, err
	}
	used, limit, err := Usage(ctx, d.pool.volumePath(v.ID))
	if err != nil {
		return nil, status.Errorf(codes.Internal, "volume %s: %v", v.ID, err)
	}
	if limit == 0 {
		limit = v.Capacity
	}
	_, free, err := d.pool.space()
	if err != nil {
		return nil, status.Errorf(codes.Internal, "%v", err)
	}
	return &csi.NodeGetVolumeStatsResponse{Usage: []*csi.VolumeUsage{{
		Unit: csi.VolumeUsage_BYTES, Total: limit, Used: used, Available: max(0, min(limit-used, free)),
	}}}, nil
}
