"""Command line: argument parsing and console output only.

  grader grade DIR --out OUT [--jobs N]    grade a folder (instructor, LMS batch job)
                  [--dask tcp://HOST:8786 | --dask local:N]   ... on a Dask cluster
  grader check NOTEBOOK                    one notebook: a table and a report (student)
  grader assignments                       the assignments installed with the grader
  grader export OUT --format F[,F...]      write more formats from OUT/results.json
  grader rejudge OUT                       judge again from stored facts (no kernel)
  grader gradescope                        Gradescope's run_autograder contract
  grader reference build [ASSIGNMENT]      regenerate reference/<assignment>/reference.json

Exit codes: grade, export and gradescope: 0 when grading happened, whatever the scores;
check: 0 when every check passes, 1 when some fail; 2 on a usage error or when the grader
itself failed; 130 when interrupted (Ctrl-C), with every finished result kept.
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import sys
import tempfile
from pathlib import Path

from grader.startup import skip_slow_imports

skip_slow_imports()  # before nbformat is imported (grader/startup.py says why)

from grader import __version__  # noqa: E402

# The rest of the grader is imported when a command needs it: ``grade`` and ``check``
# start the warm pool's parent first (it imports TensorFlow meanwhile).


def load_assignment(name_or_path):
    from grader.assignment import load_assignment as load

    return load(name_or_path)


EXIT_OK, EXIT_FAILED_CHECKS, EXIT_USAGE = 0, 1, 2
EXIT_INTERRUPTED = 128 + 2  # SIGINT, as a shell reports Ctrl-C
DEFAULT_FORMATS = "html,csv"
GRADESCOPE_SUBMISSION = Path("/autograder/submission")
GRADESCOPE_RESULTS = Path("/autograder/results/results.json")
GRADESCOPE_METADATA = Path("/autograder/submission_metadata.json")


class Progress:
    """rich's progress bar, redrawn in place on a terminal; on a pipe or a log (CI, LMS)
    only the one line per submission that is printed either way."""

    def __init__(self, total: int, stream=sys.stderr):
        from rich.console import Console
        from rich.progress import BarColumn, MofNCompleteColumn, TextColumn, TimeElapsedColumn
        from rich.progress import Progress as Bar

        self.bar = Bar(
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            TextColumn("{task.description}"),
            console=Console(file=stream, highlight=False),
            # off a terminal rich would print the finished bar once at the end: leave it out
            disable=not stream.isatty(),
        )
        self.task = self.bar.add_task("", total=total)

    def __enter__(self) -> Progress:
        self.bar.start()
        return self

    def __exit__(self, *exc_info) -> None:
        self.bar.stop()

    def __call__(self, done, count: int, total: int) -> None:
        score = f"{done.score:g}/{done.max_score:g}" + (" (unchanged)" if done.reused else "")
        self.bar.console.print(
            f"[{count}/{total}] {done.submission}: {done.status} {score}",
            markup=False,
            soft_wrap=True,  # one line per submission, however long its name
        )
        self.bar.update(self.task, completed=count, total=total, description=done.submission)


def _limits(args: argparse.Namespace, hidden: tuple[Path, ...] = (), stream=sys.stderr):
    from grader.run.executor import Limits
    from grader.run.sandbox import SandboxPolicy, isolation_summary

    policy = SandboxPolicy(
        memory_bytes=int(args.memory_limit * 1024**3),
        disk_bytes=int(args.disk_limit * 1024**2),
        max_processes=args.max_processes,
        uid=args.sandbox_uid,
        allow_network=args.allow_network,
        hidden_folders=tuple(p.resolve() for p in hidden),
    )
    sys.stdout.flush()  # our lines stay whole and in order when both streams share a terminal
    print(isolation_summary(policy), file=stream, flush=True)
    from grader.run.output_cap import OutputCaps

    return Limits(
        cell_timeout_s=args.cell_timeout,
        notebook_timeout_s=args.notebook_timeout,
        sandbox=policy,
        output=OutputCaps(
            per_cell_bytes=int(args.max_cell_output_mib * 1024**2),
            per_notebook_bytes=int(args.max_notebook_output_mib * 1024**2),
        ),
    )


def _formats(text: str) -> list[str]:
    from grader.report import EXPORTERS

    formats = [f.strip() for f in text.split(",") if f.strip()]
    unknown = [f for f in formats if f not in EXPORTERS]
    if unknown:
        raise argparse.ArgumentTypeError(
            f"unknown format {', '.join(unknown)} (known: {', '.join(sorted(EXPORTERS))})"
        )
    return formats


def _add_common(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--assignment",
        default="exp_decay",
        help="an installed assignment's name (see: grader assignments), or a path to "
        "an assignment folder or its TOML (default: exp_decay)",
    )
    parser.add_argument(
        "--lang",
        choices=("ko", "en"),
        default="ko",
        help="language of messages and reports (default: ko)",
    )


def _add_limits(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--cell-timeout",
        type=float,
        default=120.0,
        metavar="S",
        help="seconds one cell may run before it is interrupted (120)",
    )
    parser.add_argument(
        "--notebook-timeout",
        type=float,
        default=600.0,
        metavar="S",
        help="seconds one notebook may run in all (600)",
    )
    parser.add_argument(
        "--memory-limit",
        type=float,
        default=4.0,
        metavar="GIB",
        help="address space a kernel may use, in GiB; 0 for none (4)",
    )
    parser.add_argument(
        "--disk-limit",
        type=float,
        default=512.0,
        metavar="MIB",
        help="room for files a kernel writes (its working folder and /tmp), in MiB (512)",
    )
    parser.add_argument(
        "--max-processes",
        type=int,
        default=256,
        metavar="N",
        help="processes and threads one kernel may run (256)",
    )
    parser.add_argument(
        "--sandbox-uid",
        type=int,
        default=65534,
        metavar="UID",
        help="unprivileged user id kernels run as when the grader is root (65534, nobody)",
    )
    parser.add_argument(
        "--allow-network",
        action="store_true",
        help="let student code reach the network (off by default)",
    )
    parser.add_argument(
        "--max-cell-output-mib",
        type=float,
        default=1.0,
        metavar="MIB",
        help="output kept per cell, in MiB; the rest is dropped with a note (1)",
    )
    parser.add_argument(
        "--max-notebook-output-mib",
        type=float,
        default=32.0,
        metavar="MIB",
        help="output kept per notebook, all cells together, in MiB (32)",
    )


def _add_export(parser: argparse.ArgumentParser, default: str | None) -> None:
    parser.add_argument(
        "--format",
        type=_formats,
        default=_formats(default) if default else None,
        required=default is None,
        metavar="F[,F...]",
        help="output formats: html, csv, gradescope, canvas "
        f"(default: {default or 'none'}); results.json is always written",
    )
    parser.add_argument(
        "--canvas-id-pattern",
        default=None,
        metavar="REGEX",
        help="regular expression with a group 'id' (and optionally 'name') "
        "taking the Canvas user id from a file name",
    )
    parser.add_argument(
        "--canvas-column",
        default=None,
        metavar="'NAME (ID)'",
        help="Canvas gradebook header, the assignment's name and id: 'Homework 6 (123456)' "
        "(default: [canvas] of the assignment file)",
    )


def _add_semester(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--overrides",
        type=Path,
        default=None,
        metavar="FILE",
        help="the instructor's overrides and extensions (default: OUT/overrides.toml)",
    )
    parser.add_argument(
        "--submitted-at",
        type=Path,
        default=None,
        metavar="CSV",
        help="submission times, columns submission,submitted_at (ISO 8601); kept in OUT",
    )


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="grader", description=__doc__.split("\n\n")[0])
    parser.add_argument("--version", action="version", version=f"grader {__version__}")
    commands = parser.add_subparsers(dest="command", required=True)

    grade = commands.add_parser("grade", help="grade every notebook in a folder")
    grade.add_argument("folder", type=Path)
    grade.add_argument("--out", type=Path, required=True, help="output folder")
    grade.add_argument(
        "--jobs",
        type=int,
        default=os.cpu_count() or 1,
        help="notebooks run at once (default: the number of cores)",
    )
    grade.add_argument(
        "--force", action="store_true", help="grade every notebook again, even unchanged ones"
    )
    grade.add_argument(
        "--dask",
        default=None,
        metavar="ADDRESS",
        help="grade on a Dask cluster: a scheduler's address (tcp://HOST:8786), or local:N "
        "for N worker processes here; --jobs is then per worker (needs the [dask] extra)",
    )
    grade.add_argument(
        "--no-pool",
        action="store_true",
        help="start a plain kernel per notebook instead of forking warm ones",
    )
    _add_common(grade)
    _add_limits(grade)
    _add_export(grade, DEFAULT_FORMATS)
    _add_semester(grade)

    check = commands.add_parser("check", help="check one notebook before handing it in")
    check.add_argument("notebook", type=Path)
    check.add_argument(
        "--out",
        type=Path,
        default=None,
        help="folder for the report (default: beside the notebook)",
    )
    check.add_argument(
        "--no-pool",
        action="store_true",
        help="start a plain kernel instead of forking one from a warm parent",
    )
    _add_common(check)
    _add_limits(check)

    listing = commands.add_parser("assignments", help="list the installed assignments")
    listing.add_argument(
        "--lang", choices=("ko", "en"), default="ko", help="language of the titles (ko)"
    )

    export = commands.add_parser("export", help="write formats from OUT/results.json")
    export.add_argument("out", type=Path)
    _add_common(export)
    _add_export(export, None)
    _add_semester(export)

    rejudge = commands.add_parser(
        "rejudge", help="judge every submission again from its stored facts, without a kernel"
    )
    rejudge.add_argument("out", type=Path)
    rejudge.add_argument(
        "--assignment",
        default="exp_decay",
        help="assignment name under assignments/, or a path to its TOML (default: exp_decay)",
    )
    rejudge.add_argument(
        "--lang",
        choices=("ko", "en"),
        default=None,
        help="language of messages and reports (default: each submission's own)",
    )
    _add_export(rejudge, "")
    _add_semester(rejudge)

    gradescope = commands.add_parser("gradescope", help="run as Gradescope's run_autograder")
    gradescope.add_argument(
        "--submission",
        type=Path,
        default=GRADESCOPE_SUBMISSION,
        help=f"folder holding the notebook ({GRADESCOPE_SUBMISSION})",
    )
    gradescope.add_argument(
        "--results",
        type=Path,
        default=GRADESCOPE_RESULTS,
        help=f"where the results go ({GRADESCOPE_RESULTS})",
    )
    gradescope.add_argument(
        "--metadata",
        type=Path,
        default=GRADESCOPE_METADATA,
        help=f"Gradescope's submission metadata, for the late policy ({GRADESCOPE_METADATA})",
    )
    _add_common(gradescope)
    _add_limits(gradescope)

    reference = commands.add_parser("reference", help="reference results")
    reference_commands = reference.add_subparsers(dest="reference_command", required=True)
    build = reference_commands.add_parser("build", help="regenerate reference.json")
    build.add_argument("assignment", nargs="?", default="exp_decay")
    build.add_argument(
        "--seeds",
        type=int,
        default=None,
        help="Keras seeds to confirm the set with (default: the assignment's)",
    )
    return parser


def _export_options(args: argparse.Namespace, lang: str | None = None):
    from grader.report import ExportOptions

    options = ExportOptions(lang=lang or args.lang, canvas_column=args.canvas_column)
    if args.canvas_id_pattern:
        return dataclasses.replace(options, canvas_id_pattern=args.canvas_id_pattern)
    return options


def _finish(args, out: Path, document: dict, assignment, previous, rerender_all=False):
    """The semester's step (overrides, late policy, similarity), its summary on stderr."""
    from grader.report.exporters import canvas_column
    from grader.semester.console import report_finished
    from grader.semester.finish import SemesterOptions, finish

    options = SemesterOptions(args.overrides, args.submitted_at)
    finished = finish(out, document, assignment, options, previous, rerender_all)
    column = canvas_column(assignment, _export_options(args))
    report_finished(finished, column if "canvas" in (args.format or []) else None)
    return finished.document


