// Command krew builds kubectl hubkit's release archives, one per platform,
// and the krew manifest that names them (hubkit.yaml, as krew's index
// holds plugin manifests): make krew. The archives are reproducible: the
// binary built with -trimpath and no build id, the tar's entries with one
// time, owner and mode.
//
//	go run ./tools/krew -version v0.1.0 -out build/krew
package main

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"encoding/hex"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/yaml"
)

// The manifest's fields, as krew's index types (sigs.k8s.io/krew/pkg/index)
// spell them. Those types are not imported: krew's go.mod requires
// k8s.io/client-go v11.0.0+incompatible, which would replace hubkit's.
// validate-krew-manifest, built from krew, checks what this writes.
type plugin struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata"`
	Spec              pluginSpec `json:"spec"`
}

type pluginSpec struct {
	Version          string     `json:"version"`
	Homepage         string     `json:"homepage"`
	ShortDescription string     `json:"shortDescription"`
	Description      string     `json:"description"`
	Caveats          string     `json:"caveats,omitempty"`
	Platforms        []platform `json:"platforms"`
}

type platform struct {
	Selector *metav1.LabelSelector `json:"selector"`
	URI      string                `json:"uri"`
	Sha256   string                `json:"sha256"`
	Bin      string                `json:"bin"`
	Files    []fileOperation       `json:"files"`
}

type fileOperation struct {
	From string `json:"from"`
	To   string `json:"to"`
}

const binary = "kubectl-hubkit"

func main() {
	version := flag.String("version", "v0.0.0-dev", "the release's version (a tag, v-prefixed)")
	uri := flag.String("uri", "https://github.com/hubkit/hubkit/releases/download", "where the release's archives are published: <uri>/<version>/<archive>")
	out := flag.String("out", "build/krew", "where the archives and hubkit.yaml go")
	platforms := flag.String("platforms", "linux/amd64,linux/arm64,darwin/amd64,darwin/arm64", "os/arch, comma-separated")
	flag.Parse()
	if err := run(*version, *uri, *out, strings.Split(*platforms, ",")); err != nil {
		fmt.Fprintln(os.Stderr, "krew:", err)
		os.Exit(1)
	}
}

func run(version, uri, out string, platforms []string) error {
	if err := os.MkdirAll(out, 0o755); err != nil {
		return err
	}
	p := plugin{
		TypeMeta:   metav1.TypeMeta{APIVersion: "krew.googlecontainertools.github.com/v1alpha2", Kind: "Plugin"},
		ObjectMeta: metav1.ObjectMeta{Name: "hubkit"},
		Spec: pluginSpec{
			Version:          version,
			Homepage:         "https://github.com/hubkit/hubkit",
			ShortDescription: "Run a singleton app's runbooks (status, snapshot, restore, node loss) as commands",
			Description: `kubectl hubkit runs the runbooks of a single-instance stateful app that hubkit
rendered (HighByte Intelligence Hub first): status (exit 0 only while it serves),
stop and start, snapshot and restore from a restore point (resumable), the
restore points, node-lost and node-back (the out-of-service taint, only on a node
that is really gone), and report. Each command waits for what it does, prints a
line per step, refuses with nothing changed where a step is not safe, and prints
the kubectl lines it would run under --dry-run.`,
			Caveats: `The roles each command needs are in hubkit's rbac/kubectl-hubkit.`,
		},
	}
	for _, pl := range platforms {
		goos, goarch, ok := strings.Cut(pl, "/")
		if !ok {
			return fmt.Errorf("-platforms: %q is not os/arch", pl)
		}
		name := fmt.Sprintf("%s_%s_%s.tar.gz", binary, goos, goarch)
		sum, err := archive(filepath.Join(out, name), goos, goarch)
		if err != nil {
			return fmt.Errorf("%s: %w", pl, err)
		}
		bin := binary
		if goos == "windows" {
			bin += ".exe"
		}
		p.Spec.Platforms = append(p.Spec.Platforms, platform{
			Selector: &metav1.LabelSelector{MatchLabels: map[string]string{"os": goos, "arch": goarch}},
			URI:      fmt.Sprintf("%s/%s/%s", strings.TrimSuffix(uri, "/"), version, name),
			Sha256:   sum,
			Bin:      bin,
			Files:    []fileOperation{{From: bin, To: "."}},
		})
	}
	b, err := yaml.Marshal(p)
	if err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(out, "hubkit.yaml"), b, 0o644)
}

// archive builds the plugin for goos/goarch into a tar.gz at path and
// returns its sha256.
func archive(path, goos, goarch string) (string, error) {
	dir, err := os.MkdirTemp("", "hubkit-krew-")
	if err != nil {
		return "", err
	}
	defer os.RemoveAll(dir)
	bin := filepath.Join(dir, binary)
	cmd := exec.Command("go", "build", "-trimpath", "-ldflags=-s -w -buildid=", "-o", bin, "./cmd/kubectl-hubkit")
	cmd.Env = append(os.Environ(), "GOOS="+goos, "GOARCH="+goarch, "CGO_ENABLED=0")
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("go build: %w: %s", err, out)
	}
	body, err := os.ReadFile(bin)
	if err != nil {
		return "", err
	}
	var buf bytes.Buffer
	gz := gzip.NewWriter(&buf)
	tw := tar.NewWriter(gz)
	epoch := time.Unix(0, 0).UTC()
	name := binary
	if goos == "windows" {
		name += ".exe"
	}
	if err := tw.WriteHeader(&tar.Header{Name: name, Mode: 0o755, Size: int64(len(body)), ModTime: epoch, Format: tar.FormatUSTAR}); err != nil {
		return "", err
	}
	if _, err := tw.Write(body); err != nil {
		return "", err
	}
	if err := tw.Close(); err != nil {
		return "", err
	}
	if err := gz.Close(); err != nil {
		return "", err
	}
	if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
		return "", err
	}
	sum := sha256.Sum256(buf.Bytes())
	return hex.EncodeToString(sum[:]), nil
}
