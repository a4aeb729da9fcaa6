import numpy as np
import pytest

from grader.expressions import ExpressionError, evaluate


def test_formulas_of_x():
    x = np.array([0.0, 1.0])
    assert evaluate("2.5 + 4*exp(-x)", x) == pytest.approx([6.5, 2.5 + 4 * np.exp(-1)])
    assert evaluate("1", x) == pytest.approx([1.0, 1.0])
    assert evaluate("cos(5*x)", x) == pytest.approx(np.cos(5 * x))


@pytest.mark.parametrize(
    "formula", ["__import__('os')", "x.__class__", "open('f')", "y + 1", "exp(x, 2)", "[x]"]
)
def test_anything_else_is_refused(formula):
    with pytest.raises(ExpressionError):
        evaluate(formula, np.zeros(2))