def cmd_grade(args: argparse.Namespace) -> int:
    from grader.batch import BatchOptions, DaskUnavailable, find_submissions, grade_folder
    from grader.report import export_all
    from grader.semester.console import previous_document
    from grader.semester.finish import SemesterOptions, check_inputs, write_fingerprints

    if not args.folder.is_dir():
        print(f"grader: {args.folder} is not a folder", file=sys.stderr)
        return EXIT_USAGE
    if args.jobs < 1:
        print("grader: --jobs must be at least 1", file=sys.stderr)
        return EXIT_USAGE
    if args.dask is not None:
        problem = _dask_problem(args.dask)
        if problem:
            print(f"grader: --dask: {problem}", file=sys.stderr)
            return EXIT_USAGE
    assignment = load_assignment(args.assignment)
    submissions = find_submissions(args.folder)
    total = len(submissions)
    check_inputs(
        args.out, SemesterOptions(args.overrides, args.submitted_at), [p.name for p in submissions]
    )
    where = f"with {args.jobs} job(s)"
    if args.dask is not None:
        where = f"on Dask {args.dask} with {args.jobs} job(s) per worker"
    print(
        f"grading {total} notebook(s) in {args.folder} for '{assignment.name}' {where}",
        file=sys.stderr,
    )
    args.out.mkdir(parents=True, exist_ok=True)
    limits = _limits(args, hidden=(args.out,))
    options = BatchOptions(
        jobs=args.jobs,
        limits=limits,
        lang=args.lang,
        force=args.force,
        pool=not args.no_pool,
        dask=args.dask,
    )
    previous = previous_document(args.out)
    with Progress(total) as progress:
        try:
            document = grade_folder(
                args.folder, args.out, assignment, options, progress, args.source
            )
        except DaskUnavailable as error:
            print(f"grader: --dask: {error}", file=sys.stderr)
            return EXIT_USAGE
    write_fingerprints(submissions, args.out)
    document = _finish(args, args.out, document, assignment, previous)
    written = export_all(args.format, document, args.out, assignment, _export_options(args))
    submissions = document["submissions"]
    counts = {
        s: sum(r["status"] == s for r in submissions)
        for s in ("graded", "invalid", "timeout", "error")
    }
    print("  ".join(f"{k}: {v}" for k, v in counts.items()))
    print(f"results: {args.out / 'results.json'}")
    for path in written:
        print(f"         {path}")
    internal = [r["submission"] for r in submissions if r["extras"].get("internal_error")]
    if internal:
        print(f"grader: internal errors on {', '.join(internal)}", file=sys.stderr)
        return EXIT_USAGE
    return EXIT_OK


