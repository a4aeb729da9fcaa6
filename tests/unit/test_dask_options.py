"""--dask's address is checked before anything runs: a usage error is one line."""

from __future__ import annotations

import pytest

from grader.cli import EXIT_USAGE, main

pytest.importorskip("distributed")


def test_local_needs_a_number_of_workers(tmp_path, capsys):
    from grader.distributed import parse_address

    assert parse_address("local:3") == 3
    assert parse_address("tcp://scheduler:8786") == "tcp://scheduler:8786"
    for wrong in ("local:0", "local:two", "local:", " "):
        with pytest.raises(ValueError):
            parse_address(wrong)
    code = main(["grade", str(tmp_path), "--out", str(tmp_path / "out"), "--dask", "local:0"])
    err = capsys.readouterr().err
    assert code == EXIT_USAGE
    assert err.strip().splitlines() == [
        "grader: --dask: 'local:0': local:N needs a number of workers N >= 1"
    ]
    assert not (tmp_path / "out").exists()  # nothing ran
