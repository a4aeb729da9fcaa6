"""The sandbox as a real boundary (issue 9): a student who has read this code attacks it,
in the same batch as honest submissions, with the grader run as root and, again, as an
ordinary user made for the test.  Every attack fails, every honest notebook after the
attacks scores 100, no process a submission started outlives the batch, and a result
edited on disk does not survive a re-grade.  The pool's parent is killed from outside
mid-batch: it is replaced and the submissions in flight run again."""

from __future__ import annotations

import json
import os
import pwd
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import nbformat
import pytest

from tests import attacks
from tests import notebooks as nbs
from tests.integration.conftest import Listener
from tests.integration.processes import (
    KernelWatch,
    describe,
    processes_with,
)

pytestmark = pytest.mark.integration

USER = "grader-test-user"
REPO = Path(__file__).resolve().parents[2]
HONEST = ("90_honest.ipynb", "91_honest.ipynb", "92_honest.ipynb")


def make_user() -> pwd.struct_passwd:
    try:
        return pwd.getpwnam(USER)
    except KeyError:
        subprocess.run(["useradd", "--create-home", "--shell", "/bin/sh", USER], check=True)
        return pwd.getpwnam(USER)


def _closed_ancestor(path: Path) -> Path | None:
    """The outermost folder on the way to ``path`` that others cannot enter."""
    for parent in reversed([path, *path.parents]):
        if parent != Path("/") and not os.stat(parent).st_mode & 0o001:
            return parent
    return None


def as_user_command(user: pwd.struct_passwd, command: list[str]) -> list[str]:
    """``command`` run as ``user``.  Where the interpreter or the checkout sits behind a
    folder the user cannot enter (a pyenv under /root, say), a private mount namespace
    shows the user just those folders: the test builds a readable place, it never skips
    and never changes the machine's permissions."""
    needed = {Path(sys.base_prefix), Path(sys.prefix), REPO}
    script = ["set -e", "mount --make-rprivate /"]
    stash = Path(tempfile.mkdtemp(prefix="grader-stash-"))
    closed: dict[Path, list[Path]] = {}
    for path in needed:
        top = _closed_ancestor(path.resolve())
        if top is not None:
            closed.setdefault(top, []).append(path.resolve())
    for number, (top, inside) in enumerate(closed.items()):
        keep = stash / str(number)
        script += [
            f"mkdir -p {keep}",
            f"mount --bind {top} {keep}",
            f"mount -t tmpfs -o mode=0755 grader-test {top}",
        ]
        for path in inside:
            script += [f"mkdir -p {path}", f"mount --bind {keep / path.relative_to(top)} {path}"]
    quoted = " ".join(f"'{word}'" for word in command)
    script.append(
        f"exec setpriv --reuid={user.pw_uid} --regid={user.pw_gid} --init-groups "
        f"env HOME={user.pw_dir} {quoted}"
    )
    return ["unshare", "--mount", "sh", "-c", "\n".join(script)]


def kill_pool_parent_when(out: Path, grader: subprocess.Popen, killed: list) -> None:
    """Once two results are in, kill the grader's pool parent from outside."""
    deadline = time.monotonic() + 600
    while time.monotonic() < deadline and grader.poll() is None:
        if len(list(out.glob("submissions/*/result.json"))) >= 2:
            for pid in processes_with("zygote.py"):
                try:
                    status = Path(f"/proc/{pid}/status").read_text()
                except OSError:
                    continue
                parent = int(
                    next(ln.split()[1] for ln in status.splitlines() if ln.startswith("PPid"))
                )
                if parent == grader.pid or parent in children_of(grader.pid):
                    os.kill(pid, 9)
                    killed.append(pid)
                    return
        time.sleep(0.2)


def children_of(pid: int) -> set[int]:
    found = set()
    for status in Path("/proc").glob("[0-9]*/status"):
        try:
            text = status.read_text()
        except OSError:
            continue
        if f"\nPPid:\t{pid}\n" in text:
            found.add(int(status.parent.name))
    return found