def _dask_problem(address: str) -> str | None:
    """Why ``--dask address`` cannot work here (Dask missing, a malformed local:N)."""
    try:
        from grader.distributed import parse_address
    except ImportError as error:
        return str(error)
    try:
        parse_address(address)
    except ValueError as error:
        return str(error)
    return None


def cmd_check(args: argparse.Namespace) -> int:
    from grader.api import grade_notebook
    from grader.report import write_student_report
    from grader.run.pool import PlainSource, start_or_plain

    if not args.notebook.is_file():
        print(f"grader: {args.notebook} is not a file", file=sys.stderr)
        return EXIT_USAGE
    assignment = load_assignment(args.assignment)
    out = args.out or args.notebook.resolve().parent
    report = out / f"{args.notebook.stem}.report.html"
    with tempfile.TemporaryDirectory(prefix="grader-check-") as facts_dir:
        result = grade_notebook(
            args.notebook,
            assignment,
            limits=_limits(args, stream=sys.stdout),
            lang=args.lang,
            facts_dir=Path(facts_dir),
            source=start_or_plain(args.source) if args.source else PlainSource(),
        )
        write_student_report(result, assignment, report, args.lang, Path(facts_dir) / "facts.json")
    print(f"{result.submission}: {result.status}, {result.score:g} / {result.max_score:g}")
    for message in result.messages:
        print(f"  {message}")
    for check in result.checks:
        mark = "✓" if check.passed else "✗"
        print(
            f"  {mark} {check.name:<11} {check.points:>5g}/{check.max_points:<4g} {check.message}"
        )
    print(f"report: {report}")
    passed = result.status == "graded" and all(c.passed for c in result.checks)
    return EXIT_OK if passed else EXIT_FAILED_CHECKS


