"""Every message a student or instructor can see, in both languages: the Korean ones
are Korean throughout (code in backticks is the only Latin), with no particle that
depends on a filled-in value; both languages have the same keys and fields."""

from __future__ import annotations

import ast
import re
import string
from pathlib import Path

import pytest

from grader.assignment import ASSIGNMENTS_DIR, Number, load_assignment

ASSIGNMENTS = sorted(p.parent.name for p in ASSIGNMENTS_DIR.glob("*/assignment.toml"))
JUDGE_DIR = Path(__file__).resolve().parents[2] / "grader" / "judge"


def _fields(template: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(template) if name}


def _prose(template: str) -> str:
    """The template without `code` spans and {fields}: what must be Korean."""
    return re.sub(r"\{[^{}]*\}", " ", re.sub(r"`[^`]*`", " ", template))


@pytest.mark.parametrize("name", ASSIGNMENTS)
def test_korean_messages_have_no_latin_words_outside_code(name):
    messages = load_assignment(name).messages
    latin = {
        key: re.findall(r"[A-Za-z][A-Za-z0-9_.]*", _prose(text))
        for key, text in messages["ko"].items()
    }
    assert {k: v for k, v in latin.items() if v} == {}
    assert len(messages["ko"]) > 40  # every key was looked at


@pytest.mark.parametrize("name", ASSIGNMENTS)
def test_korean_messages_use_no_either_or_particles(name):
    """`셀 2이(가)` reads badly: pick the particle that fits, or wording that needs none;
    and no particle right after a filled-in value, whose last sound is unknown."""
    for key, text in load_assignment(name).messages["ko"].items():
        assert not re.search(r"\((이|가|을|를|은|는|과|와|으로|로)\)", text), key
        after_field = re.findall(r"\}\)?(이|가|을|를|은|는|과|와|으로|로)(?![가-힣])", text)
        assert after_field == [], (key, text)


@pytest.mark.parametrize("name", ASSIGNMENTS)
def test_both_languages_have_the_same_keys_and_fields(name):
    messages = load_assignment(name).messages
    assert set(messages["ko"]) == set(messages["en"])
    for key in messages["ko"]:
        # Korean may leave out a field that only holds English text (an error message)
        assert _fields(messages["ko"][key]) <= _fields(messages["en"][key]), key


def test_numbers_in_messages_read_without_e_notation(exp_decay):
    text = exp_decay.message(
        "trained.replayed", "ko", steps=30, deviation=6.5e-07, tolerance=3.1e-05
    )
    assert "6.5×10⁻⁷" in text and "3.1×10⁻⁵" in text and "e-0" not in text
    assert f"{Number(2.5):.3f}" == "2.500" and f"{Number(1e12):g}" == "1×10¹²"
    assert f"{Number(0.0):.1e}" == "0" and f"{Number(2.5):.1e}" == "2.5"


def _diagnoses_in_the_judge() -> set[str]:
    """Every diagnosis tag an Outcome(...) in grader/judge/ can carry."""
    tags = set()
    for path in JUDGE_DIR.glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text("utf-8"))):
            if isinstance(node, ast.Call) and getattr(node.func, "id", None) == "Outcome":
                values = node.args[3:4] + [k.value for k in node.keywords if k.arg == "diagnosis"]
                tags |= {v.value for v in values if isinstance(v, ast.Constant) and v.value}
    return tags


def test_every_diagnosis_has_a_sentence_for_the_class_page(exp_decay):
    tags = _diagnoses_in_the_judge()
    assert {"no_keras", "set_by_hand", "wrong_features", "not_converged"} <= tags
    for tag in tags:
        for lang in ("ko", "en"):
            assert f"diagnosis.{tag}" in exp_decay.messages[lang], (tag, lang)
