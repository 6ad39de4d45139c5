// Command run measures the singleton function as whole processes, side by
// side with what a user would otherwise pay, in one run on one machine, and
// writes the figures into docs/benchmarks.md (between its results markers)
// and docs/benchmarks.png. `make bench` runs it.
package main

import (
	"bytes"
	"debug/buildinfo"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/hubkit/hubkit/bench/gen"
	"github.com/hubkit/hubkit/internal/overlays"
)

// sample is one process run.
type sample struct {
	wall, cpu time.Duration
	rss       int64 // bytes
}

// stats are several runs: medians and spreads (min to max).
type stats struct {
	runs                   int
	wall, wallMin, wallMax time.Duration
	cpu                    time.Duration
	rss, rssMin, rssMax    int64
}

func summarize(s []sample) stats {
	wall := func(i int) time.Duration { return s[i].wall }
	slices.SortFunc(s, func(a, b sample) int { return int(a.wall - b.wall) })
	st := stats{runs: len(s), wall: median(len(s), wall), wallMin: s[0].wall, wallMax: s[len(s)-1].wall}
	cpus := make([]time.Duration, len(s))
	rss := make([]int64, len(s))
	for i := range s {
		cpus[i], rss[i] = s[i].cpu, s[i].rss
	}
	slices.Sort(cpus)
	slices.Sort(rss)
	st.cpu = cpus[len(cpus)/2]
	st.rss, st.rssMin, st.rssMax = rss[len(rss)/2], rss[0], rss[len(rss)-1]
	return st
}

func median(n int, at func(int) time.Duration) time.Duration {
	if n%2 == 1 {
		return at(n / 2)
	}
	return (at(n/2-1) + at(n/2)) / 2
}

// measure runs argv with stdin from a file (or none), runs times, and keeps
// wall time, user+system CPU and peak RSS of each run. okExit lists the exit
// codes that are not failures (audit exits 1 on findings, kube-score too).
func measure(runs int, stdin string, env []string, okExit []int, argv ...string) (stats, error) {
	var s []sample
	for range runs {
		one, err := runOnce(stdin, env, okExit, argv)
		if err != nil {
			return stats{}, err
		}
		s = append(s, one)
	}
	return summarize(s), nil
}

// runOnce runs argv once and keeps its wall time, CPU and peak RSS.
func runOnce(stdin string, env []string, okExit []int, argv []string) (sample, error) {
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Env = append(os.Environ(), env...)
	if stdin != "" {
		f, err := os.Open(stdin)
		if err != nil {
			return sample{}, err
		}
		defer f.Close()
		cmd.Stdin = f
	}
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	start := time.Now()
	err := cmd.Run()
	wall := time.Since(start)
	if err != nil {
		code := -1
		if e, ok := err.(*exec.ExitError); ok {
			code = e.ExitCode()
		}
		if !slices.Contains(okExit, code) {
			return sample{}, fmt.Errorf("%s: %w: %s", strings.Join(argv, " "), err, lastLine(stderr.String()))
		}
	}
	ru := cmd.ProcessState.SysUsage().(*syscall.Rusage)
	return sample{wall: wall, cpu: time.Duration(ru.Utime.Nano() + ru.Stime.Nano()), rss: ru.Maxrss * 1024}, nil
}

func lastLine(s string) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	return lines[len(lines)-1]
}

type row struct {
	tool  string
	items int
	st    stats
}

func main() {
	sizes := flag.String("sizes", "100,1000,10000,50000", "item counts")
	runs := flag.Int("runs", 5, "runs per measurement (3 for the largest size)")
	docs := flag.String("docs", "docs", "where benchmarks.md and benchmarks.png are")
	work := flag.String("work", "build/bench", "inputs and binaries")
	flag.Parse()
	if err := run(*sizes, *runs, *docs, *work); err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
}

