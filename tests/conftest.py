from pathlib import Path

import pytest

from grader.assignment import load_assignment
from grader.facts import load_facts
from grader.reference import reference_for

FIXTURES = Path(__file__).parent / "fixtures" / "facts"


@pytest.fixture(scope="session")
def exp_decay():
    return load_assignment("exp_decay")


@pytest.fixture(scope="session")
def exp_cos():
    return load_assignment("exp_cos")


@pytest.fixture(scope="session")
def reference(exp_decay):
    return reference_for(exp_decay)


@pytest.fixture
def saved_facts():
    """Facts saved from real runs of the example submissions (tests/make_fixtures.py)."""

    def load(name):
        facts = load_facts(FIXTURES / f"{name}.json")
        # a schema change that rejected the saved records would leave an empty run that
        # still "fails" no_keras / no_plot for the wrong reason: no record may be refused
        assert facts.rejected_records == 0, f"{name}: {facts.rejected_records} records refused"
        assert facts.caps == (), f"{name}: caps hit {facts.caps}"
        return facts

    return load
