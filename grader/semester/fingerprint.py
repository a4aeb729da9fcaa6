"""A submission's fingerprint for the similarity report, taken from the file the student
handed in (its code and the outputs saved in it), kept beside its facts as
``fingerprint.json`` so the report can be rebuilt by ``rejudge`` and ``export``.

Code is normalised before it is compared: comments, whitespace and layout are dropped
and every name that is not a keyword, a builtin or an attribute becomes ``V`` (renaming
variables changes nothing); strings and numbers stay.  The token stream is cut into
shingles of a few tokens, each hashed to 63 bits.
"""

from __future__ import annotations

import builtins
import hashlib
import io
import json
import keyword
import re
import tokenize
from pathlib import Path

FINGERPRINT = "fingerprint.json"
FINGERPRINT_VERSION = 1
SHINGLE_TOKENS = 5
MAX_OUTPUT_TEXT = 400  # characters of an output kept as evidence
_BUILTINS = frozenset(dir(builtins))
_MAGIC = re.compile(r"^\s*[%!]")
_ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")
_FALLBACK_TOKEN = re.compile(
    r"[A-Za-z_]\w*|\d+\.?\d*(?:[eE][-+]?\d+)?|'''.*?'''|\"\"\".*?\"\"\"|'[^'\n]*'|\"[^\"\n]*\"|\S",
    re.S,
)
# A number a training prints (a loss, a weight): four significant digits or more.
_PRECISE_NUMBER = re.compile(r"\d\.\d{4,}|\d{2,}\.\d{3,}|\d\.\d+e[-+]?\d+")
# An object's address: a new one every run, whatever the seed.
_ADDRESS = re.compile(r"0x[0-9a-fA-F]{6,}")
_SEED_CALLS = frozenset({"set_seed", "set_random_seed"})
# Measured with tf-keras 2.21 (the grader's kernels): tf.random.set_seed alone does not fix
# a Dense layer's initial weights (its initializer draws its own seed); Keras's
# set_random_seed does.  Older Keras, as the course used, fixed them with either.
START_SEED_CALLS = frozenset({"set_random_seed"})


def _source(cell: dict) -> str:
    text = cell.get("source", cell.get("input", ""))
    return "".join(text) if isinstance(text, list) else str(text)


def _cells(notebook: dict) -> list[dict]:
    if isinstance(notebook.get("cells"), list):
        return [c for c in notebook["cells"] if isinstance(c, dict)]
    return [  # nbformat 3: cells inside worksheets
        c
        for sheet in notebook.get("worksheets") or []
        if isinstance(sheet, dict)
        for c in sheet.get("cells") or []
        if isinstance(c, dict)
    ]


def _string_value(token: str) -> str:
    body = token.lstrip("rbuRBUfF")
    for quote in ('"""', "'''", '"', "'"):
        if body.startswith(quote) and body.endswith(quote) and len(body) >= 2 * len(quote):
            return "S:" + body[len(quote) : -len(quote)]
    return "S:" + body


def _raw_tokens(source: str) -> list[tuple[int, str]]:
    """(token type, text) without comments and layout; IPython magics dropped."""
    code = "\n".join(line for line in source.splitlines() if not _MAGIC.match(line))
    try:
        return [
            (t.type, t.string)
            for t in tokenize.generate_tokens(io.StringIO(code + "\n").readline)
            if t.type
            not in (
                tokenize.COMMENT,
                tokenize.NL,
                tokenize.INDENT,
                tokenize.DEDENT,
                tokenize.ENDMARKER,
            )
        ]
    except (tokenize.TokenError, IndentationError, SyntaxError):
        code = re.sub(r"#[^\n]*", "", code)
        tokens = []
        for text in _FALLBACK_TOKEN.findall(code):
            kind = (
                tokenize.NAME
                if text[0].isalpha() or text[0] == "_"
                else tokenize.STRING
                if text[0] in "'\""
                else tokenize.NUMBER
                if text[0].isdigit()
                else tokenize.OP
            )
            tokens.append((kind, text))
        return tokens


