package postgres

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// process is the postmaster the Server started: its command and its exit.
type process struct {
	cmd  *exec.Cmd
	done chan struct{}
	err  error
}

func (p *process) exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

// stop asks for a fast shutdown (SIGINT: clients are disconnected, the
// data is checkpointed), then an immediate one (SIGQUIT) after grace, then
// SIGKILL, and waits for the exit.
func (p *process) stop(grace time.Duration) error {
	for _, sig := range []struct {
		signal syscall.Signal
		wait   time.Duration
	}{{syscall.SIGINT, grace}, {syscall.SIGQUIT, 5 * time.Second}, {syscall.SIGKILL, 10 * time.Second}} {
		if p.exited() {
			return nil
		}
		_ = p.cmd.Process.Signal(sig.signal)
		select {
		case <-p.done:
			return nil
		case <-time.After(sig.wait):
		}
	}
	return fmt.Errorf("postgres (pid %d) did not exit after SIGKILL", p.cmd.Process.Pid)
}

// Clean removes what servers of runs that were killed before Stop left in
// parent: every pg-<pid>-<n> directory whose process <pid> no longer runs.
// It stops the postgres each recorded (its PID file, or postgres's own
// postmaster.pid) and any process whose command line names the directory,
// then removes the directory. Start calls it.
func Clean(parent string) error {
	entries, err := os.ReadDir(parent)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	var errs []error
	for _, e := range entries {
		owner, ok := ownerPID(e.Name())
		if !e.IsDir() || !ok || owner == os.Getpid() || running(owner) {
			continue
		}
		if err := cleanStale(filepath.Join(parent, e.Name())); err != nil {
			errs = append(errs, fmt.Errorf("cleaning the stale server %s: %w", e.Name(), err))
		}
	}
	return errors.Join(errs...)
}

// ownerPID is the test process's PID in a server directory's name,
// pg-<pid>-<n>.
func ownerPID(name string) (int, bool) {
	rest, ok := strings.CutPrefix(name, dirPrefix)
	if !ok {
		return 0, false
	}
	pid, n, ok := strings.Cut(rest, "-")
	if !ok {
		return 0, false
	}
	if _, err := strconv.Atoi(n); err != nil {
		return 0, false
	}
	p, err := strconv.Atoi(pid)
	return p, err == nil && p > 0
}

func cleanStale(dir string) error {
	var pids []int
	for _, f := range []string{filepath.Join(dir, logsDir, pidFile), filepath.Join(dir, dataDir, "postmaster.pid")} {
		if b, err := os.ReadFile(f); err == nil {
			first, _, _ := strings.Cut(string(b), "\n")
			if pid, err := strconv.Atoi(strings.TrimSpace(first)); err == nil {
				pids = append(pids, pid)
			}
		}
	}
	pids = append(pids, processesNaming(dir)...)
	var errs []error
	for _, pid := range pids {
		// A recorded PID may since belong to another process: only one whose
		// command line names the directory is this server's.
		if !namesDir(pid, dir) {
			continue
		}
		if err := killAndWait(pid); err != nil {
			errs = append(errs, err)
		}
	}
	if len(errs) > 0 {
		return errors.Join(errs...)
	}
	return os.RemoveAll(dir)
}

// processesNaming are the processes whose command line names dir.
func processesNaming(dir string) []int {
	var pids []int
	procs, _ := os.ReadDir("/proc")
	for _, p := range procs {
		pid, err := strconv.Atoi(p.Name())
		if err == nil && pid != os.Getpid() && namesDir(pid, dir) {
			pids = append(pids, pid)
		}
	}
	return pids
}

func namesDir(pid int, dir string) bool {
	cmdline, err := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid))
	return err == nil && bytes.Contains(cmdline, []byte(dir+"/"))
}

// killAndWait asks a postmaster for an immediate shutdown (SIGQUIT: it
// stops its backends), then kills it, and waits until it is gone.
func killAndWait(pid int) error {
	for _, sig := range []syscall.Signal{syscall.SIGQUIT, syscall.SIGKILL} {
		_ = syscall.Kill(pid, sig)
		for range 50 {
			if !running(pid) {
				return nil
			}
			time.Sleep(100 * time.Millisecond)
		}
	}
	return fmt.Errorf("pid %d did not exit after SIGKILL", pid)
}

// running says whether pid is a process that has not exited (a zombie has).
func running(pid int) bool {
	stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return false
	}
	// pid (comm) state ...: comm may hold spaces and parentheses.
	i := bytes.LastIndexByte(stat, ')')
	return i < 0 || i+2 >= len(stat) || stat[i+2] != 'Z'
}
