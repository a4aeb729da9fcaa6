"""The in-kernel probe. ``kernel_probe.py`` is loaded into the student's kernel by file
path; it imports nothing of the grader."""

from pathlib import Path

PROBE_PATH = Path(__file__).with_name("kernel_probe.py")
