// Package cluster starts a real Kubernetes control plane for the end-to-end
// tests: kube-apiserver, etcd, kube-controller-manager and kube-scheduler
// built from their Go modules (tools/cluster), with kwok simulating nodes,
// started by kwokctl's binary runtime, and, when asked, one real node
// (test/node: kubelet, kube-proxy, containerd) beside them. Or it
// connects to a cluster the user names, for those who have kind or a cloud
// cluster.
package cluster

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"

	"github.com/hubkit/hubkit/test/node"
)

// ExternalEnv names a kubeconfig to test against instead of starting a
// cluster. It is deliberately not KUBECONFIG: `make test` must never apply
// anything to whatever cluster a developer's shell happens to point at.
const ExternalEnv = "HUBKIT_E2E_KUBECONFIG"

// Cluster is a running cluster the tests may use.
type Cluster struct {
	Name       string
	Kubeconfig string
	// Config is the REST config for the cluster's admin.
	Config *rest.Config
	// Node is the real node, when Options.RealNode asked for one; nil on
	// an external cluster, whose nodes are all real.
	Node *node.Node
	// Network is the real nodes' network (nodes.go), when there is a real
	// node; Database is its address on the host for a database, which pods
	// reach.
	Network  node.Network
	Database netip.Addr
	// realNode is how Node was started, for AddNode; nodes are the real
	// nodes by slot (nodes.go), Node first.
	realNode node.Options
	stop     func() error

	mu       sync.Mutex
	nodes    [maxRealNodes]*node.Node
	daemons  []*tracked // started since, by the tests: stopped first, newest first
	stopOnce sync.Once
	stopErr  error
}

// tracked is a daemon the cluster stops with itself unless it was stopped
// before.
type tracked struct {
	what string
	stop func() error
}

// Options say where the binaries are and where kwokctl keeps its state.
type Options struct {
	BinDir  string // kube-apiserver, etcd, kube-controller-manager, kube-scheduler, kwok, kwokctl
	WorkDir string // KWOK_WORKDIR: the cluster's files, inside the repo's ignored build/
	Nodes   int    // fake nodes kwok adds
	// RealNode, when set, starts a real node; its Name, Dir, BinDir,
	// Kubeconfig, Labels, Subnet and Network are filled in here (nodes.go).
	// With RealNode.CSI, its driver becomes the cluster's storage
	// (storage.go).
	RealNode *node.Options
	// CRDs are files of CustomResourceDefinitions installed before the
	// real node starts (the VolumeSnapshot API's: csidriver.SnapshotCRDs).
	CRDs []string
	// Suffix, when set, makes a cluster beside the run's first (a fleet's
	// site cluster): named hubkit-e2e-<pid>-<suffix>, with a kubeconfig of
	// its own, <WorkDir>/<name>.kubeconfig.
	Suffix string
}

// RealNodeLabel is the label the real node carries: tests select it by
// `hubkit.dev/node: real`, and kwok's nodes by `type: kwok`.
const RealNodeLabel = "hubkit.dev/node"

