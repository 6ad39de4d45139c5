package csidriver

import (
	"fmt"
	"os"
	"strconv"
	"strings"
)

// mountEntry is one line of /proc/self/mountinfo.
type mountEntry struct {
	device string // major:minor of the file system
	root   string // the path inside the file system that is mounted
	point  string // where it is mounted
	fsType string
	source string // the mount source, e.g. /dev/loop0
}

// readMounts reads this process's mount table.
func readMounts() ([]mountEntry, error) {
	data, err := os.ReadFile("/proc/self/mountinfo")
	if err != nil {
		return nil, err
	}
	var out []mountEntry
	for _, line := range strings.Split(strings.TrimSpace(string(data)), "\n") {
		// id parent major:minor root point options [optional...] - type source superoptions
		pre, post, ok := strings.Cut(line, " - ")
		f, g := strings.Fields(pre), strings.Fields(post)
		if !ok || len(f) < 5 || len(g) < 2 {
			return nil, fmt.Errorf("/proc/self/mountinfo: unreadable line %q", line)
		}
		out = append(out, mountEntry{device: f[2], root: unescape(f[3]), point: unescape(f[4]), fsType: g[0], source: unescape(g[1])})
	}
	return out, nil
}

// unescape undoes mountinfo's octal escapes (\040 for a space, ...).
func unescape(s string) string {
	if !strings.Contains(s, `\`) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+4 <= len(s) {
			if n, err := strconv.ParseUint(s[i+1:i+4], 8, 8); err == nil {
				b.WriteByte(byte(n))
				i += 3
				continue
			}
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

// mountedAt says whether the volume's subvolume is mounted at target.
func (p *pool) mountedAt(mounts []mountEntry, id, target string) bool {
	for _, m := range mounts {
		if m.point == target && m.device == p.mount.device && m.root == p.volumeRoot(id) {
			return true
		}
	}
	return false
}
