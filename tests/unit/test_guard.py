"""The probe's guard, in a real interpreter (a subprocess, no kernel, no TensorFlow):
what student code tries is blocked or recorded, and only the probe can write records."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

from grader.facts import read_journal
from grader.probe import PROBE_PATH

SECRET = "ab" * 16

SCRIPT = """
import importlib.util, os, sys
spec = importlib.util.spec_from_file_location("_grader_probe", {probe!r})
probe = importlib.util.module_from_spec(spec)
spec.loader.exec_module(probe)
sys.modules["_grader_probe"] = probe
fd = os.open({journal!r}, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
probe.install(fd, {secret!r})
results = {{}}
def attempt(label, action):
    try:
        action()
        results[label] = "ok"
    except Exception as error:
        results[label] = type(error).__name__
{student}
probe.finish()
print(sorted(results.items()))
"""

STUDENT = """
import gc, json
attempt("gc", lambda: gc.get_objects())
attempt("referrers", lambda: gc.get_referrers(probe))
attempt("getframe", lambda: sys._getframe(0))
import inspect
attempt("inspect", lambda: inspect.currentframe())
def frame_of_traceback():
    try:
        raise ValueError
    except ValueError as error:
        return error.__traceback__.tb_frame
attempt("tb_frame", frame_of_traceback)
attempt("proc_fd", lambda: open(f"/proc/self/fd/{fd}", "a"))
attempt("dev_fd", lambda: open(f"/dev/fd/{fd}", "a"))
attempt("settrace", lambda: sys.settrace(None))
attempt("emit", lambda: sys.audit("grader.probe.emit", "end", 1, '{"net_is_model": true}'))
attempt("probe_emit", lambda: probe._probe.emit("end", {"net_is_model": True}))
called = []
attempt("hook", lambda: sys.addaudithook(lambda event, args: called.append(event)))
open(os.devnull).close()
results["hook_added"] = bool(called)
attempt("write", lambda: os.write(fd, b'{"secret": "x", "seq": 99, "kind": "end"}\\n'))
probe._floats = lambda values: [0.0 for _ in values]
probe._describe._layers = lambda model: []
attempt("plain", lambda: [1, 2, 3].copy())
"""

# what a student who has read the guard tries next: standard-library code as the caller
# (a thread pool's worker runs gc.get_objects, threading's hook installs a tracer)
THROUGH_THE_STANDARD_LIBRARY = """
import concurrent.futures, gc, threading
pool = concurrent.futures.ThreadPoolExecutor(1)
attempt("gc_pool", lambda: pool.submit(gc.get_objects).result())
attempt("referents_pool", lambda: pool.submit(gc.get_referents, probe).result())
attempt("frames_pool", lambda: pool.submit(sys._current_frames).result())
attempt("getframe_pool", lambda: pool.submit(sys._getframe, 0).result())  # its own frame
ran = []
threading.settrace(lambda frame, event, arg: None)
worker = threading.Thread(target=lambda: ran.append(1))
worker.start()
worker.join()
threading.settrace(None)
results["traced_thread_ran"] = bool(ran)
attempt("profile", lambda: __import__("cProfile").Profile().runcall(len, []))
"""


def run(tmp_path: Path, student: str) -> tuple[str, object]:
    journal = tmp_path / "facts.jsonl"
    script = tmp_path / "cell.py"  # outside the standard library: student code
    script.write_text(
        SCRIPT.format(probe=str(PROBE_PATH), journal=str(journal), secret=SECRET, student=student),
        "utf-8",
    )
    done = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr[-2000:]
    return done.stdout, read_journal(journal, SECRET)


def test_student_tricks_are_blocked_and_recorded(tmp_path):
    out, facts = run(tmp_path, textwrap.dedent(STUDENT))
    results = dict(eval(out.strip().splitlines()[-1]))  # our own script's output
    for label in ("gc", "referrers", "getframe", "inspect", "tb_frame", "proc_fd", "dev_fd",
                  "settrace", "emit", "probe_emit"):  # fmt: skip
        assert results[label] == "PermissionError", (label, results)
    assert results["plain"] == "ok" and results["write"] == "ok"
    assert results["hook_added"] is False  # Python drops the refused hook silently
    seen = {(e.what, e.detail.split(" ")[0]) for e in facts.evidence}
    assert ("introspection", "gc.get_objects") in seen
    assert ("introspection", "sys._getframe") in seen
    assert ("introspection", "inspect.currentframe") in seen
    assert ("introspection", "tb_frame") in seen
    assert ("descriptor", f"/proc/self/fd/{3}") in seen or any(
        e.what == "descriptor" and "/proc/self/fd/" in e.detail for e in facts.evidence
    )
    assert any(e.what == "forged_emit" for e in facts.evidence)
    assert ("tracing", "sys.addaudithook") in seen
    assert any(e.what == "probe_altered" and "_floats" in e.detail for e in facts.evidence)
    assert any(e.what == "probe_altered" and "_layers" in e.detail for e in facts.evidence)
    assert all(e.where.startswith("cell.py:") for e in facts.evidence if e.blocked)
    # the probe's own end record is there; the forged ones are not
    assert facts.finished and not facts.net_is_model
    assert facts.rejected_records == 1  # the raw line written to the descriptor


def test_the_standard_library_is_no_way_around_the_guard(tmp_path):
    out, facts = run(tmp_path, textwrap.dedent(THROUGH_THE_STANDARD_LIBRARY))
    results = dict(eval(out.strip().splitlines()[-1]))  # our own script's output
    for label in ("gc_pool", "referents_pool", "frames_pool", "profile"):
        assert results[label] == "PermissionError", (label, results)
    assert results["getframe_pool"] == "ok"  # a worker's own frame shows nothing of ours
    assert results["traced_thread_ran"] is False  # its tracer was refused: it never ran
    seen = {(e.what, e.detail) for e in facts.evidence}
    assert ("introspection", "gc.get_objects") in seen
    assert ("introspection", "sys._current_frames") in seen
    assert ("tracing", "sys.settrace") in seen
    assert ("tracing", "sys.setprofile") in seen
    assert facts.finished


# code made under a trusted file's name would run as trusted code
DISGUISES = """
import marshal, sysconfig, fractions
lib = sysconfig.get_paths()["stdlib"]
grab = "import gc\\nfound = len(gc.get_objects())"
space = {}
attempt("stdlib_name", lambda: compile(grab, lib + "/fake_module.py", "exec"))
attempt("frozen_name", lambda: compile(grab, "<frozen importlib._bootstrap>", "exec"))
attempt("renamed", lambda: compile(grab, "cell", "exec").replace(co_filename=lib + "/os.py"))
attempt("marshal", lambda: marshal.loads(marshal.dumps(compile("1", "cell", "eval"))))
# a path that only starts like the standard library's is normalised: still student code
attempt("dotdot", lambda: exec(compile(grab, lib + "/../../../../tmp/x.py", "exec"), space))
attempt("own_name", lambda: compile("1 + 1", "my_helper.py", "eval"))
# bytecode whose file name was patched to a trusted one, loaded by the import system
import importlib.machinery, importlib.util, os
target = lib + "/json/evil.py"
patched = marshal.dumps(compile(grab, "X" * len(target), "exec"))
patched = patched.replace(("X" * len(target)).encode(), target.encode())
pyc = os.path.join(os.path.dirname(os.path.abspath(__file__)), "evil_mod.pyc")
with open(pyc, "wb") as handle:
    handle.write(importlib.util.MAGIC_NUMBER + bytes(12) + patched)
def load_sourceless():
    loader = importlib.machinery.SourcelessFileLoader("evil_mod", pyc)
    spec = importlib.util.spec_from_loader("evil_mod", loader)
    loader.exec_module(importlib.util.module_from_spec(spec))
attempt("sourceless", load_sourceless)
attempt("stdlib_import", lambda: __import__("fractions").Fraction(1, 3))
"""


def test_code_under_a_trusted_name_is_refused(tmp_path):
    out, facts = run(tmp_path, textwrap.dedent(DISGUISES))
    results = dict(eval(out.strip().splitlines()[-1]))  # our own script's output
    for label in ("stdlib_name", "frozen_name", "renamed", "marshal", "dotdot", "sourceless"):
        assert results[label] == "PermissionError", (label, results)
    assert results["own_name"] == "ok" and results["stdlib_import"] == "ok"
    kinds = [(e.what, e.detail.split(" ")[0]) for e in facts.evidence]
    assert ("disguise", "compile") in kinds and ("disguise", "code.__new__") in kinds
    assert ("disguise", "marshal.loads") in kinds
    assert ("disguise", "exec") in kinds  # the patched bytecode, stopped before it ran
    assert ("introspection", "gc.get_objects") in kinds  # the ../ code is the student's
    assert facts.finished


def test_an_honest_run_leaves_no_evidence(tmp_path):
    out, facts = run(tmp_path, "import json, logging, traceback\nlogging.getLogger().info('x')\n"
                     "traceback.format_stack()\nprint(json.dumps([1]))")  # fmt: skip
    assert facts.evidence == () and facts.finished and facts.rejected_records == 0


def test_the_secret_is_not_left_in_the_probe(tmp_path):
    out, facts = run(
        tmp_path,
        "print('FOUND' if any(" + repr(SECRET) + " in repr(v) for v in vars(probe).values())"
        " or " + repr(SECRET) + " in repr(vars(probe._probe)) else 'HIDDEN')",
    )
    assert "HIDDEN" in out and facts.finished


def test_the_standard_library_opening_pipes_is_no_evidence(tmp_path):
    out, facts = run(
        tmp_path,
        "import subprocess\nprint(subprocess.run([sys.executable, '-c', 'print(1)'],"
        " capture_output=True, text=True).stdout)",
    )
    assert facts.evidence == () and "1" in out
