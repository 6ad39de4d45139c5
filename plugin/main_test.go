package main_test

import (
	"bytes"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/hubkit/hubkit/plugin/singleton"
	"github.com/hubkit/hubkit/test/testenv"
)

var fns testenv.Functions

func TestMain(m *testing.M) { fns.Main(m) }

// Each golden case, run through the built binary as kustomize and kpt run it
// (a ResourceList on stdin): the same output as in process, exit 1 on error,
// and every warning and error on stderr, one line each.
func TestBinaryRunsEveryGoldenCase(t *testing.T) {
	bin := fns.Singleton(t)
	inputs, err := filepath.Glob(filepath.Join("singleton", "testdata", "*", "*", "input.yaml"))
	require.NoError(t, err)
	require.NotEmpty(t, inputs)
	for _, input := range inputs {
		dir := filepath.Dir(input)
		t.Run(dir, func(t *testing.T) {
			input, err := os.ReadFile(filepath.Join(dir, "input.yaml"))
			require.NoError(t, err)
			var stdout, stderr bytes.Buffer
			cmd := exec.Command(bin)
			cmd.Stdin, cmd.Stdout, cmd.Stderr = bytes.NewReader(input), &stdout, &stderr
			runErr := cmd.Run()

			for _, line := range nonEmptyLines(stderr.String()) {
				assert.Regexp(t, `^singleton: (warning|error): `, line)
			}
			if want, err := os.ReadFile(filepath.Join(dir, "errors.txt")); err == nil {
				var exit *exec.ExitError
				require.ErrorAs(t, runErr, &exit)
				assert.Equal(t, 1, exit.ExitCode())
				for _, re := range nonEmptyLines(string(want)) {
					assert.Regexp(t, regexp.MustCompile(re), stderr.String())
				}
				assert.Contains(t, stdout.String(), "kind: ResourceList", "kpt reads the results from stdout")
				assert.Contains(t, stdout.String(), "\nresults:\n")
				return
			}
			require.NoError(t, runErr, "stderr: %s", stderr.String())
			want, err := os.ReadFile(filepath.Join(dir, "expected.yaml"))
			require.NoError(t, err)
			assert.Equal(t, string(want), stdout.String())
			assert.Equal(t, strings.Count(string(want), "severity: warning"), len(nonEmptyLines(stderr.String())),
				"one stderr line per warning")
		})
	}
}

func TestBinaryFailsOnUnreadableInput(t *testing.T) {
	var stderr bytes.Buffer
	cmd := exec.Command(fns.Singleton(t))
	cmd.Stdin, cmd.Stderr = strings.NewReader("items: [: not yaml"), &stderr
	var exit *exec.ExitError
	require.ErrorAs(t, cmd.Run(), &exit)
	assert.Equal(t, 1, exit.ExitCode())
	assert.Regexp(t, `^singleton: error: failed to read ResourceList input`, stderr.String())
}

// kpt runs the function with `kpt fn eval --exec`, its config a ConfigMap
// made from the arguments after --.
func TestKptFnEval(t *testing.T) {
	kpt := testenv.Kpt(t)
	dir := t.TempDir()
	hub := strings.Replace(deployment, "replicas: 1", "replicas: 3", 1)
	require.NoError(t, os.WriteFile(filepath.Join(dir, "hub.yaml"), []byte(hub), 0o644))
	bin := fns.Singleton(t)

	out, err := exec.Command(kpt, "fn", "eval", dir, "--exec", bin, "--", "mode=audit").CombinedOutput()
	require.Error(t, err, "audit must fail on 3 replicas: %s", out)
	assert.Contains(t, string(out), "[replicas] spec.replicas is 3")
	after, err := os.ReadFile(filepath.Join(dir, "hub.yaml"))
	require.NoError(t, err)
	assert.Equal(t, hub, string(after), "audit changes nothing")

	out, err = exec.Command(kpt, "fn", "eval", dir, "--exec", bin, "--", "mode=enforce", "container=hub").CombinedOutput()
	require.NoError(t, err, "%s", out)
	assert.Contains(t, string(out), "[warning]")
	after, err = os.ReadFile(filepath.Join(dir, "hub.yaml"))
	require.NoError(t, err)
	assert.Contains(t, string(after), "replicas: 1")
	assert.Contains(t, string(after), "startupProbe:")
	assert.Contains(t, string(after), "# the Hub's state", "comments survive kpt and the function")

	out, err = exec.Command(kpt, "fn", "eval", dir, "--exec", bin, "--", "mode=audit").CombinedOutput()
	require.NoError(t, err, "audit passes after enforce: %s", out)
}

const deployment = `apiVersion: apps/v1
kind: Deployment
metadata:
  name: hub
spec:
  replicas: 1
  strategy:
    type: Recreate
  selector:
    matchLabels:
      app: hub
  template:
    metadata:
      labels:
        app: hub
    spec:
      containers:
      - name: hub
        image: example/hub:1.0
        ports:
        - name: http
          containerPort: 45245
        volumeMounts:
        - name: appdata
          mountPath: /data
      volumes:
      - name: appdata # the Hub's state
        persistentVolumeClaim:
          claimName: hub-appdata
---
apiVersion: v1
kind: PersistentVolumeClaim
metadata:
  name: hub-appdata
spec:
  accessModes:
  - ReadWriteOnce
  resources:
    requests:
      storage: 1Gi
`

