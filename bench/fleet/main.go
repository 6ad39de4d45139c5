// Command fleet measures hubkit's fleet renderer at fleet scale, in one run
// on one machine: a generated inventory of -sites sites (a fifth of them HA
// pairs, spread over the waves), rendered by tools/fleet with one worker
// and with two (wall time and peak RSS, and the two outputs compared byte
// for byte), one changed site rendered alone, each site's render size, and
// the same sites built one by one by `kustomize build
// --enable-alpha-plugins --enable-exec`, as a team without the renderer
// would. It writes the figures into docs/benchmarks.md between its fleet
// markers. `make bench-fleet` runs it.
package main

import (
	"bytes"
	"flag"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"syscall"
	"time"

	"github.com/hubkit/hubkit/internal/fleet"
)

func main() {
	sites := flag.Int("sites", 1000, "sites in the generated inventory")
	doc := flag.String("doc", "docs/benchmarks.md", "the page whose fleet markers get the figures; empty: print them only")
	flag.Parse()
	if err := run(*sites, *doc); err != nil {
		fmt.Fprintln(os.Stderr, "bench/fleet:", err)
		os.Exit(1)
	}
}

// sample is one process run: its wall time and peak RSS.
type sample struct {
	wall time.Duration
	rss  int64
}

func run(n int, doc string) error {
	repo, err := os.Getwd()
	if err != nil {
		return err
	}
	bin := filepath.Join(repo, "bin")
	tmp, err := os.MkdirTemp("", "hubkit-bench-fleet-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)
	root := filepath.Join(tmp, "repo")
	if err := inventory(repo, root, n); err != nil {
		return err
	}
	renderer := filepath.Join(tmp, "fleet")
	if out, err := exec.Command("go", "build", "-o", renderer, "./tools/fleet").CombinedOutput(); err != nil {
		return fmt.Errorf("go build ./tools/fleet: %w: %s", err, out)
	}
	env := []string{"PATH=" + bin + string(os.PathListSeparator) + os.Getenv("PATH")}

	var lines []string
	say := func(format string, args ...any) {
		line := fmt.Sprintf(format, args...)
		fmt.Println(line)
		lines = append(lines, line)
	}
	say("%d sites (%d HA pairs), %d waves, on %d cores (GOMAXPROCS), %s:", n, n/5, 3, runtime.GOMAXPROCS(0), time.Now().UTC().Format("2006-01-02"))
	say("")
	say("| what | wall | peak RSS |")
	say("| --- | --- | --- |")
	outs := map[int]string{}
	var one, two sample
	for _, workers := range []int{1, 2} {
		out := filepath.Join(tmp, fmt.Sprintf("out-%d", workers))
		s, err := measure(env, renderer, "-root", root, "-out", out, "-workers", fmt.Sprint(workers))
		if err != nil {
			return err
		}
		outs[workers] = out
		say("| `tools/fleet -workers %d`: every site, function applied, audited | %.1f s | %d MiB |", workers, s.wall.Seconds(), s.rss>>20)
		if workers == 1 {
			one = s
		} else {
			two = s
		}
	}
	same, err := sameTree(outs[1], outs[2])
	if err != nil {
		return err
	}
	s, err := measure(env, renderer, "-root", root, "-out", filepath.Join(tmp, "out-one"), "-site", siteName(n/2))
	if err != nil {
		return err
	}
	say("| `tools/fleet -site %s`: one changed site alone | %.2f s | %d MiB |", siteName(n/2), s.wall.Seconds(), s.rss>>20)
	cli, err := cliBuilds(env, bin, root, n)
	if err != nil {
		return err
	}
	say("| `kustomize build --enable-alpha-plugins --enable-exec`, once per site (%d runs) | %.1f s | %d MiB (the largest run) |", n, cli.wall.Seconds(), cli.rss>>20)
	say("")
	single, ha, err := sizes(outs[2], n)
	if err != nil {
		return err
	}
	best := min(one.wall, two.wall)
	say("Two runs byte-identical: %t. The renderer takes %.0f%% of the %d CLI runs' time. Each site's render: single %s, HA %s (the largest of each).",
		same, 100*best.Seconds()/cli.wall.Seconds(), n, single, ha)
	if doc == "" {
		return nil
	}
	return writeFigures(doc, strings.Join(lines, "\n"))
}

func siteName(i int) string { return fmt.Sprintf("site-%04d", i) }

// inventory writes root: links to the repository's base, components,
// overlays and functions, its fleet.yaml, and n generated sites.
func inventory(repo, root string, n int) error {
	for _, d := range []string{"base", "components", "overlays", "functions"} {
		if err := os.MkdirAll(root, 0o755); err != nil {
			return err
		}
		if err := os.Symlink(filepath.Join(repo, d), filepath.Join(root, d)); err != nil {
			return err
		}
	}
	b, err := os.ReadFile(filepath.Join(repo, fleet.FleetFile))
	if err != nil {
		return err
	}
	if err := write(filepath.Join(root, fleet.FleetFile), b); err != nil {
		return err
	}
	waves := []string{"canary", "early", "rest"}
	for i := range n {
		mode, wave := fleet.ModeSingle, waves[2]
		if i%5 == 4 {
			mode = fleet.ModeHA
		}
		if i < 10 {
			wave = waves[0]
		} else if i < n/4 {
			wave = waves[1]
		}
		name := siteName(i)
		site := fmt.Sprintf(`apiVersion: hubkit.dev/v1alpha1
kind: Site
metadata:
  name: %[1]s
spec:
  cluster: cluster-%[1]s
  wave: %[2]s
  mode: %[3]s
  storage:
    size: %[4]dGi
  host: hub.%[1]s.example.com
  systemVariables:
  - name: mqttTopic
    value: plants/%[1]s
  - name: opcuaEndpoint
    value: opc.tcp://10.%[5]d.%[6]d.15:4840
  central:
    url: wss://central.example.com/websocket
    tokenSecret: network-group-token-v1
    centralConfig: true
`, name, wave, mode, 20+i%30, i/256%256, i%256)
		if err := write(filepath.Join(root, fleet.SitesDir, name, fleet.SiteFile), []byte(site)); err != nil {
			return err
		}
	}
	return nil
}

func write(path string, b []byte) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	return os.WriteFile(path, b, 0o644)
}

