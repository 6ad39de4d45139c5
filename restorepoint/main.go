// Command restore-point is the first init container of the Hub's pod
// (components/restore-point): before every upgrade it takes a restore
// point, a VolumeSnapshot of the Hub's claim labelled with the version that
// last ran on it, and waits until it is ready, before anything of the new
// version runs (internal/restorepoint's Upgrade says how). The old version
// has stopped by then (the workload's Recreate), so the snapshot holds its
// data at rest.
//
// Where there are no CSI snapshots (-copy-to), the restore point is a copy
// of appData on the copy's claim instead, as backup/copy's Job takes it.
//
// It reads the version (the Hub's container's image tag) and the claim
// from its own pod. It runs with the pod's token mounted in this container
// alone; the Role lets it read pods and create and read VolumeSnapshots,
// nothing else, and the guard's restore-points policy holds it to the
// singletons' claims.
//
//	restore-point -container hub -volume appdata -appdata /hubkit/appData
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"syscall"
	"time"

	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"

	"github.com/hubkit/hubkit/internal/names"
	"github.com/hubkit/hubkit/internal/restorepoint"
)

func main() {
	u := restorepoint.Upgrade{Namespace: os.Getenv("POD_NAMESPACE"), Pod: os.Getenv("POD_NAME"), Log: os.Stdout}
	flag.StringVar(&u.Container, "container", names.HubContainer, "the Hub's container in this pod: its image's tag is the version")
	flag.StringVar(&u.Volume, "volume", names.AppDataVolume, "this pod's volume of the Hub's claim")
	flag.StringVar(&u.AppData, "appdata", "/hubkit/appData", "where the claim is mounted in this container")
	flag.StringVar(&u.CopyTo, "copy-to", "", "where there are no CSI snapshots: where the copy's claim is mounted; the restore point is then a copy of appData there")
	flag.DurationVar(&u.Timeout, "timeout", 10*time.Minute, "how long to wait for the restore point to be ready")
	flag.Parse()
	if err := run(u); err != nil {
		// The kubelet keeps this as the container's termination message.
		fmt.Fprintln(os.Stderr, "restore-point:", err)
		_ = os.WriteFile("/dev/termination-log", []byte(err.Error()), 0o644)
		os.Exit(1)
	}
}

func run(u restorepoint.Upgrade) error {
	if u.Namespace == "" || u.Pod == "" {
		return fmt.Errorf("POD_NAME and POD_NAMESPACE must name this pod (the downward API)")
	}
	cfg, err := rest.InClusterConfig()
	if err != nil {
		return fmt.Errorf("this container's API token: %w", err)
	}
	core, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		return fmt.Errorf("make a client: %w", err)
	}
	dyn, err := dynamic.NewForConfig(cfg)
	if err != nil {
		return fmt.Errorf("make a client: %w", err)
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, os.Interrupt)
	defer stop()
	return u.Run(ctx, core, dyn, time.Now())
}
