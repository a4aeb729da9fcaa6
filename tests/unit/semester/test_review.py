"""The review queue: everything that needs a person, first on the class page."""

from __future__ import annotations

import json

from grader.report.html import render_class_report
from grader.semester.review import needs_review_reasons, review_queue


def test_needs_review_flags_in_every_shape():
    assert needs_review_reasons({"extras": {}}) == []
    judged = {"needs_review": True, "review": ["the training cannot be replayed"]}
    assert needs_review_reasons(judged) == ["the training cannot be replayed"]
    assert needs_review_reasons({"needs_review": True}) == ["needs review"]

    def flagged(flag):
        return needs_review_reasons({"extras": {"needs_review": flag}})

    assert flagged(True) == ["needs review"]
    assert flagged("replay failed") == ["replay failed"]
    assert flagged(["gc", "ctypes"]) == ["gc", "ctypes"]
    assert flagged({"reasons": ["audit: /proc"]}) == ["audit: /proc"]


def test_queue_collects_flags_statuses_pairs_and_silent_overrides(graded_out, exp_decay):
    document = json.loads((graded_out / "results.json").read_text("utf-8"))
    entries = {e["submission"]: e for e in document["submissions"]}
    entries["kim_101_1_hw.ipynb"]["needs_review"] = True
    entries["kim_101_1_hw.ipynb"]["review"] = ["training could not be replayed"]
    entries["jung_505_5_hw.ipynb"]["adjustments"] = {
        "override": {"checks": {}, "total": 85.0, "note": "", "by": "", "at": ""}
    }
    similarity = {
        "pairs": [
            {
                "a": "lee_202_2_hw.ipynb",
                "b": "park_303_3_hw.ipynb",
                "reasons": ["code"],
                "code_similarity": 0.8,
                "shared_shingles": 90,
                "identical_outputs": [],
                "same_starts": [],
                "common_seeds": [],
                "explained_by_seed": False,
                "cells": [{"a_cell": 3, "a_source": "net = 1", "b_cell": 4, "b_source": "m = 1"}],
            }
        ]
    }
    queue = {e.submission: [r.kind for r in e.reasons] for e in review_queue(document, similarity)}
    assert queue == {
        "kim_101_1_hw.ipynb": ["needs_review"],
        "kang_606_6_hw.ipynb": ["status"],  # invalid
        "jung_505_5_hw.ipynb": ["override_without_note"],
        "lee_202_2_hw.ipynb": ["similar"],
        "park_303_3_hw.ipynb": ["similar"],
    }
    page = render_class_report(document, exp_decay, "en", similarity)
    assert page.index('id="review"') < page.index("<figure") < page.index('id="class"')
    assert '<a href="#pair-1">park_303_3_hw.ipynb (code)</a>' in page
    assert 'id="pair-1"' in page and "<pre>m = 1</pre>" in page
    assert "training could not be replayed" in page


def test_an_empty_queue_says_so(graded_out, exp_decay):
    document = json.loads((graded_out / "results.json").read_text("utf-8"))
    document["submissions"] = [e for e in document["submissions"] if e["status"] == "graded"]
    page = render_class_report(document, exp_decay, "en", {"pairs": []})
    assert "No submission needs a person." in page and "No pair looks copied." in page