func run(sizeList string, runs int, docs, work string) error {
	var sizes []int
	for _, s := range strings.Split(sizeList, ",") {
		n, err := strconv.Atoi(s)
		if err != nil {
			return fmt.Errorf("-sizes: %w", err)
		}
		sizes = append(sizes, n)
	}
	if err := os.MkdirAll(work, 0o755); err != nil {
		return err
	}
	bin := func(name string) string { return filepath.Join(work, name) }
	for name, pkg := range map[string]string{"singleton": "./plugin", "identity": "./bench/identity", "yamlcat": "./bench/yamlcat"} {
		if out, err := exec.Command("go", "build", "-o", bin(name), pkg).CombinedOutput(); err != nil {
			return fmt.Errorf("go build %s: %w: %s", pkg, err, out)
		}
	}
	kubeScore, err := toolLabel("bin/kube-score")
	if err != nil {
		return err
	}
	var rows []row
	for _, n := range sizes {
		r := runs
		if n >= 50000 {
			r = max(3, runs/2)
		}
		inputs := map[gen.Config]string{}
		for _, c := range []gen.Config{gen.Enforce, gen.Audit, gen.None} {
			inputs[c] = filepath.Join(work, fmt.Sprintf("input-%d-%s.yaml", n, orNone(c)))
			if err := write(inputs[c], func(f *os.File) error { return gen.ResourceList(f, n, c) }); err != nil {
				return err
			}
		}
		manifests := filepath.Join(work, fmt.Sprintf("manifests-%d.yaml", n))
		if err := write(manifests, func(f *os.File) error { return gen.Manifests(f, n) }); err != nil {
			return err
		}
		for _, m := range []struct {
			tool   string
			stdin  string
			okExit []int
			argv   []string
		}{
			{"singleton enforce", inputs[gen.Enforce], nil, []string{bin("singleton")}},
			{"singleton audit", inputs[gen.Audit], []int{1}, []string{bin("singleton")}},
			{"kyaml identity function", inputs[gen.None], nil, []string{bin("identity")}},
			{"yaml.v3 decode+encode", inputs[gen.None], nil, []string{bin("yamlcat")}},
			{kubeScore, "", []int{1}, []string{"bin/kube-score", "score", "--output-format", "ci", manifests}},
		} {
			fmt.Fprintf(os.Stderr, "%-26s %6d items ...", m.tool, n)
			st, err := measure(r, m.stdin, nil, m.okExit, m.argv...)
			if err != nil {
				return err
			}
			fmt.Fprintf(os.Stderr, " %s, %s\n", st.wall.Round(time.Millisecond), mib(st.rss))
			rows = append(rows, row{m.tool, n, st})
		}
	}
	builds, err := kustomizeBuilds(bin("singleton"), work, runs*2)
	if err != nil {
		return err
	}
	benchOut, err := exec.Command("go", "test", "-run", "^$", "-bench", ".", "-benchmem", "-benchtime", "5x", "./plugin/singleton/").CombinedOutput()
	if err != nil {
		return fmt.Errorf("go test -bench: %w: %s", err, benchOut)
	}
	if err := drawPlot(rows, filepath.Join(docs, "benchmarks.png")); err != nil {
		return err
	}
	return writeResults(filepath.Join(docs, "benchmarks.md"), report(rows, builds, sizes, string(benchOut), kubeScore))
}

func orNone(c gen.Config) string {
	if c == gen.None {
		return "none"
	}
	return string(c)
}

func write(path string, fill func(*os.File) error) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if err := fill(f); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

type build struct {
	overlay string
	fn, cat stats
}

// kustomizeBuilds builds each overlay with the function, and with /bin/cat
// standing in for it (same overlay: a `singleton` on PATH that is cat).
func kustomizeBuilds(singleton, work string, runs int) ([]build, error) {
	fnDir, catDir := filepath.Join(work, "path-fn"), filepath.Join(work, "path-cat")
	for dir, target := range map[string]string{fnDir: singleton, catDir: "/bin/cat"} {
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return nil, err
		}
		abs, err := filepath.Abs(target)
		if err != nil {
			return nil, err
		}
		link := filepath.Join(dir, "singleton")
		_ = os.Remove(link)
		if err := os.Symlink(abs, link); err != nil {
			return nil, err
		}
	}
	path := func(dir string) []string {
		abs, _ := filepath.Abs(dir)
		return []string{"PATH=" + abs + string(os.PathListSeparator) + os.Getenv("PATH")}
	}
	table, err := overlays.Load(".")
	if err != nil {
		return nil, err
	}
	var out []build
	for _, o := range overlays.Names(table) {
		argv := []string{"bin/kustomize", "build", "--enable-alpha-plugins", "--enable-exec", filepath.Join("overlays", o)}
		fmt.Fprintf(os.Stderr, "kustomize build overlays/%s ...\n", o)
		fn, err := measure(runs, "", path(fnDir), nil, argv...)
		if err != nil {
			return nil, err
		}
		cat, err := measure(runs, "", path(catDir), nil, argv...)
		if err != nil {
			return nil, err
		}
		out = append(out, build{o, fn, cat})
	}
	return out, nil
}

func mib(b int64) string { return fmt.Sprintf("%.1f MiB", float64(b)/(1<<20)) }

func ms(d time.Duration) string {
	if d < 10*time.Millisecond {
		return fmt.Sprintf("%.1f ms", float64(d)/float64(time.Millisecond))
	}
	return fmt.Sprintf("%d ms", d.Round(time.Millisecond).Milliseconds())
}

func find(rows []row, tool string, n int) stats {
	for _, r := range rows {
		if r.tool == tool && r.items == n {
			return r.st
		}
	}
	return stats{}
}

func machine() string {
	model := "unknown CPU"
	if b, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		for _, l := range strings.Split(string(b), "\n") {
			if strings.HasPrefix(l, "model name") {
				model = strings.TrimSpace(strings.SplitN(l, ":", 2)[1])
				break
			}
		}
	}
	return fmt.Sprintf("%d cores (%s), %s, %s/%s, %s", runtime.NumCPU(), model, runtime.Version(), runtime.GOOS, runtime.GOARCH, time.Now().UTC().Format("2006-01-02"))
}