def normalised_tokens(source: str) -> list[str]:
    """The code's tokens with comments, layout and the names of variables removed."""
    tokens: list[str] = []
    previous = ""
    for kind, text in _raw_tokens(source):
        if kind == tokenize.NEWLINE:
            if tokens and tokens[-1] != ";":
                tokens.append(";")
            previous = ";"
            continue
        if kind == tokenize.NAME:
            keep = previous == "." or keyword.iskeyword(text) or text in _BUILTINS
            word = text if keep else "V"
        elif kind == tokenize.STRING:
            word = _string_value(text)
        else:
            word = text
        tokens.append(word)
        previous = text
    return tokens


def seeds_in(tokens: list[str], calls: frozenset[str] = _SEED_CALLS) -> list[int]:
    """Literal seeds given to TensorFlow's or Keras's seed setters named in ``calls``."""
    found = []
    for i, token in enumerate(tokens[:-3]):
        if token in calls and tokens[i + 1] == "(" and tokens[i + 2].isdigit():
            if tokens[i + 3] == ")":
                found.append(int(tokens[i + 2]))
    return sorted(set(found))


def shingle_hash(words: list[str]) -> int:
    digest = hashlib.blake2b("\x1f".join(words).encode("utf-8"), digest_size=8).digest()
    return int.from_bytes(digest, "big") >> 1  # 63 bits: a non-negative int64


def _shingles(tokens: list[str]) -> list[int]:
    if not tokens:
        return []
    if len(tokens) < SHINGLE_TOKENS:
        return [shingle_hash(tokens)]
    return [
        shingle_hash(tokens[i : i + SHINGLE_TOKENS])
        for i in range(len(tokens) - SHINGLE_TOKENS + 1)
    ]


def _output_texts(cell: dict) -> list[tuple[str, str]]:
    """(kind, content) of each output saved in a code cell; errors are left out (the
    same mistake gives the same traceback)."""
    found = []
    for output in cell.get("outputs") or []:
        if not isinstance(output, dict):
            continue
        kind = output.get("output_type")
        if kind == "stream":
            text = output.get("text", "")
            found.append(("text", "".join(text) if isinstance(text, list) else str(text)))
        elif kind in ("execute_result", "display_data", "pyout"):
            data = output.get("data") or output
            png = data.get("image/png") or data.get("png")
            if png:
                found.append(("image", "".join(png) if isinstance(png, list) else str(png)))
            text = data.get("text/plain") or data.get("text")
            if text:
                found.append(("text", "".join(text) if isinstance(text, list) else str(text)))
    return found


def fingerprint_notebook(notebook: dict) -> dict:
    """The fingerprint of a notebook's JSON: per code cell its source and shingles; the
    outputs saved after the first ``fit`` that carry a run's numbers; the seeds set."""
    cells, outputs, all_tokens = [], [], []
    fitted = False
    for index, cell in enumerate(_cells(notebook)):
        if cell.get("cell_type") != "code":
            continue
        source = _source(cell)
        tokens = normalised_tokens(source)
        all_tokens += [*tokens, "|"]
        cells.append({"index": index + 1, "source": source, "shingles": _shingles(tokens)})
        fitted = fitted or ".fit(" in source.replace(" ", "")
        if not fitted:
            continue
        for kind, content in _output_texts(cell):
            content = _ANSI.sub("", content)
            run_unique = bool(_ADDRESS.search(content)) if kind == "text" else False
            if kind == "text" and not (run_unique or _PRECISE_NUMBER.search(content)):
                continue  # nothing in it depends on the run
            outputs.append(
                {
                    "cell": index + 1,
                    "kind": kind,
                    "hash": hashlib.sha256(content.encode("utf-8")).hexdigest()[:32],
                    "text": content[:MAX_OUTPUT_TEXT] if kind == "text" else "",
                    "run_unique": run_unique,
                }
            )
    return {
        "version": FINGERPRINT_VERSION,
        "cells": cells,
        "outputs": outputs,
        "seeds": seeds_in(all_tokens),
        "start_seeds": seeds_in(all_tokens, START_SEED_CALLS),
    }


def fingerprint_file(path: Path) -> dict | None:
    """The fingerprint of a submitted file; None when it is not a notebook's JSON."""
    from grader.notebook import read_submission  # never through a link

    try:
        raw = read_submission(path)
        notebook = json.loads(raw)
    except (OSError, ValueError):
        return None
    if not isinstance(notebook, dict):
        return None
    fingerprint = fingerprint_notebook(notebook)
    fingerprint["sha256"] = hashlib.sha256(raw).hexdigest()
    return fingerprint
