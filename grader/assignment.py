"""An assignment is data: ``assignments/<name>/assignment.toml`` plus the shared
messages in ``assignments/messages.toml``.  A new homework is a new file, no code.

The bundled assignments and their references live in the repository's top-level
``assignments/`` and ``reference/``; a wheel carries them as ``grader/_data/`` (setup.py)."""

from __future__ import annotations

import dataclasses
import hashlib
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from grader.expressions import evaluate
from grader.semester.late import LatePolicy, parse_late_policy

SUPERSCRIPT = str.maketrans("-0123456789", "⁻⁰¹²³⁴⁵⁶⁷⁸⁹")


class Number(float):
    """A float that formats as usual but writes ``e`` notation as ×10ⁿ (6.5×10⁻⁷), so a
    message reads the same in every language."""

    def __format__(self, spec: str) -> str:
        text = float.__format__(self, spec)
        mantissa, e, exponent = text.partition("e")
        if not e or not exponent.lstrip("+-").isdigit():
            return text
        if self == 0:
            return "0"
        if int(exponent) == 0:
            return mantissa
        return f"{mantissa}×10{str(int(exponent)).translate(SUPERSCRIPT)}"

    def __str__(self) -> str:
        return self.__format__("")


def _data_root() -> Path:
    """``grader/_data`` in an installed wheel; the repository's top level in a checkout
    or an editable install (the build never writes ``_data`` into the source tree)."""
    package = Path(__file__).resolve().parent
    installed = package / "_data"
    return installed if (installed / "assignments").is_dir() else package.parent


DATA_ROOT = _data_root()
ASSIGNMENTS_DIR = DATA_ROOT / "assignments"
SHARED_MESSAGES = ASSIGNMENTS_DIR / "messages.toml"
LANGUAGES = ("ko", "en")


class AssignmentError(Exception):
    """The assignment file is missing or wrong; ``str(exc)`` says what to fix."""


@dataclass(frozen=True)
class DataSpec:
    seed: int
    n: int
    x_start: float
    x_stop: float
    truth: str
    noise_sd: float

    def generate(self) -> tuple[np.ndarray, np.ndarray]:
        """(x, y) exactly as the homework's cell makes them."""
        state = np.random.RandomState(self.seed)  # the legacy global generator's stream
        x = np.linspace(self.x_start, self.x_stop, self.n)
        epsilon = state.randn(self.n) * self.noise_sd
        return x, evaluate(self.truth, x) + epsilon


@dataclass(frozen=True)
class TrainingSpec:
    layer: str
    optimizer: str
    learning_rate: float
    loss: str
    full_batch: bool
    epochs: int
    initializer: str


@dataclass(frozen=True)
class Assignment:
    name: str
    version: int
    title: dict[str, str]
    data: DataSpec
    features: tuple[str, ...]
    beta_names: tuple[str, ...]
    confusable_features: tuple[str, ...]
    design_code: str
    training: TrainingSpec
    check_points: dict[str, float]
    cap_when_beta_fails: float
    beta_requires_trained: bool
    reference_seeds: int
    messages: dict[str, dict[str, str]] = field(repr=False)
    directory: Path = field(repr=False)
    digest: str = ""
    # β also passes when its MSE is at most this multiple of OLS's (None: the derived bound)
    beta_mse_ratio: float | None = None
    late: LatePolicy | None = None  # [late]: due date, deduction, floor, grace
    canvas_column: str | None = None  # [canvas]: the gradebook header "Name (id)"
    # [model] bias = true: the intercept "1" is the layer's bias (Dense(1)), not a column
    bias: bool = False
    # A question of a multi-question assignment: its family, id and title; the parent
    # assignment lists its questions (empty: today's one-question assignment).
    family: str = "linear"
    question: str = ""
    question_title: dict = field(default_factory=dict)
    questions: tuple[Assignment, ...] = ()
    # family-specific settings of a question ([questions.family_settings])
    settings: dict = field(default_factory=dict)

    def label(self, lang: str) -> str:
        """A question's title in ``lang`` (its id when it has none)."""
        return str(self.question_title.get(lang) or self.question_title.get("en") or self.question)

    def design(self, x: np.ndarray) -> np.ndarray:
        """The design matrix X = [feature_1(x), feature_2(x), ...]."""
        return np.stack([evaluate(f, x) for f in self.features], axis=1)

    def message(self, key: str, lang: str, **params) -> str:
        """The student-facing text for ``key``; unknown keys are a bug in the file."""
        table = self.messages.get(lang) or self.messages["ko"]
        template = table.get(key) or self.messages["en"].get(key)
        if template is None:
            raise AssignmentError(f"{self.name}: no message {key!r} in {lang}")
        return template.format(
            **{
                k: Number(v) if type(v) is not bool and isinstance(v, float) else v
                for k, v in params.items()
            }
        )

    @property
    def max_score(self) -> float:
        return float(sum(self.check_points.values()))

    @property
    def reference_dir(self) -> Path:
        return self.directory.parent.parent / "reference" / self.name


def _merge_messages(shared: dict, own: dict) -> dict[str, dict[str, str]]:
    merged = {}
    for lang in LANGUAGES:
        merged[lang] = {**shared.get(lang, {}), **own.get(lang, {})}
    missing = set(merged["ko"]) ^ set(merged["en"])
    if missing:
        raise AssignmentError(f"messages exist in one language only: {sorted(missing)}")
    return merged


def _canvas_column(table: dict, title: dict) -> str | None:
    """Canvas matches a gradebook column by "Assignment Name (assignment id)"."""
    if "column" in table:
        return str(table["column"])
    if "assignment_id" in table:
        name = table.get("name") or title.get("en") or title.get("ko")
        return f"{name} ({int(table['assignment_id'])})"
    return None


