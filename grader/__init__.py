"""Auto-grader for Jupyter notebook homework that trains Keras models."""

__version__ = "0.1.0"


def load_ipython_extension(shell) -> None:
    """``%load_ext grader``: adds ``%grade``, which grades this notebook's saved file."""
    from grader.inline.magic import load_ipython_extension as load

    load(shell)


def check(path=None, *, assignment: str = "exp_decay", lang: str = "ko", force: bool = False):
    """Grade this notebook's saved file in a fresh sandboxed kernel; a notebook shows
    the returned report.  See ``grader.inline.magic.check``."""
    from grader.inline.magic import check as run

    return run(path, assignment=assignment, lang=lang, force=force)
