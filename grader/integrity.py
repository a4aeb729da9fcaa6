"""Results the grader can trust on a re-grade: each submission's result.json is sealed
with an HMAC whose key lives in the grader's own state folder, outside OUT/ and never in a
kernel's view.  A result edited on disk (by hand, or by anything that reached OUT/) no
longer matches its seal, so the next re-grade grades that notebook again instead of
keeping the edit."""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets
from pathlib import Path

SEAL_SUFFIX = ".seal"


def key_path() -> Path:
    """Where the key lives: $GRADER_STATE_DIR, else $XDG_STATE_HOME, else ~/.local/state."""
    base = os.environ.get("GRADER_STATE_DIR") or os.path.join(
        os.environ.get("XDG_STATE_HOME") or os.path.expanduser("~/.local/state"),
        "keras-hw-grader",
    )
    return Path(base) / "result-key"


def _key() -> bytes:
    path = key_path()
    try:
        return path.read_bytes()
    except FileNotFoundError:
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        key = secrets.token_bytes(32)
        try:
            descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:  # another grader made it first
            return path.read_bytes()
        with os.fdopen(descriptor, "wb") as stream:
            stream.write(key)
        return key


def _digest(content: bytes) -> str:
    return hmac.new(_key(), content, hashlib.sha256).hexdigest()


def seal(path: Path) -> None:
    """Seal the file at ``path`` as it is now."""
    seal_path = path.with_name(path.name + SEAL_SUFFIX)
    temporary = seal_path.with_name(seal_path.name + ".tmp")
    temporary.write_text(_digest(path.read_bytes()) + "\n", "ascii")
    os.replace(temporary, seal_path)


def verified_bytes(path: Path) -> bytes | None:
    """The content of ``path`` if its seal holds; None if it is missing or does not."""
    try:
        content = path.read_bytes()
        expected = path.with_name(path.name + SEAL_SUFFIX).read_text("ascii").strip()
    except (OSError, UnicodeDecodeError):
        return None
    return content if hmac.compare_digest(_digest(content), expected) else None