def cmd_assignments(args: argparse.Namespace) -> int:
    from grader.assignment import ASSIGNMENTS_DIR, installed_assignments

    found = installed_assignments()
    width = max((len(a.name) for a in found), default=4)
    print(f"{'name':<{width}}  languages  title")
    for summary in found:
        title = summary.title.get(args.lang) or next(iter(summary.title.values()), "")
        if summary.error:
            title = f"(does not load: {summary.error})"
        print(f"{summary.name:<{width}}  {','.join(summary.languages) or '-':<9}  {title}")
    print(f"({len(found)} in {ASSIGNMENTS_DIR}; pass another folder with --assignment PATH)")
    return EXIT_OK


def cmd_export(args: argparse.Namespace) -> int:
    from grader.report import export_all
    from grader.report.exporters import load_document

    if not (args.out / "results.json").is_file():
        print(f"grader: no results.json in {args.out}", file=sys.stderr)
        return EXIT_USAGE
    assignment = load_assignment(args.assignment)
    document = load_document(args.out)
    document = _finish(args, args.out, document, assignment, document)
    for path in export_all(args.format, document, args.out, assignment, _export_options(args)):
        print(path)
    return EXIT_OK


def cmd_rejudge(args: argparse.Namespace) -> int:
    from grader.report import export_all
    from grader.semester import console
    from grader.semester.rejudge import rejudge_folder

    assignment = load_assignment(args.assignment)
    previous = console.previous_document(args.out)
    rejudged = rejudge_folder(args.out, assignment, args.lang)
    present = ["html", *console.formats_in(args.out)]  # the class page, and what OUT holds
    args.format = list(dict.fromkeys([*(args.format or []), *present]))
    document = _finish(args, args.out, rejudged.document, assignment, previous, rerender_all=True)
    lang = console.documents_language(document, args.lang)
    written = export_all(args.format, document, args.out, assignment, _export_options(args, lang))
    console.report_rejudged(rejudged, previous, document)
    for path in written:
        print(f"written: {path}")
    return EXIT_OK


