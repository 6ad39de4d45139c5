// Package csidriver is a CSI driver of hubkit's own that stands in for a
// cluster's storage, as test/standin stands in for the Hub: it implements
// the documented CSI contract (spec v1.13) for what the Hub's claim uses,
// and no more. One process serves the Identity, Controller and Node
// services on one unix socket, for the one node it runs on, and registers
// itself with that node's kubelet (registration.go), as
// node-driver-registrar does for other drivers.
//
// Volumes are btrfs subvolumes of a file system the driver is given (Pool,
// a mount point; Disk makes one on a loop device for tests):
// volumes/<id> and snapshots/<id>, with what the driver knows of them in
// state.json beside. Why btrfs and not plain directories: a cloud disk's
// snapshot is point-in-time and atomic, and that is what hubkit's backups
// (Velero's CSI snapshots of the Hub's claim) rely on. A btrfs snapshot is
// the same: taken at once, it holds every write that returned before it
// and none after (crash-consistent, like a disk's; what the app keeps in
// its own memory is not in it), whereas copying a directory while the Hub
// writes makes a snapshot no moment ever had. It costs a loop device and
// btrfs-progs (installed by `make tools`).
//
// Capacity is enforced, as a disk's size is: each volume's subvolume has a
// btrfs qgroup limit on the bytes it references, so a write past the
// volume's capacity fails with EDQUOT ("Disk quota exceeded").
// ControllerExpandVolume raises the limit, which takes effect at once (no
// node expansion is needed; NodeExpandVolume only confirms it). Volumes
// are thinly provisioned: their capacities together may exceed the pool,
// as a cloud's do; GetCapacity reports the pool's free bytes, and a volume
// larger than the whole pool is refused (OUT_OF_RANGE). A volume's use is
// its qgroup's (NodeGetVolumeStats: the limit, the bytes referenced), which
// the kubelet reports as kubelet_volume_stats_*; df in a pod shows the
// whole pool, as statfs on a subvolume does.
//
// Snapshots are read-only btrfs snapshots of a volume's subvolume: ready at
// once, independent of the volume (either can be deleted first), of the
// volume's capacity (size_bytes, the smallest volume they restore to). A
// volume created from one is a writable snapshot of it with its own limit.
// Cloning a volume directly is not offered (no CLONE_VOLUME).
//
// Access: mount volumes only (no block), on this node only (topology
// TopologyKey=<node>; MULTI_NODE_* modes are refused). The driver
// advertises SINGLE_NODE_MULTI_WRITER, so that Kubernetes hands a
// ReadWriteOncePod claim over as SINGLE_NODE_SINGLE_WRITER and a
// ReadWriteOnce one as SINGLE_NODE_MULTI_WRITER, and, as the spec's table
// for that capability says, NodePublishVolume refuses to publish a volume
// to a second target path while a single-writer publication (or any but a
// multi-writer one) holds it: FAILED_PRECONDITION, naming the volume and
// the target that has it. NodePublishVolume bind-mounts the subvolume onto
// the target path (read-only when asked); there is no staging.
package csidriver

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"sync"

	"github.com/container-storage-interface/spec/lib/go/csi"
	"github.com/kubernetes-csi/csi-lib-utils/protosanitizer"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// DriverName is the driver's name in the e2e cluster: its CSIDriver
// object's, its StorageClass's provisioner, its VolumeSnapshotClass's
// driver (manifests/).
const DriverName = "csi.hubkit.test"

// TopologyKey is the topology segment the driver reports: volumes are
// reachable on the node whose name is its value.
const TopologyKey = "topology.csi.hubkit.test/node"

// DefaultCapacity is a volume's capacity when CreateVolume names none.
const DefaultCapacity int64 = 1 << 30

// Options describe the driver.
type Options struct {
	// Name is the driver's name (a CSIDriver object's, a StorageClass's
	// provisioner): DriverName in the e2e cluster.
	Name string
	// Version is reported by GetPluginInfo.
	Version string
	// NodeID is the node's name: the kubelet's node, and the topology value.
	NodeID string
	// Pool is the mount point of the btrfs file system the volumes live in.
	Pool string
	// Log receives a line per failed call (and, at debug level, per
	// call); nil: slog.Default().
	Log *slog.Logger
}

