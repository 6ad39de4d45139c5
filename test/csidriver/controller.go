package csidriver

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/container-storage-interface/spec/lib/go/csi"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/timestamppb"
	"google.golang.org/protobuf/types/known/wrapperspb"
)

// controller is the CSI Controller service: volumes and snapshots in the
// pool. There is no ControllerPublishVolume: a volume is on its node
// already (no attacher is needed).
type controller struct {
	csi.UnimplementedControllerServer
	d *Driver
}

func (c controller) ControllerGetCapabilities(context.Context, *csi.ControllerGetCapabilitiesRequest) (*csi.ControllerGetCapabilitiesResponse, error) {
	var caps []*csi.ControllerServiceCapability
	for _, t := range []csi.ControllerServiceCapability_RPC_Type{
		csi.ControllerServiceCapability_RPC_CREATE_DELETE_VOLUME,
		csi.ControllerServiceCapability_RPC_CREATE_DELETE_SNAPSHOT,
		csi.ControllerServiceCapability_RPC_LIST_SNAPSHOTS,
		csi.ControllerServiceCapability_RPC_EXPAND_VOLUME,
		csi.ControllerServiceCapability_RPC_GET_CAPACITY,
		csi.ControllerServiceCapability_RPC_SINGLE_NODE_MULTI_WRITER,
	} {
		caps = append(caps, &csi.ControllerServiceCapability{
			Type: &csi.ControllerServiceCapability_Rpc{Rpc: &csi.ControllerServiceCapability_RPC{Type: t}},
		})
	}
	return &csi.ControllerGetCapabilitiesResponse{Capabilities: caps}, nil
}

// objectID is a volume's or snapshot's ID: a digest of its name, so that a
// subvolume left by a call that failed halfway is found by the next.
func objectID(prefix, name string) string {
	sum := sha256.Sum256([]byte(name))
	return prefix + hex.EncodeToString(sum[:8])
}

// checkParameters refuses parameters the driver does not know. It knows
// none of its own; the external-provisioner's and -snapshotter's
// metadata (csi.storage.k8s.io/..., with --extra-create-metadata) is
// accepted and unused.
func checkParameters(params map[string]string) error {
	for k := range params {
		if !strings.HasPrefix(k, "csi.storage.k8s.io/") {
			return status.Errorf(codes.InvalidArgument, "parameter %q: the driver takes no parameters", k)
		}
	}
	return nil
}

// capacity is the capacity a range asks for: its required bytes, else
// DefaultCapacity within its limit.
func capacity(r *csi.CapacityRange) (int64, error) {
	req, lim := r.GetRequiredBytes(), r.GetLimitBytes()
	switch {
	case req < 0 || lim < 0:
		return 0, status.Errorf(codes.InvalidArgument, "capacity_range %d..%d: negative", req, lim)
	case lim > 0 && req > lim:
		return 0, status.Errorf(codes.OutOfRange, "capacity_range: required_bytes %d exceed limit_bytes %d", req, lim)
	case req > 0:
		return req, nil
	case lim > 0:
		return min(DefaultCapacity, lim), nil
	}
	return DefaultCapacity, nil
}

// fits says whether a volume of size bytes satisfies the range.
func fits(size int64, r *csi.CapacityRange) bool {
	return size >= r.GetRequiredBytes() && (r.GetLimitBytes() == 0 || size <= r.GetLimitBytes())
}

// reachable says whether the driver's node satisfies the topology
// requirement: one of its requisite segments, when it names any.
func (d *Driver) reachable(r *csi.TopologyRequirement) bool {
	if len(r.GetRequisite()) == 0 {
		return true
	}
	for _, t := range r.GetRequisite() {
		if t.GetSegments()[TopologyKey] == d.opts.NodeID {
			return true
		}
	}
	return false
}

