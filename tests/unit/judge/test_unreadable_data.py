"""A fit on something that is not a table of rows (a tf.data pipeline, a generator): the
probe records what it was, not its rows.  The judge must not say "not fitted on the
homework's data" (it may well be), but send the submission to an instructor with the
keras, trained and beta points withheld, and still check the plot against the model."""

from __future__ import annotations

from grader.judge import judge
from grader.judge.beta import check_beta
from grader.judge.keras import check_keras
from grader.judge.trained import check_trained
from tests.unit.judge.conftest import replace


def on_a_dataset(facts):
    fit = replace(facts.fits[-1], x=None, y=None, x_shape=None, x_type="_BatchDataset")
    return replace(facts, fits=facts.fits[:-1] + (fit,))


def test_a_fit_on_a_dataset_goes_to_review_not_to_other_data(case):
    c = case("01_homework", edit=on_a_dataset)
    assert c.model.reason == "unreadable_data"
    keras, trained, beta = check_keras(c), check_trained(c), check_beta(c)
    assert (keras.key, keras.diagnosis) == ("keras.data_unreadable", "needs_review")
    assert keras.params["type"] == "_BatchDataset"
    assert trained.diagnosis == "needs_review"
    assert trained.params["reason"].key == "review.data_unreadable"
    assert beta.key == "beta.data_unreadable"
    checks = {r.name: r for r in judge(c, "en")}
    for name in ("keras", "trained", "beta"):
        assert checks[name].points == 0 and checks[name].diagnosis == "needs_review"
        assert "_BatchDataset" in checks[name].message
    assert checks["plot_curve"].passed  # β read from the model, for the plot and the reviewer


def test_arrays_keep_the_homework_path(case):
    c = case("01_homework")
    assert c.model.reason == "homework_fit" and check_keras(c).passed
