"""HTML reports from results, with jinja2: one self-contained page per student (inline
CSS and images, opens from disk) and the class's index page."""

from __future__ import annotations

import base64
import html
import io
import json
from pathlib import Path

import numpy as np
from jinja2 import Environment, PackageLoader, select_autoescape

from grader.assignment import Assignment
from grader.expressions import evaluate
from grader.reference import reference_for
from grader.result import Result, results_document

_ENV = Environment(
    loader=PackageLoader("grader.report", "templates"),
    autoescape=select_autoescape(["html", "j2"]),
    trim_blocks=True,
    lstrip_blocks=True,
)

TEXT = {
    "ko": {
        "score": "점수",
        "checks": "채점 항목",
        "status": "상태",
        "beta": "β",
        "yours": "제출한 β",
        "ols": "OLS",
        "keras_range": "정해진 학습(30 epochs)의 범위",
        "your_figure": "제출한 그림",
        "grader_figure": "채점기가 그린 그림",
        "loss": "학습 손실",
        "errors": "오류가 난 셀",
        "no_figure": "그림이 없습니다.",
        "messages": "채점 메모",
        "class": "반 전체",
        "submission": "제출 파일",
        "score_distribution": "점수 분포",
        "report": "보고서",
        "cell": "셀",
    },
    "en": {
        "score": "Score",
        "checks": "Checks",
        "status": "Status",
        "beta": "β",
        "yours": "Your β",
        "ols": "OLS",
        "keras_range": "Range of the prescribed training",
        "your_figure": "Your figure",
        "grader_figure": "The grader's figure",
        "loss": "Training loss",
        "errors": "Cells that raised",
        "no_figure": "No figure.",
        "messages": "Notes",
        "class": "Class",
        "submission": "Submission",
        "score_distribution": "Score distribution",
        "report": "Report",
        "cell": "cell",
        "data": "observed",
        "your_fit": "your fit",
        "band": "curves the training can give",
    },
}


def _png(figure) -> str:
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=80, bbox_inches="tight")
    import matplotlib.pyplot as plt

    plt.close(figure)
    return base64.b64encode(buffer.getvalue()).decode("ascii")


def _pyplot():
    import matplotlib

    matplotlib.use("Agg", force=True)
    import matplotlib.pyplot as plt

    return plt


def grader_figure(result: Result, assignment: Assignment) -> str:
    """The data, the student's curve, the OLS curve and the band of the prescribed
    training's curves (extremes of a linear function over a polytope lie at corners)."""
    plt = _pyplot()
    reference = reference_for(assignment)
    text = TEXT["en"]  # figure labels stay English: no Hangul font is assumed
    x = reference.x
    features = np.stack([evaluate(f, x) for f in assignment.features], axis=1)
    corner_curves = features @ reference.reachable.corners().T
    figure, axes = plt.subplots(figsize=(6, 3.6))
    axes.fill_between(
        x,
        corner_curves.min(axis=1),
        corner_curves.max(axis=1),
        color="#f4c27a",
        alpha=0.6,
        label=text["band"],
    )
    axes.plot(x, reference.y, "o", ms=3, color="#555", label=text["data"])
    axes.plot(x, features @ reference.beta_ols, "-", color="#1f77b4", label="OLS")
    if result.beta is not None:
        axes.plot(
            x, features @ np.array(result.beta), "--", color="#d62728", label=text["your_fit"]
        )
    axes.legend(fontsize=8)
    axes.set_xlabel("x")
    axes.set_ylabel("y")
    return _png(figure)


def loss_figure(loss_history: list[float]) -> str | None:
    if not loss_history:
        return None
    plt = _pyplot()
    figure, axes = plt.subplots(figsize=(4, 2.4))
    axes.plot(range(1, len(loss_history) + 1), loss_history, "-o", ms=2)
    axes.set_yscale("log")
    axes.set_xlabel("epoch")
    axes.set_ylabel("loss")
    return _png(figure)


def student_figure(facts_path: Path, figure: int | None) -> str | None:
    """The PNG of the graded figure, as the student's notebook rendered it."""
    if figure is None or not facts_path.is_file():
        return None
    records = json.loads(facts_path.read_text("utf-8"))["records"]
    pngs = [
        r["payload"].get("png_base64")
        for r in records
        if r["kind"] == "figure" and r["payload"].get("figure") == figure
    ]
    return pngs[-1] if pngs and pngs[-1] else None


def render_student_report(
    result: Result, assignment: Assignment, lang: str, figure_png: str | None
) -> str:
    reference = reference_for(assignment)
    corners = reference.reachable.corners()
    ranges = [
        (float(corners[:, j].min()), float(corners[:, j].max())) for j in range(corners.shape[1])
    ]
    return _ENV.get_template("student.html.j2").render(
        result=result,
        assignment=assignment,
        lang=lang,
        text=TEXT[lang],
        title=assignment.title.get(lang, assignment.name),
        beta_rows=[
            {
                "name": name,
                "yours": None if result.beta is None else result.beta[j],
                "ols": float(reference.beta_ols[j]),
                "range": ranges[j],
            }
            for j, name in enumerate(assignment.beta_names)
        ],
        student_png=figure_png,
        grader_png=grader_figure(result, assignment) if result.status != "invalid" else None,
        loss_png=loss_figure(result.extras.get("loss_history", [])),
    )


def write_student_report(
    result: Result,
    assignment: Assignment,
    out: Path,
    lang: str,
    beside: bool = False,
    facts_path: Path | None = None,
) -> Path:
    """Write the report; in a batch to OUT/submissions/<name>/report.html, for
    ``grader check`` beside the notebook as <name>.report.html."""
    if beside:
        path = out / f"{Path(result.submission).stem}.report.html"
    else:
        path = out / "submissions" / result.submission / "report.html"
        facts_path = facts_path or path.with_name("facts.json")
    page = render_student_report(
        result, assignment, lang, student_figure(facts_path, result.figure) if facts_path else None
    )
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(page, "utf-8")
    return path


def write_class_report(out: Path, assignment: Assignment, lang: str) -> Path:
    """OUT/index.html from OUT/results.json."""
    document = (
        json.loads((out / "results.json").read_text("utf-8"))
        if (out / "results.json").is_file()
        else results_document(assignment.name, [])
    )
    submissions = document["submissions"]
    check_names = list(assignment.check_points)
    scores = [s["score"] for s in submissions]
    failures: dict[str, int] = {}
    for s in submissions:
        for c in s["checks"]:
            if not c["passed"] and c.get("diagnosis"):
                failures[c["diagnosis"]] = failures.get(c["diagnosis"], 0) + 1
    page = _ENV.get_template("index.html.j2").render(
        assignment=assignment,
        lang=lang,
        text=TEXT[lang],
        submissions=submissions,
        title=assignment.title.get(lang, assignment.name),
        check_names=check_names,
        histogram=_histogram(scores, assignment.max_score),
        failures=sorted(failures.items(), key=lambda kv: -kv[1]),
        quote=html.escape,
    )
    path = out / "index.html"
    path.write_text(page, "utf-8")
    return path


def _histogram(scores: list[float], max_score: float) -> str | None:
    if not scores:
        return None
    plt = _pyplot()
    figure, axes = plt.subplots(figsize=(5, 2.4))
    axes.hist(scores, bins=np.linspace(0, max_score, 11), color="#4c72b0", edgecolor="white")
    axes.set_xlabel("score")
    axes.set_ylabel("submissions")
    return _png(figure)
