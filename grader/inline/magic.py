"""The IPython side: ``%grade [PATH] [--assignment A] [--lang en] [--force]`` and
``grader.check(...)``.  Runs in the student's kernel, so it only finds the file, starts
the grader in a subprocess and shows what it wrote; it never grades in this kernel."""

from __future__ import annotations

import argparse
import html
import json
import os
import shlex
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from grader.assignment import Assignment, AssignmentError, load_assignment
from grader.inline.locate import (
    ExecutionLog,
    Located,
    last_homework_cell,
    locate,
    staleness,
)

WORKER_TIMEOUT_S = 900  # above the grader's own notebook limit (600 s)
# The grader's probe registers itself under this name in every kernel it grades: there a
# notebook's own %grade cell must not start another grading of the same notebook.
PROBE_MODULE = "_grader_probe"
LOG = ExecutionLog()
_tracked: set[int] = set()


def _get_ipython():
    try:
        from IPython import get_ipython
    except ImportError:
        return None
    return get_ipython()


def _track(shell) -> None:
    """Record when each of the student's cells finishes, from now on."""
    if shell is None or id(shell) in _tracked:
        return
    _tracked.add(id(shell))

    def after_cell(result) -> None:
        info = getattr(result, "info", None)
        LOG.record(getattr(info, "raw_cell", "") or "", time.time())

    shell.events.register("post_run_cell", after_cell)


def _when(timestamp: float) -> str:
    return time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(timestamp))


@dataclass(frozen=True)
class InlineReport:
    """What ``%grade`` shows: which file and save time were graded, the score, each
    check with its message, and the full report (both figures) in a frame."""

    notebook: Path
    heading: str
    result: dict
    report_html: str
    lang: str

    @property
    def score(self) -> float:
        return float(self.result["score"])

    @property
    def max_score(self) -> float:
        return float(self.result["max_score"])

    def text(self) -> str:
        lines = [self.heading, f"{self.result['submission']}: {self.score:g} / {self.max_score:g}"]
        lines += [f"  {m}" for m in self.result["messages"]]
        for c in self.result["checks"]:
            mark = "✓" if c["passed"] else "✗"
            lines.append(
                f"  {mark} {c['name']:<11} {c['points']:>5g}/{c['max_points']:<4g} {c['message']}"
            )
        return "\n".join(lines)

    def html(self) -> str:
        # A frame keeps the report's own styles off the notebook's page.
        return (
            f'<div class="grader-inline"><p>{html.escape(self.heading)}</p>'
            f'<iframe title="{html.escape(self.result["submission"])}" '
            f'srcdoc="{html.escape(self.report_html, quote=True)}" '
            'style="width:100%;height:60em;border:1px solid #ddd" '
            "onload=\"this.style.height=(this.contentDocument.body.scrollHeight+40)+'px'\">"
            "</iframe></div>"
        )

    def _repr_mimebundle_(self, include=None, exclude=None) -> dict:
        return {"text/plain": self.text(), "text/html": self.html()}

    def __repr__(self) -> str:
        return self.text()


def _say(text: str) -> None:
    """One line for the student, on stderr: no traceback."""
    print(text, file=sys.stderr, flush=True)


def _run_worker(path: Path, out: Path, assignment: str, lang: str) -> tuple[int, str]:
    """(exit code, the last line the worker wrote to stderr)."""
    try:
        completed = _start_worker(path, out, assignment, lang)
    except subprocess.TimeoutExpired:
        return 1, f"no answer after {WORKER_TIMEOUT_S} s"
    except OSError as error:
        return 1, str(error)
    lines = [line for line in completed.stderr.strip().splitlines() if line.strip()]
    return completed.returncode, (lines[-1] if lines else f"exit code {completed.returncode}")


