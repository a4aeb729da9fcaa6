"""Overrides that last: the instructor's decisions, kept in ``OUT/overrides.toml`` (or a
file given with ``--overrides``) and applied after judging on every grade, rejudge and
export, so no re-grade loses them.

One table per submission, named by its file name:

  [submissions."kim_101_9_hw.ipynb"]
  checks = { plot_curve = 10 }        # a check's points (0 .. its maximum)
  total = 85                          # or the total (0 .. the assignment's maximum)
  note = "curve drawn on a second axes; accepted on appeal"
  by = "TA Lee"
  at = 2026-11-30T10:00:00+09:00
  extension_days = 3                  # or extended_due = 2026-12-04T23:59:00

A name, check or key that does not exist is an error that names it: a typo must not
silently drop a decision.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path

from grader.semester.late import LateError, parse_moment

OVERRIDES_FILE = "overrides.toml"
KEYS = {"checks", "total", "note", "by", "at", "extension_days", "extended_due"}


class OverrideError(ValueError):
    """The overrides file cannot be applied; ``str(exc)`` says where and why."""


@dataclass(frozen=True)
class Override:
    submission: str
    checks: dict[str, float] = field(default_factory=dict)
    total: float | None = None
    note: str = ""
    by: str = ""
    at: str = ""
    extension: datetime | timedelta | None = None

    @property
    def changes_score(self) -> bool:
        return bool(self.checks) or self.total is not None


def _number(value, where: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise OverrideError(f"{where}: {value!r} is not a number")
    return float(value)


def _parse_entry(name: str, spec, path: Path) -> Override:
    where = f'{path}: [submissions."{name}"]'
    if not isinstance(spec, dict):
        raise OverrideError(f"{where} must be a table")
    unknown = set(spec) - KEYS
    if unknown:
        raise OverrideError(f"{where}: unknown keys {sorted(unknown)} (known: {sorted(KEYS)})")
    checks = spec.get("checks", {})
    if not isinstance(checks, dict):
        raise OverrideError(f"{where}: checks must be a table such as {{ beta = 30 }}")
    extension: datetime | timedelta | None = None
    if "extension_days" in spec and "extended_due" in spec:
        raise OverrideError(f"{where}: give extension_days or extended_due, not both")
    if "extension_days" in spec:
        extension = timedelta(days=_number(spec["extension_days"], f"{where} extension_days"))
    elif "extended_due" in spec:
        try:
            extension = parse_moment(spec["extended_due"])
        except LateError as error:
            raise OverrideError(f"{where} extended_due: {error}") from None
    at = spec.get("at", "")
    return Override(
        submission=name,
        checks={k: _number(v, f"{where} checks.{k}") for k, v in checks.items()},
        total=None if "total" not in spec else _number(spec["total"], f"{where} total"),
        note=str(spec.get("note", "")).strip(),
        by=str(spec.get("by", "")).strip(),
        at=at.isoformat() if isinstance(at, datetime) else str(at),
        extension=extension,
    )


def load_overrides(path: Path) -> dict[str, Override]:
    """The overrides in ``path``; an empty set when the file does not exist."""
    if not path.is_file():
        return {}
    try:
        spec = tomllib.loads(path.read_text("utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as error:
        raise OverrideError(f"{path}: {error}") from None
    unknown = set(spec) - {"submissions"}
    if unknown:
        raise OverrideError(f'{path}: unknown tables {sorted(unknown)}; use [submissions."<file>"]')
    return {
        name: _parse_entry(name, entry, path) for name, entry in spec.get("submissions", {}).items()
    }


def validate(
    overrides: dict[str, Override], entries: dict[str, dict], max_score: float, path: Path
) -> None:
    """Every override names a submission of the batch and a check it was judged on, with
    points within that check's range."""
    problems = []
    for name, override in overrides.items():
        entry = entries.get(name)
        if entry is None:
            close = [s for s in entries if s.lower().startswith(name.lower()[:4])][:3]
            hint = f" (did you mean {', '.join(close)}?)" if close else ""
            problems.append(f'"{name}" is not a submission of this batch{hint}')
            continue
        judged = {c["name"]: c for c in entry["checks"]}
        for check, points in override.checks.items():
            if check not in judged:
                known = ", ".join(judged) or "none: it was not judged"
                problems.append(f'"{name}": no check {check!r} (its checks: {known})')
            elif not 0 <= points <= (most := judged[check]["max_points"]):
                problems.append(f'"{name}": {check} = {points:g} is outside 0 .. {most:g}')
        if override.total is not None and not 0 <= override.total <= max_score:
            problems.append(f'"{name}": total = {override.total:g} is outside 0 .. {max_score:g}')
    if problems:
        raise OverrideError(f"{path}: " + "; ".join(problems))
