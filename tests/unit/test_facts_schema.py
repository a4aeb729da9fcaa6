"""The journal's schema is checked with fastjsonschema (20x faster than jsonschema on the
per-step records).  It must accept and refuse exactly what jsonschema, the reference
implementation of the schema's draft, does: on every record saved from real runs and on
thousands of mutated ones (types swapped, keys dropped or added, numbers out of range)."""

import copy
import gzip
import json
import random
from pathlib import Path

import jsonschema

from grader.facts import SCHEMA_PATH, _validator

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"
ODD_VALUES = [None, -1, 0, 1.5, "x", "", [], {}, True, 10**20, [1, "a"], {"values": "x"}]


def _saved_records() -> list[dict]:
    records = []
    for path in sorted(FIXTURES.glob("facts/*.json")) + sorted(FIXTURES.glob("midterm/*.gz")):
        raw = gzip.decompress(path.read_bytes()) if path.suffix == ".gz" else path.read_bytes()
        records += json.loads(raw)["records"]
    return records


def _shrunk(value):
    """The record with every list cut to 6 items (jsonschema is slow on long ones)."""
    if isinstance(value, dict):
        return {k: _shrunk(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_shrunk(v) for v in value[:6]]
    return value


def _places(value, prefix=()):
    yield prefix
    if isinstance(value, dict):
        for key, item in value.items():
            yield from _places(item, (*prefix, key))
    elif isinstance(value, list):
        for index, item in enumerate(value[:4]):
            yield from _places(item, (*prefix, index))


def _mutated(record: dict, rng: random.Random) -> dict:
    record = copy.deepcopy(record)
    place = rng.choice(list(_places(record))[1:])
    parent = record
    for key in place[:-1]:
        parent = parent[key]
    roll = rng.random()
    if roll < 0.25 and isinstance(parent, dict):
        del parent[place[-1]]
    elif roll < 0.35 and isinstance(parent, dict):
        parent["unexpected"] = rng.choice(ODD_VALUES)
    else:
        parent[place[-1]] = rng.choice(ODD_VALUES)
    return record


def test_the_compiled_schema_agrees_with_jsonschema():
    reference = jsonschema.Draft202012Validator(json.loads(SCHEMA_PATH.read_text("utf-8")))
    ours = _validator()
    saved = _saved_records()
    kinds = {r["kind"] for r in saved}
    assert {"fit", "figure", "model", "end"} <= kinds, kinds
    assert all(ours.is_valid(r) for r in saved)
    records = [_shrunk(r) for r in saved]
    assert all(ours.is_valid(r) == reference.is_valid(r) for r in records)
    rng = random.Random(20261202)
    refused = 0
    for _ in range(3000):
        record = _mutated(rng.choice(records), rng)
        expected = reference.is_valid(record)
        assert ours.is_valid(record) == expected, json.dumps(record)[:400]
        refused += not expected
    assert refused > 500  # the mutations do reach the schema's rules


def test_what_cannot_be_a_record_is_refused():
    ours = _validator()
    deep: list = []
    for _ in range(5000):
        deep = [deep]
    for value in ("a string", 3, None, [], {"seq": 1}, {"seq": 1, "kind": "fit", "payload": deep}):
        assert not ours.is_valid(value)
