package node

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// Clean removes what real nodes of runs that were killed before Stop left
// behind. Each node's directory sits in parent, named for the node, as does
// each HostNetwork's, and alive says whether the run that made it still
// runs. For the dead runs' directories it first kills the processes started
// from any of them (found by the directory in their command line, never by
// a broader match) and those in the nodes' cgroups, so that no kube-proxy
// of one rewrites iptables after another's are restored; then, directory by
// directory, in name order (a run's first node, which saved the host's
// state, before its other nodes and its network), it unmounts, removes the
// cgroups, the NetworkPolicy agent's chains and ipsets and the bridge,
// restores the host's saved sysctls and iptables, undoes the network's
// route and rule, and removes the directory.
func Clean(parent string, alive func(name string) bool) error {
	entries, err := os.ReadDir(parent)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	hs, err := cgroupHierarchies()
	if err != nil {
		return err
	}
	var stale []string
	for _, e := range entries {
		if e.IsDir() && !alive(e.Name()) {
			stale = append(stale, e.Name())
		}
	}
	// Twice: a shim killed first may leave a container to be found next.
	for range 2 {
		for _, name := range stale {
			for _, pid := range staleProcesses(filepath.Join(parent, name), hs, "/"+name) {
				_ = syscall.Kill(pid, syscall.SIGKILL)
			}
		}
		if len(stale) > 0 {
			time.Sleep(200 * time.Millisecond)
		}
	}
	var errs []error
	for _, name := range stale {
		if err := cleanNode(name, filepath.Join(parent, name), hs); err != nil {
			errs = append(errs, fmt.Errorf("cleaning the stale node %s: %w", name, err))
		}
	}
	return errors.Join(errs...)
}

func cleanNode(name, dir string, hs []string) error {
	var errs []error
	errs = append(errs, cleanCSI(dir), unmountUnder(dir), removeCgroups(hs, "/"+name), cleanNetworkPolicy(dir))
	if _, err := os.Stat("/sys/class/net/" + name); err == nil {
		_, err := run(context.Background(), "ip", "link", "delete", name)
		errs = append(errs, err)
	}
	if saved, err := readSysctls(filepath.Join(dir, "logs", "sysctls.saved")); err == nil {
		errs = append(errs, restoreSysctls(saved))
	}
	for _, family := range []string{"iptables", "ip6tables"} {
		if rules, err := os.ReadFile(filepath.Join(dir, "logs", family+".saved")); err == nil {
			errs = append(errs, restoreIptables(family, rules))
		}
	}
	errs = append(errs, cleanNetwork(dir), os.RemoveAll(dir))
	return errors.Join(errs...)
}

// staleProcesses are the processes whose command line names dir, and those
// in the cgroup subtree root of any hierarchy.
func staleProcesses(dir string, hierarchies []string, root string) []int {
	var pids []int
	procs, _ := os.ReadDir("/proc")
	for _, p := range procs {
		pid, err := strconv.Atoi(p.Name())
		if err != nil || pid == os.Getpid() {
			continue
		}
		cmdline, err := os.ReadFile(filepath.Join("/proc", p.Name(), "cmdline"))
		if err == nil && bytes.Contains(cmdline, []byte(dir+"/")) {
			pids = append(pids, pid)
		}
	}
	for _, h := range hierarchies {
		_ = filepath.WalkDir(filepath.Join(h, root), func(p string, d os.DirEntry, err error) error {
			if err != nil || d.IsDir() || d.Name() != "cgroup.procs" {
				return nil
			}
			data, _ := os.ReadFile(p)
			for _, f := range strings.Fields(string(data)) {
				if pid, err := strconv.Atoi(f); err == nil {
					pids = append(pids, pid)
				}
			}
			return nil
		})
	}
	return pids
}