func (c controller) CreateVolume(ctx context.Context, req *csi.CreateVolumeRequest) (*csi.CreateVolumeResponse, error) {
	d := c.d
	if req.GetName() == "" {
		return nil, status.Error(codes.InvalidArgument, "name is required")
	}
	if err := checkCapabilities(req.GetVolumeCapabilities()); err != nil {
		return nil, status.Errorf(codes.InvalidArgument, "%v", err)
	}
	if err := checkParameters(req.GetParameters()); err != nil {
		return nil, err
	}
	size, err := capacity(req.GetCapacityRange())
	if err != nil {
		return nil, err
	}
	src := req.GetVolumeContentSource()
	if src != nil && src.GetSnapshot() == nil {
		return nil, status.Errorf(codes.InvalidArgument, "volume_content_source %T: volumes are made from snapshots only, not cloned", src.GetType())
	}
	fromSnapshot := src.GetSnapshot().GetSnapshotId()
	if src != nil && fromSnapshot == "" {
		return nil, status.Error(codes.InvalidArgument, "volume_content_source.snapshot.snapshot_id is required")
	}
	if !d.reachable(req.GetAccessibilityRequirements()) {
		return nil, status.Errorf(codes.ResourceExhausted, "accessibility_requirements: volumes are reachable on node %s only (%s)", d.opts.NodeID, TopologyKey)
	}

	d.mu.Lock()
	defer d.mu.Unlock()
	id := objectID("vol-", req.GetName())
	if v := d.state.Volumes[id]; v != nil {
		if !fits(v.Capacity, req.GetCapacityRange()) || v.Snapshot != fromSnapshot {
			return nil, status.Errorf(codes.AlreadyExists, "volume %q exists as %s with %d bytes from snapshot %q: not what this call asks for", req.GetName(), id, v.Capacity, v.Snapshot)
		}
		return &csi.CreateVolumeResponse{Volume: d.csiVolume(v)}, nil
	}
	if fromSnapshot != "" {
		s := d.state.Snapshots[fromSnapshot]
		if s == nil {
			return nil, status.Errorf(codes.NotFound, "snapshot %s does not exist", fromSnapshot)
		}
		if req.GetCapacityRange().GetRequiredBytes() == 0 {
			size = max(size, s.Size)
		}
		if size < s.Size || !fits(size, req.GetCapacityRange()) {
			return nil, status.Errorf(codes.OutOfRange, "capacity_range %d..%d: snapshot %s restores to at least %d bytes",
				req.GetCapacityRange().GetRequiredBytes(), req.GetCapacityRange().GetLimitBytes(), fromSnapshot, s.Size)
		}
	}
	poolSize, _, err := d.pool.space()
	if err != nil {
		return nil, status.Errorf(codes.Internal, "%v", err)
	}
	if size > poolSize {
		return nil, status.Errorf(codes.OutOfRange, "capacity %d exceeds the whole pool (%d bytes)", size, poolSize)
	}
	if err := d.pool.createVolume(ctx, id, fromSnapshot, size); err != nil {
		return nil, status.Errorf(codes.Internal, "create volume %q: %v", req.GetName(), err)
	}
	v := &volume{ID: id, Name: req.GetName(), Capacity: size, Snapshot: fromSnapshot}
	d.state.Volumes[id] = v
	if err := d.pool.save(d.state); err != nil {
		delete(d.state.Volumes, id)
		return nil, status.Errorf(codes.Internal, "%v", err)
	}
	return &csi.CreateVolumeResponse{Volume: d.csiVolume(v)}, nil
}

func (d *Driver) csiVolume(v *volume) *csi.Volume {
	out := &csi.Volume{VolumeId: v.ID, CapacityBytes: v.Capacity, AccessibleTopology: []*csi.Topology{d.topology()}}
	if v.Snapshot != "" {
		out.ContentSource = &csi.VolumeContentSource{Type: &csi.VolumeContentSource_Snapshot{
			Snapshot: &csi.VolumeContentSource_SnapshotSource{SnapshotId: v.Snapshot},
		}}
	}
	return out
}

