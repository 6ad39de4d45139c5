// Command pause is the pod sandbox's process, as Kubernetes' pause image
// runs it: it holds the pod's namespaces, reaps orphans and exits on SIGINT
// or SIGTERM. The real node's containerd names its image as sandbox image,
// since no registry can be reached for registry.k8s.io/pause.
package main

import (
	"os"
	"os/signal"
	"syscall"
)

func main() {
	signals := make(chan os.Signal, 8)
	signal.Notify(signals, syscall.SIGINT, syscall.SIGTERM, syscall.SIGCHLD)
	for s := range signals {
		if s != syscall.SIGCHLD {
			os.Exit(0)
		}
		for {
			pid, err := syscall.Wait4(-1, nil, syscall.WNOHANG, nil)
			if pid <= 0 || err != nil {
				break
			}
		}
	}
}