func report(rows []row, builds []build, sizes []int, benchOut, kubeScore string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "Measured by `make bench` on %s. Each figure is the median of several runs (3 at 50k items); the spread is min to max.\n\n", machine())
	fmt.Fprint(&b, "### Whole processes\n\n")
	fmt.Fprintln(&b, "| tool | items | wall (median, spread) | CPU | peak RSS (median, spread) |")
	fmt.Fprintln(&b, "| --- | ---: | --- | ---: | --- |")
	for _, r := range rows {
		fmt.Fprintf(&b, "| %s | %d | %s (%s to %s) | %s | %s (%s to %s) |\n", r.tool, r.items,
			ms(r.st.wall), ms(r.st.wallMin), ms(r.st.wallMax), ms(r.st.cpu), mib(r.st.rss), mib(r.st.rssMin), mib(r.st.rssMax))
	}
	fmt.Fprint(&b, "\n### kustomize build, with the function and with `/bin/cat` in its place\n\n")
	fmt.Fprintln(&b, "| overlay | with singleton | with /bin/cat | ratio |")
	fmt.Fprintln(&b, "| --- | --- | --- | ---: |")
	for _, bd := range builds {
		fmt.Fprintf(&b, "| %s | %s (%s to %s) | %s (%s to %s) | %.2f |\n", bd.overlay, ms(bd.fn.wall), ms(bd.fn.wallMin), ms(bd.fn.wallMax),
			ms(bd.cat.wall), ms(bd.cat.wallMin), ms(bd.cat.wallMax), ratio(bd.fn.wall, bd.cat.wall))
	}
	fmt.Fprint(&b, "\n### Targets\n\n")
	fmt.Fprintln(&b, "| target | measured | met |")
	fmt.Fprintln(&b, "| --- | ---: | --- |")
	enf, id := find(rows, "singleton enforce", 10000), find(rows, "kyaml identity function", 10000)
	peer := find(rows, kubeScore, 10000)
	check := func(name string, got, limit float64) {
		met := "yes"
		if got > limit {
			met = fmt.Sprintf("**no**, by %.0f%%", (got/limit-1)*100)
		}
		fmt.Fprintf(&b, "| %s ≤ %.2f | %.2f | %s |\n", name, limit, got, met)
	}
	if id.runs > 0 && enf.runs > 0 {
		check("enforce / kyaml identity, 10k items, wall", ratio(enf.wall, id.wall), 0.5)
	}
	if peer.runs > 0 && enf.runs > 0 {
		check("enforce / "+kubeScore+", 10k items, peak RSS", float64(enf.rss)/float64(peer.rss), 1)
	}
	if big := find(rows, "singleton enforce", 50000); big.runs > 0 && enf.runs > 0 {
		check("enforce 50k / 10k items, wall", ratio(big.wall, enf.wall), 5.5)
		check("enforce 50k / 10k items, peak RSS", float64(big.rss)/float64(enf.rss), 5.5)
	}
	for _, bd := range builds {
		if bd.overlay == "prod" {
			check("kustomize build overlays/prod, function / cat, wall", ratio(bd.fn.wall, bd.cat.wall), 1.15)
		}
	}
	fmt.Fprintf(&b, "\n### Go benchmarks (10k items, `go test -bench . -benchmem ./plugin/singleton/`)\n\n```\n%s```\n", benchLines(benchOut))
	fmt.Fprintln(&b, "\n![time and memory against items](benchmarks.png)")
	return b.String()
}

func benchLines(out string) string {
	var b strings.Builder
	for _, l := range strings.Split(out, "\n") {
		if strings.HasPrefix(l, "Benchmark") {
			b.WriteString(l + "\n")
		}
	}
	return b.String()
}

func ratio(a, b time.Duration) float64 { return float64(a) / float64(b) }

const begin, end = "<!-- results:begin (written by make bench) -->", "<!-- results:end -->"

// writeResults replaces what stands between the markers of path.
func writeResults(path, results string) error {
	doc, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	i, j := bytes.Index(doc, []byte(begin)), bytes.Index(doc, []byte(end))
	if i < 0 || j < i {
		return fmt.Errorf("%s has no %q ... %q markers", path, begin, end)
	}
	out := append(append(append([]byte{}, doc[:i+len(begin)]...), "\n"+results+"\n"...), doc[j:]...)
	return os.WriteFile(path, out, 0o644)
}

// toolLabel names a Go tool by its module version, read from the binary's
// build info: the Makefile's pin, written nowhere else.
func toolLabel(path string) (string, error) {
	info, err := buildinfo.ReadFile(path)
	if err != nil {
		return "", fmt.Errorf("read the build info of %s: %w", path, err)
	}
	return filepath.Base(path) + " " + info.Main.Version, nil
}
