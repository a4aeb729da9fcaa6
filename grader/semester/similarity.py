"""Pairs of submissions that look copied, with their evidence; never a penalty.

Signals, each cheap for a class of thousands (no all-pairs work):

- **code**: shingles of the normalised code (``fingerprint.py``).  Shingles that many
  submissions share (the homework's data cell, the lecture's lines) prove nothing and
  are dropped, as MOSS drops code that appears too often.  The rare rest is compared
  with MinHash signatures and locality-sensitive hashing (bands of rows); only pairs
  that meet in a bucket are compared exactly.  A pair's code similarity is the share of
  the smaller notebook's shingles that only these two (or a few) submissions hold: a
  copy shares most of its code so, two honest solutions a few lines.
- **saved outputs**: the same output of a training (a loss line, printed weights, a
  plotted fit) saved in both files.  An object's address (``History at 0x7f…``) is new
  in every run, whatever the seed.
- **starting weights**: the same random-looking start recorded by the grader's run
  (hand-set round values such as the lecture's (−5, 10) do not count).

Where both notebooks give TensorFlow the same seed (``tf.random.set_seed(43052)``), the
same training outputs saved in their files are expected; they are shown as explained by
the seed and do not make a pair on their own.  The same start in the grader's own
kernels is explained only by a seed that fixes it there (``keras.utils.
set_random_seed``; see ``fingerprint.START_SEED_CALLS``).
"""

from __future__ import annotations

import csv
import io
import json
import math
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from types import SimpleNamespace

import numpy as np

from grader.result import write_json_atomic, write_text_atomic

SIGNATURE_SIZE = 64
BANDS = 32  # of 2 rows: pairs whose rare shingles are ~30 % alike or more meet in a band
CODE_SIMILARITY = 0.3  # share of the smaller notebook's code held rarely by both
MIN_SHARED_SHINGLES = 12  # fewer shared rare shingles prove nothing
COMMON_FRACTION = 0.05  # a shingle or output in more submissions than this is common
COMMON_AT_LEAST = 3
MAX_EVIDENCE_CELLS = 3
_SALTS = np.random.default_rng(20261130).integers(1, 2**63 - 1, SIGNATURE_SIZE, dtype=np.uint64)


def common_limit(count: int) -> int:
    """How many submissions may share a shingle or an output before it counts as common."""
    return max(COMMON_AT_LEAST, math.ceil(COMMON_FRACTION * count))


def _mix(values: np.ndarray) -> np.ndarray:
    """splitmix64's finaliser: a fixed pseudo-random permutation of 64-bit values."""
    with np.errstate(over="ignore"):
        z = values + np.uint64(0x9E3779B97F4A7C15)
        z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
        z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
        return z ^ (z >> np.uint64(31))


def minhash(shingles: set[int]) -> np.ndarray:
    values = np.fromiter(shingles, dtype=np.uint64, count=len(shingles))
    return _mix(values[None, :] ^ _SALTS[:, None]).min(axis=1)


@dataclass(frozen=True)
class Submission:
    name: str
    fingerprint: dict
    starts: tuple[str, ...] = ()  # random-looking starting weights of the grader's run

    @property
    def seeds(self) -> frozenset[int]:
        """Seeds that explain the same saved outputs (made wherever the student ran)."""
        return frozenset(self.fingerprint.get("seeds", ()))

    @property
    def start_seeds(self) -> frozenset[int]:
        """Seeds that explain the same start in the grader's own kernels."""
        return frozenset(self.fingerprint.get("start_seeds", ()))


@dataclass
class Pair:
    a: str
    b: str
    code_similarity: float = 0.0
    shared_shingles: int = 0
    rare_jaccard: float = 0.0
    outputs: list[dict] = field(default_factory=list)
    starts: list[str] = field(default_factory=list)
    common_seeds: list[int] = field(default_factory=list)
    common_start_seeds: list[int] = field(default_factory=list)
    cells: list[dict] = field(default_factory=list)

    @property
    def seed_explains(self) -> bool:
        return bool(self.common_seeds)

    @property
    def unexplained_outputs(self) -> list[dict]:
        return [o for o in self.outputs if o["run_unique"] or not self.seed_explains]

    @property
    def reasons(self) -> list[str]:
        found = []
        if self.code_similarity >= CODE_SIMILARITY and self.shared_shingles >= MIN_SHARED_SHINGLES:
            found.append("code")
        if self.unexplained_outputs:
            found.append("outputs")
        if self.starts and not self.common_start_seeds:
            found.append("start")
        return found

    def to_json(self) -> dict:
        return {
            "a": self.a,
            "b": self.b,
            "reasons": self.reasons,
            "code_similarity": round(self.code_similarity, 3),
            "shared_shingles": self.shared_shingles,
            "rare_jaccard": round(self.rare_jaccard, 3),
            "identical_outputs": self.outputs,
            "same_starts": self.starts,
            "common_seeds": self.common_seeds,
            "common_start_seeds": self.common_start_seeds,
            "explained_by_seed": self.seed_explains,
            "cells": self.cells,
        }


