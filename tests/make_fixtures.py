"""Refresh the saved facts the unit tests judge: facts of real runs.

    grader grade assignments/exp_decay/examples --out OUT
    python -m tests.make_fixtures OUT

PNGs are dropped (the unit tests judge data, not pictures), except for the first
example, which the report tests render.
"""

import json
import sys
from pathlib import Path

FIXTURES = Path(__file__).parent / "fixtures" / "facts"
KEEP_PNG = {"01_homework"}


def main(out: Path) -> None:
    FIXTURES.mkdir(parents=True, exist_ok=True)
    for facts_path in sorted((out / "submissions").glob("*/facts.json")):
        name = Path(facts_path.parent.name).stem
        document = json.loads(facts_path.read_text("utf-8"))
        if name not in KEEP_PNG:
            for record in document["records"]:
                if record["kind"] == "figure":
                    record["payload"]["png_base64"] = None
        (FIXTURES / f"{name}.json").write_text(
            json.dumps(document, ensure_ascii=False, separators=(",", ":")), "utf-8"
        )
        print(f"{name}.json")


if __name__ == "__main__":
    main(Path(sys.argv[1]))
