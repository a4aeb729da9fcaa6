"""HTML pages with jinja2: one self-contained page per student (inline CSS and images,
nothing fetched, opens from disk) and the class's index page."""

from __future__ import annotations

import json
import re
from pathlib import Path

from jinja2 import Environment, PackageLoader, select_autoescape
from markupsafe import Markup, escape

from grader.assignment import Assignment
from grader.names import folder_name
from grader.reference import reference_for
from grader.report import figures
from grader.result import Result

_ENV = Environment(
    loader=PackageLoader("grader.report", "templates"),
    autoescape=select_autoescape(["html", "j2"]),
    trim_blocks=True,
    lstrip_blocks=True,
)
_ENV.filters["folder"] = folder_name  # a submission's folder under OUT/submissions


def code_spans(text: str) -> Markup:
    """A message with its `code` spans set as code (messages write code in backticks)."""
    return Markup(re.sub(r"`([^`]+)`", r"<code>\1</code>", str(escape(text))))


_ENV.filters["code_spans"] = code_spans

TEXT = {
    "ko": {
        "score": "점수",
        "needs_review": "교수자 확인 필요",
        "review_withheld": "케라스 모델, 학습, β 값의 점수는 교수자가 확인할 때까지 보류됩니다.",
        "checks": "채점 항목",
        "questions": "문제별 점수",
        "not_graded_questions": (
            "케라스 문제만 자동으로 채점합니다. 나머지 문제(GradientTape, 손으로 푸는 문제, "
            "참/거짓)는 자동 채점하지 않습니다."
        ),
        "status": "상태",
        "beta": "β",
        "yours": "제출한 β",
        "ols": "최소제곱 추정값",
        "keras_range": "정해진 학습의 범위",
        "your_figure": "제출한 그림",
        "grader_figure": "채점기가 그린 그림",
        "loss": "학습 손실",
        "errors": "오류가 난 셀",
        "no_figure": "그림이 없습니다.",
        "messages": "채점 메모",
        "class": "반 전체",
        "submissions": "제출",
        "submission": "제출 파일",
        "score_distribution": "점수 분포",
        "report": "보고서",
        "cell": "셀",
        "failures": "자주 틀린 항목",
        "class_beta": "반 전체의 β",
        "diagnosis": "진단",
        "count": "제출 수",
        "status_graded": "채점됨",
        "status_invalid": "노트북 아님",
        "status_timeout": "시간 초과",
        "status_error": "실행 오류",
        # the grader's figures
        "band": "케라스 {epochs}에포크 학습의 범위",
        "observed": "관측값",
        "ols_curve": "최소제곱 추정",
        "your_fit": "제출한 적합",
        "epoch": "에포크",
        "loss_axis": "손실",
        "score_axis": "점수",
        "submissions_axis": "제출 수",
        "class_points": "반 학생들",
        "automatic_score": "자동 채점 점수",
        "final_score": "최종 점수",
        "adjustments": "점수 조정",
        "auto": "자동",
        "review": "검토할 제출",
        "review_empty": "사람이 볼 제출이 없습니다.",
        "reason": "이유",
        "evidence": "근거",
        "similarity": "비슷한 제출",
        "similarity_none": "베낀 것으로 보이는 쌍이 없습니다.",
        "similarity_note": "자동 감점은 없습니다. 근거를 보고 판단하세요.",
        "code_similarity": "코드 유사도",
        "identical_outputs": "같은 출력",
        "same_start": "같은 초기 가중치",
        "seed_explains": "두 노트북 모두 같은 시드({seeds})를 쓰므로 같은 학습 출력은 "
        "예상되는 일이며 근거가 되지 않습니다.",
        "seed_explains_start": "채점기에서 기록된 같은 초기 가중치도 이 시드로 설명됩니다.",
        "reason_needs_review": "검토 필요",
        "reason_similar": "비슷한 제출",
        "reason_status": "상태",
        "reason_override_without_note": "메모 없는 점수 변경",
        "reason_late_unknown": "늦은 제출, 시각 모름",
        "reasons_code": "코드",
        "reasons_outputs": "출력",
        "reasons_start": "초기 가중치",
    },
    "en": {
        "score": "Score",
        "needs_review": "Needs review",
        "review_withheld": "the keras, trained and beta points wait for an instructor.",
        "checks": "Checks",
        "questions": "Score per question",
        "not_graded_questions": (
            "Only the Keras questions are graded automatically; the others "
            "(GradientTape, analytic solutions, true/false) are not."
        ),
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
        "submissions": "submissions",
        "submission": "Submission",
        "score_distribution": "Score distribution",
        "report": "Report",
        "cell": "cell",
        "failures": "Most frequent failures",
        "class_beta": "The class's β",
        "diagnosis": "Diagnosis",
        "count": "Submissions",
        "status_graded": "graded",
        "status_invalid": "invalid",
        "status_timeout": "timeout",
        "status_error": "error",
        # the grader's figures
        "band": "{epochs}-epoch Keras results",
        "observed": "observed",
        "ols_curve": "OLS",
        "your_fit": "your fit",
        "epoch": "epoch",
        "loss_axis": "loss",
        "score_axis": "score",
        "submissions_axis": "submissions",
        "class_points": "class",
        "automatic_score": "Automatic score",
        "final_score": "Final score",
        "adjustments": "Adjustments",
        "auto": "auto",
        "review": "Needs a person",
        "review_empty": "No submission needs a person.",
        "reason": "Why",
        "evidence": "Evidence",
        "similarity": "Similar submissions",
        "similarity_none": "No pair looks copied.",
        "similarity_note": "No score is changed by this report: look at the evidence and decide.",
        "code_similarity": "code similarity",
        "identical_outputs": "identical outputs",
        "same_start": "same starting weights",
        "seed_explains": "Both notebooks set the same seed ({seeds}): the same training "
        "outputs are expected and prove nothing.",
        "seed_explains_start": "The same start recorded by the grader is explained by it too.",
        "reason_needs_review": "needs review",
        "reason_similar": "similar to",
        "reason_status": "status",
        "reason_override_without_note": "score overridden without a note",
        "reason_late_unknown": "late, time unknown",
        "reasons_code": "code",
        "reasons_outputs": "outputs",
        "reasons_start": "starting weights",
    },
}