def _shingle_sets(submissions: list[Submission]) -> dict[str, set[int]]:
    return {s.name: {h for c in s.fingerprint["cells"] for h in c["shingles"]} for s in submissions}


def _rare_sets(whole: dict[str, set[int]], limit: int) -> dict[str, set[int]]:
    frequency = Counter(h for shingles in whole.values() for h in shingles)
    return {
        name: {h for h in shingles if frequency[h] <= limit} for name, shingles in whole.items()
    }


def _code_candidates(rare: dict[str, set[int]]) -> set[tuple[str, str]]:
    rows = SIGNATURE_SIZE // BANDS
    buckets: dict[tuple, list[str]] = defaultdict(list)
    for name, shingles in rare.items():
        if len(shingles) < MIN_SHARED_SHINGLES:
            continue
        signature = minhash(shingles)
        for band in range(BANDS):
            buckets[(band, signature[band * rows : (band + 1) * rows].tobytes())].append(name)
    pairs = set()
    for members in buckets.values():
        for i, a in enumerate(members):
            for b in members[i + 1 :]:
                pairs.add((min(a, b), max(a, b)))
    return pairs


def _grouped(keyed: dict[str, list[tuple[str, dict]]], limit: int) -> dict[tuple[str, str], list]:
    """Pairs of submissions that share a key held by at most ``limit`` submissions."""
    pairs: dict[tuple[str, str], list] = defaultdict(list)
    for holders in keyed.values():
        names = sorted({name for name, _ in holders})
        if len(names) < 2 or len(names) > limit:
            continue
        item = holders[0][1]
        for i, a in enumerate(names):
            for b in names[i + 1 :]:
                pairs[(a, b)].append(item)
    return pairs


def _evidence_cells(a: Submission, b: Submission, rare_a: set[int], rare_b: set[int]) -> list:
    shared = rare_a & rare_b
    scored = []
    for cell_a in a.fingerprint["cells"]:
        in_a = set(cell_a["shingles"]) & shared
        if not in_a:
            continue
        for cell_b in b.fingerprint["cells"]:
            common = len(in_a & set(cell_b["shingles"]))
            if common:
                scored.append((common, cell_a, cell_b))
    scored.sort(key=lambda t: -t[0])
    chosen, used_a, used_b = [], set(), set()
    for common, cell_a, cell_b in scored:
        if cell_a["index"] in used_a or cell_b["index"] in used_b:
            continue
        used_a.add(cell_a["index"])
        used_b.add(cell_b["index"])
        chosen.append(
            {
                "shared": common,
                "a_cell": cell_a["index"],
                "a_source": cell_a["source"],
                "b_cell": cell_b["index"],
                "b_source": cell_b["source"],
            }
        )
        if len(chosen) == MAX_EVIDENCE_CELLS:
            break
    return chosen


