package node

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"time"
)

// LocalPathOptions run kind's and k3s's default storage for the node:
// rancher's local-path-provisioner (bin/local-path-provisioner, `make
// tools`), whose volumes are directories of the node's made by helper pods
// (a busybox running the provisioner's setup and teardown scripts) and
// bound as hostPath PersistentVolumes with the node's affinity. It runs on
// the host with the cluster's admin kubeconfig, as the CSI sidecars do,
// where kind runs it as a Deployment; its cluster side (namespace, service
// account, the ConfigMap of its scripts, the StorageClass) is the caller's
// to apply, from the provisioner's own manifests.
type LocalPathOptions struct {
	// Config is its config.json: which directory of which node volumes go
	// in (LocalPathDir, for this node).
	Config []byte
	// HelperPod is its helperPod.yaml, the template of the helper pods.
	HelperPod []byte
	// Namespace, ServiceAccount and ConfigMap are where the helper pods
	// run, as whom, and the ConfigMap holding their scripts.
	Namespace, ServiceAccount, ConfigMap string
}

// LocalPathDir is the node's directory for local-path volumes, as kind
// gives its nodes /var/local-path-provisioner.
func (n *Node) LocalPathDir() string { return n.path("local-path-provisioner") }

// StartLocalPath starts local-path-provisioner for the node and returns
// once its controller runs; stop stops it (Stop does too, if it was not
// called). Volumes it made are left to the cluster's claims: delete those
// first, while it runs, for its teardown to remove them.
func (n *Node) StartLocalPath(ctx context.Context, o LocalPathOptions) (stop func() error, err error) {
	const name = "local-path-provisioner"
	if _, err := os.Stat(n.bin(name)); err != nil {
		return nil, fmt.Errorf("%s is missing from %s: run `make tools`", name, n.opts.BinDir)
	}
	dir := n.path("local-path")
	for _, d := range []string{dir, n.LocalPathDir()} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			return nil, err
		}
	}
	files := map[string][]byte{"config.json": o.Config, "helperPod.yaml": o.HelperPod}
	kubeconfig, err := os.ReadFile(n.opts.Kubeconfig)
	if err != nil {
		return nil, err
	}
	files["kubeconfig"] = kubeconfig
	for f, b := range files {
		if err := os.WriteFile(n.path("local-path", f), b, 0o600); err != nil {
			return nil, err
		}
	}
	stop = func() error { return n.stopDaemon(name, 10*time.Second) }
	n.onStop("stop "+name, stop)
	d, err := n.startDaemon(name, n.bin(name), "--debug", "start",
		"--kubeconfig", n.path("local-path", "kubeconfig"), "--config", n.path("local-path", "config.json"),
		"--helper-pod-file", n.path("local-path", "helperPod.yaml"),
		"--namespace", o.Namespace, "--service-account-name", o.ServiceAccount, "--configmap-name", o.ConfigMap)
	if err != nil {
		return nil, err
	}
	log := n.path("logs", name+".log")
	err = n.waitRunning(ctx, d, time.Minute, name+"'s controller started", func(context.Context) (bool, error) {
		b, err := os.ReadFile(log)
		return bytes.Contains(b, []byte("Started provisioner controller")), err
	})
	if err != nil {
		return nil, err
	}
	return stop, nil
}