def cmd_gradescope(args: argparse.Namespace) -> int:
    """Grade the one notebook in the submission folder; write Gradescope's results."""
    from grader.api import grade_notebook
    from grader.report.exporters import gradescope_result
    from grader.result import write_json_atomic

    assignment = load_assignment(args.assignment)
    notebooks = sorted(args.submission.rglob("*.ipynb")) if args.submission.is_dir() else []
    notebooks = [p for p in notebooks if ".ipynb_checkpoints" not in p.parts]
    if not notebooks:
        reason = assignment.message(
            "status.invalid", args.lang, reason=f"no .ipynb file was submitted ({args.submission})"
        )
        write_json_atomic(args.results, {"score": 0.0, "output": reason, "tests": []})
        print(reason)
        return EXIT_OK
    result = grade_notebook(notebooks[0], assignment, limits=_limits(args), lang=args.lang)
    document = gradescope_result(
        _gradescope_adjusted(result.to_json(), assignment, args), assignment
    )
    if len(notebooks) > 1:
        document["output"] += (
            f"\n(graded {notebooks[0].name}; {len(notebooks) - 1} other notebook(s) ignored)"
        )
    write_json_atomic(args.results, document)
    print(f"{result.submission}: {result.status}, {result.score:g} / {result.max_score:g}")
    return EXIT_OK


