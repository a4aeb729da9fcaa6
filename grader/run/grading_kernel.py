"""The grading kernel's entry point: ipykernel as ``python -m ipykernel_launcher`` starts
it, less what a headless grading kernel never uses.  Run by path inside the sandbox; the
warm pool's forked kernels call ``trim()`` before starting ipykernel the same way.

* no debugger: ipykernel imports debugpy and pydevd (about a hundred modules) at start
  only to offer a debugger no grading client asks for; without them the kernel answers
  45 ms sooner and has no debug server to talk to;
* no history database: ``--HistoryManager.enabled=False`` (``GRADING_KERNEL_ARGV`` in
  ``kernel.py``) keeps ``In``/``Out`` in memory and starts no SQLite file or saving
  thread.

Standard library only at import: it runs before anything else in the kernel.
"""

import os
import sys


def trim() -> None:
    # None in sys.modules makes "import debugpy" fail; ipykernel then runs without it
    sys.modules["debugpy"] = None


if __name__ == "__main__":
    # a script's folder comes first on sys.path: the student's "import pool" or
    # "import kernel" must not find the grader's modules beside this file
    if sys.path and os.path.abspath(sys.path[0] or ".") == os.path.dirname(
        os.path.abspath(__file__)
    ):
        del sys.path[0]
    trim()
    from ipykernel import kernelapp

    kernelapp.launch_new_instance()
