"""Which notebook file the student's kernel belongs to, and whether it is saved.

Front ends tell the kernel differently: Jupyter Server starts it with
``JPY_SESSION_NAME`` (ipykernel copies it to ``__session__``); VS Code sets
``__vsc_ipynb_file__``; Colab keeps the notebook in the browser and hands its JSON out
through ``google.colab._message``.  Pure functions of what they are given, but Colab's."""

from __future__ import annotations

import json
import os
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

# A cell that mentions the grader (``%load_ext grader``, ``%grade``, ``grader.check()``)
# does not make the saved file stale: it is not part of the homework.
GRADER_WORD = "grader"
GRADE_MAGIC = "%grade"
CLOCK_SLACK_S = 0.5


@dataclass(frozen=True)
class Located:
    path: Path | None  # the file to grade; None when nothing was found
    source: str  # "argument" | "jupyter" | "vscode" | "colab" | "none"
    saved_at: float | None = None  # the file's modification time (or Colab's fetch time)
    tried: tuple[str, ...] = ()  # where it looked, for the message when nothing was found


def _resolve(text: str, cwd: Path) -> Path | None:
    """A session path may be absolute, relative to the server's root, or a bare name; the
    kernel's working folder is the notebook's folder."""
    path = Path(text).expanduser()
    candidates = [path] if path.is_absolute() else [cwd / path, cwd / path.name]
    for candidate in candidates:
        if candidate.is_file():
            return candidate.resolve()
    return None


def from_session(user_ns: Mapping, environ: Mapping[str, str], cwd: Path) -> Located:
    """The notebook of this kernel, as VS Code or Jupyter Server named it."""
    named = [
        ("vscode", user_ns.get("__vsc_ipynb_file__")),
        ("jupyter", user_ns.get("__session__")),
        ("jupyter", environ.get("JPY_SESSION_NAME")),
    ]
    tried = []
    for source, text in named:
        if not isinstance(text, str) or not text:
            continue
        tried.append(text)
        path = _resolve(text, cwd)
        if path is not None and path.suffix == ".ipynb":
            return Located(path, source, path.stat().st_mtime, tuple(tried))
    return Located(None, "none", None, tuple(tried))


def from_argument(text: str, cwd: Path) -> Located:
    path = Path(text).expanduser()
    path = path if path.is_absolute() else cwd / path
    if not path.is_file():
        return Located(None, "argument", None, (text,))
    return Located(path.resolve(), "argument", path.stat().st_mtime, (text,))


def from_colab(folder: Path) -> Located | None:
    """Colab's current notebook, written to ``folder``; None outside Colab."""
    try:
        from google.colab import _message  # type: ignore[import-not-found]
    except ImportError:
        return None
    reply = _message.blocking_request("get_ipynb", request="", timeout_sec=60)
    notebook = reply.get("ipynb") if isinstance(reply, dict) else None
    if not isinstance(notebook, dict):
        return Located(None, "colab", None, ("google.colab get_ipynb",))
    path = folder / "colab_notebook.ipynb"
    path.write_text(json.dumps(notebook, ensure_ascii=False), "utf-8")
    return Located(path, "colab", time.time(), ("google.colab get_ipynb",))


def locate(
    argument: str | None, user_ns: Mapping, colab_folder: Path, cwd: Path | None = None
) -> Located:
    cwd = cwd or Path.cwd()
    if argument:
        return from_argument(argument, cwd)
    found = from_session(user_ns, os.environ, cwd)
    if found.path is None:
        colab = from_colab(colab_folder)
        if colab is not None:
            return colab
    return found


@dataclass
class ExecutionLog:
    """When the student's cells last finished and what the last one held (filled by an
    IPython ``post_run_cell`` hook once the extension is loaded)."""

    last_finished: float | None = None
    last_source: str | None = None

    def record(self, raw_cell: str, finished: float) -> None:
        if GRADER_WORD in raw_cell or GRADE_MAGIC in raw_cell or not raw_cell.strip():
            return
        self.last_finished = finished
        self.last_source = raw_cell


def code_sources(path: Path) -> list[str]:
    """The code cells' sources of a saved notebook (empty when it cannot be read)."""
    try:
        notebook = json.loads(path.read_text("utf-8-sig"))
    except (OSError, ValueError):
        return []
    sources = []
    for cell in notebook.get("cells", []) if isinstance(notebook, dict) else []:
        if isinstance(cell, dict) and cell.get("cell_type") == "code":
            source = cell.get("source", "")
            sources.append("".join(source) if isinstance(source, list) else str(source))
    return sources


def last_homework_cell(raw_history: list[str]) -> str | None:
    """The last executed cell before the current one that is not about the grader."""
    for raw in reversed(raw_history[:-1]):
        if raw.strip() and GRADER_WORD not in raw and GRADE_MAGIC not in raw:
            return raw
    return None


def staleness(
    located: Located, log: ExecutionLog, last_cell: str | None
) -> tuple[str, float | None] | None:
    """Why the saved file is older than what the kernel ran, or None when it is not:
    ("time", when the last cell finished) or ("content", None) when the last executed
    cell's code is not in the file."""
    if located.source == "colab" or located.path is None:
        return None  # Colab hands over the page as it is now
    if log.last_finished is not None and located.saved_at is not None:
        if located.saved_at + CLOCK_SLACK_S < log.last_finished:
            return ("time", log.last_finished)
    source = log.last_source or last_cell
    if source is not None:
        saved = [s.strip() for s in code_sources(located.path)]
        if source.strip() not in saved:
            return ("content", None)
    return None
