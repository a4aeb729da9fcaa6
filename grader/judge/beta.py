"""beta: the answer.  In the set of results the prescribed training can produce, or at
least as close to OLS (in MSE) as that training gets; and out of the student's own
Keras training."""

from __future__ import annotations

import numpy as np

from grader.judge.base import Case, Outcome, fmt_beta
from grader.judge.trained import start_influence


def check_beta(case: Case) -> Outcome:
    reading, reference, assignment = case.beta, case.reference, case.assignment
    if case.model.reason == "unreadable_data":
        return Outcome(False, "beta.data_unreadable", {}, "needs_review")
    if reading is None and case.model.model is not None:
        data = assignment.data
        return Outcome(
            False,
            "beta.not_on_homework_data",
            {"seed": data.seed, "n": data.n},
            "not_on_homework_data",
        )
    if reading is None:
        return Outcome(False, "beta.no_model", {}, "no_keras")
    if reading.problem == "wrong_features":
        return Outcome(
            False,
            "beta.wrong_features",
            {
                "found": reading.found,
                "expected": ", ".join(assignment.features),
                "design_code": assignment.design_code,
            },
            "wrong_features",
        )
    if reading.problem is not None:
        return Outcome(
            False,
            "beta.unreadable",
            {"found": reading.found, "layer": assignment.training.layer},
            "unreadable",
        )
    beta = np.array(reading.beta)
    if not np.all(np.isfinite(beta)):
        return Outcome(False, "beta.not_finite", {}, "diverged")
    params = {
        "beta": fmt_beta(beta),
        "ols": fmt_beta(reference.beta_ols),
        "learning_rate": f"{assignment.training.learning_rate:g}",
        "epochs": assignment.training.epochs,
        "ratio": reference.mse(beta) / reference.mse_ols,
        "bound": reference.mse_bound / reference.mse_ols,
        "distance": reference.reachable.distance(beta),
    }
    if assignment.beta_requires_trained and not case.training.passed:
        return Outcome(False, "beta.not_trained", params, "not_trained")
    if params["distance"] <= reference.tolerance:
        return Outcome(True, "beta.in_set", params)
    bound = reference.mse_bound
    if assignment.beta_mse_ratio is not None:  # the instructor's own tolerance
        bound = max(bound, assignment.beta_mse_ratio * reference.mse_ols)
        params["bound"] = bound / reference.mse_ols
    if reference.mse(beta) <= bound:
        return Outcome(True, "beta.close_enough", params)
    influence = start_influence(case)
    if influence is not None:
        # an honest SGD training whose start is gone as far as the prescribed training's
        # worst start is: what remains is its own mini-batch noise
        params["start_ratio"] = 1.0 + influence / reference.mse_ols
        if influence <= bound - reference.mse_ols:
            return Outcome(True, "beta.own_training", params)
    return Outcome(False, "beta.not_converged", params, "not_converged")
