from grader.judge.keras import check_keras


def test_homework_fit_found_among_the_lectures_models(case):
    c = case("02_lecture_with_homework")
    assert check_keras(c).passed
    assert c.model.reason == "homework_fit"
    assert c.model.model == c.facts.fits[-1].model  # the last fit, on the homework's data


def test_numpy_only_has_no_keras(case):
    outcome = check_keras(case("08_numpy_only"))
    assert not outcome.passed and outcome.diagnosis == "no_keras"


def test_model_never_fitted_is_not_on_homework_data(case):
    outcome = check_keras(case("07_set_weights_only"))
    assert not outcome.passed and outcome.diagnosis == "not_on_homework_data"


def test_model_named_model_counts(case):
    c = case("04_model_scatter")
    assert check_keras(c).passed
    assert c.model.final.names == ("model",)
