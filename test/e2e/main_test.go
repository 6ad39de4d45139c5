// Package e2e applies the rendered overlays to a real Kubernetes control
// plane (kube-apiserver, etcd, kube-controller-manager, kube-scheduler)
// with kwok simulating nodes and one real node (kubelet, kube-proxy,
// containerd) where pods really run, and checks that the Hub runs as
// promised: one pod, its claim, its address, back after a crash, never two
// at once.
package e2e

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"runtime"
	"sync"
	"syscall"
	"testing"
	"time"

	"k8s.io/client-go/kubernetes"

	"github.com/hubkit/hubkit/test/cluster"
	"github.com/hubkit/hubkit/test/csidriver"
	"github.com/hubkit/hubkit/test/images"
	"github.com/hubkit/hubkit/test/node"
	"github.com/hubkit/hubkit/test/pins"
	"github.com/hubkit/hubkit/test/scenario"
	"github.com/hubkit/hubkit/test/testenv"
)

// env is what every test here shares: one cluster for the test binary.
type env struct {
	cluster  *cluster.Cluster
	client   kubernetes.Interface
	fns      testenv.Functions
	plugin   *testenv.Built // kubectl-hubkit
	root     string
	imageDir string // where the images built for the real node go
	figures  bool   // -figures: the measured scenarios take their figures' full samples
}

var e2e env

func TestMain(m *testing.M) {
	flag.BoolVar(&e2e.figures, "figures", false, "the measured scenarios repeat what they measure as often as their figures need (make bench-recovery), not the few times that hold the behaviour (make test)")
	flag.Parse()
	os.Exit(run(m))
}

// pauseVersion tags the pause image the real node's containerd runs.
const pauseVersion = "1"

func run(m *testing.M) int {
	root, err := testenv.FindRepoRoot()
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	e2e.root = root
	e2e.imageDir = filepath.Join(root, "build", "e2e", "images")
	defer e2e.fns.Cleanup()
	e2e.plugin = &testenv.Built{Package: "./cmd/kubectl-hubkit", Name: "kubectl-hubkit"}
	defer e2e.plugin.Cleanup()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	stops := stopOnInterrupt(cancel)
	start := time.Now()
	pause, pauseTar, err := buildImage(ctx, images.Pause(), pauseVersion)
	if err != nil {
		fmt.Fprintln(os.Stderr, "e2e:", err)
		return 1
	}
	csi, crds, err := storage(ctx, root)
	if err != nil {
		fmt.Fprintln(os.Stderr, "e2e:", err)
		return 1
	}
	c, err := cluster.Start(ctx, cluster.Options{
		BinDir:   filepath.Join(root, "bin"),
		WorkDir:  filepath.Join(root, "build", "kwok"),
		Nodes:    1,
		RealNode: &node.Options{SandboxImage: pause, Images: []string{pauseTar}, CSI: csi},
		CRDs:     crds,
	})
	if err != nil {
		fmt.Fprintln(os.Stderr, "e2e: starting the cluster:", err)
		return 1
	}
	defer func() {
		if err := c.Stop(); err != nil {
			fmt.Fprintln(os.Stderr, "e2e: deleting the cluster:", err)
		}
	}()
	if !stops.started(c) {
		return 1
	}
	fmt.Fprintf(os.Stderr, "e2e: cluster %s ready in %s\n", c.Name, time.Since(start).Round(10*time.Millisecond))
	e2e.cluster = c
	if e2e.client, err = kubernetes.NewForConfig(c.Config); err != nil {
		fmt.Fprintln(os.Stderr, "e2e:", err)
		return 1
	}
	if c.Node != nil {
		if err := keepParamsInformer(ctx, e2e.client); err != nil {
			fmt.Fprintln(os.Stderr, "e2e:", err)
			return 1
		}
	}
	return m.Run()
}

