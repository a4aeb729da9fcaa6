"""Replay math against saved facts of real Keras runs (tests/fixtures/replay, with
their provenance): every recorded step of mini-batch SGD, momentum, Adam and RMSprop is
recomputed in float64 and lands within its derived float32 tolerance, while a step off
by a little more than float32 explains is caught."""

from __future__ import annotations

import dataclasses
import time
from pathlib import Path

import numpy as np
import pytest

from grader.evidence import is_homework_fit
from grader.facts import load_facts
from grader.judge.trained import _batches, _design, assess_fit, optimizer_spec
from grader.replay import OptimizerSpec, replay_steps

FIXTURES = Path(__file__).parents[1] / "fixtures" / "replay"
RUNS = {
    "minibatch_default": ("SGD", 120),
    "momentum": ("SGD", 30),
    "adam": ("Adam", 300),
    "rmsprop_minibatch": ("RMSprop", 1000),
    "logging_callbacks": ("SGD", None),  # EarlyStopping may end it early
}


def homework_fit(name, reference):
    facts = load_facts(FIXTURES / f"{name}.json")
    return next(f for f in facts.fits if is_homework_fit(f, reference))


def replay(fit):
    inputs, targets, rows = _design(fit)
    return replay_steps(
        inputs, targets, optimizer_spec(fit), fit.steps.before, fit.steps.after,
        _batches(fit, rows),
    )  # fmt: skip


@pytest.mark.parametrize("name", sorted(RUNS))
def test_every_recorded_step_of_a_real_run_replays(name, reference):
    fit = homework_fit(name, reference)
    optimizer, steps = RUNS[name]
    assert fit.optimizer.builtin == optimizer
    if steps is not None:
        assert len(fit.steps.before) == steps
    started = time.perf_counter()
    outcome, report, _ = assess_fit(fit, None)
    assert time.perf_counter() - started < 0.5
    assert outcome is None, outcome
    assert report.matches and report.worst_ratio <= 1.0


@pytest.mark.parametrize("name", sorted(RUNS))
def test_a_step_off_by_more_than_float32_explains_is_caught(name, reference):
    fit = homework_fit(name, reference)
    report, _ = replay(fit)
    k = len(fit.steps.after) // 2
    after = fit.steps.after.copy()
    # ten times the tolerance of that step, on its first weight
    inputs, targets, rows = _design(fit)
    batches = _batches(fit, rows)
    single, _ = replay_steps(inputs, targets, optimizer_spec(fit), fit.steps.before, after, batches)
    nudge = 10 * single.tolerances[k]
    after[k, 0] += nudge
    tampered, _ = replay_steps(
        inputs, targets, optimizer_spec(fit), fit.steps.before, after, batches
    )
    assert not tampered.matches and tampered.worst_step == k
    assert single.tolerances.max() < 1e-4  # float32 explains little: the replay is tight


def test_minibatch_batches_cover_every_row_once_per_epoch(reference):
    fit = homework_fit("minibatch_default", reference)
    batches = _batches(fit, 100)
    assert [len(b) for b in batches[:4]] == [32, 32, 32, 4]
    assert sorted(np.concatenate(batches[4:8]).tolist()) == list(range(100))
    assert not np.array_equal(np.concatenate(batches[:4]), np.concatenate(batches[4:8]))


def test_rows_from_the_wrong_epoch_break_the_replay(reference):
    fit = homework_fit("minibatch_default", reference)
    rows = list(fit.steps.rows)
    rows[4], rows[5] = rows[5], rows[4]  # same epoch, two batches swapped
    swapped = dataclasses.replace(fit, steps=dataclasses.replace(fit.steps, rows=tuple(rows)))
    outcome, _, _ = assess_fit(swapped, None)
    assert outcome is not None and outcome.diagnosis == "replay_mismatch"


def test_replaying_with_the_wrong_optimizer_fails(reference):
    fit = homework_fit("adam", reference)
    inputs, targets, rows = _design(fit)
    as_sgd = OptimizerSpec("sgd", fit.optimizer.learning_rate)
    report, _ = replay_steps(
        inputs, targets, as_sgd, fit.steps.before, fit.steps.after, _batches(fit, rows)
    )
    assert not report.matches


def test_momentum_state_matters(reference):
    fit = homework_fit("momentum", reference)
    inputs, targets, rows = _design(fit)
    spec = dataclasses.replace(optimizer_spec(fit), momentum=0.0)
    report, _ = replay_steps(
        inputs, targets, spec, fit.steps.before, fit.steps.after, _batches(fit, rows)
    )
    assert not report.matches