def load_assignment(name_or_path: str | Path) -> Assignment:
    """Load by name (a folder of ``assignments/``) or by path to a TOML file or folder."""
    candidate = Path(name_or_path)
    if candidate.is_dir():
        path = candidate / "assignment.toml"
    elif candidate.suffix == ".toml":
        path = candidate
    else:
        path = ASSIGNMENTS_DIR / str(name_or_path) / "assignment.toml"
    if not path.is_file():
        raise AssignmentError(f"no assignment file at {path}")
    raw = path.read_bytes()
    try:
        spec = tomllib.loads(raw.decode("utf-8"))
        # an instructor's own folder without a messages.toml beside it uses the bundled one
        shared_path = path.parent.parent / "messages.toml"
        if not shared_path.is_file():
            shared_path = SHARED_MESSAGES
        shared = tomllib.loads(shared_path.read_text("utf-8")) if shared_path.is_file() else {}
        messages = _merge_messages(shared.get("messages", {}), spec.get("messages", {}))
        digest = hashlib.sha256(
            raw + (shared_path.read_bytes() if shared_path.is_file() else b"")
        ).hexdigest()
        common = {
            "title": dict(spec.get("title", {})),
            "messages": messages,
            "directory": path.parent.resolve(),
            "digest": digest,
            "late": parse_late_policy(spec.get("late")),
            "canvas_column": _canvas_column(spec.get("canvas", {}), spec.get("title", {})),
        }
        if "questions" in spec:
            assignment = _with_questions(spec, common)
        else:
            assignment = _one_question(spec, spec["name"], common)
    except (KeyError, TypeError, ValueError, tomllib.TOMLDecodeError) as exc:
        raise AssignmentError(f"{path}: {type(exc).__name__}: {exc}") from None
    for part in assignment.questions or (assignment,):
        if len(part.beta_names) != len(part.features):
            raise AssignmentError(f"{path}: beta_names and features differ in length")
    return assignment


def _one_question(spec: dict, name: str, common: dict, **extra) -> Assignment:
    """An assignment (or a question) from its [data], [model], [training], [checks]."""
    data, model, training = spec["data"], spec["model"], spec["training"]
    scoring = spec.get("scoring", {})
    return Assignment(
        name=name,
        version=int(spec.get("version", 1)),
        data=DataSpec(
            int(data.get("seed", 0)),
            int(data["n"]),
            float(data["x_start"]),
            float(data["x_stop"]),
            str(data.get("truth", "0")),
            float(data.get("noise_sd", 0.0)),
        ),
        features=tuple(model["features"]),
        beta_names=tuple(model["beta_names"]),
        confusable_features=tuple(model.get("confusable_features", ())),
        design_code=str(model.get("design_code", "")),
        training=TrainingSpec(
            str(training["layer"]),
            str(training["optimizer"]),
            float(training["learning_rate"]),
            str(training["loss"]),
            bool(training["full_batch"]),
            int(training["epochs"]),
            str(training["initializer"]),
        ),
        check_points={k: float(v) for k, v in spec["checks"].items()},
        cap_when_beta_fails=float(scoring.get("cap_when_beta_fails", 1.0)),
        beta_requires_trained=bool(scoring.get("beta_requires_trained", True)),
        reference_seeds=int(scoring.get("reference_seeds", 30)),
        beta_mse_ratio=(float(scoring["beta_mse_ratio"]) if "beta_mse_ratio" in scoring else None),
        bias=bool(model.get("bias", False)),
        **common,
        **extra,
    )


FAMILIES = ("linear", "logistic", "dense_stack")


def _with_questions(spec: dict, common: dict) -> Assignment:
    """A notebook of several questions: each is an assignment of its own (named
    ``<name>/<id>``); the parent's checks are the questions' checks, named
    ``<id>.<check>``."""
    questions = []
    for table in spec["questions"]:
        family = str(table.get("family", "linear"))
        if family not in FAMILIES:
            raise ValueError(f"question {table.get('id')}: unknown family {family!r}")
        question_id = str(table["id"])
        questions.append(
            _one_question(
                {"version": spec.get("version", 1), **table},
                f"{spec['name']}/{question_id}",
                {**common, "title": dict(spec.get("title", {}))},
                family=family,
                question=question_id,
                question_title=dict(table.get("title", {})),
                settings=dict(table.get("settings", {})),
            )
        )
    if len({q.question for q in questions}) != len(questions):
        raise ValueError("two questions share an id")
    first = questions[0]
    return dataclasses.replace(
        first,
        name=spec["name"],
        version=int(spec.get("version", 1)),
        check_points={
            f"{q.question}.{check}": points
            for q in questions
            for check, points in q.check_points.items()
        },
        beta_names=(),
        features=(),
        family="questions",
        question="",
        question_title={},
        questions=tuple(questions),
        settings={},
    )


@dataclass(frozen=True)
class AssignmentSummary:
    name: str
    title: dict[str, str]
    languages: tuple[str, ...]  # languages with a title and instructions
    path: Path
    error: str | None = None  # why it does not load


def installed_assignments() -> list[AssignmentSummary]:
    """The assignments bundled with the grader, by folder name."""
    found = []
    for toml in sorted(ASSIGNMENTS_DIR.glob("*/assignment.toml")):
        try:
            assignment = load_assignment(toml)
        except AssignmentError as error:
            found.append(AssignmentSummary(toml.parent.name, {}, (), toml, str(error)))
            continue
        languages = tuple(
            lang
            for lang in LANGUAGES
            if lang in assignment.title
            and (assignment.directory / f"instructions.{lang}.md").is_file()
        )
        found.append(AssignmentSummary(assignment.name, assignment.title, languages, toml))
    return found
