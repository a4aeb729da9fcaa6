"""The sandbox boundary, in one place: ``enter(plan)`` turns the calling process into a
confined student kernel.  Both kernel sources call it: the exec launcher
(``confine.py`` run as a script, plain kernels) and the warm pool's forked child (``zygote.py``).
Standard library only; run inside processes that import nothing of the grader.

What a kernel gets (the bubblewrap / nsjail recipe, done with the system calls directly so
that a forked pool child pays microseconds, not a process start):

* its own PID namespace, whose first process is a tiny init of ours (not student code):
  it cannot be signalled or traced from inside, it dies with its parent (PDEATHSIG), and
  when it dies the kernel kills everything in the namespace: daemons, double forks and
  ``setsid`` included;
* its own mount namespace with a fresh root (tmpfs) holding read-only binds of the system
  and of the Python installation, a new /proc, a minimal /dev, the kernel's box (its ZMQ
  sockets) and a size-limited tmpfs for its working folder and /tmp; the old root is
  detached, so nothing of the grader's (output folder, other submissions, the pool's
  socket) exists in its view;
* its own network namespace (no interface up) unless the network is allowed, and its own
  IPC and UTS namespaces;
* an unprivileged identity: as root, the kernel runs as ``plan["uid"]`` (65534, nobody,
  by default) in a user namespace of its own; as an ordinary user, in a user namespace
  mapped to that user.  Every capability is dropped (effective, permitted, inheritable,
  ambient, bounding set) and ``no_new_privs`` is set, so the mounts made for it cannot be
  undone and it can ``setns`` into nothing;
* resource limits: address space, processes/threads, file size, open files.

``enter`` returns only in the confined kernel process; the two helper processes it makes
(the outside waiter and the namespace's init) never return: they wait and exit with the
kernel's status.
"""

import ctypes
import errno
import json
import os
import platform
import resource
import shutil
import signal
import sys

CLONE_NEWNS = 0x00020000
CLONE_NEWUTS = 0x04000000
CLONE_NEWIPC = 0x08000000
CLONE_NEWUSER = 0x10000000
CLONE_NEWPID = 0x20000000
CLONE_NEWNET = 0x40000000

MS_RDONLY, MS_NOSUID, MS_NODEV, MS_NOEXEC = 1, 2, 4, 8
MS_REMOUNT, MS_NOATIME, MS_NODIRATIME, MS_BIND = 32, 1024, 2048, 4096
MS_REC, MS_PRIVATE, MS_RELATIME = 16384, 1 << 18, 1 << 21
MNT_DETACH = 2
ST_FLAGS = {  # statvfs flag -> the mount flag a read-only remount must keep
    os.ST_NOSUID: MS_NOSUID,
    os.ST_NODEV: MS_NODEV,
    os.ST_NOEXEC: MS_NOEXEC,
    os.ST_NOATIME: MS_NOATIME,
    os.ST_NODIRATIME: MS_NODIRATIME,
    os.ST_RELATIME: MS_RELATIME,
}

PR_SET_PDEATHSIG, PR_SET_DUMPABLE, PR_CAPBSET_DROP = 1, 4, 24
PR_SET_NO_NEW_PRIVS, PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL = 38, 47, 4
SYSCALLS = {  # pivot_root, capset
    "x86_64": (155, 126),
    "aarch64": (41, 91),
}
DEVICES = ("null", "zero", "full", "random", "urandom", "tty")
NEW_ROOT = f"/tmp/.grader-root-{os.getuid()}"  # mounted on only in the kernel's namespace
EXIT_SETUP_FAILED = 71

_libc = ctypes.CDLL(None, use_errno=True)


class SandboxError(OSError):
    """A step of the confinement failed; the kernel is not started."""


def _check(result, what):
    if result != 0:
        error = ctypes.get_errno()
        raise SandboxError(error, f"{what}: {os.strerror(error)}")


def _encode(value):
    return None if value is None else os.fsencode(value)


def _mount(source, target, fstype, flags, options=None):
    _check(
        _libc.mount(_encode(source), _encode(target), _encode(fstype), flags, _encode(options)),
        f"mount {target}",
    )


