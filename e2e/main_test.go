// Package e2e applies the rendered overlays to a real Kubernetes control
// plane (kube-apiserver, etcd, kube-controller-manager, kube-scheduler) with
// kwok simulating the nodes, and checks that the Hub runs as promised: one
// pod, its claim, its address, back after a crash, never two at once.
package e2e

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"k8s.io/client-go/kubernetes"

	"github.com/hubkit/hubkit/internal/cluster"
	"github.com/hubkit/hubkit/internal/testenv"
)

// env is what every test here shares: one cluster for the test binary.
type env struct {
	cluster *cluster.Cluster
	client  kubernetes.Interface
	fns     testenv.Functions
	root    string
}

var e2e env

func TestMain(m *testing.M) {
	os.Exit(run(m))
}

func run(m *testing.M) int {
	root, err := testenv.FindRepoRoot()
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	e2e.root = root
	defer e2e.fns.Cleanup()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	start := time.Now()
	c, err := cluster.Start(ctx, cluster.Options{
		BinDir:  filepath.Join(root, "bin"),
		WorkDir: filepath.Join(root, "build", "kwok"),
		Nodes:   1,
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
	fmt.Fprintf(os.Stderr, "e2e: cluster %s ready in %s\n", c.Name, time.Since(start).Round(10*time.Millisecond))
	e2e.cluster = c
	if e2e.client, err = kubernetes.NewForConfig(c.Config); err != nil {
		fmt.Fprintln(os.Stderr, "e2e:", err)
		return 1
	}
	return m.Run()
}
