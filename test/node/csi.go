package node

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"time"

	"github.com/container-storage-interface/spec/lib/go/csi"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/hubkit/hubkit/test/csidriver"
)

// CSIOptions give the node a cluster's storage: hubkit's CSI test driver
// (test/csidriver) on a btrfs disk of the node's own, registered with the
// node's kubelet as node-driver-registrar registers other drivers, and the
// CSI sidecars beside it that make claims, snapshots and expansions its
// calls: external-provisioner, external-resizer, external-snapshotter's
// csi-snapshotter and snapshot-controller, from BinDir (`make tools`). They
// run on the host with the cluster's admin kubeconfig, as a cluster's
// storage controllers run beside the API server; no leader election.
//
// The cluster's side of it, the CSIDriver, the default StorageClass and
// VolumeSnapshotClass and the VolumeSnapshot CRDs (which snapshot-controller
// wants at its start), is applied before the node starts (test/cluster).
type CSIOptions struct {
	// Driver is test/cmd/csidriver, built.
	Driver string
	// DiskSize is the disk's size in bytes. The image is sparse: it takes
	// what is written. A volume larger than the disk is refused, so it is
	// larger than any claim the tests make, grown ones included.
	DiskSize int64
}

// The sidecars Start runs when Options.CSI is set, each a daemon of its own.
var csiSidecars = []string{"csi-provisioner", "csi-resizer", "csi-snapshotter", "snapshot-controller"}

// csiDir holds the node's disk (disk/) and the sidecars' kubeconfig: a
// copy, so that every process of the node's storage names the node's
// directory in its command line and a stale run's are found by it (Clean).
func (n *Node) csiDir(elem ...string) string { return n.path(append([]string{"csi"}, elem...)...) }

// csiSocket is the driver's CSI socket, where a kubelet looks for it.
func (n *Node) csiSocket() string {
	return n.path("kubelet", "plugins", csidriver.DriverName, "csi.sock")
}

func (n *Node) csiPool() string { return filepath.Join(n.csiDir("disk"), "pool") }

// checkCSI says what is missing for the node's storage.
func (n *Node) checkCSI() error {
	o := n.opts.CSI
	if o == nil {
		return nil
	}
	if _, err := os.Stat(o.Driver); err != nil {
		return fmt.Errorf("the CSI driver: %w (build test/cmd/csidriver)", err)
	}
	for _, b := range csiSidecars {
		if _, err := os.Stat(n.bin(b)); err != nil {
			return fmt.Errorf("%s is missing from %s: run `make tools`, which builds the CSI sidecars", b, n.opts.BinDir)
		}
	}
	if sock := csidriver.RegistrationSocket(n.path("kubelet", "plugins_registry"), csidriver.DriverName); len(sock) > 107 {
		return fmt.Errorf("%s is too long for a unix socket: use a shorter Dir", sock)
	}
	return nil
}

// startCSIDriver makes the node's disk and starts the driver on it, before
// the kubelet, whose plugin watcher then finds the driver's registration
// socket; it returns once the driver serves its CSI socket. Stop stops the
// driver after the kubelet (which unmounted its pods' volumes), then
// removes the disk.
func (n *Node) startCSIDriver(ctx context.Context) error {
	o := n.opts.CSI
	if o == nil {
		return nil
	}
	if err := n.checkCSI(); err != nil {
		return err
	}
	if err := os.MkdirAll(n.csiDir(), 0o700); err != nil {
		return err
	}
	disk, err := csidriver.StartDisk(ctx, n.csiDir("disk"), o.DiskSize)
	if err != nil {
		return err
	}
	n.onStop("remove the CSI driver's disk", disk.Stop)
	n.onStop("stop the CSI driver", func() error { return n.stopDaemon("csidriver", 10*time.Second) })
	d, err := n.startDaemon("csidriver", o.Driver,
		"-node-id", n.opts.Name, "-pool", disk.Pool(),
		"-endpoint", n.csiSocket(), "-plugins-registry", n.path("kubelet", "plugins_registry"))
	if err != nil {
		return err
	}
	return n.waitRunning(ctx, d, 30*time.Second, "the CSI driver serving "+n.csiSocket(), func(context.Context) (bool, error) {
		fi, err := os.Stat(n.csiSocket())
		return err == nil && fi.Mode()&os.ModeSocket != 0, err
	})
}

