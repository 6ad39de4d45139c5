package node

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"os"
	"strings"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"
)

// containerdConfig is containerd's config (format version 2, as Debian's
// containerd 1.6 reads it): every root, state directory and socket is the
// node's own, so a developer's containerd and another run never collide.
// The host has no CAP_SYS_RESOURCE to give, hence restrict_oom_score_adj.
const containerdConfig = `version = 2
root = "{{.Path "containerd/root"}}"
state = "{{.Path "containerd/state"}}"
disabled_plugins = ["io.containerd.snapshotter.v1.aufs", "io.containerd.snapshotter.v1.btrfs", "io.containerd.snapshotter.v1.devmapper", "io.containerd.snapshotter.v1.zfs", "io.containerd.tracing.processor.v1.otlp", "io.containerd.internal.v1.tracing"]

[grpc]
  address = "{{.ContainerdSocket}}"

[ttrpc]
  address = "{{.ContainerdSocket}}.ttrpc"

[debug]
  address = ""

[metrics]
  address = ""

[plugins."io.containerd.internal.v1.opt"]
  path = "{{.Path "containerd/opt"}}"

[plugins."io.containerd.grpc.v1.cri"]
  sandbox_image = "{{.SandboxImage}}"
  restrict_oom_score_adj = true
  enable_selinux = false
  [plugins."io.containerd.grpc.v1.cri".containerd]
    snapshotter = "overlayfs"
    default_runtime_name = "runc"
    [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]
      runtime_type = "io.containerd.runc.v2"
      [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc.options]
        SystemdCgroup = false
        Root = "{{.Path "runc"}}"
  [plugins."io.containerd.grpc.v1.cri".cni]
    bin_dir = "/usr/lib/cni"
    conf_dir = "{{.Path "cni/net.d"}}"
    max_conf_num = 1
`

// cniConfig is the pods' network: a bridge with the node's address as
// gateway, addresses from the node's subnet, no masquerading (pods talk to
// the host and each other, never beyond).
const cniConfig = `{
  "cniVersion": "1.0.0",
  "name": "{{.Name}}",
  "plugins": [
    {
      "type": "bridge",
      "bridge": "{{.Name}}",
      "isGateway": true,
      "ipMasq": false,
      "hairpinMode": true,
      "ipam": {
        "type": "host-local",
        "dataDir": "{{.Path "cni/ipam"}}",
        "ranges": [[{"subnet": "{{.Subnet}}", "gateway": "{{.IP}}"}]]
      }
    }
  ]
}
`

// Path is a path under the node's directory, for the config templates.
func (n *Node) Path(elem string) string { return n.path(elem) }

// ContainerdSocket is containerd's socket.
func (n *Node) ContainerdSocket() string { return n.path("containerd", "containerd.sock") }

// SandboxImage is the pause image, for the config templates.
func (n *Node) SandboxImage() string { return n.opts.SandboxImage }

// Subnet is the pods' network, for the config templates.
func (n *Node) Subnet() string { return n.opts.Subnet.String() }

func (n *Node) startContainerd(ctx context.Context) error {
	for file, tmpl := range map[string]string{"containerd/config.toml": containerdConfig, "cni/net.d/10-hubkit.conflist": cniConfig} {
		b, err := n.render(file, tmpl)
		if err != nil {
			return err
		}
		if err := os.WriteFile(n.path(file), b, 0o644); err != nil {
			return err
		}
	}
	n.onStop("stop containerd", n.stopContainerd)
	return n.launchContainerd(ctx)
}

// stopContainerd stops containerd and unmounts what it left: sandboxes'
// shm, snapshots.
func (n *Node) stopContainerd() error {
	var err error
	if d := n.daemons["containerd"]; d != nil {
		err = d.stop(30 * time.Second)
	}
	return errors.Join(err, unmountUnder(n.path("containerd")))
}

func (n *Node) launchContainerd(ctx context.Context) error {
	d, err := n.startDaemon("containerd", "containerd", "--config", n.path("containerd/config.toml"))
	if err != nil {
		return err
	}
	return n.waitRunning(ctx, d, time.Minute, "containerd serves CRI on "+n.ContainerdSocket(), func() (bool, error) {
		cri, err := n.dialCRI()
		if err != nil {
			return false, err
		}
		defer cri.close()
		_, err = cri.runtime.Version(ctx, &runtimeapi.VersionRequest{})
		return err == nil, err
	})
}

