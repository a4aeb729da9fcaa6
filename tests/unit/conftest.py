import pytest

UNIT_TIMEOUT_S = 60  # unit tests run in milliseconds: a minute means something hangs


def pytest_collection_modifyitems(config, items):
    for item in items:
        if "tests/unit/" in item.nodeid and item.get_closest_marker("timeout") is None:
            item.add_marker(pytest.mark.timeout(UNIT_TIMEOUT_S))
