package csidriver

import (
	"context"
	"errors"
	"fmt"
	"os"
	"slices"

	"github.com/container-storage-interface/spec/lib/go/csi"
	"golang.org/x/sys/unix"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// node is the CSI Node service: a volume is published by bind-mounting its
// subvolume onto the target path; there is no staging.
type node struct {
	csi.UnimplementedNodeServer
	d *Driver
}

func (n node) NodeGetCapabilities(context.Context, *csi.NodeGetCapabilitiesRequest) (*csi.NodeGetCapabilitiesResponse, error) {
	var caps []*csi.NodeServiceCapability
	for _, t := range []csi.NodeServiceCapability_RPC_Type{
		csi.NodeServiceCapability_RPC_EXPAND_VOLUME,
		csi.NodeServiceCapability_RPC_GET_VOLUME_STATS,
		csi.NodeServiceCapability_RPC_SINGLE_NODE_MULTI_WRITER,
	} {
		caps = append(caps, &csi.NodeServiceCapability{
			Type: &csi.NodeServiceCapability_Rpc{Rpc: &csi.NodeServiceCapability_RPC{Type: t}},
		})
	}
	return &csi.NodeGetCapabilitiesResponse{Capabilities: caps}, nil
}

func (n node) NodeGetInfo(context.Context, *csi.NodeGetInfoRequest) (*csi.NodeGetInfoResponse, error) {
	return &csi.NodeGetInfoResponse{NodeId: n.d.opts.NodeID, AccessibleTopology: n.d.topology()}, nil
}

// mountFlags are the bind mount's flags for a capability's mount_flags:
// those a bind mount can take; any other is refused.
func mountFlags(flags []string) (uintptr, error) {
	var out uintptr
	for _, f := range flags {
		switch f {
		case "rw", "defaults":
		case "ro":
			out |= unix.MS_RDONLY
		case "nosuid":
			out |= unix.MS_NOSUID
		case "nodev":
			out |= unix.MS_NODEV
		case "noexec":
			out |= unix.MS_NOEXEC
		case "noatime":
			out |= unix.MS_NOATIME
		case "nodiratime":
			out |= unix.MS_NODIRATIME
		case "relatime":
			out |= unix.MS_RELATIME
		default:
			return 0, fmt.Errorf("mount flag %q: a bind mount takes only ro, rw, nosuid, nodev, noexec, noatime, nodiratime, relatime", f)
		}
	}
	return out, nil
}

// livePublications are the volume's publications whose bind mount is in
// the mount table (a reboot, or an unmount behind the driver's back, ends
// one); the volume keeps only those.
func (d *Driver) livePublications(v *volume) ([]publication, error) {
	mounts, err := readMounts()
	if err != nil {
		return nil, err
	}
	v.Published = slices.DeleteFunc(v.Published, func(p publication) bool { return !d.pool.mountedAt(mounts, v.ID, p.Target) })
	return v.Published, nil
}

// NodePublishVolume bind-mounts the volume onto the target path. A second
// target path is refused (FAILED_PRECONDITION) unless both publications
// are SINGLE_NODE_MULTI_WRITER; the same target with other arguments is
// ALREADY_EXISTS; the same call again is OK.
func (n node) NodePublishVolume(_ context.Context, req *csi.NodePublishVolumeRequest) (*csi.NodePublishVolumeResponse, error) {
	d := n.d
	switch {
	case req.GetVolumeId() == "":
		return nil, status.Error(codes.InvalidArgument, "volume_id is required")
	case req.GetTargetPath() == "":
		return nil, status.Error(codes.InvalidArgument, "target_path is required")
	case req.GetVolumeCapability() == nil:
		return nil, status.Error(codes.InvalidArgument, "volume_capability is required")
	}
	if err := checkCapability(req.GetVolumeCapability()); err != nil {
		return nil, status.Errorf(codes.InvalidArgument, "%v", err)
	}
	mode := req.GetVolumeCapability().GetAccessMode().GetMode()
	flags, _ := mountFlags(req.GetVolumeCapability().GetMount().GetMountFlags())
	if req.GetReadonly() || mode == csi.VolumeCapability_AccessMode_SINGLE_NODE_READER_ONLY {
		flags |= unix.MS_RDONLY
	}
	pub := publication{Target: req.GetTargetPath(), Mode: mode, ReadOnly: req.GetReadonly(), Flags: req.GetVolumeCapability().GetMount().GetMountFlags()}

	d.mu.Lock()
	defer d.mu.Unlock()
	v, err := d.volume(req.GetVolumeId())
	if err != nil {
		return nil, err
	}
	live, err := d.livePublications(v)
	if err != nil {
		return nil, status.Errorf(codes.Internal, "%v", err)
	}
	for _, p := range live {
		if p.Target == pub.Target {
			if p.Mode == pub.Mode && p.ReadOnly == pub.ReadOnly && slices.Equal(p.Flags, pub.Flags) {
				return &csi.NodePublishVolumeResponse{}, nil
			}
			return nil, status.Errorf(codes.AlreadyExists, "volume %s is published at %s as %s (read-only %t, flags %v), not as this call asks",
				v.ID, p.Target, p.Mode, p.ReadOnly, p.Flags)
		}
	}
	for _, p := range live {
		if !multiPublish(p.Mode) || !multiPublish(pub.Mode) {
			return nil, status.Errorf(codes.FailedPrecondition, "volume %s is published at %s as %s: it cannot be published at %s as %s too (only SINGLE_NODE_MULTI_WRITER publications share a volume)",
				v.ID, p.Target, p.Mode, pub.Target, pub.Mode)
		}
	}
	if err := d.pool.bind(v.ID, pub.Target, flags); err != nil {
		return nil, status.Errorf(codes.Internal, "publish volume %s at %s: %v", v.ID, pub.Target, err)
	}
	v.Published = append(v.Published, pub)
	if err := d.pool.save(d.state); err != nil {
		return nil, status.Errorf(codes.Internal, "%v", errors.Join(err, unbind(pub.Target)))
	}
	return &csi.NodePublishVolumeResponse{}, nil
}

// NodeUnpublishVolume unmounts the target path, if the volume is mounted
// there, and removes it.
func (n node) NodeUnpublishVolume(_ context.Context, req *csi.NodeUnpublishVolumeRequest) (*csi.NodeUnpublishVolumeResponse, error) {
	d := n.d
	if err := required(field{"volume_id", req.GetVolumeId()}, field{"target_path", req.GetTargetPath()}); err != nil {
		return nil, err
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	v, err := d.volume(req.GetVolumeId())
	if err != nil {
		return nil, err
	}
	mounts, err := readMounts()
	if err != nil {
		return nil, status.Errorf(codes.Internal, "%v", err)
	}
	if d.pool.mountedAt(mounts, v.ID, req.GetTargetPath()) {
		if err := unbind(req.GetTargetPath()); err != nil {
			return nil, status.Errorf(codes.Internal, "unpublish volume %s from %s: %v", v.ID, req.GetTargetPath(), err)
		}
	}
	if err := os.Remove(req.GetTargetPath()); err != nil && !errors.Is(err, os.ErrNotExist) {
		return nil, status.Errorf(codes.Internal, "unpublish volume %s: %v", v.ID, err)
	}
	v.Published = slices.DeleteFunc(v.Published, func(p publication) bool { return p.Target == req.GetTargetPath() })
	if err := d.pool.save(d.state); err != nil {
		return nil, status.Errorf(codes.Internal, "%v", err)
	}
	return &csi.NodeUnpublishVolumeResponse{}, nil
}

// NodeExpandVolume confirms the volume's capacity where it is published:
// ControllerExpandVolume's new limit is in effect already.
func (n node) NodeExpandVolume(_ context.Context, req *csi.NodeExpandVolumeRequest) (*csi.NodeExpandVolumeResponse, error) {
	d := n.d
	if err := required(field{"volume_id", req.GetVolumeId()}, field{"volume_path", req.GetVolumePath()}); err != nil {
		return nil, err
	}
	if vc := req.GetVolumeCapability(); vc != nil {
		if err := checkCapability(vc); err != nil {
			return nil, status.Errorf(codes.InvalidArgument, "%v", err)
		}
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	v, err := d.publishedAt(req.GetVolumeId(), req.GetVolumePath())
	if err != nil {
		return nil, err
	}
	if r := req.GetCapacityRange(); r.GetRequiredBytes() > v.Capacity || (r.GetLimitBytes() > 0 && r.GetLimitBytes() < v.Capacity) {
		return nil, status.Errorf(codes.OutOfRange, "volume %s has %d bytes, outside capacity_range %d..%d: expand it with ControllerExpandVolume",
			v.ID, v.Capacity, r.GetRequiredBytes(), r.GetLimitBytes())
	}
	return &csi.NodeExpandVolumeResponse{CapacityBytes: v.Capacity}, nil
}

// bind mounts the volume's subvolume at target (made if missing) with
// flags (a bind mount takes them on a remount).
func (p *pool) bind(id, target string, flags uintptr) error {
	if err := os.MkdirAll(target, 0o750); err != nil {
		return err
	}
	if err := unix.Mount(p.volumePath(id), target, "", unix.MS_BIND, ""); err != nil {
		return fmt.Errorf("bind mount %s on %s: %w", p.volumePath(id), target, err)
	}
	if flags != 0 {
		if err := unix.Mount("", target, "", unix.MS_BIND|unix.MS_REMOUNT|flags, ""); err != nil {
			return errors.Join(fmt.Errorf("remount %s with flags %#x: %w", target, flags, err), unbind(target))
		}
	}
	return nil
}

func unbind(target string) error {
	if err := unix.Unmount(target, 0); err != nil {
		return fmt.Errorf("unmount %s: %w", target, err)
	}
	return nil
}

// publishedAt is the volume called id if it is published at path now (a
// live publication), or the NotFound status; the caller holds d.mu.
func (d *Driver) publishedAt(id, path string) (*volume, error) {
	v, err := d.volume(id)
	if err != nil {
		return nil, err
	}
	live, err := d.livePublications(v)
	if err != nil {
		return nil, status.Errorf(codes.Internal, "%v", err)
	}
	if !slices.ContainsFunc(live, func(p publication) bool { return p.Target == path }) {
		return nil, status.Errorf(codes.NotFound, "volume %s is not published at %s", v.ID, path)
	}
	return v, nil
}
