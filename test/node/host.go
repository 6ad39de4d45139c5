package node

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
)

// cgroupHierarchies are the cgroup v1 hierarchies the kubelet and runc
// make the node's cgroups in.
func cgroupHierarchies() ([]string, error) {
	entries, err := os.ReadDir("/sys/fs/cgroup")
	if err != nil {
		return nil, err
	}
	var out []string
	for _, e := range entries {
		if e.IsDir() && e.Name() != "unified" {
			if _, err := os.Stat(filepath.Join("/sys/fs/cgroup", e.Name(), "cgroup.procs")); err == nil {
				out = append(out, filepath.Join("/sys/fs/cgroup", e.Name()))
			}
		}
	}
	return out, nil
}

// saveHost records the sysctls and the iptables rules (IPv4 and IPv6) as
// they are before the node starts, and restores them on Stop; a node that
// SharesHost leaves them to the node that saved them.
func (n *Node) saveHost(ctx context.Context) error {
	if n.opts.SharesHost {
		return nil
	}
	// The sysctls the kubelet sets on start (unless protectKernelDefaults,
	// which refuses to start instead) and kube-proxy may set.
	hostSysctls := []string{
		"vm/overcommit_memory", "vm/panic_on_oom", "kernel/panic", "kernel/panic_on_oops",
		"net/ipv4/conf/all/route_localnet",
	}
	saved := map[string][]byte{}
	for _, s := range hostSysctls {
		v, err := os.ReadFile(filepath.Join("/proc/sys", s))
		if err == nil {
			saved[s] = v
		}
	}
	if err := writeSysctls(n.path("logs", "sysctls.saved"), saved); err != nil {
		return err
	}
	n.onStop("restore the sysctls", func() error { return restoreSysctls(saved) })
	for _, family := range []string{"iptables", "ip6tables"} {
		out, err := exec.CommandContext(ctx, family+"-save").Output()
		if err != nil {
			if family == "ip6tables" {
				continue // no IPv6 tables on this host: nothing to change or restore
			}
			return fmt.Errorf("%s-save: %w", family, err)
		}
		file := n.path("logs", family+".saved")
		if err := os.WriteFile(file, out, 0o600); err != nil {
			return err
		}
		n.onStop("restore "+family, func() error { return restoreIptables(family, out) })
	}
	return nil
}

// createBridge creates the pods' bridge with the node's address on it
// before the kubelet starts, which wants its node IP on an interface; the
// CNI bridge plugin then adopts it.
func (n *Node) createBridge(ctx context.Context) error {
	if err := notOnHost(n.opts.Subnet); err != nil {
		return fmt.Errorf("subnet: %w", err)
	}
	if _, err := run(ctx, "ip", "link", "add", n.opts.Name, "type", "bridge"); err != nil {
		return err
	}
	n.onStop("delete the bridge", func() error {
		_, err := run(context.Background(), "ip", "link", "delete", n.opts.Name)
		return err
	})
	return n.connect(ctx)
}

// connect gives the bridge the node's address and brings it up: the
// node's address and its pods' subnet are on the host.
func (n *Node) connect(ctx context.Context) error {
	if _, err := run(ctx, "ip", "addr", "replace", fmt.Sprintf("%s/%d", n.ip, n.opts.Subnet.Bits()), "dev", n.opts.Name); err != nil {
		return err
	}
	_, err := run(ctx, "ip", "link", "set", n.opts.Name, "up")
	return err
}

// disconnect takes the bridge down and its address away, as a node whose
// power is cut leaves the network: the node's address is no longer the
// host's (its NodePorts, its kubelet's port stop answering) and its
// subnet is no bridge's (the Network's unreachable route answers for it).
func (n *Node) disconnect(ctx context.Context) error {
	if _, err := run(ctx, "ip", "link", "set", n.opts.Name, "down"); err != nil {
		return err
	}
	_, err := run(ctx, "ip", "addr", "flush", "dev", n.opts.Name)
	return err
}

// createCgroupRoot makes the kubelet's cgroupRoot in every hierarchy: the
// kubelet wants it to exist, and everything it starts lives below it.
func (n *Node) createCgroupRoot(context.Context) error {
	hs, err := cgroupHierarchies()
	if err != nil {
		return err
	}
	for _, h := range hs {
		if err := os.MkdirAll(filepath.Join(h, n.cgroup), 0o755); err != nil {
			return err
		}
	}
	n.onStop("remove the cgroup root", func() error { return removeCgroups(hs, n.cgroup) })
	return nil
}

// removeCgroups removes a cgroup subtree, deepest first; cgroup directories
// are removed with rmdir, never unlinked file by file.
func removeCgroups(hierarchies []string, root string) error {
	var errs []error
	for _, h := range hierarchies {
		var dirs []string
		err := filepath.WalkDir(filepath.Join(h, root), func(p string, d fs.DirEntry, err error) error {
			if err == nil && d.IsDir() {
				dirs = append(dirs, p)
			}
			return nil
		})
		if err != nil {
			errs = append(errs, err)
		}
		slices.Reverse(dirs)
		for _, d := range dirs {
			if err := os.Remove(d); err != nil && !errors.Is(err, fs.ErrNotExist) {
				errs = append(errs, err)
			}
		}
	}
	return errors.Join(errs...)
}

// unmountUnder unmounts every mount below dir, deepest first.
func unmountUnder(dir string) error {
	data, err := os.ReadFile("/proc/self/mountinfo")
	if err != nil {
		return err
	}
	var points []string
	for _, line := range strings.Split(string(data), "\n") {
		f := strings.Fields(line)
		if len(f) > 4 && (f[4] == dir || strings.HasPrefix(f[4], dir+"/")) {
			points = append(points, f[4])
		}
	}
	slices.SortFunc(points, func(a, b string) int { return len(b) - len(a) })
	var errs []error
	for _, p := range points {
		if err := unmount(p); err != nil {
			errs = append(errs, fmt.Errorf("unmount %s: %w", p, err))
		}
	}
	return errors.Join(errs...)
}

func restoreIptables(family string, rules []byte) error {
	cmd := exec.Command(family + "-restore")
	cmd.Stdin = bytes.NewReader(rules)
	if b, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("%s-restore: %w: %s", family, err, b)
	}
	return nil
}

// writeSysctls keeps the saved sysctls in a file, one "name value" a line,
// for Clean to restore after a run that was killed.
func writeSysctls(file string, saved map[string][]byte) error {
	var b bytes.Buffer
	for k, v := range saved {
		fmt.Fprintf(&b, "%s %s\n", k, bytes.TrimSpace(v))
	}
	return os.WriteFile(file, b.Bytes(), 0o600)
}

func readSysctls(file string) (map[string][]byte, error) {
	data, err := os.ReadFile(file)
	if err != nil {
		return nil, err
	}
	saved := map[string][]byte{}
	for _, line := range strings.Split(strings.TrimSpace(string(data)), "\n") {
		if k, v, ok := strings.Cut(line, " "); ok {
			saved[k] = []byte(v + "\n")
		}
	}
	return saved, nil
}

func restoreSysctls(saved map[string][]byte) error {
	var errs []error
	for k, v := range saved {
		if err := os.WriteFile(filepath.Join("/proc/sys", k), v, 0o644); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}
