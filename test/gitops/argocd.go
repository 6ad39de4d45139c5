package gitops

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// ArgoCDOptions describe an Argo CD to run out of cluster.
type ArgoCDOptions struct {
	// Parent holds its directory.
	Parent string
	// Bin is Argo CD's one binary (`go build ./cmd` of the argo-cd module),
	// run as each component (ARGOCD_BINARY_NAME).
	Bin string
	// RedisServer is Debian's redis-server.
	RedisServer string
	// Kubeconfig is the cluster's admin kubeconfig, the controllers' own
	// in-cluster service account out of cluster.
	Kubeconfig string
	// Namespace is Argo CD's (argocd).
	Namespace string
	// PluginDir holds the Config Management Plugin's plugin.yaml, as the
	// sidecar mounts it.
	PluginDir string
	// Path is put before PATH for every component: the repo-server runs
	// kustomize, the plugin kustomize and the singleton function, as their
	// images have them.
	Path string
	// SelfHealTimeout is the application controller's
	// --self-heal-timeout-seconds; 0 keeps its default (5 s).
	SelfHealTimeout time.Duration
	// ApplicationSets runs the ApplicationSet controller too, with
	// progressive syncs (RollingSync) enabled, as a fleet needs.
	ApplicationSets bool
	// NoApplicationController leaves the application controller out: what
	// the ApplicationSet controller does alone is measured (make bench).
	NoApplicationController bool
}

// ArgoCD is a running Argo CD: Redis, the Config Management Plugin server,
// the repo-server and the application controller, talking as they do in a
// cluster (the plugin over its unix socket, the rest over loopback TCP,
// without TLS).
type ArgoCD struct {
	home *home
}

