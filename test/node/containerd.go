package node

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/netip"
	"os"
	"strings"
	"time"

	internalapi "k8s.io/cri-api/pkg/apis"
	remote "k8s.io/cri-client/pkg"
)

// containerdConfig is containerd's config (format version 2, as Debian's
// containerd 1.6 reads it): every root, state directory and socket is the
// node's own, so a developer's containerd and another run never collide.
// The host has no CAP_SYS_RESOURCE to give, hence restrict_oom_score_adj.
const containerdConfig = `version = 2
root = "{{call .Path "containerd/root"}}"
state = "{{call .Path "containerd/state"}}"
disabled_plugins = ["io.containerd.snapshotter.v1.aufs", "io.containerd.snapshotter.v1.btrfs", "io.containerd.snapshotter.v1.devmapper", "io.containerd.snapshotter.v1.zfs", "io.containerd.tracing.processor.v1.otlp", "io.containerd.internal.v1.tracing"]

[grpc]
  address = "{{.Socket}}"

[ttrpc]
  address = "{{.Socket}}.ttrpc"

[debug]
  address = ""

[metrics]
  address = ""

[plugins."io.containerd.internal.v1.opt"]
  path = "{{call .Path "containerd/opt"}}"

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
        Root = "{{call .Path "runc"}}"
  [plugins."io.containerd.grpc.v1.cri".cni]
    bin_dir = "/usr/lib/cni"
    conf_dir = "{{call .Path "cni/net.d"}}"
    max_conf_num = 1
`

// cniConfig is the pods' network: a bridge with the node's address as
// gateway, addresses from the node's subnet, no masquerading, and no
// default route: routes through the gateway to the Network's pod and
// Service ranges and host addresses only (pods talk to the host's nodes,
// Services and database, never beyond).
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
        "dataDir": "{{call .Path "cni/ipam"}}",
        "ranges": [[{"subnet": "{{.Subnet}}", "gateway": "{{.IP}}"}]],
        "routes": {{.Routes}}
      }
    }
  ]
}
`

// configData is what the config templates read.
type configData struct {
	Name, Subnet, IP, SandboxImage, Socket string
	Routes                                 string // a JSON list of CNI routes
	Path                                   func(string) string
}

func (n *Node) containerdSocket() string { return n.path("containerd", "containerd.sock") }

func (n *Node) startContainerd(ctx context.Context) error {
	routes, err := cniRoutes(n.opts.Network.podRoutes(n.opts.Subnet))
	if err != nil {
		return err
	}
	data := configData{
		Name: n.opts.Name, Subnet: n.opts.Subnet.String(), IP: n.ip.String(), SandboxImage: n.opts.SandboxImage,
		Socket: n.containerdSocket(), Routes: routes, Path: func(elem string) string { return n.path(elem) },
	}
	for file, tmpl := range map[string]string{"containerd/config.toml": containerdConfig, "cni/net.d/10-hubkit.conflist": cniConfig} {
		b, err := render(file, tmpl, data)
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

// cniRoutes is host-local's "routes": each through the range's gateway.
func cniRoutes(dsts []netip.Prefix) (string, error) {
	type route struct {
		Dst string `json:"dst"`
	}
	routes := []route{}
	for _, d := range dsts {
		routes = append(routes, route{d.String()})
	}
	b, err := json.Marshal(routes)
	return string(b), err
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
	return n.waitRunning(ctx, d, time.Minute, "containerd serves CRI on "+n.containerdSocket(), func(ctx context.Context) (bool, error) {
		err := n.withCRI(ctx, func(cri internalapi.RuntimeService) error {
			_, err := cri.Version(ctx, "v1")
			return err
		})
		return err == nil, err
	})
}

// ctr runs containerd's client against the node's containerd, in the
// namespace the CRI uses.
func (n *Node) ctr(ctx context.Context, args ...string) ([]byte, error) {
	return run(ctx, "ctr", append([]string{"--address", n.containerdSocket(), "--namespace", "k8s.io"}, args...)...)
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

// withCRI calls f with the kubelet's own CRI client (k8s.io/cri-client)
// connected to the node's containerd.
func (n *Node) withCRI(ctx context.Context, f func(internalapi.RuntimeService) error) error {
	cri, err := remote.NewRemoteRuntimeService(ctx, "unix://"+n.containerdSocket(), 30*time.Second, nil, false)
	if err != nil {
		return fmt.Errorf("connect to containerd's CRI: %w", err)
	}
	defer cri.Close(ctx)
	return f(cri)
}

// removePods stops and removes every pod sandbox through the CRI, as the
// kubelet would: containers are killed, the CNI plugin releases each pod's
// address and network namespace, and containerd unmounts their volumes. A
// containerd that is not running has nothing to remove.
func (n *Node) removePods() error {
	if d := n.daemons["containerd"]; d == nil || d.exited() {
		return nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	return n.withCRI(ctx, func(cri internalapi.RuntimeService) error {
		sandboxes, err := cri.ListPodSandbox(ctx, nil)
		if err != nil {
			return fmt.Errorf("list pod sandboxes: %w", err)
		}
		var errs []error
		for _, s := range sandboxes {
			if err := cri.StopPodSandbox(ctx, s.Id); err != nil {
				errs = append(errs, fmt.Errorf("stop pod %s/%s: %w", s.Metadata.Namespace, s.Metadata.Name, err))
				continue
			}
			if err := cri.RemovePodSandbox(ctx, s.Id); err != nil {
				errs = append(errs, fmt.Errorf("remove pod %s/%s: %w", s.Metadata.Namespace, s.Metadata.Name, err))
			}
		}
		return errors.Join(errs...)
	})
}

// ContainerPID is the host PID of a running container's process, by the
// container ID the pod's status reports (without "containerd://").
func (n *Node) ContainerPID(ctx context.Context, containerID string) (int, error) {
	var pid int
	err := n.withCRI(ctx, func(cri internalapi.RuntimeService) error {
		st, err := cri.ContainerStatus(ctx, containerID, true)
		if err != nil {
			return fmt.Errorf("container %s: %w", containerID, err)
		}
		// containerd's verbose status: {"pid": ..., ...}
		var info struct {
			PID int `json:"pid"`
		}
		if err := json.Unmarshal([]byte(st.Info["info"]), &info); err != nil || info.PID == 0 {
			return fmt.Errorf("container %s: no pid in its status (%v)", containerID, err)
		}
		pid = info.PID
		return nil
	})
	return pid, err
}