def _unshare(flags):
    _check(_libc.unshare(flags), "unshare")


def _prctl(option, arg2=0):
    _check(_libc.prctl(option, ctypes.c_ulong(arg2), 0, 0, 0), f"prctl {option}")


def _syscall_numbers():
    numbers = SYSCALLS.get(platform.machine())
    if numbers is None:
        raise SandboxError(errno.ENOSYS, f"no sandbox for {platform.machine()}")
    return numbers


# -- identity and capabilities ----------------------------------------------------------
def _write(path, text):
    with open(path, "w") as stream:
        stream.write(text)


def _map_own_ids(uid, gid):
    """In a fresh user namespace: the same ids inside as outside, nothing else mapped."""
    _write("/proc/self/setgroups", "deny")
    _write("/proc/self/uid_map", f"{uid} {uid} 1")
    _write("/proc/self/gid_map", f"{gid} {gid} 1")


def _drop_capabilities():
    """Empty every capability set of this process, for good."""
    cap = 0
    while _libc.prctl(PR_CAPBSET_DROP, ctypes.c_ulong(cap), 0, 0, 0) == 0:
        cap += 1
    _libc.prctl(PR_CAP_AMBIENT, ctypes.c_ulong(PR_CAP_AMBIENT_CLEAR_ALL), 0, 0, 0)

    class Header(ctypes.Structure):
        _fields_ = [("version", ctypes.c_uint32), ("pid", ctypes.c_int)]

    class Data(ctypes.Structure):
        _fields_ = [(n, ctypes.c_uint32) for n in ("effective", "permitted", "inheritable")]

    header, data = Header(0x20080522, 0), (Data * 2)()
    _check(
        _libc.syscall(_syscall_numbers()[1], ctypes.byref(header), ctypes.byref(data)),
        "capset",
    )
    _prctl(PR_SET_NO_NEW_PRIVS, 1)


def _become(uid, gid):
    """Root only: from here on this process is ``uid``, in a user namespace of its own."""
    os.setgroups([])
    os.setresgid(gid, gid, gid)
    os.setresuid(uid, uid, uid)
    _prctl(PR_SET_DUMPABLE, 1)  # a change of identity closed /proc/self to us
    _unshare(CLONE_NEWUSER)
    _map_own_ids(uid, gid)


# -- the file system --------------------------------------------------------------------
def _inside(path):
    return NEW_ROOT + os.path.abspath(path)


def _make_dirs(path, mode=0o755):
    os.makedirs(path, exist_ok=True)
    if mode != 0o755:
        os.chmod(path, mode)


def _bind(source, writable=False):
    """``source`` at the same path in the new root; read-only unless ``writable``."""
    if os.path.islink(source):
        target = _inside(source)
        _make_dirs(os.path.dirname(target))
        if not os.path.lexists(target):
            os.symlink(os.readlink(source), target)
        return
    if not os.path.exists(source):
        return
    target = _inside(source)
    if os.path.isdir(source):
        _make_dirs(target)
    else:
        _make_dirs(os.path.dirname(target))
        if not os.path.exists(target):
            open(target, "w").close()
    _mount(source, target, None, MS_BIND | MS_REC)
    if not writable:
        kept = os.statvfs(source).f_flag
        flags = MS_REMOUNT | MS_BIND | MS_RDONLY | MS_NOSUID
        flags |= sum(f for st, f in ST_FLAGS.items() if kept & st)
        _mount(None, target, None, flags)


def _outermost(paths):
    """Each path once, and none inside another (a bind brings its subfolders)."""
    chosen = []
    for path in sorted({os.path.abspath(p) for p in paths}, key=len):
        if not any(path == c or path.startswith(c.rstrip("/") + "/") for c in chosen):
            chosen.append(path)
    return chosen


def _tmpfs(target, size, mode="0755"):
    _make_dirs(target)
    _mount("grader", target, "tmpfs", MS_NOSUID | MS_NODEV, f"size={size},mode={mode}")


def _copy_tree(source, target):
    if os.path.isdir(source):
        shutil.copytree(source, target, dirs_exist_ok=True, symlinks=True)


