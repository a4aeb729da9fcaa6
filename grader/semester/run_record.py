"""How a submission's run went, stored beside its facts (``run.json``) so that it can be
judged again without a kernel and give the same result.

The judge needs the run summary (status, failed and truncated cells, limits) besides the
facts; the result needs the failed cells' lines, its status, the file's digest and the
time the run took.  Nothing here is read from the kernel: it is the grader's own record.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, fields
from pathlib import Path

from grader.integrity import SEAL_SUFFIX, seal, verified_bytes
from grader.judge.base import RunSummary
from grader.result import FailedCell, write_json_atomic

RUN_RECORD = "run.json"
RECORD_VERSION = 1


@dataclass(frozen=True)
class RunRecord:
    run: RunSummary
    status: str  # the result's status: graded | timeout | error
    failed_cells: tuple[FailedCell, ...]
    sha256: str
    seconds: float
    # What reading the journal found that facts.json (validated records only) does not
    # keep: lines refused (not the probe's), caps hit.  The judge's review needs them.
    rejected_records: int = 0
    facts_caps: tuple[str, ...] = ()
    # seconds per phase (kernel_ready, cells, shutdown, facts, judge): the benchmark's
    # breakdown; not used for judging
    phases: tuple[tuple[str, float], ...] = ()


def run_record_document(record: RunRecord) -> dict:
    """The content of run.json."""
    return {
        "version": RECORD_VERSION,
        "run": asdict(record.run),
        "status": str(record.status),
        "failed_cells": [asdict(c) for c in record.failed_cells],
        "sha256": record.sha256,
        "seconds": round(record.seconds, 3),
        "rejected_records": record.rejected_records,
        "facts_caps": list(record.facts_caps),
        "phases": {name: round(value, 4) for name, value in record.phases},
    }


def save_run_record(folder: Path, record: RunRecord) -> Path:
    """Write run.json beside facts.json and seal both (``grader.integrity``): what
    ``rejudge`` reads must be what the grader wrote."""
    path = folder / RUN_RECORD
    write_json_atomic(path, run_record_document(record))
    seal_run_record(folder)
    return path


def seal_run_record(folder: Path) -> None:
    """Seal run.json and the facts.json beside it, as they are now."""
    seal(folder / RUN_RECORD)
    if (folder / "facts.json").is_file():
        seal(folder / "facts.json")


def _run_summary(spec: dict) -> RunSummary:
    known = {f.name for f in fields(RunSummary)}
    values = {k: v for k, v in spec.items() if k in known}
    values["failed_cells"] = tuple(
        (int(n), str(e), str(v)) for n, e, v in values.get("failed_cells", ())
    )
    for name in ("cell_numbers", "truncated_cells"):
        values[name] = tuple(int(n) for n in values.get(name, ()))
    return RunSummary(**values)


class EditedOnDisk(ValueError):
    """A sealed file no longer matches its seal."""


def is_sealed(path: Path) -> bool:
    return path.with_name(path.name + SEAL_SUFFIX).is_file()


def verified_text(path: Path) -> str:
    """The text of a file the grader wrote; a file whose seal is there but does not hold
    was edited on disk and is refused (files from before seals have none)."""
    if not is_sealed(path):
        return path.read_text("utf-8")
    content = verified_bytes(path)
    if content is None:
        raise EditedOnDisk(
            f"{path.name} does not match its seal: changed on disk, or sealed with another "
            "key (GRADER_STATE_DIR)"
        )
    return content.decode("utf-8")


def load_run_record(folder: Path) -> RunRecord | None:
    """The stored record, or None when there is none (a folder graded before records
    were kept, or a submission that never ran)."""
    path = folder / RUN_RECORD
    if not path.is_file():
        return None
    spec = json.loads(verified_text(path))
    return RunRecord(
        run=_run_summary(spec["run"]),
        status=str(spec["status"]),
        failed_cells=tuple(FailedCell(**c) for c in spec.get("failed_cells", ())),
        sha256=str(spec.get("sha256", "")),
        seconds=float(spec.get("seconds", 0.0)),
        rejected_records=int(spec.get("rejected_records", 0)),
        facts_caps=tuple(str(c) for c in spec.get("facts_caps", ())),
        phases=tuple((str(k), float(v)) for k, v in spec.get("phases", {}).items()),
    )


_RUN_STATUS_OF_RESULT = {"graded": "completed", "timeout": "timeout", "error": "dead"}


def record_from_result(result: dict, notebook_timeout_s: float = 600.0) -> RunRecord:
    """A best reconstruction from an older result.json that has no run.json: the status,
    the failed cells and the digest are there; the cell numbering and the limits are
    not (the judge then counts cells as the probe does)."""
    failed = tuple(FailedCell(**c) for c in result.get("failed_cells", ()))
    return RunRecord(
        run=RunSummary(
            _RUN_STATUS_OF_RESULT.get(result["status"], "failed"),
            None,
            tuple((c.cell, c.ename, c.evalue) for c in failed),
            notebook_timeout_s,
        ),
        status=result["status"],
        failed_cells=failed,
        sha256=result.get("sha256", ""),
        seconds=float(result.get("seconds", 0.0)),
    )