// Start creates a kwok cluster from the binaries in o.BinDir, or connects to
// the cluster named by $HUBKIT_E2E_KUBECONFIG. Stop must be called, also on failure.
func Start(ctx context.Context, o Options) (*Cluster, error) {
	if path := os.Getenv(ExternalEnv); path != "" {
		cfg, err := clientcmd.BuildConfigFromFlags("", path)
		if err != nil {
			return nil, fmt.Errorf("%s=%s: %w", ExternalEnv, path, err)
		}
		return &Cluster{Name: "external", Kubeconfig: path, Config: cfg, stop: func() error { return nil }}, nil
	}
	for _, b := range []string{"kube-apiserver", "etcd", "kube-controller-manager", "kube-scheduler", "kwok", "kwokctl"} {
		if _, err := os.Stat(filepath.Join(o.BinDir, b)); err != nil {
			return nil, fmt.Errorf("%s is missing from %s: run `make tools` (make test does)", b, o.BinDir)
		}
	}
	c := &Cluster{Name: fmt.Sprintf("%s%d", namePrefix, os.Getpid()), Kubeconfig: filepath.Join(o.WorkDir, "kubeconfig")}
	if o.Suffix != "" {
		c.Name += "-" + o.Suffix
		c.Kubeconfig = filepath.Join(o.WorkDir, c.Name+".kubeconfig")
	}
	run := func(ctx context.Context, name string, args ...string) (string, error) {
		cmd := exec.CommandContext(ctx, filepath.Join(o.BinDir, "kwokctl"), append([]string{"--name", name}, args...)...)
		cmd.Env = append(os.Environ(), "KWOK_WORKDIR="+o.WorkDir)
		var out bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &out
		if err := cmd.Run(); err != nil {
			return "", fmt.Errorf("kwokctl %s: %w\n%s", strings.Join(args, " "), err, lastLines(out.String(), 20))
		}
		return out.String(), nil
	}
	kwokctl := func(ctx context.Context, args ...string) error {
		_, err := run(ctx, c.Name, args...)
		return err
	}
	release := func() error { return nil }
	if o.RealNode != nil {
		unlock, err := lockHost(HostLock, o.WorkDir)
		if err != nil {
			return nil, err
		}
		release = unlock
	}
	if err := deleteStale(ctx, run); err != nil {
		return nil, errors.Join(err, release())
	}
	nodesDir := filepath.Join(o.WorkDir, "nodes")
	if err := node.Clean(nodesDir, func(name string) bool {
		pid, ok := runPID(name)
		return !ok || processExists(pid)
	}); err != nil {
		return nil, errors.Join(err, release())
	}
	if err := removeStaleConfigs(o.WorkDir); err != nil {
		return nil, errors.Join(err, release())
	}
	config, err := writeKwokctlConfig(o.WorkDir, c.Name)
	if err != nil {
		return nil, errors.Join(err, release())
	}
	c.stop = func() error {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		return errors.Join(kwokctl(ctx, "delete", "cluster"), os.Remove(config), release())
	}
	bin := func(name string) string { return filepath.Join(o.BinDir, name) }
	err = kwokctl(ctx, "create", "cluster", "--runtime", "binary", "--config", config,
		"--kube-apiserver-binary", bin("kube-apiserver"), "--etcd-binary", bin("etcd"),
		"--kube-controller-manager-binary", bin("kube-controller-manager"), "--kube-scheduler-binary", bin("kube-scheduler"),
		"--kwok-controller-binary", bin("kwok"), "--kubeconfig", c.Kubeconfig, "--wait", "120s")
	if err == nil && o.Nodes > 0 {
		// kwok's default node declares no ephemeral-storage; every kubelet does,
		// and pods that request it are unschedulable without it.
		err = kwokctl(ctx, "scale", "node", "--replicas", fmt.Sprint(o.Nodes), "--param", `.allocatable["ephemeral-storage"]="100Gi"`)
	}
	if err == nil {
		c.Config, err = clientcmd.BuildConfigFromFlags("", c.Kubeconfig)
	}
	if err == nil {
		err = c.installStorage(ctx, o)
	}
	if err == nil && o.RealNode != nil {
		err = c.startRealNode(ctx, *o.RealNode, nodesDir, o.BinDir)
	}
	if err != nil {
		if stopErr := c.stop(); stopErr != nil {
			err = fmt.Errorf("%w (and deleting the cluster: %v)", err, stopErr)
		}
		return nil, err
	}
	return c, nil
}

// kwokctlConfig patches kwokctl's components for a real node: the API
// server reaches a real kubelet (logs, exec) as admin, and kwok manages only
// its own nodes, never the real one. (A config file rather than
// --extra-args, which kwokctl v0.7.0 mis-groups when a component has more
// than one.) The node lifecycle controller runs with Kubernetes' own
// defaults (a 5 s monitor period, a 50 s grace period) instead of kwokctl's
// (its heartbeat factor of 5 stretches them to 25 s and 4m10s), so that
// losing the real node costs what it costs in a cluster users run.
const kwokctlConfig = `apiVersion: config.kwok.x-k8s.io/v1alpha1
kind: KwokctlConfiguration
options:
  heartbeatFactor: 1
  # kubernetes.default's ClusterIP, the first of the API server's default
  # Service range (10.0.0.0/24), for pods that call it as in-cluster clients
  # do (the HA group's ha-role sidecar): kwokctl's certificate names only
  # localhost.
  kubeApiserverCertSANs:
  - 10.0.0.1
  kubeControllerManagerNodeMonitorPeriodMilliseconds: 5000
  kubeControllerManagerNodeMonitorGracePeriodMilliseconds: 50000
componentsPatches:
- name: kube-apiserver
  extraArgs:
  - key: kubelet-client-certificate
    value: %[1]s/admin.crt
  - key: kubelet-client-key
    value: %[1]s/admin.key
  - key: kubelet-preferred-address-types
    value: InternalIP
- name: kwok-controller
  extraArgs:
  - key: manage-all-nodes
    value: "false"
  - key: manage-nodes-with-annotation-selector
    value: kwok.x-k8s.io/node=fake
`

