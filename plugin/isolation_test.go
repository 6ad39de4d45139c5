package main_test

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// What any process opens on its own: the dynamic loader and libc, the Go
// runtime's view of itself (/proc/self, cgroup CPU limits, huge page size).
var runtimePaths = regexp.MustCompile(`^(/etc/ld\.so\.cache|/lib/|/lib64/|/usr/lib/|/proc/self/|/sys/fs/cgroup/|/sys/kernel/mm/transparent_hugepage/)`)

// The function reads its input from stdin only and needs no network: run in
// an empty network namespace (no interface but a downed loopback), it works,
// and strace sees it open no file but the runtime's and its own executable,
// and open no socket.
func TestFunctionReadsNoFilesAndNoNetwork(t *testing.T) {
	strace, err := exec.LookPath("strace")
	require.NoError(t, err, "strace is missing: run `make tools` (it installs Debian's strace)")
	unshare, err := exec.LookPath("unshare")
	require.NoError(t, err, "unshare (util-linux) is missing")
	bin := fns.Singleton(t)
	input, err := os.ReadFile(filepath.Join("singleton", "testdata", "combined", "everything-enforce", "input.yaml"))
	require.NoError(t, err)
	trace := filepath.Join(t.TempDir(), "trace")

	var stdout, stderr bytes.Buffer
	cmd := exec.Command(unshare, "--net", strace, "-f", "-qq", "-o", trace, "-e", "trace=open,openat,socket,connect", bin)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = bytes.NewReader(input), &stdout, &stderr
	require.NoError(t, cmd.Run(), "stderr: %s", stderr.String())
	assert.Contains(t, stdout.String(), "replicas: 1", "the function did its work without a network")

	raw, err := os.ReadFile(trace)
	require.NoError(t, err)
	opened := regexp.MustCompile(`open(at)?\(.*?"([^"]+)".*\) = \d+`)
	calls := 0
	for _, line := range strings.Split(string(raw), "\n") {
		if strings.Contains(line, "socket(") || strings.Contains(line, "connect(") {
			t.Errorf("the function touched the network: %s", line)
		}
		if m := opened.FindStringSubmatch(line); m != nil {
			calls++
			if path := m[2]; !runtimePaths.MatchString(path) && path != bin {
				t.Errorf("the function opened %s", path)
			}
		}
	}
	assert.NotZero(t, calls, "strace saw no open at all: the trace is not working")
}
