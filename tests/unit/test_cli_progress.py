"""The batch's progress display (rich): a bar redrawn in place on a terminal, one plain
line per submission on a pipe or a log."""

import io
import os


def test_progress_lines_off_a_terminal():
    from grader.batch import Done
    from grader.cli import Progress

    stream = io.StringIO()
    stream.isatty = lambda: False
    with Progress(2, stream) as progress:
        progress(Done("a.ipynb", "graded", 100.0, 100.0, False), 1, 2)
        progress(Done("숙제" * 60 + ".ipynb", "invalid", 0.0, 100.0, True), 2, 2)
    assert stream.getvalue().splitlines() == [
        "[1/2] a.ipynb: graded 100/100",
        f"[2/2] {'숙제' * 60}.ipynb: invalid 0/100 (unchanged)",  # not wrapped
    ]


def test_progress_bar_on_a_terminal():
    from grader.batch import Done
    from grader.cli import Progress

    master, slave = os.openpty()
    with open(slave, "w", closefd=True) as terminal:
        with Progress(1, terminal) as progress:
            progress(Done("a.ipynb", "graded", 100.0, 100.0, False), 1, 1)
    chunks = []
    while True:  # until the closed terminal reads as its end
        try:
            chunk = os.read(master, 65536)
        except OSError:
            break
        if not chunk:
            break
        chunks.append(chunk)
    os.close(master)
    shown = b"".join(chunks).decode("utf-8", "replace")
    assert "[1/1] a.ipynb: graded 100/100" in shown
    assert "1/1" in shown.replace("[1/1]", "") and "\x1b[" in shown  # a bar, redrawn in place
