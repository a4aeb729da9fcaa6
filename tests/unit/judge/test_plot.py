from grader.judge.plot import check_plot_curve, check_plot_data
from tests.unit.judge.conftest import replace


def test_lecture_plot_has_data_and_curve(case):
    c = case("01_homework")
    assert check_plot_data(c).passed
    assert check_plot_curve(c).passed


def test_scatter_and_predict_curve(case):
    c = case("04_model_scatter")
    assert check_plot_data(c).passed and c.figures[-1].data_artist.kind == "PathCollection"
    assert check_plot_curve(c).passed


def test_lecture_figures_of_other_data_are_not_chosen(case):
    c = case("02_lecture_with_homework")
    assert len(c.facts.figures) > 1
    assert len(c.figures) == 1  # only the homework's figure shows its (x, y)


def test_no_plot(case):
    c = case("09_no_plot")
    assert check_plot_data(c).diagnosis == "no_plot"
    assert check_plot_curve(c).diagnosis == "no_plot"


def test_curve_needs_a_model_fitted_on_the_homework(case):
    assert check_plot_curve(case("07_set_weights_only")).diagnosis == "no_beta"
    assert check_plot_curve(case("06_not_converged")).passed


def test_curve_of_other_weights_is_a_mismatch(case):
    from tests.unit.judge.test_beta import long_training

    outcome = check_plot_curve(case("01_homework", edit=long_training))
    assert not outcome.passed and outcome.diagnosis == "curve_mismatch"


def test_data_without_curve(case):
    def drop_curve(facts):
        figure = facts.figures[-1]
        axes = replace(figure.axes[0], artists=figure.axes[0].artists[:1])
        return replace(facts, figures=(replace(figure, axes=(axes,)),))

    outcome = check_plot_curve(case("01_homework", edit=drop_curve))
    assert not outcome.passed and outcome.diagnosis == "no_curve"
