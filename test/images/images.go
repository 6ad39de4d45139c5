// Package images defines the images the test harness builds beside the one
// hubkit ships (internal/image.Function): the Hub stand-in, which the real
// node runs under the Hub's own image name, MinIO's stand-in under MinIO's,
// and the pause image its containerd uses for pod sandboxes. They are built
// like the shipped image, without a Docker engine.
package images

import (
	"fmt"
	"path"
	"strings"

	"github.com/hubkit/hubkit/internal/hub"
	"github.com/hubkit/hubkit/internal/image"
)

// Standin is the stand-in for HighByte Intelligence Hub (test/cmd/standin).
// It has no name of its own: it is built under the Hub's image name, read
// from the rendered overlay, so the overlay runs it unchanged.
func Standin() image.Spec {
	return image.Spec{
		Name: "hub-standin", Package: "./test/cmd/standin", Entrypoint: "/usr/local/bin/standin", User: fmt.Sprintf("%d:%d", hub.UID, hub.UID),
		Description: "hubkit's stand-in for HighByte Intelligence Hub, for tests on a real node",
		VersionEnv:  "HUBKIT_STANDIN_VERSION",
		// As the Hub's image: a shell, cp and mv (Debian's static busybox),
		// which hubkit's init containers use, and appData as the Hub ships
		// it: a default settings file and templates.
		Extra: []image.Extra{
			{Path: "/bin/busybox", Source: "/bin/busybox"},
			{Path: "/bin/sh", Link: "busybox"},
			{Path: "/bin/cp", Link: "busybox"},
			{Path: "/bin/mv", Link: "busybox"},
			{Path: path.Join(hub.AppData, hub.SettingsFile), Source: "test/cmd/standin/appdata/intelligencehub-settings.json"},
			{Path: path.Join(hub.AppData, "intelligencehub-systemvariables.json.template"), Source: "test/cmd/standin/appdata/intelligencehub-systemvariables.json.template"},
			// HA mode's command is java's, from the runtime directory
			// (components/high-availability): here java is the stand-in.
			{Path: "/usr/bin/java", Link: "/usr/local/bin/standin"},
			{Path: "/usr/local/highbyte/runtime/README", Source: "test/cmd/standin/runtime/README"},
		},
	}
}

// StandinNext is the stand-in as a later Hub version would be, for the
// upgrade drill: it rewrites appData's journal in a newer format
// (standin.JournalFormatNext) on its first start, which the Hub's version
// (Standin) then refuses to start on. It too is built under the Hub's image
// name, at the tag of the version it stands for.
func StandinNext() image.Spec {
	s := Standin()
	s.Name = "hub-standin-next"
	s.Description = "hubkit's stand-in for a later HighByte Intelligence Hub version, whose appData format the earlier one cannot read"
	s.Env = []string{"HUBKIT_STANDIN_JOURNAL_FORMAT=2"}
	return s
}

// Busybox is a shell and the few commands shell scripts on a volume use,
// from Debian's static busybox, run as root unless the pod says otherwise.
// It has no name of its own: it is built under the names the manifests that
// run it give, so they run unchanged: kind's local-path helper image, which
// local-path-provisioner's helper pods run (their setup and teardown
// scripts), and the busybox of backup/copy's Jobs.
func Busybox() image.Spec {
	extra := []image.Extra{{Path: "/bin/busybox", Source: "/bin/busybox"}}
	for _, applet := range []string{"sh", "mkdir", "rm", "chmod", "ls", "cp", "mv", "find", "sync", "test", "cat"} {
		extra = append(extra, image.Extra{Path: "/bin/" + applet, Link: "busybox"})
	}
	return image.Spec{
		Name: "busybox", Entrypoint: "/bin/sh", User: "0:0",
		Description: "a shell and coreutils from Debian's static busybox, for local-path-provisioner's helper pods and backup/copy's Jobs",
		Extra:       extra,
	}
}

// MinIO is the stand-in for MinIO's server (test/cmd/minio-standin), laid
// out where MinIO's Helm chart looks in MinIO's image: the chart's Deployment
// runs `/bin/sh -ce "/usr/bin/docker-entrypoint.sh minio server ..."`, so the
// image has a shell (Debian's static busybox), an entrypoint script that
// runs `minio ...` (test/cmd/minio-standin/docker-entrypoint.sh) and the
// stand-in as /usr/bin/minio, on PATH. As MinIO's image, it names no user
// (root): the chart's securityContext runs it as 1000 with fsGroup 1000. It
// has no name of its own: it is built under the chart's image name.
func MinIO() image.Spec {
	return image.Spec{
		Name: "minio-standin", Package: "./test/cmd/minio-standin", Entrypoint: "/usr/bin/minio", User: "0:0",
		Description: "hubkit's stand-in for MinIO's server, for MinIO's Helm chart on a real node",
		Env:         []string{"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"},
		Extra: []image.Extra{
			{Path: "/bin/busybox", Source: "/bin/busybox"},
			{Path: "/bin/sh", Link: "busybox"},
			{Path: "/usr/bin/docker-entrypoint.sh", Source: "test/cmd/minio-standin/docker-entrypoint.sh"},
		},
	}
}

// Pause is the pod sandbox's process (test/cmd/pause).
func Pause() image.Spec {
	return image.Spec{
		Name: "pause", Package: "./test/cmd/pause", Entrypoint: "/pause", User: "65535:65535",
		Repository:  "hubkit.dev/pause",
		Description: "the pod sandbox's process, for the real node's containerd",
	}
}

// All are the images the harness may build: the shipped function's, then
// its own.
func All() []image.Spec {
	return []image.Spec{image.Function(), Standin(), StandinNext(), Busybox(), MinIO(), Pause()}
}

// Lookup returns the image called name.
func Lookup(name string) (image.Spec, error) {
	var names []string
	for _, s := range All() {
		if s.Name == name {
			return s, nil
		}
		names = append(names, s.Name)
	}
	return image.Spec{}, fmt.Errorf("no image %q: want one of %s", name, strings.Join(names, ", "))
}
