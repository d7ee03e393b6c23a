#!/bin/sh
# The local backend's filesystem: run a command in a root of its own that holds only the
# system (read-only), the runner, and the grading folders it is given.
#
#   local-root.sh ROOT TMPFS_MB WORKDIR [ro PATH | rw PATH]... -- COMMAND...
#
# Run by grader/sandbox/local/confinement.py as root inside fresh mount and pid namespaces and a
# network namespace (a fresh one, or the service's own), so nothing mounted here is seen
# outside and all of it goes when the run ends.
# ROOT is an empty folder to build the root in; /tmp and /dev/shm are private tmpfs of
# TMPFS_MB each; /proc shows the run's own processes only. The command starts in WORKDIR.
set -eu
root=$1 tmpfs_mb=$2 workdir=$3
shift 3
# The tools below live in sbin; the command gets the caller's PATH back (a service's venv first).
caller_path=$PATH
PATH=/usr/sbin:/sbin:/usr/bin:/bin

ip link set lo up
mount --make-rprivate /
mount -t tmpfs -o mode=755,size=16m sandbox-root "$root"

bind() {  # bind MODE PATH: PATH at the same place in the new root, read-only unless MODE is rw
  if [ -L "$2" ]; then
    mkdir -p "$root$(dirname "$2")"
    ln -s "$(readlink "$2")" "$root$2"
    return
  fi
  if [ -d "$2" ]; then mkdir -p "$root$2"; else mkdir -p "$root$(dirname "$2")"; : > "$root$2"; fi
  mount --rbind "$2" "$root$2"
  if [ "$1" = ro ]; then mount -o remount,bind,ro "$root$2"; fi
}

for system in /usr /bin /sbin /lib /lib32 /lib64 /libx32 /etc; do
  if [ -e "$system" ]; then bind ro "$system"; fi
done
# Private /proc, /tmp and /dev first: the folders bound next may lie under /tmp.
mkdir -p "$root/proc" "$root/tmp" "$root/dev/shm"
mount -t proc proc "$root/proc"
mount -t tmpfs -o "mode=1777,size=${tmpfs_mb}m" sandbox-tmp "$root/tmp"
mount -t tmpfs -o "mode=1777,size=${tmpfs_mb}m" sandbox-shm "$root/dev/shm"
for device in null zero full random urandom; do
  : > "$root/dev/$device"
  mount --bind "/dev/$device" "$root/dev/$device"
done
while [ "$1" != "--" ]; do
  bind "$1" "$2"
  shift 2
done
shift
mount -o remount,ro,bind "$root"

# chroot(1) moves into the new root: no working folder is left outside it. Then to WORKDIR.
chroot=$(command -v chroot)
PATH=$caller_path exec "$chroot" "$root" /bin/sh -c 'cd "$0" && exec "$@"' "$workdir" "$@"