// measure runs argv once and keeps its wall time and peak RSS.
func measure(env []string, argv ...string) (sample, error) {
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Env = append(os.Environ(), env...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	start := time.Now()
	if err := cmd.Run(); err != nil {
		return sample{}, fmt.Errorf("%s: %w: %s", strings.Join(argv, " "), err, stderr.String())
	}
	wall := time.Since(start)
	ru := cmd.ProcessState.SysUsage().(*syscall.Rusage)
	return sample{wall: wall, rss: ru.Maxrss * 1024}, nil
}

// cliBuilds builds each site as one kustomization from its overlay's
// folder, its layer and the function, with the kustomize CLI, one run per
// site: each site's folder the renderer wrote (root/build/fleet/<site>),
// its overlay's render replaced by the overlay itself.
func cliBuilds(env []string, bin, root string, n int) (sample, error) {
	var total sample
	for i := range n {
		dir := filepath.Join(root, "build", "fleet", siteName(i))
		k, err := os.ReadFile(filepath.Join(dir, "kustomization.yaml"))
		if err != nil {
			return sample{}, err
		}
		overlay := "prod"
		if i%5 == 4 {
			overlay = "prod-ha"
		}
		k = bytes.Replace(k, []byte("- "+fleet.OverlayFile+"\n"), []byte("- ../../../overlays/"+overlay+"\n"), 1)
		cli := filepath.Join(root, "build", "cli", siteName(i))
		if err := os.CopyFS(cli, os.DirFS(dir)); err != nil {
			return sample{}, err
		}
		if err := os.WriteFile(filepath.Join(cli, "kustomization.yaml"), k, 0o644); err != nil {
			return sample{}, err
		}
		if err := os.Remove(filepath.Join(cli, fleet.OverlayFile)); err != nil {
			return sample{}, err
		}
		s, err := measure(env, filepath.Join(bin, "kustomize"), "build", "--enable-alpha-plugins", "--enable-exec", cli)
		if err != nil {
			return sample{}, err
		}
		total.wall += s.wall
		total.rss = max(total.rss, s.rss)
	}
	return total, nil
}

// sameTree says whether two folders hold the same files, byte for byte.
func sameTree(a, b string) (bool, error) {
	files := func(dir string) (map[string][]byte, error) {
		m := map[string][]byte{}
		return m, filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
			if err != nil || d.IsDir() {
				return err
			}
			rel, err := filepath.Rel(dir, p)
			if err != nil {
				return err
			}
			m[rel], err = os.ReadFile(p)
			return err
		})
	}
	fa, err := files(a)
	if err != nil {
		return false, err
	}
	fb, err := files(b)
	if err != nil {
		return false, err
	}
	if len(fa) != len(fb) {
		return false, nil
	}
	for p, x := range fa {
		if !bytes.Equal(x, fb[p]) {
			return false, nil
		}
	}
	return true, nil
}

// sizes are the largest render of a single site and of an HA site.
func sizes(out string, n int) (single, ha string, err error) {
	var s, h []int
	for i := range n {
		st, err := os.Stat(filepath.Join(out, "deploy", "sites", siteName(i), "hub.yaml"))
		if err != nil {
			return "", "", err
		}
		if i%5 == 4 {
			h = append(h, int(st.Size()))
		} else {
			s = append(s, int(st.Size()))
		}
	}
	kb := func(v []int) string { return fmt.Sprintf("%.1f KB", float64(slices.Max(v))/1024) }
	return kb(s), kb(h), nil
}

const begin, end = "<!-- fleet:begin (written by make bench-fleet) -->", "<!-- fleet:end -->"

// writeFigures replaces what stands between the fleet markers of path.
func writeFigures(path, figures string) error {
	b, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	s := string(b)
	i, j := strings.Index(s, begin), strings.Index(s, end)
	if i < 0 || j < i {
		return fmt.Errorf("%s has no %q ... %q markers", path, begin, end)
	}
	return os.WriteFile(path, []byte(s[:i+len(begin)]+"\n"+figures+"\n"+s[j:]), 0o644)
}