@pytest.fixture(scope="module", params=["root", "user"])
def hostile(request):
    if os.geteuid() != 0:
        pytest.fail("the boundary tests run as root (CI does) and make their own user")
    root = Path(tempfile.mkdtemp(prefix="grader-boundary-"))
    folder, out = root / "submissions", root / "out"
    folder.mkdir()
    out.mkdir()
    listener = Listener()
    notebooks = {
        "10_umount.ipynb": attacks.umount(str(folder)),
        "11_proc_root.ipynb": attacks.proc_root(str(out), str(folder)),
        "12_setns.ipynb": attacks.setns(listener.port),
        "13_pool_socket.ipynb": attacks.pool_socket(),
        "50_daemon.ipynb": attacks.daemon(str(out)),
        "51_killer.ipynb": attacks.killer(),
        "52_other_fds.ipynb": attacks.other_fds(),
        "53_fork_bomb.ipynb": attacks.fork_bomb(),
        "54_fill_disk.ipynb": attacks.fill_disk(),
        **{name: nbs.homework() for name in HONEST},
    }
    for name, cells in notebooks.items():
        nbs.write_notebook(cells, folder / name)
    command = [
        sys.executable, "-m", "grader", "grade", str(folder), "--out", str(out),
        "--jobs", "2", "--cell-timeout", "30", "--disk-limit", "64", "--format", "html,csv",
    ]  # fmt: skip
    environment = {**os.environ, "PYTHONPATH": str(REPO)}
    if request.param == "user":
        user = make_user()
        for path in (root, folder, out):
            os.chown(path, user.pw_uid, user.pw_gid)
        for path in folder.iterdir():
            os.chown(path, user.pw_uid, user.pw_gid)
        command = as_user_command(user, command)
        environment.pop("GRADER_STATE_DIR", None)
    host_tmp_mark = Path("/tmp") / attacks.HOST_TMP_MARK
    host_tmp_mark.unlink(missing_ok=True)
    grader = subprocess.Popen(
        command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=environment
    )
    killed: list[int] = []
    watch = KernelWatch(grader)
    watch.start()
    killer = threading.Thread(target=kill_pool_parent_when, args=(out, grader, killed))
    killer.start()
    stdout, stderr = grader.communicate(timeout=900)
    killer.join()
    time.sleep(0.5)  # a daemon that survived would rewrite the results within 0.1 s
    first = json.loads((out / "results.json").read_text("utf-8"))
    watch.join()
    left = {pid: describe(pid) for pid in watch.alive()}
    daemons = processes_with(attacks.DAEMON_MARK)
    # a forged result on disk, then a re-grade
    forged_path = out / "submissions" / "53_fork_bomb.ipynb" / "result.json"
    forged = json.loads(forged_path.read_text("utf-8"))
    forged.update(score=100.0, messages=["forged"])
    forged_path.write_text(json.dumps(forged), "utf-8")
    again = subprocess.run(command, capture_output=True, text=True, env=environment, timeout=900)
    second = json.loads((out / "results.json").read_text("utf-8"))
    listener.close()
    yield {
        "mode": request.param,
        "root": root,
        "out": out,
        "folder": folder,
        "stdout": stdout,
        "stderr": stderr,
        "returncode": grader.returncode,
        "first": {s["submission"]: s for s in first["submissions"]},
        "second": {s["submission"]: s for s in second["submissions"]},
        "again": again,
        "left": left,
        "kernel_namespaces": watch.namespaces,
        "daemons": daemons,
        "connections": listener.accepted,
        "pool_parent_killed": killed,
        "host_tmp_mark": host_tmp_mark.exists(),
        "files": sorted(p.name for p in folder.iterdir()),
    }
    shutil.rmtree(root, ignore_errors=True)


def printed(run, name: str) -> str:
    path = run["out"] / "submissions" / name / "executed.ipynb"
    executed = nbformat.read(path, 4)
    return "".join(
        o.get("text", "") for c in executed.cells if c.cell_type == "code" for o in c.outputs
    )


def line(run, name: str, label: str) -> str:
    for text in printed(run, name).splitlines():
        if text.startswith(label + " ") or text.startswith(label + ":"):
            return text[len(label) :].strip(" :")
    raise AssertionError(f"{name} printed no {label} line:\n{printed(run, name)[-2000:]}")


def test_the_batch_finishes_and_every_file_has_a_result(hostile):
    assert hostile["returncode"] == 0, hostile["stderr"][-3000:]
    assert sorted(hostile["first"]) == hostile["files"]
    assert "own namespaces" in hostile["stderr"]


def test_honest_notebooks_after_the_attacks_score_100(hostile):
    for name in HONEST:
        assert hostile["first"][name]["score"] == 100, hostile["first"][name]["messages"]