// StartArgoCD starts Argo CD's components, each once the one it needs
// listens. The objects of an install (CRDs, argocd-cm and the other
// ConfigMaps, the cluster Secret) are the caller's, as a user applies them.
func StartArgoCD(ctx context.Context, o ArgoCDOptions) (_ *ArgoCD, err error) {
	h, err := newHome(o.Parent, "argocd")
	if err != nil {
		return nil, err
	}
	a := &ArgoCD{home: h}
	defer func() {
		if err != nil {
			err = errors.Join(err, a.Stop())
		}
	}()
	ports := map[string]int{}
	for _, p := range []string{"redis", "repo", "repo-metrics", "controller-metrics", "appset-metrics", "appset-probe", "appset-webhook"} {
		if ports[p], err = freePort(); err != nil {
			return nil, err
		}
	}
	redis := "127.0.0.1:" + strconv.Itoa(ports["redis"])
	if err := h.start("redis", nil, o.RedisServer, "--bind", "127.0.0.1", "--port", strconv.Itoa(ports["redis"]),
		"--save", "", "--appendonly", "no", "--dir", h.dir, "--protected-mode", "no"); err != nil {
		return nil, err
	}
	if err := h.waitListening("redis", redis, 30*time.Second); err != nil {
		return nil, err
	}

	sockets := filepath.Join(h.dir, "plugins")
	for _, d := range []string{sockets, filepath.Join(h.dir, "tmp"), filepath.Join(h.dir, "tls"), filepath.Join(h.dir, "ssh")} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			return nil, fmt.Errorf("make %s: %w", d, err)
		}
	}
	common := []string{
		"ARGOCD_PLUGINSOCKFILEPATH=" + sockets,
		"ARGOCD_GPG_ENABLED=false",
		"ARGOCD_TLS_DATA_PATH=" + filepath.Join(h.dir, "tls"),
		"ARGOCD_SSH_DATA_PATH=" + filepath.Join(h.dir, "ssh"),
		"TMPDIR=" + filepath.Join(h.dir, "tmp"),
		"KUBECONFIG=" + o.Kubeconfig,
		"HOME=" + h.dir,
		"PATH=" + o.Path + ":" + os.Getenv("PATH"),
	}
	cmpEnv := append([]string{"ARGOCD_BINARY_NAME=argocd-cmp-server"}, common...)
	if err := h.start("cmp-server", cmpEnv, o.Bin, "--config-dir-path", o.PluginDir, "--loglevel", "info"); err != nil {
		return nil, err
	}
	if err := h.waitSocket("cmp-server", sockets, 30*time.Second); err != nil {
		return nil, err
	}

	repo := "127.0.0.1:" + strconv.Itoa(ports["repo"])
	if err := h.start("repo-server", append([]string{"ARGOCD_BINARY_NAME=argocd-repo-server"}, common...), o.Bin,
		"--address", "127.0.0.1", "--port", strconv.Itoa(ports["repo"]),
		"--metrics-address", "127.0.0.1", "--metrics-port", strconv.Itoa(ports["repo-metrics"]),
		"--disable-tls", "--redis", redis); err != nil {
		return nil, err
	}
	if err := h.waitListening("repo-server", repo, 60*time.Second); err != nil {
		return nil, err
	}

	controller := []string{
		"--kubeconfig", o.Kubeconfig, "--namespace", o.Namespace,
		"--repo-server", repo, "--repo-server-plaintext", "--redis", redis,
		"--metrics-port", strconv.Itoa(ports["controller-metrics"]),
	}
	if o.SelfHealTimeout > 0 {
		controller = append(controller, "--self-heal-timeout-seconds", strconv.Itoa(int(o.SelfHealTimeout.Seconds())))
	}
	if !o.NoApplicationController {
		if err := h.start("application-controller", append([]string{"ARGOCD_BINARY_NAME=argocd-application-controller"}, common...), o.Bin, controller...); err != nil {
			return nil, err
		}
		if err := h.waitListening("application-controller", "127.0.0.1:"+strconv.Itoa(ports["controller-metrics"]), 60*time.Second); err != nil {
			return nil, err
		}
	}
	if !o.ApplicationSets {
		return a, nil
	}
	// Out of cluster it reads KUBECONFIG (common) as much as --kubeconfig.
	addr := func(p string) string { return "127.0.0.1:" + strconv.Itoa(ports[p]) }
	if err := h.start("applicationset-controller", append([]string{"ARGOCD_BINARY_NAME=argocd-applicationset-controller"}, common...), o.Bin,
		"--kubeconfig", o.Kubeconfig, "--namespace", o.Namespace,
		"--argocd-repo-server", repo, "--repo-server-plaintext", "--enable-progressive-syncs",
		"--metrics-addr", addr("appset-metrics"), "--probe-addr", addr("appset-probe"), "--webhook-addr", addr("appset-webhook"),
		"--logformat", "text"); err != nil {
		return nil, err
	}
	return a, h.waitListening("applicationset-controller", addr("appset-probe"), 60*time.Second)
}

// Log is the end of a component's log (redis, cmp-server, repo-server,
// application-controller, applicationset-controller), for a failure's
// message.
func (a *ArgoCD) Log(component string) string { return a.home.logTail(component) }

// Stop stops the components, newest first.
func (a *ArgoCD) Stop() error { return a.home.stop() }

// PeakRSS is a running component's peak resident memory (VmHWM), in bytes.
func (a *ArgoCD) PeakRSS(component string) (int64, error) { return a.home.peakRSS(component) }

// waitSocket waits for a unix socket in dir (the plugin server's).
func (h *home) waitSocket(name, dir string, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	for time.Now().Before(deadline) {
		entries, _ := os.ReadDir(dir)
		for _, e := range entries {
			if strings.HasSuffix(e.Name(), ".sock") {
				return nil
			}
		}
		time.Sleep(200 * time.Millisecond)
	}
	return fmt.Errorf("%s made no socket in %s after %s; its log ends:\n%s", name, dir, timeout, h.logTail(name))
}
