"""Real Keras, run again on stored seeds.  Whatever TensorFlow is installed, every fresh
run lands in the computed set (the set is a property of the training, not of a version).
Only when the installed versions are the ones that made the file do seeds draw the same
starts, and then each run is reproduced to within float32 noise."""

import json

import numpy as np
import pytest

from grader.reference import keras_provenance, reference_for, reference_path, run_keras_seeds

pytestmark = pytest.mark.integration

SEEDS = 5


@pytest.mark.parametrize("name", ["exp_decay", "exp_cos"])
def test_fresh_keras_runs_land_in_the_set(name, exp_decay, exp_cos):
    assignment = {"exp_decay": exp_decay, "exp_cos": exp_cos}[name]
    stored = json.loads(reference_path(assignment).read_text("utf-8"))
    seeds = [run["seed"] for run in stored["keras_runs"][:SEEDS]]
    fresh = run_keras_seeds(assignment, seeds)
    assert len(fresh) == len(seeds) == SEEDS  # a run that did not come back fails
    reference = reference_for(assignment)
    for seed, run in zip(seeds, fresh, strict=True):
        assert run["seed"] == seed
        assert run["distance_to_set"] <= reference.tolerance, run
        # independently of the stored number: the end's own distance to the set
        assert reference.reachable.distance(np.array(run["beta_end"])) <= reference.tolerance
        assert run["replay_deviation"] <= reference.tolerance
    installed = keras_provenance()
    same = all(installed[k] == stored["provenance"][k] for k in ("tensorflow", "keras", "numpy"))
    if same:  # an extra assert, never a skip of the ones above
        for old, new in zip(stored["keras_runs"][:SEEDS], fresh, strict=True):
            assert new["beta_start"] == pytest.approx(old["beta_start"], abs=1e-7)
            assert new["beta_end"] == pytest.approx(old["beta_end"], abs=reference.tolerance)
