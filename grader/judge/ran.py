"""ran: the notebook executed to its end; cells that raised are listed, free of charge."""

from grader.judge.base import Case, Outcome, Phrase

CELL_TIMEOUT_ENAME = "CellTimeoutError"


def check_ran(case: Case) -> Outcome:
    run = case.run
    if run.status == "timeout":
        return Outcome(False, "ran.timeout", {"limit": f"{run.notebook_timeout_s:g}"}, "timeout")
    if run.status == "dead":
        return Outcome(False, "ran.dead", {"reason": run.reason or "?"}, "kernel_died")
    if run.status != "completed":
        return Outcome(False, "ran.failed", {"reason": run.reason or "?"}, "not_run")
    memory = [str(n) for n, ename, _ in run.failed_cells if ename == "MemoryError"]
    if memory and run.memory_limit_bytes:
        return Outcome(
            True,
            "ran.memory",
            {"cells": ", ".join(memory), "limit": f"{run.memory_limit_bytes / 1024**3:g}"},
        )
    if run.failed_cells:
        cells = [
            Phrase("ran.cell_timed_out", {"cell": n, "limit": f"{run.cell_timeout_s:g}"})
            if ename == CELL_TIMEOUT_ENAME and run.cell_timeout_s
            else f"[{n}] {ename}: {evalue[:80]}"
            for n, ename, evalue in run.failed_cells
        ]
        return Outcome(True, "ran.ok_with_errors", {"count": len(run.failed_cells), "cells": cells})
    return Outcome(True, "ran.ok")