def _start_worker(path: Path, out: Path, assignment: str, lang: str):
    return subprocess.run(
        [
            sys.executable,
            "-m",
            "grader.inline.worker",
            str(path),
            str(out),
            "--assignment",
            assignment,
            "--lang",
            lang,
        ],
        capture_output=True,
        text=True,
        timeout=WORKER_TIMEOUT_S,
        stdin=subprocess.DEVNULL,
        # the grading kernel is not this notebook's session
        env={k: v for k, v in os.environ.items() if k != "JPY_SESSION_NAME"},
    )


def _heading(loaded: Assignment, located: Located, lang: str) -> str:
    if located.source == "colab":
        return loaded.message("inline.graded_colab", lang, time=_when(located.saved_at or 0))
    return loaded.message(
        "inline.graded_file", lang, path=located.path, saved=_when(located.saved_at or 0)
    )


def check(
    path: str | Path | None = None,
    *,
    assignment: str = "exp_decay",
    lang: str = "ko",
    force: bool = False,
) -> InlineReport | None:
    """Grade this notebook's saved file in a fresh sandboxed kernel and return its report
    (a notebook displays it).  ``path`` when the notebook cannot be found by itself;
    ``force`` grades a file older than the last executed cell anyway.  Problems are
    said in one line and return None."""
    if PROBE_MODULE in sys.modules:
        return None  # this kernel is the grader's, running the notebook's %grade cell
    shell = _get_ipython()
    _track(shell)
    try:
        loaded = load_assignment(assignment)
    except AssignmentError as error:
        _say(f"grader: {error}")
        return None
    with tempfile.TemporaryDirectory(prefix="grader-inline-") as folder:
        located = locate(
            str(path) if path is not None else None,
            shell.user_ns if shell is not None else {},
            Path(folder),
        )
        if located.path is None:
            if located.source == "argument":
                _say(loaded.message("inline.no_such_file", lang, path=path))
            else:
                _say(loaded.message("inline.not_found", lang))
            return None
        if not force:
            history = shell.history_manager.input_hist_raw if shell is not None else []
            stale = staleness(located, LOG, last_homework_cell(list(history)))
            if stale is not None:
                kind, finished = stale
                if kind == "time":
                    _say(
                        loaded.message(
                            "inline.unsaved",
                            lang,
                            path=located.path.name,
                            saved=_when(located.saved_at or 0),
                            executed=_when(finished or 0),
                        )
                    )
                else:
                    _say(loaded.message("inline.unsaved_code", lang, path=located.path.name))
                return None
        heading = _heading(loaded, located, lang)
        print(loaded.message("inline.running", lang, path=located.path.name), flush=True)
        out = Path(folder) / "out"
        code, last_line = _run_worker(located.path, out, assignment, lang)
        if code != 0 or not (out / "result.json").is_file():
            _say(loaded.message("inline.failed", lang, reason=last_line))
            return None
        return InlineReport(
            located.path,
            heading,
            json.loads((out / "result.json").read_text("utf-8")),
            (out / "report.html").read_text("utf-8"),
            lang,
        )


class _Parser(argparse.ArgumentParser):
    def error(self, message: str):
        raise ValueError(message)  # a line for the student, not SystemExit


def _parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="%grade", add_help=False)
    parser.add_argument("path", nargs="?")
    parser.add_argument("--assignment", default="exp_decay")
    parser.add_argument("--lang", choices=("ko", "en"), default="ko")
    parser.add_argument("--force", action="store_true")
    return parser


def grade_magic(line: str = "") -> InlineReport | None:
    """%grade [PATH] [--assignment NAME] [--lang ko|en] [--force]"""
    try:
        args = _parser().parse_args(shlex.split(line))
    except ValueError as error:
        _say(f"%grade: {error} (%grade [PATH] [--assignment NAME] [--lang ko|en] [--force])")
        return None
    return check(args.path, assignment=args.assignment, lang=args.lang, force=args.force)


def load_ipython_extension(shell) -> None:
    shell.register_magic_function(grade_magic, "line", "grade")
    _track(shell)