def _gradescope_adjusted(entry: dict, assignment, args: argparse.Namespace) -> dict:
    """The late policy, with the time Gradescope's metadata gives (no metadata: on time)."""
    from grader.semester.adjust import adjust
    from grader.semester.late import gradescope_time

    if assignment.late is None or not args.metadata.is_file():
        return entry
    return adjust(entry, assignment, None, gradescope_time(args.metadata))


def cmd_reference(args: argparse.Namespace) -> int:
    from grader.reference import build_reference, build_stack_reference, reference_path

    assignment = load_assignment(args.assignment)
    # a multi-question assignment: one file per linear question (the other families'
    # references are computed from each student's own data when judging)
    for question in assignment.questions:
        if question.family == "dense_stack":
            document = build_stack_reference(question)
            low, high = document["mse_range"]
            print(
                f"{reference_path(question)}: {document['starts']} starts, "
                f"MSE {low:.4g} … {high:.4g}"
            )
    parts = [q for q in assignment.questions if q.family == "linear"] or [assignment]
    for part in parts:
        document = build_reference(part, args.seeds)
        worst = max(r["distance_to_set"] for r in document["keras_runs"])
        print(
            f"{reference_path(part)}: OLS {document['beta_ols']}, "
            f"{len(document['keras_runs'])} Keras runs, largest distance to the set {worst:.2g}"
            f" (tolerance {document['tolerance']:.2g})"
        )
    return EXIT_OK


COMMANDS = {
    "grade": cmd_grade,
    "check": cmd_check,
    "assignments": cmd_assignments,
    "export": cmd_export,
    "rejudge": cmd_rejudge,
    "gradescope": cmd_gradescope,
    "reference": cmd_reference,
}


def _early_parent(argv: list[str]):
    """The warm pool's parent, started before the grader imports anything heavy when the
    command line looks like ``grade`` or ``check`` with the pool: it imports TensorFlow
    and ipykernel (about 2 s) while the grader imports, reads the assignment and the
    notebooks.  ``_early_pool`` keeps it or stops it once the arguments are parsed."""
    if not argv or argv[0] not in ("grade", "check"):
        return None
    if any(a in ("--no-pool", "-h", "--help") or a.startswith("--dask") for a in argv):
        return None
    from grader.run.parent import Zygote

    return Zygote()


def _early_pool(args: argparse.Namespace, parent):
    """The pool for ``grade`` and ``check`` (its parent already started), or None when
    plain kernels or Dask were asked for."""
    wanted = args.command in ("grade", "check") and not args.no_pool
    if not wanted or getattr(args, "dask", None):
        if parent is not None:
            parent.close()
        return None
    from grader.run.pool import ForkSource

    jobs = max(1, args.jobs) if args.command == "grade" else 0
    source = ForkSource(ready_kernels=jobs, zygote=parent)
    source.spawn()  # started here if the early look at the arguments missed it
    return source


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    parent = _early_parent(argv)
    try:
        args = build_parser().parse_args(argv)
    except BaseException:  # a usage error or --help: no pool to keep
        if parent is not None:
            parent.close()
        raise
    args.source = _early_pool(args, parent)
    from grader.assignment import AssignmentError
    from grader.semester import RejudgeError
    from grader.semester.late import LateError
    from grader.semester.overrides import OverrideError

    try:
        return COMMANDS[args.command](args)
    except (AssignmentError, OverrideError, LateError, RejudgeError) as error:
        print(f"grader: {error}", file=sys.stderr)
        return EXIT_USAGE
    except OSError as error:
        print(f"grader: {error}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        print("grader: interrupted; finished results are in the output folder", file=sys.stderr)
        return EXIT_INTERRUPTED
    finally:
        if args.source is not None:
            args.source.close()


if __name__ == "__main__":
    sys.exit(main())
