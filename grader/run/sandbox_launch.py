"""Starts a student kernel inside its sandbox, then becomes the kernel (exec).

Run by path, with the standard library only, inside ``unshare --mount --net``:

    python sandbox_launch.py --memory BYTES --keep WORKDIR --hide DIR ... -- KERNEL ARGV

It caps the address space (RLIMIT_AS), lays a fresh read-only tmpfs over every folder
to hide (the other submissions' scratch folders, the submissions folder, the output
folder), puts the kernel's own scratch folder back with a bind mount, and execs the
kernel.  Without a mount namespace (``--no-mounts``) only the memory cap applies.
"""

import argparse
import ctypes
import os
import resource
import sys

MS_RDONLY, MS_BIND, MS_REC, MS_PRIVATE = 1, 4096, 16384, 1 << 18


def _mount(source, target, fstype, flags, options):
    """mount(2) itself: no mount(8) process to start (costly from a process that has
    TensorFlow mapped), and /proc/self means this process."""
    libc = ctypes.CDLL(None, use_errno=True)

    def encode(value):
        return None if value is None else str(value).encode()

    if libc.mount(encode(source), encode(target), encode(fstype), flags, encode(options)):
        error = ctypes.get_errno()
        raise OSError(error, f"mount {target}: {os.strerror(error)}")


def make_private() -> None:
    """Mounts made from here on stay in this namespace."""
    _mount(None, "/", None, MS_REC | MS_PRIVATE, None)


def hide(folders: list[str], keep: str) -> None:
    keep_fd = os.open(keep, os.O_RDONLY | os.O_DIRECTORY)
    for folder in folders:
        if os.path.isdir(folder):
            _mount("grader-hidden", folder, "tmpfs", MS_RDONLY, "size=4k,mode=0555")
    if not os.path.isdir(keep):
        # the scratch folder was under a hidden one: give it a writable place again
        parent = os.path.dirname(keep)
        while not os.path.isdir(parent):
            parent = os.path.dirname(parent)
        _mount("grader-scratch", parent, "tmpfs", 0, "size=1m,mode=0755")
        os.makedirs(keep, exist_ok=True)
    _mount(f"/proc/self/fd/{keep_fd}", keep, None, MS_BIND, None)
    os.close(keep_fd)


def main(argv: list[str]) -> None:
    split = argv.index("--")
    parser = argparse.ArgumentParser()
    parser.add_argument("--memory", type=int, default=0)
    parser.add_argument("--keep", required=True)
    parser.add_argument("--hide", action="append", default=[])
    parser.add_argument("--no-mounts", action="store_true")
    parser.add_argument("--cwd", required=True)
    args = parser.parse_args(argv[:split])
    command = argv[split + 1 :]
    if args.memory > 0:
        resource.setrlimit(resource.RLIMIT_AS, (args.memory, args.memory))
    if not args.no_mounts:
        make_private()
        hide(args.hide, args.keep)
    os.chdir(args.cwd)
    os.execvp(command[0], command)


if __name__ == "__main__":
    main(sys.argv[1:])
