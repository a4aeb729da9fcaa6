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


def test_reference_build_on_the_command_line(tmp_path):
    """`grader reference build` on a copy of the assignment: the file lands beside it
    (reference/<name>/reference.json), with the committed file's set and tolerance, the
    Keras runs asked for, each in the set, and the versions that made them."""
    import shutil
    import subprocess
    import sys
    from pathlib import Path

    from grader.reference import deterministic_part

    repo = Path(__file__).parents[2]
    shutil.copytree(repo / "assignments" / "exp_decay", tmp_path / "assignments" / "exp_decay")
    shutil.copy(repo / "assignments" / "messages.toml", tmp_path / "assignments")
    completed = subprocess.run(
        [sys.executable, "-m", "grader", "reference", "build",
         str(tmp_path / "assignments" / "exp_decay"), "--seeds", "3"],
        capture_output=True, text=True, timeout=600,
    )  # fmt: skip
    assert completed.returncode == 0, completed.stderr[-2000:]
    built_path = tmp_path / "reference" / "exp_decay" / "reference.json"
    assert str(built_path) in completed.stdout and "3 Keras runs" in completed.stdout
    built = json.loads(built_path.read_text("utf-8"))
    committed = json.loads((repo / "reference" / "exp_decay" / "reference.json").read_text())
    assert deterministic_part(built) == deterministic_part(committed)
    assert [run["seed"] for run in built["keras_runs"]] == [0, 1, 2]
    assert all(run["distance_to_set"] <= built["tolerance"] for run in built["keras_runs"])
    assert built["provenance"]["tensorflow"] == keras_provenance()["tensorflow"]