def _build_root(plan):
    """Mount the kernel's whole view under NEW_ROOT (still seeing the host's files)."""
    _mount(None, "/", None, MS_REC | MS_PRIVATE)
    if os.path.islink(NEW_ROOT):
        raise SandboxError(errno.ELOOP, f"{NEW_ROOT} is a symbolic link")
    _tmpfs(NEW_ROOT, "16m")
    _tmpfs(_inside("/tmp"), plan["disk_bytes"], "1777")
    for path in _outermost(plan["read_only"]):
        _bind(path)
    for path in plan["hide"]:  # bound folders that must not show what they hold
        if os.path.isdir(_inside(path)):
            _mount("grader-hidden", _inside(path), "tmpfs", MS_RDONLY, "size=4k,mode=0555")
    home = plan["env"].get("HOME")
    if home:  # the kernel's home, on its own tmpfs (with the grader's font cache)
        _make_dirs(_inside(home), 0o777)
        cache = plan["env"].get("XDG_CACHE_HOME") or os.path.join(home, ".cache")
        _copy_tree(plan.get("matplotlib_cache") or "", _inside(f"{cache}/matplotlib"))
    work = _inside("/tmp/.work")
    _make_dirs(work, 0o777)
    _copy_tree(plan["cwd"], work)
    _bind(plan["box"], writable=True)
    _mount(work, _inside(plan["cwd"]), None, MS_BIND)
    _tmpfs(_inside("/dev"), "64k")
    for name in DEVICES:
        _bind(f"/dev/{name}", writable=True)
    _tmpfs(_inside("/dev/shm"), plan["disk_bytes"], "1777")
    for name, target in (("fd", "/proc/self/fd"), ("stdin", "/proc/self/fd/0")):
        os.symlink(target, _inside(f"/dev/{name}"))
    os.symlink("/proc/self/fd/1", _inside("/dev/stdout"))
    os.symlink("/proc/self/fd/2", _inside("/dev/stderr"))
    _make_dirs(_inside("/proc"))
    _mount("proc", _inside("/proc"), "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC)
    if plan["uid"] is not None:
        for name in os.listdir(_inside(plan["cwd"])):
            os.lchown(os.path.join(_inside(plan["cwd"]), name), plan["uid"], plan["gid"])
        os.chown(work, plan["uid"], plan["gid"])
        connection = _inside(os.path.join(plan["box"], "connection.json"))
        if os.path.exists(connection):
            os.chown(connection, plan["uid"], plan["gid"])
    _mount(None, NEW_ROOT, None, MS_REMOUNT | MS_BIND | MS_RDONLY | MS_NOSUID | MS_NODEV)


def _pivot():
    os.chdir(NEW_ROOT)
    _check(_libc.syscall(_syscall_numbers()[0], b".", b"."), "pivot_root")
    _check(_libc.umount2(b".", MNT_DETACH), "umount old root")
    os.chdir("/")


# -- the limits -------------------------------------------------------------------------
def _set_limits(plan):
    pairs = (
        (resource.RLIMIT_AS, plan["memory_bytes"]),
        (resource.RLIMIT_NPROC, plan["max_processes"]),
        (resource.RLIMIT_FSIZE, plan["disk_bytes"]),
        (resource.RLIMIT_NOFILE, plan.get("max_open_files", 4096)),
        (resource.RLIMIT_CORE, 0),
    )
    for which, value in pairs:
        if value and value > 0 or which == resource.RLIMIT_CORE:
            resource.setrlimit(which, (value, value))


# -- the processes ----------------------------------------------------------------------
def _wait_and_exit(pid, reraise=False):
    """Wait for ``pid`` (reaping anything else) and exit with its status; outside the
    namespace (``reraise``) a death by signal N, which init reports as 128+N, is passed
    on as the same signal, so the grader sees what killed the kernel."""
    while True:
        try:
            done, status = os.waitpid(-1, 0)
        except InterruptedError:
            continue
        except ChildProcessError:
            os._exit(EXIT_SETUP_FAILED)
        if done == pid:
            code = os.waitstatus_to_exitcode(status)
            if code < 0:
                code = 128 - code
            if reraise and 128 < code < 128 + signal.NSIG:
                if code - 128 not in (signal.SIGKILL, signal.SIGSTOP):
                    signal.signal(code - 128, signal.SIG_DFL)
                os.kill(os.getpid(), code - 128)
            os._exit(code)


def _fail(stage, error):
    try:
        os.write(2, f"grader sandbox: {stage} failed: {error}\n".encode())
    finally:
        os._exit(EXIT_SETUP_FAILED)


def enter(plan):
    """Confine the calling process per ``plan`` (see ``grader.run.sandbox.SandboxPlan``).

    Returns, in the kernel process only, once it is confined; the caller then becomes the
    kernel (exec, or ipykernel in a forked pool child).  The caller's process stays
    outside, as the waiter that the grader signals and kills: killing it kills the
    namespace's init (PDEATHSIG), and with it every process of the submission."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # interrupts are for the kernel only
    if not plan["namespaces"]:
        # the process count is per user: without a namespace of its own it would count
        # the grader's processes too
        _set_limits({**plan, "max_processes": 0})
        signal.signal(signal.SIGINT, signal.default_int_handler)
        os.chdir(plan["cwd"])
        return
    privileged = os.geteuid() == 0
    flags = CLONE_NEWNS | CLONE_NEWPID | CLONE_NEWIPC | CLONE_NEWUTS
    if not plan["allow_network"]:
        flags |= CLONE_NEWNET
    try:
        if privileged:
            _unshare(flags)
        else:
            uid, gid = os.getuid(), os.getgid()
            _unshare(flags | CLONE_NEWUSER)
            _map_own_ids(uid, gid)
    except OSError as error:
        _fail("unshare", error)
    _prctl(PR_SET_PDEATHSIG, signal.SIGKILL)  # the waiter dies with whoever started it
    alive_read, alive_write = os.pipe()
    init = os.fork()
    if init:
        os.close(alive_read)
        _wait_and_exit(init, reraise=True)
    # The namespace's init: PID 1, ours, never student code.
    try:
        os.close(alive_write)
        _build_root(plan)
        _pivot()
        if privileged:
            _become(plan["uid"], plan["gid"])
        _drop_capabilities()
        _prctl(PR_SET_DUMPABLE, 0)  # not traceable, /proc/1 closed to the kernel
        _prctl(PR_SET_PDEATHSIG, signal.SIGKILL)  # after the last change of identity
        os.set_blocking(alive_read, False)
        try:
            if os.read(alive_read, 1) == b"":
                os._exit(EXIT_SETUP_FAILED)  # the waiter died before PDEATHSIG was set
        except BlockingIOError:
            pass
        os.close(alive_read)
    except Exception as error:  # noqa: BLE001 - any failure: no kernel, a clear line
        _fail("setup", error)
    kernel = os.fork()
    if kernel:
        null = os.open("/dev/null", os.O_RDWR)
        for fd in (0, 1, 2):
            os.dup2(null, fd)  # nothing of the grader's behind the init's descriptors
        for fd in range(3, 256):
            try:
                os.close(fd)
            except OSError:
                pass
        _wait_and_exit(kernel)
    try:
        # not dumpable: the kernel's own children cannot open /proc/<kernel>/fd (its
        # journal) or its memory; the kernel still reads its own /proc/self.  (A plain
        # kernel is exec'd afterwards, which makes it dumpable again.)
        _prctl(PR_SET_DUMPABLE, 0)
        _set_limits(plan)
        os.chdir(plan["cwd"])
    except Exception as error:  # noqa: BLE001
        _fail("limits", error)
    signal.signal(signal.SIGINT, signal.default_int_handler)


def main(argv):
    """``python confine.py PLAN_JSON -- KERNEL ARGV``: confine, then exec the kernel."""
    split = argv.index("--")
    plan = json.loads(argv[0])
    enter(plan)
    command = argv[split + 1 :]
    os.environ.update(plan.get("env", {}))
    os.execvp(command[0], command)


if __name__ == "__main__":
    main(sys.argv[1:])