// startCSISidecars waits until the kubelet has registered the driver (the
// node's CSINode lists it, and the node carries its topology label), then
// starts the sidecars, each serving its metrics on the node's address, and
// returns once each answers there: connected to the driver (or, for
// snapshot-controller, to the API server with the snapshot CRDs served).
func (n *Node) startCSISidecars(ctx context.Context) error {
	if n.opts.CSI == nil {
		return nil
	}
	client, err := n.client()
	if err != nil {
		return err
	}
	err = n.waitRunning(ctx, n.daemons["csidriver"], time.Minute, "the kubelet to register "+csidriver.DriverName, func(ctx context.Context) (bool, error) {
		csiNode, err := client.StorageV1().CSINodes().Get(ctx, n.opts.Name, metav1.GetOptions{})
		if err != nil {
			return false, err
		}
		var drivers []string
		for _, d := range csiNode.Spec.Drivers {
			drivers = append(drivers, d.Name)
		}
		if !slices.Contains(drivers, csidriver.DriverName) {
			return false, fmt.Errorf("CSINode %s lists %v", n.opts.Name, drivers)
		}
		node, err := client.CoreV1().Nodes().Get(ctx, n.opts.Name, metav1.GetOptions{})
		if err != nil {
			return false, err
		}
		return node.Labels[csidriver.TopologyKey] == n.opts.Name, fmt.Errorf("node %s: %s=%q", n.opts.Name, csidriver.TopologyKey, node.Labels[csidriver.TopologyKey])
	})
	if err != nil {
		return err
	}
	kubeconfig, err := os.ReadFile(n.opts.Kubeconfig)
	if err != nil {
		return err
	}
	if err := os.WriteFile(n.csiDir("kubeconfig"), kubeconfig, 0o600); err != nil {
		return err
	}
	ports, err := freePorts(n.ip.String(), len(csiSidecars))
	if err != nil {
		return err
	}
	for i, name := range csiSidecars {
		endpoint := net.JoinHostPort(n.ip.String(), strconv.Itoa(ports[i]))
		var args []string
		switch name {
		case "csi-provisioner":
			// Flags of its own spelling (pflag); the others take Go's.
			args = []string{"--csi-address", n.csiSocket(), "--kubeconfig", n.csiDir("kubeconfig"),
				"--leader-election=false", "--http-endpoint", endpoint, "--v", "2"}
		case "snapshot-controller":
			// Without the VolumeGroupSnapshot CRDs (hubkit takes none), it
			// waits 30 s for them at its start unless the gate is off.
			args = []string{"-kubeconfig", n.csiDir("kubeconfig"), "-http-endpoint", endpoint,
				"-feature-gates", "CSIVolumeGroupSnapshot=false", "-v", "2"}
		default:
			args = []string{"-csi-address", n.csiSocket(), "-kubeconfig", n.csiDir("kubeconfig"), "-http-endpoint", endpoint, "-v", "2"}
		}
		n.onStop("stop "+name, func() error { return n.stopDaemon(name, 10*time.Second) })
		d, err := n.startDaemon(name, append([]string{n.bin(name)}, args...)...)
		if err != nil {
			return err
		}
		url := "http://" + endpoint + "/metrics"
		err = n.waitRunning(ctx, d, time.Minute, name+" serving "+url, func(ctx context.Context) (bool, error) {
			req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
			if err != nil {
				return false, err
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				return false, err
			}
			resp.Body.Close()
			return resp.StatusCode == http.StatusOK, fmt.Errorf("%s", resp.Status)
		})
		if err != nil {
			return err
		}
	}
	return nil
}

// stopDaemon stops the named daemon, if it was started.
func (n *Node) stopDaemon(name string, grace time.Duration) error {
	if d := n.daemons[name]; d != nil {
		return d.stop(grace)
	}
	return nil
}

// CSIVolumeDir is the host directory of the CSI volume with handle (its
// PersistentVolume's spec.csi.volumeHandle): the claim's files, as a
// restore reads them.
func (n *Node) CSIVolumeDir(handle string) string { return csidriver.VolumeDir(n.csiPool(), handle) }

// CSIVolumeUsage is the bytes the CSI volume with handle holds and its
// capacity, as the disk enforces it (its btrfs qgroup limit), read on the
// host.
func (n *Node) CSIVolumeUsage(ctx context.Context, handle string) (used, limit int64, err error) {
	if n.opts.CSI == nil {
		return 0, 0, errors.New("the node runs no CSI driver (Options.CSI)")
	}
	return csidriver.Usage(ctx, n.CSIVolumeDir(handle))
}

// CSIPublish asks the node's CSI driver, as the kubelet asks it for a pod,
// to publish the CSI volume of PersistentVolume pv at the pod podUID's path
// for it, as ReadWriteOncePod (SINGLE_NODE_SINGLE_WRITER), and returns the
// driver's refusal, a gRPC status (nil: it granted it, and the publication
// is undone): what the driver itself enforces, past the kubelet's own
// checks.
func (n *Node) CSIPublish(ctx context.Context, pv *corev1.PersistentVolume, podUID string) error {
	if pv.Spec.CSI == nil {
		return fmt.Errorf("volume %s is not a CSI volume", pv.Name)
	}
	conn, err := grpc.NewClient("unix://"+n.csiSocket(), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		return err
	}
	defer conn.Close()
	target := n.path("kubelet", "pods", podUID, "volumes", "kubernetes.io~csi", pv.Name, "mount")
	node := csi.NewNodeClient(conn)
	_, err = node.NodePublishVolume(ctx, &csi.NodePublishVolumeRequest{
		VolumeId: pv.Spec.CSI.VolumeHandle, TargetPath: target, VolumeContext: pv.Spec.CSI.VolumeAttributes,
		VolumeCapability: &csi.VolumeCapability{
			AccessType: &csi.VolumeCapability_Mount{Mount: &csi.VolumeCapability_MountVolume{}},
			AccessMode: &csi.VolumeCapability_AccessMode{Mode: csi.VolumeCapability_AccessMode_SINGLE_NODE_SINGLE_WRITER},
		},
	})
	if err != nil {
		return err // the driver's refusal, a gRPC status
	}
	if _, err := node.NodeUnpublishVolume(ctx, &csi.NodeUnpublishVolumeRequest{VolumeId: pv.Spec.CSI.VolumeHandle, TargetPath: target}); err != nil {
		return fmt.Errorf("undoing the publication of volume %s at %s: %w", pv.Name, target, err)
	}
	return nil
}

// cleanCSI undoes the disk a killed run's node left in its directory dir
// (its processes are killed by then): its mounts, wherever they are, and
// its loop device.
func cleanCSI(dir string) error {
	return csidriver.CleanDisks(filepath.Join(dir, "csi"), func(string) bool { return false })
}
