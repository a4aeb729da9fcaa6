"""The batch's reports, opened in headless Chromium."""

from __future__ import annotations

import pytest

from tests.integration.browser import BROKEN_IMAGES, browser, open_page
from tests.integration.test_batch import result

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def chromium():
    with browser() as instance:
        yield instance


@pytest.mark.parametrize(
    "name",
    [
        "01_homework.ipynb",
        "02_lecture.ipynb",
        "07_not_converged.ipynb",
        "16_kernel_exit.ipynb",
        "17_broken.ipynb",
        "숙제_홍길동.ipynb",
    ],
)
def test_student_report_renders(batch, chromium, name):
    path = batch["out"] / "submissions" / name / "report.html"
    page, problems = open_page(chromium, path)
    assert problems == []
    assert page.evaluate(BROKEN_IMAGES) == []
    shown = float(page.inner_text("#score-value"))
    assert shown == result(batch, name)["score"]
    text = page.inner_text("body")
    assert "점수" in text or "채점" in text  # the Korean page, the default language
    for check in result(batch, name)["checks"]:
        assert check["message"].replace("`", "") in text  # `code` is set as code
    page.close()


def test_student_report_shows_both_figures(batch, chromium):
    page, _ = open_page(
        chromium, batch["out"] / "submissions" / "01_homework.ipynb" / "report.html"
    )
    widths = page.evaluate("Array.from(document.images).map(i => i.naturalWidth)")
    assert len(widths) == 3 and min(widths) > 100  # the student's, the grader's, the loss
    page.close()


def test_class_report_sorts_by_score(batch, chromium):
    page, problems = open_page(chromium, batch["out"] / "index.html")
    assert problems == []
    assert page.evaluate(BROKEN_IMAGES) == []
    assert page.locator("#class tbody tr").count() == len(batch["by_name"])

    def scores():
        return [
            float(v)
            for v in page.eval_on_selector_all(
                "#class tbody tr td:nth-child(3)", "cells => cells.map(c => c.dataset.value)"
            )
        ]

    page.click("#class th:nth-child(3)")
    ascending = scores()
    assert ascending == sorted(ascending) and ascending[0] < ascending[-1]
    page.click("#class th:nth-child(3)")
    assert scores() == sorted(ascending, reverse=True)
    assert "자주 틀린 항목" in page.inner_text("body")
    page.close()
