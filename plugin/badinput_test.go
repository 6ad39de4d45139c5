package main_test

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"sigs.k8s.io/kustomize/kyaml/kio"
	"sigs.k8s.io/yaml"
)

// want is a bad-input case's expectation (testdata/badinput/<case>/want.yaml).
type want struct {
	Exit int `json:"exit"`
	// Results: stdout carries a ResourceList with results (kpt shows them).
	Results bool `json:"results"`
	// Stderr: one regular expression per stderr line, in order.
	Stderr []string `json:"stderr"`
}

// peakRSSLimit bounds what any input may make the function hold: an alias
// bomb or a 20 MB scalar must not eat the machine.
const peakRSSLimit = 512 << 20

// Every bad input ends cleanly: the exit code it should, one clear stderr
// line per problem, results on stdout where kpt reads them, no panic, no item
// lost, and bounded memory.
func TestBadInput(t *testing.T) {
	dirs, err := filepath.Glob(filepath.Join("testdata", "badinput", "*"))
	require.NoError(t, err)
	require.GreaterOrEqual(t, len(dirs), 30)
	for _, dir := range dirs {
		t.Run(filepath.Base(dir), func(t *testing.T) {
			stdin, err := os.ReadFile(filepath.Join(dir, "stdin.yaml"))
			require.NoError(t, err)
			raw, err := os.ReadFile(filepath.Join(dir, "want.yaml"))
			require.NoError(t, err)
			var w want
			require.NoError(t, yaml.UnmarshalStrict(raw, &w))
			checkRun(t, stdin, w)
		})
	}
}

// Inputs too large to keep in the repository, made here.
func TestLargeInput(t *testing.T) {
	rl := func(items string) []byte {
		return []byte("apiVersion: config.kubernetes.io/v1\nkind: ResourceList\nitems:\n" + items)
	}
	t.Run("a 20 MB scalar passes through whole", func(t *testing.T) {
		big := strings.Repeat("x", 20<<20)
		stdout := checkRun(t, rl("- apiVersion: v1\n  kind: ConfigMap\n  metadata:\n    name: big\n  data:\n    blob: "+big+"\n"), want{Exit: 0})
		assert.Contains(t, stdout, "blob: "+big+"\n")
	})
	t.Run("10,000 items all come back", func(t *testing.T) {
		var b strings.Builder
		for i := range 10000 {
			fmt.Fprintf(&b, "- apiVersion: v1\n  kind: ConfigMap\n  metadata:\n    name: cm-%d\n  data:\n    k: v\n", i)
		}
		checkRun(t, rl(b.String()), want{Exit: 0})
	})
}

// checkRun runs the built function on stdin and checks it against w; it
// returns stdout.
func checkRun(t *testing.T, stdin []byte, w want) string {
	t.Helper()
	// A guard, not a measurement: a hang fails here instead of at the suite's timeout.
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	var stdout, stderr bytes.Buffer
	cmd := exec.CommandContext(ctx, fns.Singleton(t))
	cmd.Stdin, cmd.Stdout, cmd.Stderr = bytes.NewReader(stdin), &stdout, &stderr
	err := cmd.Run()
	require.NoError(t, ctx.Err(), "the function did not finish")

	exit := 0
	if exitErr, ok := err.(*exec.ExitError); ok {
		exit = exitErr.ExitCode()
	} else {
		require.NoError(t, err)
	}
	assert.Equal(t, w.Exit, exit, "exit code; stderr: %s", stderr.String())
	assert.NotContains(t, stderr.String(), "panic", "no panic")
	assert.NotContains(t, stderr.String(), "goroutine ", "no stack trace")

	lines := nonEmptyLines(stderr.String())
	if assert.Len(t, lines, len(w.Stderr), "one stderr line per problem: %q", lines) {
		for i, re := range w.Stderr {
			assert.Regexp(t, regexp.MustCompile(re), lines[i])
		}
	}
	if w.Results {
		assert.Contains(t, stdout.String(), "kind: ResourceList")
		assert.Contains(t, stdout.String(), "\nresults:\n")
	}
	if stdout.Len() > 0 {
		in, inErr := (&kio.ByteReader{Reader: bytes.NewReader(stdin)}).Read()
		out, outErr := (&kio.ByteReader{Reader: bytes.NewReader(stdout.Bytes())}).Read()
		if inErr == nil && outErr == nil {
			assert.Len(t, out, len(in), "every item comes back")
		}
	}
	rusage, ok := cmd.ProcessState.SysUsage().(*syscall.Rusage)
	require.True(t, ok)
	assert.Less(t, rusage.Maxrss*1024, int64(peakRSSLimit), "peak memory")
	return stdout.String()
}
