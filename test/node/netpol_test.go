package node

import (
	"context"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"
)

// The agent's leftovers go, and nothing else: in a network namespace of the
// test's own, chains and ipsets as kube-router names them, jumped to and
// referenced as it does, beside a chain and an ipset of someone else's.
func TestCleanNetworkPolicyRemovesTheAgentsRulesOnly(t *testing.T) {
	if os.Getuid() != 0 {
		t.Skip("needs root: iptables and ipset in a network namespace of its own")
	}
	for _, c := range []string{"iptables", "ipset"} {
		if _, err := exec.LookPath(c); err != nil {
			t.Skipf("%s is not on PATH: run `make tools`", c)
		}
	}
	// Everything below runs on this thread, in a new network namespace;
	// the thread ends with the test's goroutine (it stays locked).
	runtime.LockOSThread()
	require.NoError(t, unix.Unshare(unix.CLONE_NEWNET))
	ctx := context.Background()
	sh := func(args ...string) {
		t.Helper()
		_, err := run(ctx, args[0], args[1:]...)
		require.NoError(t, err)
	}
	cidr := netip.MustParsePrefix("10.86.200.0/24")
	dir := t.TempDir()
	require.NoError(t, os.MkdirAll(filepath.Join(dir, netpolDir), 0o700))
	require.NoError(t, os.WriteFile(filepath.Join(dir, netpolDir, netpolGuardFile), []byte(cidr.String()+"\n"), 0o644))

	sh("ipset", "create", "KUBE-SRC-ABCDEF", "hash:ip")
	sh("ipset", "create", "someone-elses", "hash:ip")
	for _, c := range []string{"KUBE-ROUTER-FORWARD", "KUBE-ROUTER-INPUT", "KUBE-POD-FW-ABCDEF", "KUBE-NWPLCY-ABCDEF", "SOMEONE-ELSES"} {
		sh("iptables", "-w", "-N", c)
	}
	sh("iptables", "-w", "-A", "KUBE-NWPLCY-ABCDEF", "-m", "set", "--match-set", "KUBE-SRC-ABCDEF", "src", "-j", "ACCEPT")
	sh("iptables", "-w", "-A", "KUBE-POD-FW-ABCDEF", "-j", "KUBE-NWPLCY-ABCDEF")
	sh("iptables", "-w", "-A", "KUBE-ROUTER-FORWARD", "-d", "10.86.200.5", "-j", "KUBE-POD-FW-ABCDEF")
	sh("iptables", "-w", "-I", "FORWARD", "1", "-m", "comment", "--comment", "kube-router netpol - X", "-j", "KUBE-ROUTER-FORWARD")
	sh("iptables", "-w", "-A", "FORWARD", "-j", "SOMEONE-ELSES")
	sh("iptables", "-w", "-I", "INPUT", "1", "-m", "comment", "--comment", "kube-router netpol - Y", "-j", "KUBE-ROUTER-INPUT")
	sh(append([]string{"iptables", "-w", "-t", "mangle", "-I", "FORWARD", "1"}, netpolGuard(cidr)...)...)

	require.NoError(t, cleanNetworkPolicy(dir))

	rules, err := run(ctx, "iptables-save")
	require.NoError(t, err)
	for _, gone := range []string{"KUBE-ROUTER-", "KUBE-POD-FW-", "KUBE-NWPLCY-", "hubkit e2e"} {
		assert.NotContains(t, string(rules), gone)
	}
	assert.Contains(t, string(rules), "-A FORWARD -j SOMEONE-ELSES")
	sets, err := run(ctx, "ipset", "list", "-n")
	require.NoError(t, err)
	assert.Equal(t, "someone-elses\n", string(sets))
	assert.NoDirExists(t, filepath.Join(dir, netpolDir))
	require.NoError(t, cleanNetworkPolicy(dir), "nothing left to clean: done")
}