// ctr runs containerd's client against the node's containerd, in the
// namespace the CRI uses.
func (n *Node) ctr(ctx context.Context, args ...string) ([]byte, error) {
	return run(ctx, "ctr", append([]string{"--address", n.ContainerdSocket(), "--namespace", "k8s.io"}, args...)...)
}

func (n *Node) importImages(ctx context.Context) error {
	for _, tar := range n.opts.Images {
		if err := n.Import(ctx, tar); err != nil {
			return err
		}
	}
	return nil
}

// Import loads an image tarball into the node's containerd, as `kind load`
// does for a kind node; the kubelet then runs it without a pull.
func (n *Node) Import(ctx context.Context, tar string) error {
	_, err := n.ctr(ctx, "images", "import", "--no-unpack=false", tar)
	return err
}

// HasImage says whether containerd holds ref, unpacked for the CRI.
func (n *Node) HasImage(ctx context.Context, ref string) error {
	out, err := n.ctr(ctx, "images", "ls", "--quiet")
	if err != nil {
		return err
	}
	for _, line := range strings.Fields(string(out)) {
		if line == ref {
			return nil
		}
	}
	return fmt.Errorf("containerd on %s has no image %s", n.opts.Name, ref)
}

// criClient talks to containerd's CRI service, as the kubelet does.
type criClient struct {
	conn    *grpc.ClientConn
	runtime runtimeapi.RuntimeServiceClient
}

func (n *Node) dialCRI() (*criClient, error) {
	conn, err := grpc.NewClient("unix://"+n.ContainerdSocket(),
		grpc.WithTransportCredentials(insecure.NewCredentials()),
		grpc.WithContextDialer(func(ctx context.Context, addr string) (net.Conn, error) {
			return (&net.Dialer{}).DialContext(ctx, "unix", n.ContainerdSocket())
		}))
	if err != nil {
		return nil, fmt.Errorf("dial containerd: %w", err)
	}
	return &criClient{conn: conn, runtime: runtimeapi.NewRuntimeServiceClient(conn)}, nil
}

func (c *criClient) close() { _ = c.conn.Close() }

// removePods stops and removes every pod sandbox through the CRI, as the
// kubelet would: containers are killed, the CNI plugin releases each pod's
// address and network namespace, and containerd unmounts their volumes.
func (n *Node) removePods(ctx context.Context) error {
	cri, err := n.dialCRI()
	if err != nil {
		return err
	}
	defer cri.close()
	list, err := cri.runtime.ListPodSandbox(ctx, &runtimeapi.ListPodSandboxRequest{})
	if err != nil {
		return fmt.Errorf("list pod sandboxes: %w", err)
	}
	var errs []error
	for _, s := range list.Items {
		if _, err := cri.runtime.StopPodSandbox(ctx, &runtimeapi.StopPodSandboxRequest{PodSandboxId: s.Id}); err != nil {
			errs = append(errs, fmt.Errorf("stop pod %s/%s: %w", s.Metadata.Namespace, s.Metadata.Name, err))
			continue
		}
		if _, err := cri.runtime.RemovePodSandbox(ctx, &runtimeapi.RemovePodSandboxRequest{PodSandboxId: s.Id}); err != nil {
			errs = append(errs, fmt.Errorf("remove pod %s/%s: %w", s.Metadata.Namespace, s.Metadata.Name, err))
		}
	}
	return errors.Join(errs...)
}

// ContainerPID is the host PID of a running container's process, by the
// container ID the pod's status reports (without "containerd://").
func (n *Node) ContainerPID(ctx context.Context, containerID string) (int, error) {
	cri, err := n.dialCRI()
	if err != nil {
		return 0, err
	}
	defer cri.close()
	st, err := cri.runtime.ContainerStatus(ctx, &runtimeapi.ContainerStatusRequest{ContainerId: containerID, Verbose: true})
	if err != nil {
		return 0, fmt.Errorf("container %s: %w", containerID, err)
	}
	var info struct {
		PID int `json:"pid"`
	}
	if err := json.Unmarshal([]byte(st.Info["info"]), &info); err != nil || info.PID == 0 {
		return 0, fmt.Errorf("container %s: no pid in its status (%v)", containerID, err)
	}
	return info.PID, nil
}
