"""The student's and the class's pages in Korean: figure text, check names, statuses,
code spans and the most frequent failures, from saved facts of real runs."""

import base64
import re

from grader.api import judge_facts
from grader.judge import RunSummary
from grader.report import render_class_report, render_student_report
from grader.report.html import failure_counts
from grader.result import results_document

RUN = RunSummary("completed", None, (), 600.0)
LATIN_WORD = re.compile(r"[A-Za-z]{2,}")


def svg_texts(page: str) -> list[str]:
    """The text elements of every SVG figure embedded in ``page``."""
    texts = []
    for encoded in re.findall(r"data:image/svg\+xml;base64,([A-Za-z0-9+/=]+)", page):
        svg = base64.b64decode(encoded).decode("utf-8")
        texts += re.findall(r"<text[^>]*>([^<]*)</text>", svg)
    return texts


def test_korean_report_figures_speak_korean(saved_facts, exp_decay):
    result = judge_facts("hw.ipynb", saved_facts("01_homework"), RUN, exp_decay, lang="ko")
    page = render_student_report(result, exp_decay, "ko", None)
    texts = svg_texts(page)
    for label in (
        "관측값",
        "최소제곱 추정",
        "제출한 적합",
        "케라스 30에포크 학습의 범위",
        "에포크",
        "손실",
    ):
        assert label in texts, label
    # only axis letters and β names may be Latin in a Korean figure
    assert [t for t in texts if LATIN_WORD.search(t)] == []
    english = svg_texts(render_student_report(result, exp_decay, "en", None))
    assert "observed" in english and "your fit" in english and "epoch" in english


def test_korean_report_names_checks_and_status_in_korean(saved_facts, exp_decay):
    result = judge_facts("hw.ipynb", saved_facts("09_no_plot"), RUN, exp_decay, lang="ko")
    page = render_student_report(result, exp_decay, "ko", None)
    assert "<td>그림: 적합 곡선</td>" in page and "<td>plot_curve</td>" not in page
    assert ">채점됨</span>" in page
    assert "<code>plt.plot(x, y, &#39;o&#39;)</code>" in page  # `code` set as code
    assert "`" not in page.split('<table id="checks">')[1].split("</table>")[0]


def test_class_page_counts_each_failure_once_per_submission(saved_facts, exp_decay):
    files = {"a.ipynb": "08_numpy_only", "b.ipynb": "08_numpy_only", "c.ipynb": "01_homework"}
    results = [
        judge_facts(name, saved_facts(fixture), RUN, exp_decay, lang="ko").to_json()
        for name, fixture in files.items()
    ]
    # a numpy-only answer fails keras, trained and beta with the same diagnosis
    assert sum(c["diagnosis"] == "no_keras" for c in results[0]["checks"]) >= 2
    failures = dict(failure_counts(results, exp_decay, "ko"))
    assert failures["케라스 모델이 없습니다"] == 2
    assert not any("_" in sentence for sentence in failures)
    page = render_class_report(results_document("exp_decay", results), exp_decay, "ko")
    table = page[page.index('id="failures"') :].split("</table>")[0]
    assert "no_keras" not in table and "케라스 모델이 없습니다" in table
    axis = svg_texts(page)
    assert "점수" in axis and "제출 수" in axis and "반 학생들" in axis
