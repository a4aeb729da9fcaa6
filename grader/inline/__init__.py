"""Checking from inside the student's own notebook: ``%load_ext grader`` then ``%grade``,
or ``grader.check()``.  The saved notebook file is graded in a subprocess (a fresh,
sandboxed kernel, never the student's), and the report is shown inline."""
