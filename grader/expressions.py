"""Formulas of x written in assignment files ("2.5 + 4*exp(-x)", "cos(5*x)").

Evaluated by walking a whitelisted syntax tree over numpy, never with ``eval``:
assignment files are data.
"""

from __future__ import annotations

import ast
import operator

import numpy as np

_FUNCTIONS = {
    "exp": np.exp,
    "log": np.log,
    "sqrt": np.sqrt,
    "sin": np.sin,
    "cos": np.cos,
    "tan": np.tan,
    "abs": np.abs,
    "tanh": np.tanh,
}
_BINARY = {
    ast.Add: operator.add,
    ast.Sub: operator.sub,
    ast.Mult: operator.mul,
    ast.Div: operator.truediv,
    ast.Pow: operator.pow,
}
_UNARY = {ast.USub: operator.neg, ast.UAdd: operator.pos}


class ExpressionError(ValueError):
    """The formula uses something other than x, numbers, + - * / ** and known functions."""


def evaluate(formula: str, x: np.ndarray) -> np.ndarray:
    """The value of ``formula`` at every point of ``x`` (a constant gives a full array)."""
    try:
        tree = ast.parse(formula, mode="eval")
    except SyntaxError as exc:
        raise ExpressionError(f"cannot read formula {formula!r}: {exc.msg}") from None
    value = _walk(tree.body, np.asarray(x, dtype=float), formula)
    return np.broadcast_to(np.asarray(value, dtype=float), np.shape(x)).copy()


def _walk(node: ast.AST, x: np.ndarray, formula: str):
    if isinstance(node, ast.Constant) and isinstance(node.value, (int, float)):
        return float(node.value)
    if isinstance(node, ast.Name) and node.id == "x":
        return x
    if isinstance(node, ast.BinOp) and type(node.op) in _BINARY:
        return _BINARY[type(node.op)](_walk(node.left, x, formula), _walk(node.right, x, formula))
    if isinstance(node, ast.UnaryOp) and type(node.op) in _UNARY:
        return _UNARY[type(node.op)](_walk(node.operand, x, formula))
    if (
        isinstance(node, ast.Call)
        and isinstance(node.func, ast.Name)
        and node.func.id in _FUNCTIONS
        and len(node.args) == 1
        and not node.keywords
    ):
        return _FUNCTIONS[node.func.id](_walk(node.args[0], x, formula))
    raise ExpressionError(f"formula {formula!r} uses something not allowed: {ast.dump(node)[:60]}")
