"""Load a submitted file as a notebook: read, upgrade old formats, validate."""

from __future__ import annotations

import errno
import json
import os
import stat
from dataclasses import dataclass
from pathlib import Path

import nbformat
from nbformat.validator import ValidationError


class InvalidNotebook(Exception):
    """The file is not a notebook the grader can run.  ``str(exc)`` is a one-line reason
    in English; ``key`` and ``params`` name the message that says it in any language."""

    def __init__(self, reason: str, key: str, **params):
        super().__init__(reason)
        self.key = key
        self.params = params


@dataclass(frozen=True)
class LoadedNotebook:
    nb: nbformat.NotebookNode
    original_version: int
    kernel_name: str | None


MAX_SUBMISSION_BYTES = 64 * 1024 * 1024  # a notebook with many figures is a few MB


class RefusedSubmission(OSError):
    """A submission the grader will not read: a symbolic link (which could name the
    instructor's solution, another student's notebook or the grader's key), a FIFO or a
    device, or a file over MAX_SUBMISSION_BYTES.  ``key`` names the message."""

    def __init__(self, what: str, key: str):
        super().__init__(errno.ELOOP if key == "invalid.symlink" else errno.EINVAL, what)
        self.key = key


def read_submission(path: Path, limit: int = MAX_SUBMISSION_BYTES) -> bytes:
    """A submitted file's bytes, never through a symbolic link, never from anything but
    a regular file (a FIFO would block the batch), never more than ``limit`` of them (a
    huge file would take the grader's memory and time)."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC)
    except OSError as exc:
        if exc.errno == errno.ELOOP or os.path.islink(path):
            raise RefusedSubmission("a symbolic link, not a file", "invalid.symlink") from None
        raise
    with os.fdopen(fd, "rb") as handle:
        if not stat.S_ISREG(os.fstat(handle.fileno()).st_mode):
            raise RefusedSubmission("not a regular file", "invalid.not_a_file")
        content = handle.read(limit + 1)
    if len(content) > limit:
        raise RefusedSubmission(f"more than {limit // (1024 * 1024)} MiB", "invalid.too_large")
    return content


def unreadable_key(error: OSError) -> str:
    """The message for a submission that could not be read."""
    return getattr(error, "key", "invalid.unreadable")


def unreadable_params(error: OSError) -> dict:
    """That message's parameters."""
    return {"error": error.strerror or error, "limit": MAX_SUBMISSION_BYTES // (1024 * 1024)}


def load_notebook(path: Path) -> LoadedNotebook:
    """Read ``path`` as nbformat 4, upgrading v3 (and older) files."""
    try:
        raw = read_submission(path)
    except OSError as exc:
        params = unreadable_params(exc)
        raise InvalidNotebook(
            f"cannot read the file: {params['error']}", unreadable_key(exc), **params
        ) from None
    return notebook_from_bytes(raw)


def notebook_from_bytes(raw: bytes) -> LoadedNotebook:
    """A submitted file's content as nbformat 4, upgrading v3 (and older) files."""
    if not raw.strip():
        raise InvalidNotebook("the file is empty", "invalid.empty")
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise InvalidNotebook(
            "the file is not UTF-8 text, so not a notebook", "invalid.not_utf8"
        ) from None
    try:
        as_json = json.loads(text)
    except RecursionError:
        raise InvalidNotebook(
            "the file is JSON nested deeper than any notebook", "invalid.too_deep"
        ) from None
    except json.JSONDecodeError as exc:
        raise InvalidNotebook(
            f"the file is not valid JSON (line {exc.lineno}, column {exc.colno}: {exc.msg})",
            "invalid.not_json",
            line=exc.lineno,
            column=exc.colno,
            error=exc.msg,
        ) from None
    if not isinstance(as_json, dict) or "nbformat" not in as_json:
        raise InvalidNotebook(
            "the file is JSON but not a Jupyter notebook (no 'nbformat' key)",
            "invalid.not_notebook",
        )
    original_version = as_json.get("nbformat")
    try:
        nb = nbformat.reads(text, as_version=4)
        nbformat.validate(nb)
    except RecursionError:
        raise InvalidNotebook(
            "the file is JSON nested deeper than any notebook", "invalid.too_deep"
        ) from None
    except (ValidationError, ValueError, KeyError, TypeError, AttributeError) as exc:
        first_line = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise InvalidNotebook(
            f"the notebook does not follow the format: {first_line}",
            "invalid.format",
            error=first_line,
        ) from None
    kernelspec = nb.metadata.get("kernelspec") or {}
    return LoadedNotebook(
        nb,
        int(original_version) if isinstance(original_version, int) else 0,
        kernelspec.get("name"),
    )
