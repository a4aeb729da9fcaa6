import dataclasses

import pytest

from grader.judge import Case, RunSummary
from grader.reference import reference_for

COMPLETED = RunSummary("completed", None, (), 600.0)


@pytest.fixture
def case(saved_facts, exp_decay):
    """A Case from the saved facts of a real run: case("01_homework", run=..., edit=...)."""

    def make(name, run=COMPLETED, edit=None):
        facts = saved_facts(name)
        if edit is not None:
            facts = edit(facts)
        return Case(facts, run, exp_decay, reference_for(exp_decay))

    return make


def replace(obj, **changes):
    return dataclasses.replace(obj, **changes)
