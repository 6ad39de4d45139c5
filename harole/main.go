// Command ha-role is the sidecar of every member of a Hub's HA group
// (components/high-availability): it asks its own Hub, on localhost, which
// role it has (/v2/readyz: 200 on the primary, 503 on a secondary, with
// {"deployment":{"mode":"ha","role":...,"nodeId":...}}) and keeps its own
// pod's label hubkit.dev/ha-role true: primary or secondary. The Service
// selects primary, so it reaches the primary alone, while every member stays
// Ready (docs/high-availability.md says why).
//
// It patches only the group's pods (POD_NAME, POD_NAMESPACE from the
// downward API; -members, the group's member count, names the others),
// only that label, with the pod's token mounted in this container alone:
// its own pod primary or secondary, and, as its Hub becomes primary, the
// other members secondary first (a lost node's member keeps its label and
// its Ready until its node is found NotReady, and the Service would hold
// two addresses). The Role lets it patch the members' pods and nothing
// else, and guard's ha-role policy refuses anything but that label, and
// primary on any pod but its own.
//
//	ha-role -readyz http://127.0.0.1:45245/v2/readyz -period 500ms -members 2
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

	"github.com/hubkit/hubkit/internal/hub"
	"github.com/hubkit/hubkit/internal/names"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
)

func main() {
	readyz := flag.String("readyz", fmt.Sprintf("http://127.0.0.1:%d%s", hub.HTTPPort, hub.Readyz), "the Hub's readiness endpoint, on localhost")
	period := flag.Duration("period", 500*time.Millisecond, "how often to ask the Hub")
	resync := flag.Duration("resync", 30*time.Second, "how often to write the label even when the role has not changed")
	members := flag.Int("members", 1, "the HA group's member count ("+names.HAMembersLabel+"): the other members are labelled secondary as this one becomes primary")
	flag.Parse()
	if err := run(*readyz, *period, *resync, *members); err != nil {
		fmt.Fprintln(os.Stderr, "ha-role:", err)
		os.Exit(1)
	}
}

func run(readyz string, period, resync time.Duration, members int) error {
	pod, namespace := os.Getenv("POD_NAME"), os.Getenv("POD_NAMESPACE")
	if pod == "" || namespace == "" {
		return fmt.Errorf("POD_NAME and POD_NAMESPACE must name this pod (the downward API)")
	}
	peers, err := Peers(pod, members)
	if err != nil {
		return fmt.Errorf("-members %d: %w", members, err)
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
		Readyz: readyz, Pods: client.CoreV1().Pods(namespace), Pod: pod, Peers: peers,
		HTTP: &http.Client{Timeout: period}, Resync: resync, Log: os.Stderr,
	}
	return l.Run(ctx, period)
}
