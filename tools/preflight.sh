#!/usr/bin/env bash
# Says in one line, before make test builds anything, what this machine lacks
# that the real-node scenarios use, and stops there (exit 1): root (they
# start containerd and a kubelet), Linux, the cgroup hierarchies the kubelet
# runs pods in, overlayfs (containerd's snapshotter), a bridge and iptables
# (the pods' network, kube-proxy), btrfs and loop devices (test/csidriver's
# disk). Everything else make test needs, it builds
# or installs itself. make render needs none of this.
set -uo pipefail

missing=()
[ "$(uname -s)" = Linux ] || missing+=("Linux (this is $(uname -s))")
if [ "$(uname -s)" = Linux ]; then
  [ "$(id -u)" = 0 ] || missing+=("root (you are uid $(id -u))")
  for c in cpu memory pids; do
    [ -e "/sys/fs/cgroup/$c" ] || [ -e /sys/fs/cgroup/cgroup.controllers ] || missing+=("the $c cgroup controller (/sys/fs/cgroup/$c)")
  done
  grep -qw overlay /proc/filesystems 2>/dev/null || modprobe -n overlay 2>/dev/null || missing+=("overlayfs (/proc/filesystems)")
  [ -w /proc/sys/net/ipv4/ip_forward ] || missing+=("a writable /proc/sys/net (a network namespace of its own, not read-only)")
  [ -d /sys/class/net ] || missing+=("/sys/class/net")
  grep -qw btrfs /proc/filesystems 2>/dev/null || modprobe -n btrfs 2>/dev/null || missing+=("btrfs (/proc/filesystems)")
  [ -e /dev/loop-control ] || missing+=("loop devices (/dev/loop-control)")
fi
if [ ${#missing[@]} -gt 0 ]; then
  printf 'make test needs what this machine lacks: %s. (make render needs Go alone.)\n' "$(IFS=';'; echo "${missing[*]}" | sed 's/;/, /g')" >&2
  exit 1
fi
echo "make test: Linux, root, cgroups $(stat -fc %T /sys/fs/cgroup | sed 's/tmpfs/v1/; s/cgroup2fs/v2/'), overlayfs, a writable network stack, btrfs and loop devices: the real node and the CSI driver can run here"