func (c controller) DeleteVolume(ctx context.Context, req *csi.DeleteVolumeRequest) (*csi.DeleteVolumeResponse, error) {
	d := c.d
	if req.GetVolumeId() == "" {
		return nil, status.Error(codes.InvalidArgument, "volume_id is required")
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	v := d.state.Volumes[req.GetVolumeId()]
	if v == nil {
		return &csi.DeleteVolumeResponse{}, nil
	}
	published, err := d.livePublications(v)
	if err != nil {
		return nil, status.Errorf(codes.Internal, "%v", err)
	}
	if len(published) > 0 {
		return nil, status.Errorf(codes.FailedPrecondition, "volume %s is published at %s", v.ID, published[0].Target)
	}
	if err := d.pool.deleteVolume(ctx, v.ID); err != nil {
		return nil, status.Errorf(codes.Internal, "delete volume %s: %v", v.ID, err)
	}
	delete(d.state.Volumes, v.ID)
	if err := d.pool.save(d.state); err != nil {
		return nil, status.Errorf(codes.Internal, "%v", err)
	}
	return &csi.DeleteVolumeResponse{}, nil
}

func (c controller) ValidateVolumeCapabilities(_ context.Context, req *csi.ValidateVolumeCapabilitiesRequest) (*csi.ValidateVolumeCapabilitiesResponse, error) {
	d := c.d
	if req.GetVolumeId() == "" {
		return nil, status.Error(codes.InvalidArgument, "volume_id is required")
	}
	if len(req.GetVolumeCapabilities()) == 0 {
		return nil, status.Error(codes.InvalidArgument, "volume_capabilities are required")
	}
	d.mu.Lock()
	_, ok := d.state.Volumes[req.GetVolumeId()]
	d.mu.Unlock()
	if !ok {
		return nil, status.Errorf(codes.NotFound, "volume %s does not exist", req.GetVolumeId())
	}
	if err := checkCapabilities(req.GetVolumeCapabilities()); err != nil {
		return &csi.ValidateVolumeCapabilitiesResponse{Message: err.Error()}, nil
	}
	if err := checkParameters(req.GetParameters()); err != nil {
		return &csi.ValidateVolumeCapabilitiesResponse{Message: status.Convert(err).Message()}, nil
	}
	return &csi.ValidateVolumeCapabilitiesResponse{Confirmed: &csi.ValidateVolumeCapabilitiesResponse_Confirmed{
		VolumeContext:      req.GetVolumeContext(),
		VolumeCapabilities: req.GetVolumeCapabilities(),
		Parameters:         req.GetParameters(),
	}}, nil
}

// GetCapacity is the pool's free bytes, for a topology and capabilities
// the driver serves; zero for any other.
func (c controller) GetCapacity(_ context.Context, req *csi.GetCapacityRequest) (*csi.GetCapacityResponse, error) {
	d := c.d
	if t := req.GetAccessibleTopology(); t != nil && t.GetSegments()[TopologyKey] != d.opts.NodeID {
		return &csi.GetCapacityResponse{}, nil
	}
	for _, vc := range req.GetVolumeCapabilities() {
		if checkCapability(vc) != nil {
			return &csi.GetCapacityResponse{}, nil
		}
	}
	size, free, err := d.pool.space()
	if err != nil {
		return nil, status.Errorf(codes.Internal, "%v", err)
	}
	return &csi.GetCapacityResponse{AvailableCapacity: free, MaximumVolumeSize: wrapperspb.Int64(size)}, nil
}

// ControllerExpandVolume raises the volume's qgroup limit, which takes
// effect at once: no node expansion is required. It never shrinks.
func (c controller) ControllerExpandVolume(ctx context.Context, req *csi.ControllerExpandVolumeRequest) (*csi.ControllerExpandVolumeResponse, error) {
	d := c.d
	if req.GetVolumeId() == "" {
		return nil, status.Error(codes.InvalidArgument, "volume_id is required")
	}
	if req.GetCapacityRange() == nil {
		return nil, status.Error(codes.InvalidArgument, "capacity_range is required")
	}
	if vc := req.GetVolumeCapability(); vc != nil {
		if err := checkCapability(vc); err != nil {
			return nil, status.Errorf(codes.InvalidArgument, "%v", err)
		}
	}
	size, err := capacity(req.GetCapacityRange())
	if err != nil {
		return nil, err
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	v, err := d.volume(req.GetVolumeId())
	if err != nil {
		return nil, err
	}
	if size <= v.Capacity {
		return &csi.ControllerExpandVolumeResponse{CapacityBytes: v.Capacity}, nil
	}
	poolSize, _, err := d.pool.space()
	if err != nil {
		return nil, status.Errorf(codes.Internal, "%v", err)
	}
	if size > poolSize {
		return nil, status.Errorf(codes.OutOfRange, "capacity %d exceeds the whole pool (%d bytes)", size, poolSize)
	}
	if err := d.pool.limit(ctx, v.ID, size); err != nil {
		return nil, status.Errorf(codes.Internal, "expand volume %s: %v", v.ID, err)
	}
	old := v.Capacity
	v.Capacity = size
	if err := d.pool.save(d.state); err != nil {
		v.Capacity = old
		return nil, status.Errorf(codes.Internal, "%v", err)
	}
	return &csi.ControllerExpandVolumeResponse{CapacityBytes: size}, nil
}

func (c controller) CreateSnapshot(ctx context.Context, req *csi.CreateSnapshotRequest) (*csi.CreateSnapshotResponse, error) {
	d := c.d
	if req.GetName() == "" {
		return nil, status.Error(codes.InvalidArgument, "name is required")
	}
	if req.GetSourceVolumeId() == "" {
		return nil, status.Error(codes.InvalidArgument, "source_volume_id is required")
	}
	if err := checkParameters(req.GetParameters()); err != nil {
		return nil, err
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	id := objectID("snap-", req.GetName())
	if s := d.state.Snapshots[id]; s != nil {
		if s.Volume != req.GetSourceVolumeId() {
			return nil, status.Errorf(codes.AlreadyExists, "snapshot %q exists as %s of volume %s, not of %s", req.GetName(), id, s.Volume, req.GetSourceVolumeId())
		}
		return &csi.CreateSnapshotResponse{Snapshot: csiSnapshot(s)}, nil
	}
	v, err := d.volume(req.GetSourceVolumeId())
	if err != nil {
		return nil, err
	}
	if err := d.pool.createSnapshot(ctx, id, v.ID); err != nil {
		return nil, status.Errorf(codes.Internal, "snapshot volume %s: %v", v.ID, err)
	}
	s := &snapshot{ID: id, Name: req.GetName(), Volume: v.ID, Size: v.Capacity, Created: time.Now().UTC()}
	d.state.Snapshots[id] = s
	if err := d.pool.save(d.state); err != nil {
		delete(d.state.Snapshots, id)
		return nil, status.Errorf(codes.Internal, "%v", err)
	}
	return &csi.CreateSnapshotResponse{Snapshot: csiSnapshot(s)}, nil
}

func csiSnapshot(s *snapshot) *csi.Snapshot {
	return &csi.Snapshot{
		SnapshotId: s.ID, SourceVolumeId: s.Volume, SizeBytes: s.Size,
		CreationTime: timestamppb.New(s.Created), ReadyToUse: true,
	}
}

func (c controller) DeleteSnapshot(ctx context.Context, req *csi.DeleteSnapshotRequest) (*csi.DeleteSnapshotResponse, error) {
	d := c.d
	if req.GetSnapshotId() == "" {
		return nil, status.Error(codes.InvalidArgument, "snapshot_id is required")
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	s := d.state.Snapshots[req.GetSnapshotId()]
	if s == nil {
		return &csi.DeleteSnapshotResponse{}, nil
	}
	if err := d.pool.deleteSnapshot(ctx, s.ID); err != nil {
		return nil, status.Errorf(codes.Internal, "delete snapshot %s: %v", s.ID, err)
	}
	delete(d.state.Snapshots, s.ID)
	if err := d.pool.save(d.state); err != nil {
		return nil, status.Errorf(codes.Internal, "%v", err)
	}
	return &csi.DeleteSnapshotResponse{}, nil
}

// ListSnapshots lists snapshots in the order of their IDs, filtered by
// snapshot or source volume; a page's next token is the index of the next
// entry.
func (c controller) ListSnapshots(_ context.Context, req *csi.ListSnapshotsRequest) (*csi.ListSnapshotsResponse, error) {
	d := c.d
	if req.GetMaxEntries() < 0 {
		return nil, status.Errorf(codes.InvalidArgument, "max_entries %d: negative", req.GetMaxEntries())
	}
	d.mu.Lock()
	var all []*snapshot
	for _, s := range d.state.Snapshots {
		if (req.GetSnapshotId() == "" || s.ID == req.GetSnapshotId()) && (req.GetSourceVolumeId() == "" || s.Volume == req.GetSourceVolumeId()) {
			all = append(all, s)
		}
	}
	d.mu.Unlock()
	slices.SortFunc(all, func(a, b *snapshot) int { return strings.Compare(a.ID, b.ID) })
	start := 0
	if t := req.GetStartingToken(); t != "" {
		n, err := strconv.Atoi(t)
		if err != nil || n < 0 || n > len(all) {
			return nil, status.Errorf(codes.Aborted, "starting_token %q: not a token of this driver's", t)
		}
		start = n
	}
	end := len(all)
	if m := int(req.GetMaxEntries()); m > 0 && start+m < end {
		end = start + m
	}
	resp := &csi.ListSnapshotsResponse{}
	for _, s := range all[start:end] {
		resp.Entries = append(resp.Entries, &csi.ListSnapshotsResponse_Entry{Snapshot: csiSnapshot(s)})
	}
	if end < len(all) {
		resp.NextToken = strconv.Itoa(end)
	}
	return resp, nil
}
