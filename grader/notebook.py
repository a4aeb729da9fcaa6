"""Load a submitted file as a notebook: read, upgrade old formats, validate."""

from __future__ import annotations

import json
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


def load_notebook(path: Path) -> LoadedNotebook:
    """Read ``path`` as nbformat 4, upgrading v3 (and older) files."""
    try:
        raw = path.read_bytes()
    except OSError as exc:
        error = exc.strerror or exc
        raise InvalidNotebook(
            f"cannot read the file: {error}", "invalid.unreadable", error=error
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
