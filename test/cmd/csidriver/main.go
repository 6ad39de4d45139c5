// Command csidriver runs test/csidriver, hubkit's CSI test driver, on one
// node: its Identity, Controller and Node services on a unix socket, its
// volumes in a mounted btrfs file system, and its registration with the
// node's kubelet. It stops on SIGTERM or SIGINT.
//
//	csidriver -node-id NODE -pool /mnt/pool \
//	  -endpoint /var/lib/kubelet/plugins/csi.hubkit.test/csi.sock \
//	  -plugins-registry /var/lib/kubelet/plugins_registry
package main

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"syscall"

	"github.com/hubkit/hubkit/test/csidriver"
)

func main() {
	var o csidriver.Options
	flag.StringVar(&o.Name, "name", csidriver.DriverName, "the driver's name (CSIDriver, StorageClass provisioner)")
	flag.StringVar(&o.NodeID, "node-id", "", "the node's name, as the kubelet registers it (required)")
	flag.StringVar(&o.Pool, "pool", "", "mount point of the btrfs file system the volumes live in (required)")
	endpoint := flag.String("endpoint", "", "the CSI socket's path (required)")
	registry := flag.String("plugins-registry", "", "the kubelet's plugins_registry directory to register in (none: do not register)")
	debug := flag.Bool("debug", false, "log every call, not only failed ones")
	flag.Parse()
	if o.NodeID == "" || o.Pool == "" || *endpoint == "" {
		fmt.Fprintln(os.Stderr, "csidriver: -node-id, -pool and -endpoint are required")
		flag.Usage()
		os.Exit(2)
	}
	level := slog.LevelInfo
	if *debug {
		level = slog.LevelDebug
	}
	o.Log = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: level}))
	o.Version = "test"
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, os.Interrupt)
	defer stop()
	if err := csidriver.Run(ctx, o, *endpoint, *registry); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}
