"""keras: a Keras model was trained on the homework's data."""

from grader.judge.base import Case, Outcome


def check_keras(case: Case) -> Outcome:
    choice, facts = case.model, case.facts
    if choice.reason == "homework_fit":
        layers = ", ".join(layer.describe() for layer in case.last_fit.layers)
        return Outcome(True, "keras.ok", {"model": choice.model, "layers": layers})
    if not facts.fits and not facts.models:
        if facts.net_type is not None and not facts.net_is_model:
            return Outcome(False, "keras.fake_net", {"net_type": facts.net_type}, "fake_net")
        return Outcome(False, "keras.none", {}, "no_keras")
    data = case.assignment.data
    if choice.reason == "unreadable_data":
        return Outcome(False, "keras.data_unreadable", {"type": choice.data_type}, "needs_review")
    return Outcome(
        False,
        "keras.not_on_homework_data",
        {"seed": data.seed, "n": data.n},
        "not_on_homework_data",
    )
