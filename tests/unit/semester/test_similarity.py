"""The similarity report: copies are paired with their source, honest solutions are not,
and what a common TensorFlow seed explains is not held against anyone."""

from __future__ import annotations

import json
import time
from types import SimpleNamespace

import numpy as np

from grader.semester import similarity
from grader.semester.fingerprint import fingerprint_notebook, normalised_tokens, seeds_in
from tests import semester_notebooks as sn

HISTORY, WEIGHTS, seeded = sn.HISTORY, sn.WEIGHTS, sn.seeded


def fingerprint(cells, outputs=None) -> dict:
    return fingerprint_notebook(json.loads(json.dumps(sn.notebook(cells, outputs))))


def honest_class(count: int = 20, start: int = 0) -> list[similarity.Submission]:
    return [
        similarity.Submission(f"student_{i:02d}.ipynb", fingerprint(sn.honest(i)))
        for i in range(start, start + count)
    ]


def test_renaming_variables_and_removing_comments_changes_nothing():
    source = sn.own_solution()
    copied = sn.renamed_without_comments(source, sn.COPY_RENAMES)
    assert copied != source and "#" not in "".join(copied[2:])
    assert [normalised_tokens(c) for c in copied] == [normalised_tokens(c) for c in source]


def test_a_disguised_copy_is_paired_with_its_source_and_nobody_else():
    source = sn.own_solution()
    copied = sn.renamed_without_comments(source, sn.COPY_RENAMES)
    submissions = [
        *honest_class(),
        similarity.Submission("source.ipynb", fingerprint(source)),
        similarity.Submission("copy.ipynb", fingerprint(copied)),
    ]
    pairs, _ = similarity.find_pairs(submissions)
    assert [(p.a, p.b) for p in pairs] == [("copy.ipynb", "source.ipynb")]
    assert pairs[0].reasons == ["code"] and pairs[0].code_similarity >= 0.4
    # the cells side by side, as each student wrote them
    shown = "".join(c["a_source"] + c["b_source"] for c in pairs[0].cells)
    assert "def make_regressor(n_features):" in shown and "def build (k ):" in shown


def test_twenty_independent_honest_notebooks_are_not_paired():
    for start in (0, 20, 40, 60):  # several classes, to be sure it is no accident
        pairs, limit = similarity.find_pairs(honest_class(20, start))
        assert pairs == [] and limit == 3


def test_identical_saved_outputs_pair_a_file_copied_with_its_outputs():
    cells = sn.honest(3)
    saved = {4: [sn.result(HISTORY)], 5: [sn.result(WEIGHTS, 2)]}
    mine = similarity.Submission("mine.ipynb", fingerprint(cells, saved))
    # the copier rewrote the code in their own way, and kept the friend's outputs
    theirs = similarity.Submission("theirs.ipynb", fingerprint(sn.honest(4), saved))
    pairs, _ = similarity.find_pairs([*honest_class(), mine, theirs])
    assert [(p.a, p.b) for p in pairs] == [("mine.ipynb", "theirs.ipynb")]
    assert pairs[0].reasons == ["outputs"]
    assert {o["text"] for o in pairs[0].outputs} == {HISTORY, WEIGHTS}


def test_the_same_seed_explains_the_same_training_outputs():
    weights = {5: [sn.result(WEIGHTS, 2)]}  # what set_seed(43052) gives everyone
    a = similarity.Submission("a.ipynb", fingerprint(seeded(sn.honest(5)), weights))
    b = similarity.Submission("b.ipynb", fingerprint(seeded(sn.honest(6)), weights))
    assert a.seeds == {43052}
    pairs, _ = similarity.find_pairs([*honest_class(), a, b])
    assert pairs == []
    # an object's address is new in every run: no seed explains it
    address = {4: [sn.result(HISTORY)], **weights}
    a = similarity.Submission("a.ipynb", fingerprint(seeded(sn.honest(5)), address))
    b = similarity.Submission("b.ipynb", fingerprint(seeded(sn.honest(6)), address))
    pairs, _ = similarity.find_pairs([*honest_class(), a, b])
    assert len(pairs) == 1 and pairs[0].reasons == ["outputs"]
    assert pairs[0].seed_explains and [o["text"] for o in pairs[0].unexplained_outputs] == [HISTORY]


def fit(before):
    return SimpleNamespace(weights_before=(np.array(before, dtype=np.float32).reshape(2, 1),))


def test_the_same_random_start_pairs_unless_a_common_seed_explains_it():
    start = similarity.random_looking_starts([fit([0.52441216, -1.1035917])])
    assert start == ("[0.524412155, -1.10359168]",)
    assert similarity.random_looking_starts([fit([-5.0, 10.0])]) == ()  # the lecture's
    a = similarity.Submission("a.ipynb", fingerprint(sn.honest(7)), start)
    b = similarity.Submission("b.ipynb", fingerprint(sn.honest(8)), start)
    pairs, _ = similarity.find_pairs([*honest_class(), a, b])
    assert [(p.a, p.b, p.reasons) for p in pairs] == [("a.ipynb", "b.ipynb", ["start"])]
    # tf.random.set_seed alone does not fix the start in the grader's Keras: no excuse
    a = similarity.Submission("a.ipynb", fingerprint(seeded(sn.honest(7))), start)
    b = similarity.Submission("b.ipynb", fingerprint(seeded(sn.honest(8))), start)
    pairs, _ = similarity.find_pairs([*honest_class(), a, b])
    assert [p.reasons for p in pairs] == [["start"]] and pairs[0].common_seeds == [43052]
    # Keras's own set_random_seed does
    keras_seeded = [seeded(sn.honest(i), call=sn.KERAS_SEED) for i in (7, 8)]
    a = similarity.Submission("a.ipynb", fingerprint(keras_seeded[0]), start)
    b = similarity.Submission("b.ipynb", fingerprint(keras_seeded[1]), start)
    assert similarity.find_pairs([*honest_class(), a, b])[0] == []


def test_seeds_are_read_from_code_not_comments():
    assert seeds_in(normalised_tokens("tf.keras.utils.set_random_seed(7)\n")) == [7]
    assert seeds_in(normalised_tokens("# tf.random.set_seed(1)\nx = 1")) == []
    assert seeds_in(normalised_tokens("keras.utils.set_random_seed( 43052 )")) == [43052]


def test_notebooks_that_do_not_parse_are_still_fingerprinted():
    broken = fingerprint(["%matplotlib inline\nx = (1,", "!pip install foo\nnet.fit(X, y)"])
    assert len(broken["cells"]) == 2 and all(c["shingles"] for c in broken["cells"])


def test_two_thousand_submissions_take_seconds_not_hours():
    rng = np.random.default_rng(0)
    given = rng.integers(0, 2**62, 150).tolist()  # the code everyone is given
    variants = [rng.integers(0, 2**62, 40).tolist() for _ in range(8)]  # common ways
    submissions = []
    for i in range(2000):
        own = rng.integers(0, 2**62, 120).tolist()  # each student's own lines
        shingles = given + variants[i % 8] + own
        cells = [{"index": 1, "source": "", "shingles": shingles}]
        submissions.append(similarity.Submission(f"s{i:04d}", {"cells": cells, "outputs": []}))
    copied = submissions[7].fingerprint
    submissions.append(similarity.Submission("copy", copied))
    started = time.perf_counter()
    pairs, limit = similarity.find_pairs(submissions)
    assert time.perf_counter() - started < 5 and limit == 101
    assert [(p.a, p.b) for p in pairs] == [("copy", "s0007")]
