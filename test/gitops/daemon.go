// Package gitops runs the GitOps controllers hubkit is deployed with, as
// the end-to-end tests need them: Argo CD (its application controller,
// repo-server and Config Management Plugin server, and Redis) and Flux (its
// source- and kustomize-controller), each built from its Go module by
// `make tools` and run out of cluster against the e2e API server, and the
// Git server on loopback both fetch a user's fork of hubkit from.
//
// Like test/postgres, what one Start starts it owns: a directory of its
// own (<Parent>/<what>-<pid>-<n>: the processes' logs, PID files, sockets
// and state), loopback ports picked free, and the processes, each in a
// process group of its own. Stop ends them in reverse order and removes the
// directory, also after a failed start. A run killed before Stop leaves its
// directory behind; the next Start finds such directories of processes
// that are gone and stops the processes they record (only those whose
// command line names the directory).
package gitops

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"time"
)

// counter numbers the directories one test process makes.
var counter atomic.Int64 //nolint:gochecknoglobals // a process-wide sequence, like os.MkdirTemp's

// home is the directory and processes one Start owns.
type home struct {
	dir   string
	procs []*exec.Cmd
}

// newHome makes parent/<what>-<pid>-<n>, after cleaning what killed runs
// left in parent.
func newHome(parent, what string) (*home, error) {
	if err := os.MkdirAll(parent, 0o755); err != nil {
		return nil, fmt.Errorf("make %s: %w", parent, err)
	}
	cleanLeftovers(parent, what)
	dir := filepath.Join(parent, fmt.Sprintf("%s-%d-%d", what, os.Getpid(), counter.Add(1)))
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("make %s: %w", dir, err)
	}
	return &home{dir: dir}, nil
}

// start runs name (its log in <dir>/<name>.log, its PID in <dir>/<name>.pid)
// in a process group of its own.
func (h *home) start(name string, env []string, bin string, args ...string) error {
	log, err := os.Create(filepath.Join(h.dir, name+".log"))
	if err != nil {
		return fmt.Errorf("start %s: %w", name, err)
	}
	defer log.Close()
	cmd := exec.Command(bin, args...)
	cmd.Dir = h.dir
	cmd.Env = append(os.Environ(), env...)
	cmd.Stdout, cmd.Stderr = log, log
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("start %s (%s): %w", name, bin, err)
	}
	h.procs = append(h.procs, cmd)
	go cmd.Wait() //nolint:errcheck // reaped here; stop reads ProcessState
	if err := os.WriteFile(filepath.Join(h.dir, name+".pid"), []byte(strconv.Itoa(cmd.Process.Pid)), 0o644); err != nil {
		return fmt.Errorf("record %s's PID: %w", name, err)
	}
	return nil
}

// peakRSS is the running process name's peak resident memory (its
// VmHWM), in bytes.
func (h *home) peakRSS(name string) (int64, error) {
	pid, err := os.ReadFile(filepath.Join(h.dir, name+".pid"))
	if err != nil {
		return 0, fmt.Errorf("%s's PID: %w", name, err)
	}
	status, err := os.ReadFile(filepath.Join("/proc", strings.TrimSpace(string(pid)), "status"))
	if err != nil {
		return 0, fmt.Errorf("%s's status: %w", name, err)
	}
	for _, line := range strings.Split(string(status), "\n") {
		if v, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			kb, err := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
			return kb << 10, err
		}
	}
	return 0, fmt.Errorf("%s's status has no VmHWM", name)
}

// logTail is the end of name's log, for an error message.
func (h *home) logTail(name string) string {
	b, _ := os.ReadFile(filepath.Join(h.dir, name+".log"))
	if len(b) > 2000 {
		b = b[len(b)-2000:]
	}
	return string(b)
}

// stop ends every process, newest first (SIGTERM, then SIGKILL after 10 s),
// and removes the directory.
func (h *home) stop() error {
	var errs []error
	for i := len(h.procs) - 1; i >= 0; i-- {
		killGroup(h.procs[i].Process.Pid)
	}
	h.procs = nil
	if err := os.RemoveAll(h.dir); err != nil {
		errs = append(errs, fmt.Errorf("remove %s: %w", h.dir, err))
	}
	return errors.Join(errs...)
}

// killGroup ends pid's process group: SIGTERM, and SIGKILL if it lives on.
func killGroup(pid int) {
	_ = syscall.Kill(-pid, syscall.SIGTERM)
	for range 100 {
		if syscall.Kill(pid, 0) != nil {
			return
		}
		time.Sleep(100 * time.Millisecond)
	}
	_ = syscall.Kill(-pid, syscall.SIGKILL)
}

// cleanLeftovers stops what the directories <what>-<pid>-<n> of gone test
// processes record, and removes them.
func cleanLeftovers(parent, what string) {
	entries, _ := os.ReadDir(parent)
	for _, e := range entries {
		f := strings.Split(e.Name(), "-")
		if len(f) < 3 || strings.Join(f[:len(f)-2], "-") != what {
			continue
		}
		owner, err := strconv.Atoi(f[len(f)-2])
		if err != nil || owner == os.Getpid() || syscall.Kill(owner, 0) == nil {
			continue
		}
		dir := filepath.Join(parent, e.Name())
		pids, _ := filepath.Glob(filepath.Join(dir, "*.pid"))
		for _, p := range pids {
			b, _ := os.ReadFile(p)
			pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
			if err != nil {
				continue
			}
			cmdline, _ := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid))
			environ, _ := os.ReadFile(fmt.Sprintf("/proc/%d/environ", pid))
			if strings.Contains(string(cmdline)+string(environ), dir) {
				killGroup(pid)
			}
		}
		_ = os.RemoveAll(dir)
	}
}

// freePort is a loopback TCP port nothing listens on now, below Linux's
// ephemeral range (32768 and up): a port the kernel hands out (":0") is
// one it may give the next outgoing connection of any process before the
// component that is to listen on it starts, and a CI run lost the
// ApplicationSet controller so ("bind: address already in use").
func freePort() (int, error) {
	var last error
	for range 100 {
		port := 20000 + rand.IntN(12000)
		l, err := net.Listen("tcp", "127.0.0.1:"+strconv.Itoa(port))
		if err != nil {
			last = err
			continue
		}
		l.Close()
		return port, nil
	}
	return 0, fmt.Errorf("find a free loopback port below 32768: %w", last)
}

// waitListening waits until addr accepts connections, or name's process
// is gone, or the timeout passes.
func (h *home) waitListening(name, addr string, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	for time.Now().Before(deadline) {
		if c, err := net.DialTimeout("tcp", addr, time.Second); err == nil {
			c.Close()
			return nil
		}
		time.Sleep(200 * time.Millisecond)
	}
	return fmt.Errorf("%s does not listen on %s after %s; its log ends:\n%s", name, addr, timeout, h.logTail(name))
}
