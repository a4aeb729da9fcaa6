"""ran: the notebook executed to its end; cells that raised are listed, free of charge.
A cell that hit one of the sandbox's limits (memory, disk, processes) is named with it."""

from grader.judge.base import Case, Outcome, Phrase, RunSummary

CELL_TIMEOUT_ENAME = "CellTimeoutError"

# What a cell's error looks like when the sandbox's limit stopped it.
DISK_SIGNS = ("No space left on device", "File too large", "Errno 28", "Errno 27")
PROCESS_SIGNS = ("can't start new thread", "Resource temporarily unavailable", "Errno 11")


def limits_hit(run: RunSummary) -> list[tuple[str, list[int], str]]:
    """(limit name, cell numbers, the limit) for each sandbox limit a cell ran into."""
    found: dict[str, list[int]] = {}
    for number, ename, evalue in run.failed_cells:
        text = f"{ename}: {evalue}"
        if ename == "MemoryError" and run.memory_limit_bytes:
            found.setdefault("memory", []).append(number)
        elif run.disk_limit_bytes and any(s in text for s in DISK_SIGNS):
            found.setdefault("disk", []).append(number)
        elif run.max_processes and any(s in text for s in PROCESS_SIGNS):
            found.setdefault("processes", []).append(number)
    limits = {
        "memory": f"{run.memory_limit_bytes / 1024**3:g}",
        "disk": f"{run.disk_limit_bytes / 1024**2:g}",
        "processes": f"{run.max_processes}",
    }
    return [(name, cells, limits[name]) for name, cells in found.items()]


def check_ran(case: Case) -> Outcome:
    run = case.run
    if run.status == "timeout":
        return Outcome(False, "ran.timeout", {"limit": f"{run.notebook_timeout_s:g}"}, "timeout")
    if run.status == "dead":
        return Outcome(False, "ran.dead", {"reason": run.reason or "?"}, "kernel_died")
    if run.status != "completed":
        return Outcome(False, "ran.failed", {"reason": run.reason or "?"}, "not_run")
    hits = limits_hit(run)
    if hits:
        name, cells, limit = hits[0]
        others = [
            Phrase(f"ran.also.{n}", {"cells": ", ".join(map(str, c)), "limit": lim})
            for n, c, lim in hits[1:]
        ]
        return Outcome(
            True,
            f"ran.limit.{name}",
            {"cells": ", ".join(map(str, cells)), "limit": limit, "others": others},
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