func nonEmptyLines(s string) []string {
	var out []string
	for _, l := range strings.Split(s, "\n") {
		if strings.TrimSpace(l) != "" {
			out = append(out, l)
		}
	}
	return out
}

// `singleton config.yaml a.yaml b.yaml` reads each file as its own stream,
// as `kubectl -f` does; `singleton config.yaml` alone reads stdin, as Helm's
// post-renderers are run.
func TestStandaloneReadsEachFileOnItsOwn(t *testing.T) {
	dir := t.TempDir()
	write := func(name, content string) string {
		path := filepath.Join(dir, name)
		require.NoError(t, os.WriteFile(path, []byte(content), 0o644))
		return path
	}
	config := write("config.yaml", "apiVersion: fn.hubkit.dev/v1alpha1\nkind: Singleton\nmetadata:\n  name: s\nspec:\n  mode: audit\n")
	// No final newline, no separator: concatenated, b's keys would merge into a.
	a := write("a.yaml", "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: a\ndata:\n  from: a")
	b := write("b.yaml", "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: b\n")
	for _, tc := range []struct {
		name  string
		args  []string
		stdin string
		exit  int
		out   []string
		err   string
	}{
		{"two files, two objects", []string{config, a, b}, "", 0, []string{"name: a\ndata:\n  from: a\n---\n", "name: b\n"}, ""},
		{"a file and stdin", []string{config, a, "-"}, "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: c\n", 0, []string{"name: a\n", "name: c\n"}, ""},
		{"no file: stdin", []string{config}, "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: c\n", 0, []string{"name: c\n"}, ""},
		{"no file, nothing on stdin", []string{config}, "", 1, nil, `^singleton: error: stdin is empty: give the manifests to fix on stdin`},
		{"a parse error names the file and the line", []string{config, a, write("bad.yaml", "apiVersion: v1\nkind: [\n")}, "", 1, nil,
			`^singleton: error: .*bad.yaml: .*line 2`},
		{"a missing file", []string{config, filepath.Join(dir, "missing.yaml")}, "", 1, nil, `missing.yaml: no such file`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			cmd := exec.Command(fns.Singleton(t), tc.args...)
			cmd.Stdin, cmd.Stdout, cmd.Stderr = strings.NewReader(tc.stdin), &stdout, &stderr
			err := cmd.Run()
			exit := 0
			var exitErr *exec.ExitError
			if errors.As(err, &exitErr) {
				exit = exitErr.ExitCode()
			} else {
				require.NoError(t, err)
			}
			assert.Equal(t, tc.exit, exit, "stderr: %s", stderr.String())
			for _, s := range tc.out {
				assert.Contains(t, stdout.String(), s)
			}
			if tc.err != "" {
				assert.Regexp(t, tc.err, stderr.String())
			}
		})
	}
}

// Standalone, as Helm's post-renderer runs it, an item no rule changes comes
// back as the bytes it came as, a chart's block scalars with trailing
// spaces, comments, quoting and spacing included; a changed one is written
// as kyaml writes it.
func TestStandaloneGivesBackWhatItLeavesAlone(t *testing.T) {
	config := filepath.Join(t.TempDir(), "config.yaml")
	require.NoError(t, os.WriteFile(config, []byte("apiVersion: fn.hubkit.dev/v1alpha1\nkind: Singleton\nmetadata:\n  name: s\nspec:\n  probes:\n    port: 80\n"), 0o644))
	unchanged := "# Source: chart/templates/configmap.yaml\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name:   \"scripts\"   # spaced\n  labels: {a: \"1\",b: '2'}\ndata:\n  init: |-\n    #!/bin/sh\n    \n    set -e\t\n"
	deployment := "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: app\n  labels: {hubkit.dev/singleton: \"true\"}\nspec:\n  selector: {matchLabels: {app: a}}\n  template:\n    metadata: {labels: {app: a}}\n    spec:\n      containers:\n      - name: app\n        image: app:1\n        ports: [{containerPort: 80}]\n"
	cmd := exec.Command(fns.Singleton(t), config)
	cmd.Stdin = strings.NewReader(unchanged + "---\n" + deployment)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	require.NoError(t, err, stderr.String())
	docs := strings.SplitN(string(out), "---\n", 2)
	require.Len(t, docs, 2, "two items: %s", out)
	assert.Equal(t, unchanged, docs[0], "the ConfigMap no rule changes, byte for byte")
	assert.Contains(t, docs[1], "type: Recreate", "the Deployment, fixed")
	assert.Contains(t, docs[1], "labels: {hubkit.dev/singleton: \"true\"}", "and written as kyaml writes it, flow style kept")
}

// singleton --help says how it runs and lists every rule with its summary.
func TestHelpListsEveryRule(t *testing.T) {
	out, err := exec.Command(fns.Singleton(t), "--help").Output()
	require.NoError(t, err)
	for _, id := range singleton.RuleIDs() {
		assert.Regexp(t, regexp.MustCompile(`(?m)^  `+id+` +\S`), string(out), "rule %s", id)
	}
	assert.Contains(t, string(out), "singleton config.yaml [file|-]...")
}