// Run serves the driver on the unix socket endpoint until ctx is done and,
// when registryDir is set (the kubelet's --root-dir/plugins_registry),
// registers it with that kubelet. It removes its sockets when it returns.
func Run(ctx context.Context, o Options, endpoint, registryDir string) error {
	d, err := New(ctx, o)
	if err != nil {
		return err
	}
	l, err := Listen(endpoint)
	if err != nil {
		return err
	}
	s := d.Server()
	served := make(chan error, 1)
	go func() { served <- s.Serve(l) }()
	defer func() {
		s.GracefulStop()
		_ = os.Remove(endpoint)
	}()
	if registryDir != "" {
		r, err := StartRegistration(registryDir, o.Name, endpoint)
		if err != nil {
			return err
		}
		defer r.Stop()
		go func() {
			if err := r.Wait(ctx); err != nil && ctx.Err() == nil {
				d.log.Error("registration", "error", err)
			} else if err == nil {
				d.log.Info("registered with the kubelet", "socket", r.Socket())
			}
		}()
	}
	d.log.Info("serving", "driver", o.Name, "node", o.NodeID, "pool", o.Pool, "endpoint", endpoint)
	select {
	case <-ctx.Done():
		return nil
	case err := <-served:
		return fmt.Errorf("csidriver: serving %s: %w", endpoint, err)
	}
}

// Driver serves the CSI services. Every call holds one lock: the driver's
// operations are short, and the sidecars' concurrent calls then see one
// order.
type Driver struct {
	opts Options
	log  *slog.Logger
	pool *pool

	mu    sync.Mutex
	state *state
}

// New opens the pool (enabling btrfs quotas on it) and the driver's state.
func New(ctx context.Context, o Options) (*Driver, error) {
	if o.Name == "" || o.NodeID == "" || o.Pool == "" {
		return nil, errors.New("csidriver: Name, NodeID and Pool are required")
	}
	p, err := openPool(ctx, o.Pool)
	if err != nil {
		return nil, fmt.Errorf("csidriver: pool %s: %w", o.Pool, err)
	}
	st, err := p.load()
	if err != nil {
		return nil, fmt.Errorf("csidriver: pool %s: %w", o.Pool, err)
	}
	log := o.Log
	if log == nil {
		log = slog.Default()
	}
	return &Driver{opts: o, log: log, pool: p, state: st}, nil
}

// Server returns a gRPC server with the driver's Identity, Controller and
// Node services, logging each call with its secrets stripped.
func (d *Driver) Server() *grpc.Server {
	s := grpc.NewServer(grpc.UnaryInterceptor(d.logCall))
	csi.RegisterIdentityServer(s, identity{d: d})
	csi.RegisterControllerServer(s, controller{d: d})
	csi.RegisterNodeServer(s, node{d: d})
	return s
}

// Listen listens on a unix socket at path, replacing a socket a stopped
// run left there.
func Listen(path string) (net.Listener, error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return nil, err
	}
	if fi, err := os.Lstat(path); err == nil && fi.Mode()&os.ModeSocket != 0 {
		if err := os.Remove(path); err != nil {
			return nil, err
		}
	}
	l, err := net.Listen("unix", path)
	if err != nil {
		return nil, fmt.Errorf("listen on %s: %w", path, err)
	}
	return l, nil
}

func (d *Driver) logCall(ctx context.Context, req any, info *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (any, error) {
	resp, err := handler(ctx, req)
	if err != nil {
		d.log.Info("csi call failed", "method", info.FullMethod, "request", protosanitizer.StripSecrets(req).String(), "error", err)
	} else {
		d.log.Debug("csi call", "method", info.FullMethod, "request", protosanitizer.StripSecrets(req).String(),
			"response", protosanitizer.StripSecrets(resp).String())
	}
	return resp, err
}

// topology is the segment every volume and the node report.
func (d *Driver) topology() *csi.Topology {
	return &csi.Topology{Segments: map[string]string{TopologyKey: d.opts.NodeID}}
}

// field is a request's field, by its name in the CSI spec, and its value.
type field struct{ name, value string }

// required is the InvalidArgument status for the first of fields that is
// empty, or nil when none is.
func required(fields ...field) error {
	for _, f := range fields {
		if f.value == "" {
			return status.Errorf(codes.InvalidArgument, "%s is required", f.name)
		}
	}
	return nil
}

// volume is the volume called id, or the NotFound status; the caller holds
// d.mu.
func (d *Driver) volume(id string) (*volume, error) {
	v := d.state.Volumes[id]
	if v == nil {
		return nil, status.Errorf(codes.NotFound, "volume %s does not exist", id)
	}
	return v, nil
}