def find_pairs(submissions: list[Submission]) -> tuple[list[Pair], int]:
    """The pairs with at least one signal that is not explained by a common seed, most
    similar first; and the limit above which a shingle or output counts as common."""
    limit = common_limit(len(submissions))
    by_name = {s.name: s for s in submissions}
    whole = _shingle_sets(submissions)
    rare = _rare_sets(whole, limit)
    pairs: dict[tuple[str, str], Pair] = {}

    def pair(key: tuple[str, str]) -> Pair:
        if key not in pairs:
            a, b = by_name[key[0]], by_name[key[1]]
            pairs[key] = Pair(
                key[0],
                key[1],
                common_seeds=sorted(a.seeds & b.seeds),
                common_start_seeds=sorted(a.start_seeds & b.start_seeds),
            )
        return pairs[key]

    for a, b in _code_candidates(rare):
        shared = len(rare[a] & rare[b])
        coverage = shared / max(1, min(len(whole[a]), len(whole[b])))
        if coverage >= CODE_SIMILARITY / 2:  # near misses stay as context of other signals
            found = pair((a, b))
            found.code_similarity, found.shared_shingles = coverage, shared
            found.rare_jaccard = shared / len(rare[a] | rare[b])
    outputs: dict[str, list] = defaultdict(list)
    starts: dict[str, list] = defaultdict(list)
    for s in submissions:
        for output in s.fingerprint.get("outputs", ()):
            outputs[output["hash"]].append((s.name, output))
        for start in s.starts:
            starts[start].append((s.name, start))
    for key, items in _grouped(outputs, limit).items():
        pair(key).outputs = [
            {k: o[k] for k in ("cell", "kind", "text", "run_unique")} for o in items
        ]
    for key, items in _grouped(starts, limit).items():
        pair(key).starts = list(items)
    kept = [p for p in pairs.values() if p.reasons]
    for p in kept:
        if p.code_similarity:
            p.cells = _evidence_cells(by_name[p.a], by_name[p.b], rare[p.a], rare[p.b])
    kept.sort(key=lambda p: (-len(p.reasons), -p.code_similarity, p.a, p.b))
    return kept, limit


def random_looking_starts(fits: list) -> tuple[str, ...]:
    """The starting weights of each recorded fit that are not hand-set round numbers, as
    text (exact float32 values survive a round trip through 9 significant digits)."""
    found = []
    for fit in fits:
        if fit.weights_before is None:
            continue
        values = np.concatenate(
            [np.asarray(w, dtype=float).reshape(-1) for w in fit.weights_before]
        )
        if values.size == 0 or not np.all(np.isfinite(values)):
            continue
        if np.all(np.abs(values * 1000 - np.round(values * 1000)) < 1e-6):
            continue  # (−5, 10), (0.5, 1.25): typed by hand, the lecture's or anyone's
        found.append("[" + ", ".join(f"{v:.9g}" for v in values) + "]")
    return tuple(dict.fromkeys(found))


def starts_in_facts(path: Path) -> tuple[str, ...]:
    """``random_looking_starts`` of a stored facts.json, read without validating it again
    (the grader validated and sealed it; a file that does not hold is skipped)."""
    from grader.semester.run_record import EditedOnDisk, verified_text

    try:
        records = json.loads(verified_text(path))["records"]
        fits = []
        for record in records:
            if record.get("kind") != "fit":
                continue
            weights = record["payload"].get("weights_before") or []
            arrays = tuple(np.asarray(w["values"], dtype=float) for w in weights)
            fits.append(SimpleNamespace(weights_before=arrays or None))
    except (OSError, ValueError, KeyError, TypeError, EditedOnDisk):
        return ()
    return random_looking_starts(fits)


def similarity_csv(pairs: list[Pair]) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(
        [
            "submission_a",
            "submission_b",
            "reasons",
            "code_similarity",
            "shared_shingles",
            "identical_outputs",
            "identical_outputs_explained_by_seed",
            "same_start",
            "common_seed",
        ]
    )
    for p in pairs:
        writer.writerow(
            [
                p.a,
                p.b,
                " ".join(p.reasons),
                f"{p.code_similarity:.3f}",
                p.shared_shingles,
                len(p.unexplained_outputs),
                len(p.outputs) - len(p.unexplained_outputs),
                "yes" if p.starts else "no",
                " ".join(map(str, p.common_seeds)),
            ]
        )
    return buffer.getvalue()


def write_report(out: Path, pairs: list[Pair], limit: int, compared: int, missing: list[str]):
    """OUT/similarity.json (for the class page) and OUT/similarity.csv."""
    write_json_atomic(
        out / "similarity.json",
        {
            "compared": compared,
            "common_limit": limit,
            "without_fingerprint": missing,
            "pairs": [p.to_json() for p in pairs],
        },
    )
    write_text_atomic(out / "similarity.csv", "\ufeff" + similarity_csv(pairs))


def load_report(out: Path) -> dict | None:
    path = out / "similarity.json"
    if not path.is_file():
        return None
    return json.loads(path.read_text("utf-8"))
