package cluster

import (
	"errors"
	"fmt"
	"os"
	"strings"
	"syscall"
	"time"
)

// HostLock is the file a run that starts real nodes locks for its whole
// life. Real nodes share the host's network namespace: their kube-proxies
// write the host's iptables, and every run's NodePorts are the same ports
// on the host's addresses, so two runs on one host cannot both have real
// nodes. A second run is refused at once, with the first one named, rather
// than meeting the first's rules halfway through. The kernel drops the lock
// with its holder, however that ends (the file is opened close-on-exec, so
// no daemon the run starts holds it on); the next run then cleans what a
// killed run left (node.Clean, deleteStale).
const HostLock = "/run/hubkit-e2e.lock"

// lockHost takes the lock at path for the run started from dir, or says
// who holds it.
func lockHost(path, dir string) (unlock func() error, err error) {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		return nil, fmt.Errorf("the host's lock for real nodes: %w", err)
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		holder, _ := os.ReadFile(path)
		f.Close()
		if errors.Is(err, syscall.EWOULDBLOCK) {
			return nil, fmt.Errorf("another end-to-end run holds this host's real nodes (%s, in %s): "+
				"wait for it to end, or interrupt it (kill -INT <its pid>), which stops its daemons before it exits",
				strings.TrimSpace(string(holder)), path)
		}
		return nil, fmt.Errorf("lock %s: %w", path, err)
	}
	if err := errors.Join(f.Truncate(0), write(f, fmt.Sprintf("pid %d from %s since %s\n", os.Getpid(), dir, time.Now().Format(time.RFC3339)))); err != nil {
		f.Close()
		return nil, fmt.Errorf("write %s: %w", path, err)
	}
	return func() error { return errors.Join(f.Truncate(0), f.Close()) }, nil
}

func write(f *os.File, s string) error {
	_, err := f.WriteAt([]byte(s), 0)
	return err
}
