import numpy as np

from grader.judge.base import Outcome
from grader.judge.beta import check_beta
from tests.unit.judge.conftest import replace


def test_thirty_epochs_land_in_the_reference_set(case):
    outcome = check_beta(case("01_homework"))
    assert outcome.passed and outcome.key == "beta.in_set"


def test_lecture_notebook_homework_passes(case):
    c = case("02_lecture_with_homework")
    assert check_beta(c).passed
    assert np.allclose(c.beta.beta, c.facts.fits[-1].weights_after[0].reshape(-1))


def test_scalar_version_is_close_enough_or_in_set(case):
    assert check_beta(case("03_scalar_version")).passed


def test_wrong_features_diagnosed(case):
    outcome = check_beta(case("05_wrong_features"))
    assert not outcome.passed and outcome.diagnosis == "wrong_features"
    assert "x" in outcome.params["found"]


def test_not_converged_diagnosed(case):
    outcome = check_beta(case("06_not_converged"))
    assert not outcome.passed and outcome.diagnosis == "not_converged"
    assert outcome.params["ratio"] > outcome.params["bound"]


def test_typed_in_ols_values_earn_nothing(case):
    outcome = check_beta(case("07_set_weights_only"))
    assert not outcome.passed and outcome.diagnosis == "not_on_homework_data"


def test_a_model_trained_on_other_data_earns_no_beta(case):
    def other_data(facts):
        fit = facts.fits[-1]
        return replace(facts, fits=facts.fits[:-1] + (replace(fit, y=fit.y + 1.0),))

    c = case("01_homework", edit=other_data)
    assert c.beta is None
    outcome = check_beta(c)
    assert not outcome.passed and outcome.diagnosis == "not_on_homework_data"


def long_training(facts, beta=(2.4630764, 3.9968133)):
    final = (np.array(beta).reshape(2, 1),)
    fit = replace(facts.fits[-1], weights_after=final, batch_size=None)
    model = replace(facts.models[-1], weights=final)
    return replace(facts, fits=(fit,), models=(model,))


def trained(c):
    """A case whose training is taken as checked: these tests are about β alone."""
    c.training = Outcome(True, "trained.replayed", {})
    return c


def test_converged_beyond_the_set_passes_as_close_enough(case):
    outcome = check_beta(
        trained(case("01_homework", edit=lambda f: long_training(f, (2.463, 4.007))))
    )
    assert outcome.passed and outcome.key == "beta.close_enough"


def test_far_from_ols_beyond_the_set_fails(case):
    outcome = check_beta(trained(case("01_homework", edit=lambda f: long_training(f, (1.0, 5.0)))))
    assert not outcome.passed and outcome.diagnosis == "not_converged"