// interruptible is a run that stops what it started when it is
// interrupted (Ctrl-C's SIGINT, a CI timeout's SIGTERM, a closed
// terminal's SIGHUP) or nears its own -timeout (whose panic would end the
// process with no cleanup), before it exits: its cluster, whose Stop stops
// every real node and every daemon the tests Track. Otherwise they would
// outlive it and hold the host's NodePorts and bridges against the next run.
type interruptible struct {
	mu      sync.Mutex
	cluster *cluster.Cluster
	why     string // the signal, once one came
}

// stopOnInterrupt starts watching for the signals; until the cluster has
// started, an interrupt cancels starting (which undoes itself).
func stopOnInterrupt(cancelStart context.CancelFunc) *interruptible {
	r := &interruptible{}
	signals := make(chan os.Signal, 1)
	signal.Notify(signals, os.Interrupt, syscall.SIGTERM, syscall.SIGHUP)
	near := make(chan struct{})
	if f := flag.Lookup("test.timeout"); f != nil {
		if d, err := time.ParseDuration(f.Value.String()); err == nil && d > time.Minute {
			time.AfterFunc(d-30*time.Second, func() { close(near) })
		}
	}
	go func() {
		var why string
		select {
		case s := <-signals:
			why = s.String()
		case <-near:
			why = "30 s before the run's -timeout"
			// What the timeout's panic would have shown: where each test is.
			buf := make([]byte, 1<<20)
			fmt.Fprintf(os.Stderr, "e2e: the goroutines, %s:\n%s\n", why, buf[:runtime.Stack(buf, true)])
		}
		r.mu.Lock()
		r.why = why
		c := r.cluster
		r.mu.Unlock()
		cancelStart()
		if c == nil {
			return // the start fails on its cancelled context and undoes itself
		}
		fmt.Fprintf(os.Stderr, "e2e: %s: stopping what this run started before exiting\n", why)
		if err := c.Stop(); err != nil {
			fmt.Fprintln(os.Stderr, "e2e: stopping:", err)
		}
		fmt.Fprintln(os.Stderr, "FAIL: e2e: interrupted ("+why+")")
		os.Exit(1)
	}()
	return r
}

// started hands the running cluster to the watcher, and says false when an
// interrupt came while it started (the run then stops it and exits).
func (r *interruptible) started(c *cluster.Cluster) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.why != "" {
		fmt.Fprintf(os.Stderr, "e2e: %s while the cluster started: stopping it\n", r.why)
		return false
	}
	r.cluster = c
	return true
}

// hubIn is the Hub an overlay deploys into ns.
func hubIn(ns string) *scenario.Hub {
	return &scenario.Hub{Client: e2e.client, Namespace: ns, Node: e2e.cluster.Node}
}

// diskSize is the real node's CSI disk: sparse, and larger than any claim
// the scenarios make (prod's 50Gi, grown to 60Gi).
const diskSize = 100 << 30

// storage is the real node's CSI driver, built from test/cmd/csidriver, and
// the VolumeSnapshot API's CRDs at their pin: the cluster's default
// StorageClass and VolumeSnapshotClass are the driver's.
func storage(ctx context.Context, root string) (*node.CSIOptions, []string, error) {
	driver := filepath.Join(root, "build", "e2e", "bin", "csidriver")
	build := exec.CommandContext(ctx, "go", "build", "-o", driver, "./test/cmd/csidriver")
	build.Dir = root
	if out, err := build.CombinedOutput(); err != nil {
		return nil, nil, fmt.Errorf("building the CSI driver: %w: %s", err, out)
	}
	p, err := pins.Load(root)
	if err != nil {
		return nil, nil, err
	}
	dir, err := pins.ModuleDir(ctx, p[csidriver.SnapshotAPIPin])
	if err != nil {
		return nil, nil, err
	}
	return &node.CSIOptions{Driver: driver, DiskSize: diskSize}, csidriver.SnapshotCRDs(dir), nil
}
