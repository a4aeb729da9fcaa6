"""File names as people and file systems need them.

A submission's file name can be anything a zip tool wrote: Korean in CP949 (Windows zip
tools), bytes that are no encoding at all, quotes, spaces, a leading dot or dash, 250
bytes.  Python reads undecodable bytes as lone surrogates (``surrogateescape``), which
cannot be written as UTF-8.  Here each name gets a readable text (for results and
reports) and a folder name that is safe anywhere (for the output folder).
"""

from __future__ import annotations

import hashlib
import os
import re
import unicodedata

MAX_FOLDER_BYTES = 120
_UNSAFE = re.compile(r"[^\w.\-()\[\] +=,@가-힣]", re.UNICODE)


def raw_bytes(name: str) -> bytes:
    """The name's bytes as the file system holds them."""
    return os.fsencode(name)


def has_surrogates(text: str) -> bool:
    return any("\udc80" <= ch <= "\udcff" or "\ud800" <= ch <= "\udfff" for ch in text)


def display_name(name: str) -> str:
    """Readable text for a file name: UTF-8 as is; else CP949 (Korean Windows zips);
    else UTF-8 with the undecodable bytes shown as U+FFFD."""
    if not has_surrogates(name):
        return name
    raw = raw_bytes(name)
    for encoding in ("utf-8", "cp949"):
        try:
            return raw.decode(encoding)
        except UnicodeDecodeError:
            continue
    return raw.decode("utf-8", "replace")


def clean_text(text: str) -> str:
    """Any string made writable as UTF-8 (lone surrogates become U+FFFD)."""
    if not has_surrogates(text):
        return text
    return text.encode("utf-8", "surrogatepass").decode("utf-8", "replace")


def folder_name(name: str) -> str:
    """A folder name for a submission: its readable name with unsafe characters replaced,
    at most MAX_FOLDER_BYTES of UTF-8, never hidden or an option; when anything had to
    change, a short digest of the original bytes keeps it unique."""
    readable = unicodedata.normalize("NFC", display_name(name))
    safe = _UNSAFE.sub("_", readable).strip(" .")
    if safe.startswith("-"):
        safe = "_" + safe[1:]
    changed = safe != name
    encoded = safe.encode("utf-8")
    if len(encoded) > MAX_FOLDER_BYTES:
        safe = encoded[:MAX_FOLDER_BYTES].decode("utf-8", "ignore")
        changed = True
    if not safe or changed:
        digest = hashlib.sha256(raw_bytes(name)).hexdigest()[:8]
        safe = f"{safe or 'submission'}-{digest}"
    return safe
