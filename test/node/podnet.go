package node

import (
	"context"
	"fmt"
	"net"
	"os"
	"runtime"

	"golang.org/x/sys/unix"
)

// DialFromPod opens a TCP connection to addr from inside the network
// namespace of one of the node's running containers (by the ID its pod's
// status reports, without "containerd://"): from the pod's address,
// through the pod's routes and its node's bridge, as a process in the pod
// would, with no tool in the pod's image. The connection, once open, is
// used from anywhere (a socket keeps the namespace it was made in).
func (n *Node) DialFromPod(ctx context.Context, containerID, addr string) (net.Conn, error) {
	pid, err := n.ContainerPID(ctx, containerID)
	if err != nil {
		return nil, err
	}
	conn, err := dialInNetns(ctx, fmt.Sprintf("/proc/%d/ns/net", pid), addr)
	if err != nil {
		return nil, fmt.Errorf("from container %.12s on %s: %w", containerID, n.opts.Name, err)
	}
	return conn, nil
}

// dialInNetns dials from a thread of its own that enters the network
// namespace at path: the socket is made there. The thread goes back to
// its namespace, or, if it cannot, ends with its goroutine (it stays locked).
func dialInNetns(ctx context.Context, path, addr string) (net.Conn, error) {
	target, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("the pod's network namespace: %w", err)
	}
	defer target.Close()
	type result struct {
		conn net.Conn
		err  error
	}
	done := make(chan result, 1)
	go func() {
		runtime.LockOSThread()
		home, err := os.Open("/proc/thread-self/ns/net")
		if err != nil {
			runtime.UnlockOSThread()
			done <- result{err: fmt.Errorf("the host's network namespace: %w", err)}
			return
		}
		defer home.Close()
		if err := unix.Setns(int(target.Fd()), unix.CLONE_NEWNET); err != nil {
			runtime.UnlockOSThread()
			done <- result{err: fmt.Errorf("enter %s: %w", path, err)}
			return
		}
		var d net.Dialer
		conn, err := d.DialContext(ctx, "tcp", addr)
		if unix.Setns(int(home.Fd()), unix.CLONE_NEWNET) == nil {
			runtime.UnlockOSThread()
		}
		done <- result{conn, err}
	}()
	r := <-done
	return r.conn, r.err
}
