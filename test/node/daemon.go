package node

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"syscall"
	"time"
)

// daemon is one process the node started: its command, its log file and
// its exit.
type daemon struct {
	name string
	cmd  *exec.Cmd
	done chan struct{}
	err  error
}

// startDaemon starts a process with its output in logs/<name>.log, in a
// process group of its own, and records how to stop it.
func (n *Node) startDaemon(name string, args ...string) (*daemon, error) {
	log, err := os.OpenFile(n.path("logs", name+".log"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(args[0], args[1:]...)
	cmd.Stdout, cmd.Stderr = log, log
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		log.Close()
		return nil, fmt.Errorf("start %s: %w", name, err)
	}
	d := &daemon{name: name, cmd: cmd, done: make(chan struct{})}
	go func() {
		d.err = cmd.Wait()
		log.Close()
		close(d.done)
	}()
	if err := os.WriteFile(n.path("logs", name+".pid"), fmt.Appendf(nil, "%d\n", cmd.Process.Pid), 0o644); err != nil {
		return nil, err
	}
	n.daemons[name] = d
	return d, nil
}

// exited says whether the daemon has exited.
func (d *daemon) exited() bool {
	select {
	case <-d.done:
		return true
	default:
		return false
	}
}

// stop sends SIGTERM, then SIGKILL after grace, and waits for the exit.
func (d *daemon) stop(grace time.Duration) error {
	if d.exited() {
		return nil
	}
	_ = d.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-d.done:
		return nil
	case <-time.After(grace):
	}
	return d.kill()
}

// kill sends SIGKILL, as a power cut would, and waits for the exit.
func (d *daemon) kill() error {
	if d.exited() {
		return nil
	}
	_ = d.cmd.Process.Kill()
	select {
	case <-d.done:
		return nil
	case <-time.After(10 * time.Second):
		return fmt.Errorf("%s (pid %d) did not exit after SIGKILL", d.name, d.cmd.Process.Pid)
	}
}

// waitRunning fails when the daemon exits before ready holds.
func (n *Node) waitRunning(ctx context.Context, d *daemon, timeout time.Duration, what string, ready func(context.Context) (bool, error)) error {
	return waitFor(ctx, timeout, what, func(ctx context.Context) (bool, error) {
		if d.exited() {
			return false, fmt.Errorf("%s exited (%v; see %s): %w", d.name, d.err, n.path("logs", d.name+".log"), errGaveUp)
		}
		return ready(ctx)
	})
}
