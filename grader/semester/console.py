"""What ``grade``, ``export`` and ``rejudge`` print about the semester's step: how many
results were adjusted, the pairs found, what the instructor should know (times missing,
a Canvas column without an id), and for ``rejudge`` whose score changed and why."""

from __future__ import annotations

import json
import sys
from pathlib import Path

from grader.semester.finish import Finished
from grader.semester.rejudge import Rejudged

MAX_LINES = 60  # of each list; results.json has them all
# the files each exporter writes, so that rejudge rewrites every format OUT already holds
FORMAT_FILES = {"html": "index.html", "csv": "grades.csv", "gradescope": "gradescope"}


def formats_in(out: Path) -> list[str]:
    present = [name for name, file in FORMAT_FILES.items() if (out / file).exists()]
    return present + (["canvas"] if (out / "canvas.csv").exists() else [])


def previous_document(out: Path) -> dict | None:
    try:
        return json.loads((out / "results.json").read_text("utf-8"))
    except (OSError, ValueError):
        return None


def report_finished(finished: Finished, canvas_column: str | None) -> None:
    """``canvas_column``: the header canvas.csv will carry, when it is written."""
    from grader.report.exporters import canvas_column_has_id

    stream = sys.stderr
    adjusted = sum("adjustments" in e for e in finished.document["submissions"])
    print(f"adjusted: {adjusted}  similar pairs: {finished.pairs} (similarity.csv)", file=stream)
    if finished.without_time:
        print(
            f"warning: the late policy applies but {len(finished.without_time)} submission(s) "
            "have no known submission time (treated as on time; give --submitted-at)",
            file=stream,
        )
    if canvas_column is not None and not canvas_column_has_id(canvas_column):
        print(
            f"warning: Canvas column {canvas_column!r} has no assignment id: Canvas will create "
            "a new assignment; give --canvas-column 'Name (id)' or [canvas] in the "
            "assignment file",
            file=stream,
        )


def report_rejudged(rejudged: Rejudged, previous: dict | None, document: dict) -> None:
    each = 1000 * rejudged.seconds / max(rejudged.rejudged, 1)
    print(
        f"rejudged {rejudged.rejudged} submission(s) from their facts in "
        f"{rejudged.seconds:.2f} s ({each:.1f} ms each), no kernel"
    )
    if rejudged.carried:
        print(f"kept as they were (no facts): {', '.join(rejudged.carried)}")
    if rejudged.edited:
        print(
            "warning: not judged again, kept as they were (grade them again with --force): "
            + "; ".join(rejudged.edited),
            file=sys.stderr,
        )
    if rejudged.approximate:
        print(
            "no run.json (graded by an older grader), run summary rebuilt from result.json: "
            + ", ".join(rejudged.approximate)
        )
    moved = sum(c.old_score != c.new_score for c in rejudged.changes)
    print(f"judged otherwise: {len(rejudged.changes)} ({moved} automatic score(s) changed)")
    for change in rejudged.changes[:MAX_LINES]:
        print(f"  {change.describe()}")
    _more(len(rejudged.changes))
    old_final = {e["submission"]: e["score"] for e in (previous or {}).get("submissions", ())}
    finals = [
        (e["submission"], old_final[e["submission"]], e["score"])
        for e in document["submissions"]
        if e["submission"] in old_final and old_final[e["submission"]] != e["score"]
    ]
    print(f"final scores (with overrides and late penalties) changed: {len(finals)}")
    for name, old, new in finals[:MAX_LINES]:
        print(f"  {name}: {old:g} → {new:g}")
    _more(len(finals))


def _more(count: int) -> None:
    if count > MAX_LINES:
        print(f"  ... and {count - MAX_LINES} more (results.json, grades.csv)")


def documents_language(document: dict, chosen: str | None) -> str:
    """The class page's language: the one asked for, else the submissions' own."""
    languages = {e.get("lang", "ko") for e in document["submissions"]}
    return chosen or (languages.pop() if len(languages) == 1 else "ko")
