package gitops

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"time"
)

// FluxOptions describe a Flux to run out of cluster.
type FluxOptions struct {
	// Parent holds its directory.
	Parent string
	// SourceController and KustomizeController are the controllers'
	// binaries, built from their modules.
	SourceController, KustomizeController string
	// Kubeconfig is the cluster's admin kubeconfig, the controllers' own
	// in-cluster service account out of cluster.
	Kubeconfig string
	// Namespace is Flux's (flux-system).
	Namespace string
}

// Flux is a running source-controller and kustomize-controller: the
// source-controller fetches GitRepositories into its storage and serves
// the artifacts over loopback HTTP, where the kustomize-controller
// downloads them, as they do through the source-controller's Service in a
// cluster.
type Flux struct {
	home *home
}

// StartFlux starts the source-controller, then the kustomize-controller.
// The CRDs are the caller's, as a user applies them.
func StartFlux(ctx context.Context, o FluxOptions) (_ *Flux, err error) {
	h, err := newHome(o.Parent, "flux")
	if err != nil {
		return nil, err
	}
	f := &Flux{home: h}
	defer func() {
		if err != nil {
			err = errors.Join(err, f.Stop())
		}
	}()
	ports := map[string]int{}
	for _, p := range []string{"storage", "source-metrics", "source-health", "kustomize-metrics", "kustomize-health"} {
		if ports[p], err = freePort(); err != nil {
			return nil, err
		}
	}
	addr := func(p string) string { return "127.0.0.1:" + strconv.Itoa(ports[p]) }
	storage := filepath.Join(h.dir, "storage")
	if err := os.MkdirAll(storage, 0o755); err != nil {
		return nil, err
	}
	env := []string{"KUBECONFIG=" + o.Kubeconfig, "RUNTIME_NAMESPACE=" + o.Namespace, "HOME=" + h.dir, "TMPDIR=" + h.dir}
	if err := h.start("source-controller", env, o.SourceController,
		"--storage-path", storage, "--storage-addr", addr("storage"), "--storage-adv-addr", addr("storage"),
		"--metrics-addr", addr("source-metrics"), "--health-addr", addr("source-health"),
		"--enable-leader-election=false", "--log-level", "info"); err != nil {
		return nil, err
	}
	if err := h.waitListening("source-controller", addr("storage"), 60*time.Second); err != nil {
		return nil, err
	}
	if err := h.start("kustomize-controller", env, o.KustomizeController,
		"--metrics-addr", addr("kustomize-metrics"), "--health-addr", addr("kustomize-health"),
		"--enable-leader-election=false", "--log-level", "info"); err != nil {
		return nil, err
	}
	return f, h.waitListening("kustomize-controller", addr("kustomize-health"), 60*time.Second)
}

// Log is the end of a controller's log (source-controller,
// kustomize-controller), for a failure's message.
func (f *Flux) Log(controller string) string { return f.home.logTail(controller) }

// Stop stops the controllers, newest first.
func (f *Flux) Stop() error { return f.home.stop() }