def test_attackers_keep_the_grade_their_homework_earns(hostile):
    """Their homework earns 100, unless the probe saw tampering: then a person decides."""
    for name, result in hostile["first"].items():
        assert result["status"] == "graded", (name, result["messages"])
        assert result["score"] == 100 or result["needs_review"], (name, result["messages"])


def test_mounts_cannot_be_undone(hostile):
    assert line(hostile, "10_umount.ipynb", "UMOUNTED").startswith("0")
    assert line(hostile, "10_umount.ipynb", "NESTED_UMOUNTED").startswith("0")
    assert "READ_OTHER: BLOCKED" in printed(hostile, "10_umount.ipynb")


def test_proc_shows_only_the_submission_and_leads_nowhere(hostile):
    count = int(line(hostile, "11_proc_root.ipynb", "PIDS").split()[0])
    assert count <= 3  # the namespace's init, the kernel, and at most one helper
    assert line(hostile, "11_proc_root.ipynb", "PROC_ROOT_HITS") == "0"
    assert "WRITE_VIA_PROC_ROOT: BLOCKED" in printed(hostile, "11_proc_root.ipynb")
    assert not (hostile["out"] / "pwned.txt").exists()


def test_setns_enters_nothing_and_no_connection_arrives(hostile):
    assert line(hostile, "12_setns.ipynb", "SETNS_ENTERED").startswith("0")
    assert "LOOPBACK_AFTER_SETNS: BLOCKED" in printed(hostile, "12_setns.ipynb")
    assert hostile["connections"] == 0


def test_the_pool_socket_is_out_of_reach(hostile):
    assert line(hostile, "13_pool_socket.ipynb", "POOL_PATHS") == "[]"
    assert line(hostile, "13_pool_socket.ipynb", "POOL_ANSWERED") == "0", printed(
        hostile, "13_pool_socket.ipynb"
    )[-1500:]


def test_a_double_forked_daemon_dies_with_its_submission(hostile):
    assert "DAEMON_STARTED" in printed(hostile, "50_daemon.ipynb")
    assert hostile["daemons"] == []
    assert len(hostile["kernel_namespaces"]) >= len(HONEST)  # the watch saw the kernels
    assert hostile["left"] == {}
    assert "forged" not in (hostile["out"] / "results.json").read_text("utf-8")


def test_killing_everything_visible_hurts_no_one(hostile):
    killed = line(hostile, "51_killer.ipynb", "KILLED")
    assert killed in ("[]", "[1]")  # init accepts the signal and ignores it


def test_other_processes_fds_are_out_of_reach(hostile):
    assert line(hostile, "52_other_fds.ipynb", "OTHER_FDS_OPENED") == "0", hostile["first"][
        "52_other_fds.ipynb"
    ]


def test_a_fork_bomb_hits_the_process_limit_by_name(hostile):
    forked = int(line(hostile, "53_fork_bomb.ipynb", "FORKED"))
    assert 0 < forked < 256
    ran = next(c for c in hostile["first"]["53_fork_bomb.ipynb"]["checks"] if c["name"] == "ran")
    assert ran["key"] == "ran.limit.processes" and "256" in ran["message"]


def test_filling_the_disk_hits_the_disk_limit_by_name(hostile):
    written = int(line(hostile, "54_fill_disk.ipynb", "WROTE_MIB"))
    assert 0 < written <= 64
    ran = next(c for c in hostile["first"]["54_fill_disk.ipynb"]["checks"] if c["name"] == "ran")
    assert ran["key"] == "ran.limit.disk" and "64" in ran["message"]
    assert not hostile["host_tmp_mark"]


def test_the_pool_parent_killed_mid_batch_is_replaced(hostile):
    assert hostile["pool_parent_killed"], "the test never found the pool's parent"
    assert all(r["status"] == "graded" for r in hostile["first"].values())
    assert all(hostile["first"][name]["score"] == 100 for name in HONEST)


def test_a_result_edited_on_disk_is_graded_again(hostile):
    assert hostile["again"].returncode == 0, hostile["again"].stderr[-2000:]
    regraded = hostile["second"]["53_fork_bomb.ipynb"]
    assert regraded["messages"] != ["forged"]
    assert regraded["score"] == hostile["first"]["53_fork_bomb.ipynb"]["score"]
    reused = "(unchanged)" in hostile["again"].stdout + hostile["again"].stderr
    assert reused  # the untouched ones were kept, the edited one was not
