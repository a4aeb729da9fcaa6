"""Real Keras, run again on stored seeds: the reference files' Keras runs are
reproducible, and every run lands in the computed set."""

import json

import numpy as np
import pytest

from grader.reference import keras_provenance, reference_for, reference_path, run_keras_seeds

pytestmark = pytest.mark.integration


@pytest.mark.parametrize("name", ["exp_decay", "exp_cos"])
def test_stored_keras_runs_are_reproduced(name, exp_decay, exp_cos):
    assignment = {"exp_decay": exp_decay, "exp_cos": exp_cos}[name]
    stored = json.loads(reference_path(assignment).read_text("utf-8"))
    seeds = [run["seed"] for run in stored["keras_runs"][:5]]
    fresh = run_keras_seeds(assignment, seeds)
    tolerance = reference_for(assignment).tolerance
    same_versions = keras_provenance()["tensorflow"] == stored["provenance"]["tensorflow"]
    for old, new in zip(stored["keras_runs"], fresh, strict=False):
        assert new["seed"] == old["seed"]
        assert new["distance_to_set"] <= tolerance
        if same_versions:  # seeds draw the same starts only within one TensorFlow version
            assert np.allclose(new["beta_start"], old["beta_start"], atol=1e-7)
            assert np.allclose(new["beta_end"], old["beta_end"], atol=tolerance)
