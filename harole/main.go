// Command ha-role is the sidecar of every member of a Hub's HA group
// (components/high-availability): it asks its own Hub, on localhost, which
// role it has (/v2/readyz: 200 on the primary, 503 on a secondary, with
// {"deployment":{"mode":"ha","role":...,"nodeId":...}}) and keeps its own
// pod's label hubkit.dev/ha-role true: primary or secondary. The Service
// selects primary, so it reaches the primary alone, while every member stays
// Ready (docs/high-availability.md says why).
//
// It patches only its own pod (POD_NAME, POD_NAMESPACE from the downward
// API), only that label, with the pod's token mounted in this container
// alone; the Role lets it patch the members' pods and nothing else, and
// guard's ha-role policy refuses anything but that label on its own pod.
//
//	ha-role -readyz http://127.0.0.1:45245/v2/readyz -period 500ms
package main

import (
	"context"
	"flag"
	"fmt"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"

	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
)

func main() {
	readyz := flag.String("readyz", "http://127.0.0.1:45245/v2/readyz", "the Hub's readiness endpoint, on localhost")
	period := flag.Duration("period", 500*time.Millisecond, "how often to ask the Hub")
	resync := flag.Duration("resync", 30*time.Second, "how often to write the label even when the role has not changed")
	flag.Parse()
	if err := run(*readyz, *period, *resync); err != nil {
		fmt.Fprintln(os.Stderr, "ha-role:", err)
		os.Exit(1)
	}
}

func run(readyz string, period, resync time.Duration) error {
	pod, namespace := os.Getenv("POD_NAME"), os.Getenv("POD_NAMESPACE")
	if pod == "" || namespace == "" {
		return fmt.Errorf("POD_NAME and POD_NAMESPACE must name this pod (the downward API)")
	}
	cfg, err := rest.InClusterConfig()
	if err != nil {
		return fmt.Errorf("the pod's API credentials: %w", err)
	}
	cfg.UserAgent = "hubkit-ha-role"
	client, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		return err
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, os.Interrupt)
	defer stop()
	l := &Labeler{
		Readyz: readyz, Pods: client.CoreV1().Pods(namespace), Pod: pod,
		HTTP: &http.Client{Timeout: period}, Resync: resync, Log: os.Stderr,
	}
	return l.Run(ctx, period)
}
