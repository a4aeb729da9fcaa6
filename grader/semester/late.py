"""The late policy as assignment data, and where a submission's time comes from.

The policy (``[late]`` in assignment.toml) follows Canvas's late policy, so that the
grader and the gradebook agree:

  due = 2026-12-01T23:59:00        a local time in ``time_zone`` (or with an offset)
  time_zone = "Asia/Seoul"
  per = "day"                      or "hour": a period started late counts whole
  deduction_percent = 10           of the total, per period
  floor_percent = 50               Canvas's "lowest possible grade": the deduction never
                                   takes a score below this share of the total
  grace_minutes = 15               this late or less is on time

A submission's time comes from the LMS (Gradescope's ``submission_metadata.json``, a CSV
given with ``--submitted-at``); Canvas's bulk download only marks a file ``late`` without
its time, which is flagged for review rather than guessed.  File modification times are
never used.
"""

from __future__ import annotations

import csv
import json
import math
import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

PERIODS = {"day": timedelta(days=1), "hour": timedelta(hours=1)}
# Canvas's bulk download: "<name>_late_<user id>_<attachment id>_<file>"
CANVAS_LATE_MARK = re.compile(r"^[^_]+_late_\d+_")
POLICY_KEYS = {"due", "time_zone", "per", "deduction_percent", "floor_percent", "grace_minutes"}


class LateError(ValueError):
    """A late policy, a submission time or an extension that cannot be read."""


@dataclass(frozen=True)
class LatePolicy:
    due: datetime  # aware
    time_zone: str
    per: str  # "day" | "hour"
    deduction_percent: float
    floor_percent: float = 0.0
    grace: timedelta = timedelta(0)

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.time_zone)

    def aware(self, moment: datetime) -> datetime:
        """A time without an offset is read in the policy's time zone."""
        return moment if moment.tzinfo is not None else moment.replace(tzinfo=self.zone)


def _zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise LateError(f"unknown time zone {name!r} (an IANA name such as 'Asia/Seoul')") from None


def parse_moment(value, zone: ZoneInfo | None = None) -> datetime:
    """A TOML datetime or an ISO 8601 text; without an offset it is read in ``zone``."""
    if isinstance(value, datetime):
        moment = value
    elif isinstance(value, str):
        text = value.strip().replace("Z", "+00:00")
        try:
            moment = datetime.fromisoformat(text)
        except ValueError:
            raise LateError(f"not a date and time: {value!r} (ISO 8601 expected)") from None
    else:
        raise LateError(f"not a date and time: {value!r}")
    if moment.tzinfo is None and zone is not None:
        moment = moment.replace(tzinfo=zone)
    return moment


def parse_late_policy(table: dict | None) -> LatePolicy | None:
    """The ``[late]`` table of an assignment file, or None when there is none."""
    if not table:
        return None
    unknown = set(table) - POLICY_KEYS
    if unknown:
        raise LateError(f"[late] has unknown keys {sorted(unknown)}; known: {sorted(POLICY_KEYS)}")
    for key in ("due", "time_zone", "per", "deduction_percent"):
        if key not in table:
            raise LateError(f"[late] needs {key!r}")
    zone_name = str(table["time_zone"])
    zone = _zone(zone_name)
    per = str(table["per"])
    if per not in PERIODS:
        raise LateError(f"[late] per = {per!r}: 'day' or 'hour'")
    deduction = float(table["deduction_percent"])
    floor = float(table.get("floor_percent", 0.0))
    grace = float(table.get("grace_minutes", 0.0))
    if not (0 <= deduction <= 100 and 0 <= floor <= 100 and grace >= 0):
        raise LateError("[late] percentages lie in [0, 100] and grace_minutes is not negative")
    return LatePolicy(
        due=parse_moment(table["due"], zone),
        time_zone=zone_name,
        per=per,
        deduction_percent=deduction,
        floor_percent=floor,
        grace=timedelta(minutes=grace),
    )


@dataclass(frozen=True)
class SubmissionTime:
    """When a submission was handed in, and who says so."""

    at: str | None  # ISO 8601 as the source gave it; None when only "late" is known
    source: str  # "csv:<file>", "gradescope", "canvas"
    extension_s: float | None = None  # an extension the LMS itself records, in seconds

    def to_json(self) -> dict:
        return {"at": self.at, "source": self.source, "extension_s": self.extension_s}

    @classmethod
    def from_json(cls, spec: dict) -> SubmissionTime:
        return cls(spec.get("at"), str(spec.get("source", "?")), spec.get("extension_s"))