func writeKwokctlConfig(workDir, name string) (string, error) {
	path := filepath.Join(workDir, name+"-kwokctl.yaml")
	pki := filepath.Join(workDir, "clusters", name, "pki")
	if err := os.MkdirAll(workDir, 0o755); err != nil {
		return "", err
	}
	return path, os.WriteFile(path, fmt.Appendf(nil, kwokctlConfig, pki), 0o644)
}

// removeStaleConfigs removes the kwokctl config files of test processes
// that are gone.
func removeStaleConfigs(workDir string) error {
	files, err := filepath.Glob(filepath.Join(workDir, namePrefix+"*-kwokctl.yaml"))
	if err != nil {
		return err
	}
	for _, f := range files {
		pid, ok := runOf(strings.TrimSuffix(filepath.Base(f), "-kwokctl.yaml"))
		if ok && !processExists(pid) {
			if err := os.Remove(f); err != nil {
				return fmt.Errorf("remove a stale kwokctl config: %w", err)
			}
			// A site cluster's kubeconfig beside it.
			if err := os.Remove(strings.TrimSuffix(f, "-kwokctl.yaml") + ".kubeconfig"); err != nil && !os.IsNotExist(err) {
				return fmt.Errorf("remove a stale kubeconfig: %w", err)
			}
		}
	}
	return nil
}

// namePrefix names the clusters Start makes, nodePrefix their real nodes
// (and bridges: 15 characters at most); the rest is the test's pid, and,
// for a real node's network and any node after the first, a suffix
// (nodes.go).
const (
	namePrefix = "hubkit-e2e-"
	nodePrefix = "hubkit"
)

// deleteStale deletes the clusters of test processes that are gone (killed by
// a timeout before they could clean up), whose control planes still run.
func deleteStale(ctx context.Context, run func(ctx context.Context, name string, args ...string) (string, error)) error {
	out, err := run(ctx, "", "get", "clusters")
	if err != nil {
		return err
	}
	for _, name := range strings.Fields(out) {
		pid, ok := runOf(name)
		if !ok || processExists(pid) {
			continue
		}
		if _, err := run(ctx, name, "delete", "cluster"); err != nil {
			return fmt.Errorf("deleting stale cluster %s: %w", name, err)
		}
	}
	return nil
}

// runOf is the pid of the test process whose cluster name is: the run's
// first cluster hubkit-e2e-<pid>, the others hubkit-e2e-<pid>-<suffix>.
func runOf(name string) (int, bool) {
	rest, ok := strings.CutPrefix(name, namePrefix)
	if !ok {
		return 0, false
	}
	run, _, _ := strings.Cut(rest, "-")
	pid, err := strconv.Atoi(run)
	return pid, err == nil
}

func processExists(pid int) bool {
	_, err := os.Stat(fmt.Sprintf("/proc/%d", pid))
	return err == nil
}

// Stop stops what the tests started and Track was told of, newest first,
// the nodes AddNode added, then deletes the cluster with its real node (a
// no-op for an external one). It may be called more than once, and from
// another goroutine than the tests' (an interrupted run's): the first call
// does the work, and every call returns its result.
func (c *Cluster) Stop() error {
	c.stopOnce.Do(func() {
		c.mu.Lock()
		daemons := c.daemons
		c.daemons = nil
		c.mu.Unlock()
		var errs []error
		for i := len(daemons) - 1; i >= 0; i-- {
			if err := daemons[i].stop(); err != nil {
				errs = append(errs, fmt.Errorf("stop %s: %w", daemons[i].what, err))
			}
		}
		c.stopErr = errors.Join(append(errs, c.stopAddedNodes(), c.stop())...)
	})
	return c.stopErr
}

// Track has Stop stop a daemon a test started (a database, a controller),
// so that an interrupted run stops it too; the test calls the returned
// stop instead of its own, which then stops it once.
func (c *Cluster) Track(what string, stop func() error) func() error {
	t := &tracked{what: what, stop: stop}
	c.mu.Lock()
	c.daemons = append(c.daemons, t)
	c.mu.Unlock()
	return func() error {
		c.mu.Lock()
		i := slices.Index(c.daemons, t)
		if i >= 0 {
			c.daemons = slices.Delete(c.daemons, i, i+1)
		}
		c.mu.Unlock()
		if i < 0 {
			return nil // Stop has it, or had it
		}
		return t.stop()
	}
}

func lastLines(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}