def student_figure(facts_path: Path | None, figure: int | None) -> str | None:
    """The PNG of the graded figure, as the student's notebook rendered it."""
    if figure is None or facts_path is None or not facts_path.is_file():
        return None
    return recorded_png(json.loads(facts_path.read_text("utf-8"))["records"], figure)


def recorded_png(records: list | tuple, figure: int | None) -> str | None:
    """The PNG (base64) the probe recorded for ``figure``, if any."""
    if figure is None:
        return None
    pngs = [
        r["payload"].get("png_base64")
        for r in records
        if r["kind"] == "figure" and r["payload"].get("figure") == figure
    ]
    return pngs[-1] if pngs and pngs[-1] else None


def render_student_report(
    result: Result,
    assignment: Assignment,
    lang: str,
    figure_png: str | None,
    adjustments: dict | None = None,
) -> str:
    """``adjustments``: the override and late penalty of results.json (with the automatic
    and the final score), shown each on its own line below the automatic score."""
    graded = result.status != "invalid"
    if assignment.questions:  # several questions: a score per question, no β table
        return _ENV.get_template("student.html.j2").render(
            result=result,
            adjustments=adjustments,
            assignment=assignment,
            lang=lang,
            text=TEXT[lang],
            title=assignment.title.get(lang, assignment.name),
            beta_rows=[],
            questions=result.questions,
            student_png=None,
            check_labels=_check_labels(assignment, lang),
            grader_png=None,
            loss_png=None,
        )
    reference = reference_for(assignment)
    corners = reference.reachable.corners()
    ranges = [
        (float(corners[:, j].min()), float(corners[:, j].max())) for j in range(corners.shape[1])
    ]
    return _ENV.get_template("student.html.j2").render(
        questions=(),
        result=result,
        adjustments=adjustments,
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
        check_labels=_check_labels(assignment, lang),
        grader_png=figures.fit_figure(result.beta, assignment, TEXT[lang]) if graded else None,
        loss_png=figures.loss_figure(result.extras.get("loss_history", []), TEXT[lang]),
    )


def write_student_report(
    result: Result,
    assignment: Assignment,
    path: Path,
    lang: str,
    facts_path: Path | None = None,
    adjustments: dict | None = None,
) -> Path:
    page = render_student_report(
        result, assignment, lang, student_figure(facts_path, result.figure), adjustments
    )
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(page, "utf-8")
    return path


def _check_labels(assignment: Assignment, lang: str) -> dict[str, str]:
    """Each check's name as a reader says it (``check.<name>`` in the messages)."""
    table = assignment.messages.get(lang, {})
    labels = {name: table.get(f"check.{name}", name) for name in assignment.check_points}
    for question in assignment.questions:
        for name in question.check_points:
            own = table.get(f"check.{name}", name)
            labels[f"{question.question}.{name}"] = f"{question.label(lang)} · {own}"
    return labels


def failure_counts(
    submissions: list[dict], assignment: Assignment, lang: str
) -> list[tuple[str, int]]:
    """(the failure said as a sentence, how many submissions show it), most frequent
    first; a submission counts once per failure however many checks report it."""
    counts: dict[str, int] = {}
    for submission in submissions:
        tags = {
            c["diagnosis"] for c in submission["checks"] if not c["passed"] and c.get("diagnosis")
        }
        for tag in tags:
            counts[tag] = counts.get(tag, 0) + 1
    table = assignment.messages.get(lang, {})
    return sorted(
        ((table.get(f"diagnosis.{tag}", tag), count) for tag, count in counts.items()),
        key=lambda pair: (-pair[1], pair[0]),
    )


def render_class_report(
    document: dict, assignment: Assignment, lang: str, similarity: dict | None = None
) -> str:
    """The class page; ``similarity`` is OUT/similarity.json's content, when there is one."""
    from grader.semester.review import review_queue

    submissions = document["submissions"]
    return _ENV.get_template("index.html.j2").render(
        assignment=assignment,
        lang=lang,
        text=TEXT[lang],
        submissions=submissions,
        title=assignment.title.get(lang, assignment.name),
        check_names=list(assignment.check_points),
        beta_names=list(assignment.beta_names),
        check_labels=_check_labels(assignment, lang),
        histogram=figures.histogram(
            [s["score"] for s in submissions], assignment.max_score, TEXT[lang]
        ),
        class_beta=None
        if assignment.questions
        else figures.class_beta_figure([s["beta"] for s in submissions], assignment, TEXT[lang]),
        failures=failure_counts(submissions, assignment, lang),
        review=review_queue(document, similarity),
        similarity=similarity,
    )
