"""The facts channel: only schema-valid records carrying the run's secret are used."""

import json

from grader.facts import facts_from_records, read_journal

FIT = {
    "model": 1,
    "layers": [],
    "optimizer": None,
    "loss": "mse",
    "epochs_requested": 30,
    "batch_size": 100,
    "x": None,
    "y": None,
    "weights_before": None,
    "weights_after": None,
    "loss_history": None,
}


def record(seq, kind, payload, secret="s3cret"):
    return {"secret": secret, "seq": seq, "kind": kind, "cell": 1, "payload": payload}


def test_records_without_the_secret_are_rejected():
    facts = facts_from_records(
        [record(1, "fit", FIT), record(2, "fit", FIT, secret="guess")], secret="s3cret"
    )
    assert len(facts.fits) == 1
    assert facts.rejected_records == 1


def test_records_that_break_the_schema_are_rejected():
    broken = dict(FIT, weights_after="not a list")
    facts = facts_from_records(
        [record(1, "fit", broken), record(2, "end", {"x": 1}), "a string"], secret="s3cret"
    )
    assert facts.fits == ()
    assert not facts.finished
    assert facts.rejected_records == 3


def test_journal_lines_that_are_not_json_are_counted(tmp_path):
    path = tmp_path / "facts.jsonl"
    path.write_text(json.dumps(record(1, "end", {"net_is_model": False})) + "\n{oops\n")
    facts = read_journal(path, "s3cret")
    assert facts.finished
    assert facts.rejected_records == 1


def test_saved_facts_of_a_real_run_round_trip(saved_facts):
    facts = saved_facts("02_lecture_with_homework")
    assert facts.finished and facts.rejected_records == 0
    assert len(facts.fits) >= 5  # the lecture's models, then the homework's
    assert facts.fits[-1].x.shape == (100, 2)


def test_the_journal_is_read_within_its_caps(tmp_path):
    import json as _json

    from grader.facts import read_journal

    secret = "cd" * 16
    lines = [
        _json.dumps(
            {
                "secret": secret,
                "seq": i + 1,
                "kind": "note",
                "cell": 1,
                "payload": {"text": "n" * 100},
            }
        )  # fmt: skip
        for i in range(50)
    ]
    lines.append(f'{{"secret": "{secret}", "seq": 99, "kind": "note", "cell": 1, "payload": NaN}}')
    journal = tmp_path / "facts.jsonl"
    journal.write_text("\n".join(lines) + "\n", "utf-8")
    whole = read_journal(journal, secret)
    assert whole.caps == () and whole.rejected_records == 1  # NaN is not strict JSON
    cut = read_journal(journal, secret, max_bytes=1000)
    assert cut.caps == ("journal_bytes",) and cut.rejected_records == 0
    late = read_journal(journal, secret, time_limit_s=0.0)
    assert "facts_seconds" in late.caps


def test_saved_facts_keep_what_the_journal_reading_found(saved_facts, tmp_path):
    """Lines the grader rejected are not among the records, yet they send a submission
    to review: a rejudge from facts.json must see them too."""
    import dataclasses

    from grader.facts import load_facts, save_facts

    facts = dataclasses.replace(
        saved_facts("01_homework"), rejected_records=2, caps=("journal_bytes",)
    )
    save_facts(facts, tmp_path / "facts.json")
    again = load_facts(tmp_path / "facts.json")
    assert again.rejected_records == 2 and again.caps == ("journal_bytes",)
    assert len(again.fits) == len(facts.fits)


def test_records_removed_from_the_journal_are_counted(tmp_path):
    import json as _json

    from grader.facts import read_journal

    secret = "ef" * 16
    journal = tmp_path / "facts.jsonl"
    journal.write_text(
        "".join(
            _json.dumps(
                {"secret": secret, "seq": seq, "kind": "note", "cell": 1, "payload": {"text": "t"}}
            )
            + "\n"  # fmt: skip
            for seq in (4, 5, 6)  # 1 to 3 were truncated away
        ),
        "utf-8",
    )
    assert read_journal(journal, secret).missing_records == 3


def test_the_probes_own_caps_are_named():
    from grader.facts import facts_from_records

    note = {"seq": 1, "kind": "note", "cell": 2, "payload": {"text": "cap figures: more"}}
    assert facts_from_records([note], secret=None).caps == ("figures",)