@dataclass(frozen=True)
class Assessment:
    """The late policy applied to one submission."""

    submitted_at: datetime | None
    due: datetime  # the due date that applies (an extension's, if any)
    late_by: timedelta | None
    periods: int
    deduction: float  # points taken off
    floored: bool  # the floor limited the deduction
    known: bool  # the time is known (Canvas's bare "late" mark is not)
    source: str
    extended: bool

    def to_json(self) -> dict:
        return {
            "submitted_at": self.submitted_at.isoformat() if self.submitted_at else None,
            "due": self.due.isoformat(),
            "late_by_s": self.late_by.total_seconds() if self.late_by is not None else None,
            "periods": self.periods,
            "deduction": self.deduction,
            "floored": self.floored,
            "time_known": self.known,
            "source": self.source,
            "extended": self.extended,
        }


def effective_due(policy: LatePolicy, extension: datetime | timedelta | None) -> datetime:
    if extension is None:
        return policy.due
    if isinstance(extension, timedelta):
        return policy.due + extension
    return max(policy.due, policy.aware(extension))


def assess(
    policy: LatePolicy,
    time: SubmissionTime | None,
    score: float,
    max_score: float,
    extension: datetime | timedelta | None = None,
) -> Assessment | None:
    """The deduction for one submission; None when its time is not known at all."""
    if time is None:
        return None
    if time.extension_s is not None and extension is None:
        extension = timedelta(seconds=time.extension_s)
    due = effective_due(policy, extension)
    extended = due != policy.due
    if time.at is None:
        return Assessment(None, due, None, 0, 0.0, False, False, time.source, extended)
    submitted = parse_moment(time.at, policy.zone)
    late_by = submitted - due
    if late_by <= policy.grace:
        periods = 0
    else:
        periods = math.ceil(late_by / PERIODS[policy.per])
    wanted = periods * policy.deduction_percent / 100 * max_score
    allowed = max(0.0, score - policy.floor_percent / 100 * max_score)
    deduction = round(min(wanted, allowed), 6)
    return Assessment(
        submitted,
        due,
        late_by,
        periods,
        deduction,
        deduction < round(wanted, 6),
        True,
        time.source,
        extended,
    )


# -- where times come from ---------------------------------------------------------------
def read_times_csv(path: Path) -> dict[str, SubmissionTime]:
    """A CSV with a header ``submission,submitted_at`` (ISO 8601; without an offset the
    policy's time zone applies).  A row that cannot be read is an error naming it."""
    try:
        text = path.read_text("utf-8-sig")
    except (OSError, UnicodeDecodeError) as error:
        raise LateError(f"{path}: cannot read ({error})") from None
    reader = csv.DictReader(text.splitlines())
    if reader.fieldnames is None or not {"submission", "submitted_at"} <= set(reader.fieldnames):
        raise LateError(f"{path}: the header must name the columns 'submission' and 'submitted_at'")
    times = {}
    for number, row in enumerate(reader, start=2):
        name, moment = (row["submission"] or "").strip(), (row["submitted_at"] or "").strip()
        if not name:
            continue
        try:
            parse_moment(moment)
        except LateError as error:
            raise LateError(f"{path}, line {number}: {error}") from None
        times[name] = SubmissionTime(moment, f"csv:{path.name}")
    return times


def gradescope_time(metadata_path: Path) -> SubmissionTime:
    """From Gradescope's /autograder/submission_metadata.json: ``created_at`` is the
    submission time.  When a user's own ``assignment.due_date`` (an extension granted in
    Gradescope) is later than the assignment's, the difference extends the due date."""
    try:
        metadata = json.loads(metadata_path.read_text("utf-8"))
        created = str(metadata["created_at"])
        parse_moment(created)
    except (OSError, ValueError, KeyError, TypeError) as error:
        raise LateError(f"{metadata_path}: no readable created_at ({error})") from None
    extension = None
    try:
        assignment_due = (metadata.get("assignment") or {}).get("due_date")
        for user in metadata.get("users") or []:
            own_due = ((user or {}).get("assignment") or {}).get("due_date")
            if own_due and assignment_due:
                gained = (parse_moment(own_due) - parse_moment(assignment_due)).total_seconds()
                if gained > 0:
                    extension = max(extension or 0.0, gained)
    except (LateError, TypeError, AttributeError):
        extension = None  # an unreadable extension is no extension
    return SubmissionTime(created, "gradescope", extension)


def canvas_late_mark(submission: str) -> bool:
    """Canvas's bulk download puts ``late`` after the student's name of a late file."""
    return CANVAS_LATE_MARK.match(submission) is not None
