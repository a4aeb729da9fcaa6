import numpy as np

from grader.judge import judge
from grader.judge.trained import check_trained
from tests.unit.judge.conftest import replace


def test_full_batch_sgd_is_replayed(case):
    outcome = check_trained(case("01_homework"))
    assert outcome.passed and outcome.key == "trained.replayed"
    assert outcome.params["deviation"] <= outcome.params["tolerance"]


def test_scalar_model_with_bias_is_replayed(case):
    outcome = check_trained(case("03_scalar_version"))
    assert outcome.key == "trained.replayed"


def test_set_weights_without_fit_fails(case):
    outcome = check_trained(case("07_set_weights_only"))
    assert not outcome.passed and outcome.diagnosis == "set_by_hand"


def patch_final_weights(facts):
    model = facts.models[-1]
    patched = replace(model, weights=(np.array([[2.46307644], [3.99681332]]),))
    return replace(facts, models=facts.models[:-1] + (patched,))


def test_weights_changed_after_fit_fail(case):
    outcome = check_trained(case("01_homework", edit=patch_final_weights))
    assert not outcome.passed and outcome.diagnosis == "patched"


def tamper_step(facts, step=10, delta=1e-3):
    """A trajectory whose step ``step`` lands elsewhere, with every later record
    consistent with it: the kind of record only a forger or a cheating optimizer makes."""
    fit = facts.fits[-1]
    steps = fit.steps
    before, after = steps.before.copy(), steps.after.copy()
    after[step:] += delta
    before[step + 1 :] += delta
    moved = (fit.weights_after[0] + delta,)
    fit = replace(fit, steps=replace(steps, before=before, after=after), weights_after=moved)
    model = replace(facts.models[-1], weights=moved)
    return replace(facts, fits=facts.fits[:-1] + (fit,), models=facts.models[:-1] + (model,))


def test_a_step_the_optimizer_did_not_take_fails_the_replay(case):
    outcome = check_trained(case("01_homework", edit=tamper_step))
    assert not outcome.passed and outcome.diagnosis == "replay_mismatch"
    assert outcome.params["step"] == 11


def test_weights_written_between_steps_fail(case):
    def written(facts):
        fit = facts.fits[-1]
        before = fit.steps.before.copy()
        before[5] += 1e-3  # the step started from weights that no step produced
        fit = replace(fit, steps=replace(fit.steps, before=before))
        return replace(facts, fits=facts.fits[:-1] + (fit,))

    outcome = check_trained(case("01_homework", edit=written))
    assert not outcome.passed and outcome.diagnosis == "weights_written"
    assert outcome.params["step"] == 6


def test_weights_written_after_the_last_step_fail(case):
    def at_train_end(facts):
        fit = facts.fits[-1]
        moved = (fit.weights_after[0] + 1e-3,)
        fit = replace(fit, weights_after=moved)
        model = replace(facts.models[-1], weights=moved)
        return replace(facts, fits=facts.fits[:-1] + (fit,), models=facts.models[:-1] + (model,))

    outcome = check_trained(case("01_homework", edit=at_train_end))
    assert not outcome.passed and outcome.diagnosis == "weights_written"


def test_fewer_steps_than_the_settings_give_fail(case):
    def minibatch(facts):
        fit = replace(facts.fits[-1], batch_size=10)
        return replace(facts, fits=facts.fits[:-1] + (fit,))

    outcome = check_trained(case("01_homework", edit=minibatch))
    assert not outcome.passed and outcome.diagnosis == "steps_missing"
    assert (outcome.params["found"], outcome.params["expected"]) == (30, 300)


def test_a_start_set_by_hand_fails(case):
    def ols_start(facts):
        fit = facts.fits[-1]
        start = (np.array([[2.46307644], [3.99681332]]),)
        return replace(facts, fits=facts.fits[:-1] + (replace(fit, weights_before=start),))

    outcome = check_trained(case("01_homework", edit=ols_start))
    assert not outcome.passed and outcome.key == "trained.hand_set_start"
    assert outcome.params["high"] == "1.414"


def test_an_optimizer_that_is_not_keras_own_fails(case):
    def subclass(facts):
        fit = facts.fits[-1]
        fit = replace(fit, optimizer=replace(fit.optimizer, builtin=None))
        return replace(facts, fits=facts.fits[:-1] + (fit,))

    def patched(facts):
        fit = facts.fits[-1]
        fit = replace(fit, optimizer=replace(fit.optimizer, patched=("update_step",)))
        return replace(facts, fits=facts.fits[:-1] + (fit,))

    for edit in (subclass, patched):
        outcome = check_trained(case("01_homework", edit=edit))
        assert not outcome.passed and outcome.diagnosis == "foreign_optimizer"


def test_a_training_without_step_records_needs_review(case):
    def summary_only(facts):
        fit = replace(facts.fits[-1], steps=None, steps_missing_reason="model_too_large")
        return replace(facts, fits=facts.fits[:-1] + (fit,))

    c = case("01_homework", edit=summary_only)
    outcome = check_trained(c)
    assert not outcome.passed and outcome.diagnosis == "needs_review"
    assert outcome.params["reason"].params["why"] == "model_too_large"
    # the reason in each language, as the withheld checks and the review queue say it
    for lang, words in (
        ("ko", "학습 단계가 기록되지 않았습니다"),
        ("en", "steps were not recorded"),
    ):
        checks = {r.name: r for r in judge(c, lang)}
        assert words in checks["trained"].message and "model_too_large" in checks["beta"].message


def test_lecture_homework_model_is_replayed(case):
    outcome = check_trained(case("02_lecture_with_homework"))
    assert outcome.passed and outcome.params["steps"] == 30


def test_review_reasons_reach_the_result_in_its_language(case, exp_decay):
    from grader.api import judge_facts
    from tests.unit.judge.conftest import COMPLETED

    def summary_only(facts):
        fit = replace(facts.fits[-1], steps=None, steps_missing_reason="model_too_large")
        return replace(facts, fits=facts.fits[:-1] + (fit,))

    facts = case("01_homework", edit=summary_only).facts
    korean = judge_facts("hw.ipynb", facts, COMPLETED, exp_decay, lang="ko")
    assert korean.review == (
        "학습을 다시 계산할 수 없음: 학습 단계가 기록되지 않았습니다 (model_too_large)",
    )
    assert korean.messages[0].startswith("교수자 확인 필요: 학습을 다시 계산할 수 없음")
    english = judge_facts("hw.ipynb", facts, COMPLETED, exp_decay, lang="en")
    assert english.review == (
        "training not replayable: the steps were not recorded (model_too_large)",
    )
    assert english.to_json()["review"] == list(english.review)
