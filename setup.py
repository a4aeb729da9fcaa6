"""One build step beyond pyproject.toml: the wheel carries the repository's top-level
``assignments/`` and ``reference/`` folders as ``grader/_data/``, so an installed grader
finds its bundled assignments.  The folders stay where they are (one copy); a checkout
or an editable install reads them in place (``grader.assignment.DATA_ROOT``)."""

from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py

ROOT = Path(__file__).resolve().parent
DATA_FOLDERS = ("assignments", "reference")
GENERATED = ("*.report.html",)  # `grader check` writes reports beside notebooks


def _data_files() -> list[Path]:
    return [
        path
        for folder in DATA_FOLDERS
        for path in sorted((ROOT / folder).rglob("*"))
        if path.is_file()
        and "__pycache__" not in path.parts
        and ".ipynb_checkpoints" not in path.parts
        and not any(path.match(pattern) for pattern in GENERATED)
    ]


class BuildPyWithData(build_py):
    """build_py, plus the data folders copied to ``<build>/grader/_data/``."""

    def run(self) -> None:
        super().run()
        if getattr(self, "editable_mode", False):
            return  # an editable install reads the folders in place
        for source in _data_files():
            target = Path(self.build_lib, "grader", "_data", source.relative_to(ROOT))
            self.mkpath(str(target.parent))
            self.copy_file(str(source), str(target), preserve_mode=False)

    def get_outputs(self, include_bytecode: bool = True) -> list[str]:
        bundled = [
            str(Path(self.build_lib, "grader", "_data", p.relative_to(ROOT))) for p in _data_files()
        ]
        return [*super().get_outputs(include_bytecode), *bundled]


setup(cmdclass={"build_py": BuildPyWithData})
