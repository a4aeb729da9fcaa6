"""The saved facts of the midterm's example submissions (tests/fixtures/midterm)."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

from grader.facts import Facts, load_facts

FOLDER = Path(__file__).parent / "fixtures" / "midterm"


def facts_of(name: str, tmp_path: Path) -> Facts:
    path = tmp_path / f"{name}.facts.json"
    path.write_bytes(gzip.decompress((FOLDER / f"{name}.json.gz").read_bytes()))
    return load_facts(path)


def fit_payloads(name: str) -> list[dict]:
    document = json.loads(gzip.decompress((FOLDER / f"{name}.json.gz").read_bytes()))
    return [r["payload"] for r in document["records"] if r["kind"] == "fit"]
