package node

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	internalapi "k8s.io/cri-api/pkg/apis"
)

// What the node's own sources say happened and when, for a scenario that
// puts a timeline together: containerd's times for a container (the CRI's,
// in nanoseconds) and the lines its daemons log (klog's, in microseconds).
// All are this host's clock, as the test's own time.Now is.

// ContainerTimes are containerd's record of one container's life. A time
// not reached yet (a running container's Finished) is zero.
type ContainerTimes struct {
	Created, Started, Finished time.Time
	// LogPath is the container's log file, in the CRI's format: each line
	// stamped by containerd as it read the line from the process.
	LogPath string
}

// ContainerTimes asks containerd, through the CRI, when a container (by
// the ID the pod's status reports, without "containerd://") was created,
// started and finished. Finished is the time of its task's exit event.
func (n *Node) ContainerTimes(ctx context.Context, containerID string) (ContainerTimes, error) {
	var ct ContainerTimes
	err := n.withCRI(ctx, func(cri internalapi.RuntimeService) error {
		st, err := cri.ContainerStatus(ctx, containerID, false)
		if err != nil {
			return fmt.Errorf("container %s: %w", containerID, err)
		}
		at := func(ns int64) time.Time {
			if ns == 0 {
				return time.Time{}
			}
			return time.Unix(0, ns)
		}
		ct = ContainerTimes{Created: at(st.Status.CreatedAt), Started: at(st.Status.StartedAt), Finished: at(st.Status.FinishedAt), LogPath: st.Status.LogPath}
		return nil
	})
	return ct, err
}

// ContainerLogLine is the time containerd stamped on the first line of a
// container's log (ContainerTimes.LogPath) that contains text, and false
// if none does yet.
func ContainerLogLine(logPath, text string) (time.Time, bool, error) {
	f, err := os.Open(logPath)
	if err != nil {
		return time.Time{}, false, err
	}
	defer f.Close()
	s := bufio.NewScanner(f)
	s.Buffer(make([]byte, 64<<10), 1<<20)
	for s.Scan() {
		// <RFC 3339 time> <stream> <P|F> <text>
		stamp, rest, ok := strings.Cut(s.Text(), " ")
		if !ok || !strings.Contains(rest, text) {
			continue
		}
		at, err := time.Parse(time.RFC3339Nano, stamp)
		if err != nil {
			return time.Time{}, false, fmt.Errorf("%s: a line stamped %q: %w", logPath, stamp, err)
		}
		return at, true, nil
	}
	return time.Time{}, false, s.Err()
}

// LogLine is one line a daemon logged through klog: when, and its text
// after the header (the message and its key="value" pairs).
type LogLine struct {
	At   time.Time
	Text string
}

// LogReader reads a daemon's log (kubelet, kube-proxy) from where it was
// opened on: each Read returns the lines written since the last.
type LogReader struct {
	path   string
	offset int64
	year   int
}

// Log opens the log of one of the node's daemons at its end: what it
// logs from now on.
func (n *Node) Log(daemon string) (*LogReader, error) {
	path := n.path("logs", daemon+".log")
	fi, err := os.Stat(path)
	if err != nil {
		return nil, err
	}
	return &LogReader{path: path, offset: fi.Size(), year: time.Now().Year()}, nil
}

// Read returns the whole klog lines logged since the last Read (a line
// still being written waits for the next). Lines without a klog header
// (a panic's trace) are left out.
func (r *LogReader) Read() ([]LogLine, error) {
	f, err := os.Open(r.path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	if _, err := f.Seek(r.offset, io.SeekStart); err != nil {
		return nil, err
	}
	b, err := io.ReadAll(f)
	if err != nil {
		return nil, err
	}
	whole := strings.LastIndexByte(string(b), '\n') + 1
	r.offset += int64(whole)
	var lines []LogLine
	for _, l := range strings.Split(string(b[:whole]), "\n") {
		if line, ok := parseKlog(l, r.year); ok {
			lines = append(lines, line)
		}
	}
	return lines, nil
}

// parseKlog reads klog's header, "Lmmdd hh:mm:ss.uuuuuu threadid
// file:line] ", in local time; klog leaves out the year.
func parseKlog(l string, year int) (LogLine, bool) {
	if len(l) < 22 || !strings.ContainsRune("IWEF", rune(l[0])) {
		return LogLine{}, false
	}
	t, err := time.Parse("0102 15:04:05.000000", l[1:21])
	if err != nil {
		return LogLine{}, false
	}
	_, text, ok := strings.Cut(l[21:], "] ")
	if !ok {
		return LogLine{}, false
	}
	at := time.Date(year, t.Month(), t.Day(), t.Hour(), t.Minute(), t.Second(), t.Nanosecond(), time.Local)
	return LogLine{At: at, Text: text}, true
}
