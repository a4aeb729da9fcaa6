import numpy as np

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


def tamper_fit(facts):
    fit = facts.fits[-1]
    after = (fit.weights_after[0] + 1e-3,)
    model = replace(facts.models[-1], weights=after)
    return replace(
        facts,
        fits=facts.fits[:-1] + (replace(fit, weights_after=after),),
        models=facts.models[:-1] + (model,),
    )


def test_weights_that_do_not_follow_from_the_settings_fail_the_replay(case):
    outcome = check_trained(case("01_homework", edit=tamper_fit))
    assert not outcome.passed and outcome.diagnosis == "replay_mismatch"


def minibatch(facts):
    fit = replace(facts.fits[-1], batch_size=10)
    return replace(facts, fits=facts.fits[:-1] + (fit,))


def test_minibatch_training_gets_the_looser_check(case):
    outcome = check_trained(case("01_homework", edit=minibatch))
    assert outcome.passed and outcome.key == "trained.loosely"
