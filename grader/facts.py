"""Facts: what the student's code did, as plain data.

The probe writes JSON lines; here they are checked against ``facts_schema.json`` and
turned into frozen dataclasses.  Nothing from the kernel is unpickled or evaluated.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

import fastjsonschema
import numpy as np

SCHEMA_PATH = Path(__file__).with_name("facts_schema.json")
MAX_JOURNAL_BYTES = 64 * 1024 * 1024  # the grader reads no more of a journal than this
MAX_RECORD_BYTES = 16 * 1024 * 1024  # a longer line is skipped unread
FACTS_TIME_LIMIT_S = 30.0  # turning one journal into facts stops after this long


class _Validator:
    """The journal's schema, compiled by fastjsonschema (nbformat's own validator): about
    20x faster than jsonschema on the per-step records, which cost 35 ms per submission
    there.  It agrees with jsonschema on every record of the tests and on 20,000 mutated
    ones (tests/unit/test_facts_schema.py keeps checking that)."""

    def __init__(self, schema: dict):
        self._check = fastjsonschema.compile(schema)

    def is_valid(self, record: object) -> bool:
        try:
            self._check(record)
        except fastjsonschema.JsonSchemaException:
            return False
        except (RecursionError, TypeError, ValueError):  # nested past Python's stack
            return False
        return True


@cache
def _validator() -> _Validator:
    return _Validator(json.loads(SCHEMA_PATH.read_text("utf-8")))


def _array(spec: dict | None) -> np.ndarray | None:
    if spec is None or spec.get("values") is None or spec.get("shape") is None:
        return None
    values = np.array([np.nan if v is None else v for v in spec["values"]], dtype=float)
    shape = tuple(spec["shape"])
    if int(np.prod(shape)) != values.size:
        return None
    return values.reshape(shape)


def _weights(specs: list | None) -> tuple[np.ndarray, ...] | None:
    if specs is None:
        return None
    arrays = tuple(_array(s) for s in specs)
    return None if any(a is None for a in arrays) else arrays


@dataclass(frozen=True, eq=False)
class InitializerFact:
    cls: str  # Keras's class name: "GlorotUniform", "Zeros", "RandomUniform", ...
    config: dict  # its numeric and string settings (minval, maxval, stddev, value...)

    @classmethod
    def parse(cls, spec: dict | None) -> InitializerFact | None:
        if not isinstance(spec, dict):
            return None
        return cls(str(spec.get("class", "?")), dict(spec.get("config") or {}))


@dataclass(frozen=True, eq=False)
class LayerFact:
    cls: str
    units: int | None
    activation: str | None
    use_bias: bool | None
    weight_shapes: tuple
    kernel_initializer: InitializerFact | None = None  # None: not recorded (the default)
    bias_initializer: InitializerFact | None = None
    constrained: bool = False  # constraints or regularizers change what a step does

    @classmethod
    def parse(cls, spec: dict) -> LayerFact:
        return cls(
            spec["class"],
            spec.get("units"),
            spec.get("activation"),
            spec.get("use_bias"),
            tuple(tuple(s) if s else None for s in spec.get("weight_shapes", [])),
            InitializerFact.parse(spec.get("kernel_initializer")),
            InitializerFact.parse(spec.get("bias_initializer")),
            bool(spec.get("constrained")),
        )

    def describe(self) -> str:
        bias = "" if self.use_bias is None else f", use_bias={self.use_bias}"
        return f"{self.cls}({self.units}{bias}, activation={self.activation})"


@dataclass(frozen=True, eq=False)
class OptimizerFact:
    cls: str
    learning_rate: float | None
    momentum: float
    nesterov: bool
    weight_decay: float
    clipped: bool
    # Exactly one of Keras's own replayable classes ("SGD", "Adam", "RMSprop"), as
    # captured before student code ran; None for any other class, subclasses included.
    builtin: str | None = None
    patched: tuple[str, ...] = ()  # methods that differ from the class's at import
    schedule: bool = False
    use_ema: bool = False
    legacy: bool = False
    decay: float = 0.0
    iterations: int | None = None  # the optimizer's step count after the fit
    beta_1: float | None = None
    beta_2: float | None = None
    epsilon: float | None = None
    rho: float | None = None
    amsgrad: bool = False
    centered: bool = False
    adaptive_epsilon: bool = False

    @classmethod
    def parse(cls, spec: dict | None) -> OptimizerFact | None:
        if spec is None:
            return None
        return cls(
            spec.get("class", "?"),
            spec.get("learning_rate"),
            spec.get("momentum") or 0.0,
            bool(spec.get("nesterov")),
            spec.get("weight_decay") or 0.0,
            bool(spec.get("clipnorm") or spec.get("clipvalue") or spec.get("global_clipnorm")),
            spec.get("builtin"),
            tuple(str(m) for m in spec.get("patched") or ()),
            bool(spec.get("schedule")),
            bool(spec.get("use_ema")),
            bool(spec.get("legacy")),
            spec.get("decay") or 0.0,
            spec.get("iterations"),
            spec.get("beta_1"),
            spec.get("beta_2"),
            spec.get("epsilon"),
            spec.get("rho"),
            bool(spec.get("amsgrad")),
            bool(spec.get("centered")),
            bool(spec.get("adaptive_epsilon")),
        )


@dataclass(frozen=True, eq=False)
class StepsFact:
    """Every optimizer step of a fit: weights in, weights out, the batch's rows."""

    epochs: tuple[int, ...]
    before: np.ndarray  # (steps, parameters); NaN where a value was not finite
    after: np.ndarray  # (steps, parameters); NaN rows where the step never ended
    rows: tuple[np.ndarray, ...] | None  # per step; None: full batches, rows not seen
    overflow: bool  # more steps than the probe records

    @classmethod
    def parse(cls, spec: dict | None) -> StepsFact | None:
        if not isinstance(spec, dict):
            return None
        before = spec.get("before") or []
        after = spec.get("after") or []
        width = max((len(w) for w in before if w), default=0)

        def matrix(rows: list) -> np.ndarray:
            out = np.full((len(rows), width), np.nan)
            for i, row in enumerate(rows):
                if row is not None and len(row) == width:
                    out[i] = _nan(row)
            return out

        rows = spec.get("rows")
        return cls(
            tuple(int(e) for e in spec.get("epochs") or ()),
            matrix(before),
            matrix(after),
            None
            if rows is None
            else tuple(
                np.array([-1], dtype=int) if r is None else np.array(r, dtype=int) for r in rows
            ),
            bool(spec.get("overflow")),
        )


@dataclass(frozen=True, eq=False)
class FitFact:
    seq: int
    cell: int
    model: int
    layers: tuple[LayerFact, ...]
    optimizer: OptimizerFact | None
    loss: str | None
    epochs: int  # epochs actually run: requested minus initial_epoch
    batch_size: int | None
    validation_split: float
    has_sample_weight: bool
    x: np.ndarray | None
    y: np.ndarray | None
    x_shape: tuple | None
    weights_before: tuple[np.ndarray, ...] | None
    weights_after: tuple[np.ndarray, ...] | None
    loss_history: tuple[float, ...] | None
    loss_is_mse: bool | None = None  # None: not recorded
    train_step_builtin: bool | None = None
    shuffle: bool = True
    steps: StepsFact | None = None
    steps_missing_reason: str | None = None
    x_type: str | None = None  # the class of what was passed as x

    @property
    def data_unreadable(self) -> bool:
        """Trained on something that is not a table of rows (a tf.data pipeline, a
        generator, a Sequence): the probe saw no arrays, so neither does the judge."""
        return self.x is None and self.y is None and self.x_type is not None

    @classmethod
    def parse(cls, seq: int, cell: int, p: dict) -> FitFact:
        x_spec = p.get("x") or {}
        return cls(
            seq=seq,
            cell=cell,
            model=p["model"],
            layers=tuple(LayerFact.parse(s) for s in p["layers"]),
            optimizer=OptimizerFact.parse(p.get("optimizer")),
            loss=p.get("loss"),
            epochs=max(0, (p.get("epochs_requested") or 1) - (p.get("initial_epoch") or 0)),
            batch_size=p.get("batch_size"),
            validation_split=p.get("validation_split") or 0.0,
            has_sample_weight=bool(p.get("has_sample_weight")),
            x=_array(p.get("x")),
            y=_array(p.get("y")),
            x_shape=tuple(x_spec["shape"]) if x_spec.get("shape") is not None else None,
            weights_before=_weights(p.get("weights_before")),
            weights_after=_weights(p.get("weights_after")),
            loss_history=None
            if p.get("loss_history") is None
            else tuple(np.nan if v is None else v for v in p["loss_history"]),
            loss_is_mse=p.get("loss_is_mse"),
            train_step_builtin=p.get("train_step_builtin"),
            shuffle=p.get("shuffle", True) is not False,
            steps=StepsFact.parse(p.get("steps")),
            steps_missing_reason=p.get("steps_missing_reason")
            if p.get("steps") is not None or p.get("steps_missing_reason")
            else "not_recorded",
            x_type=str(x_spec["type"])[:80] if isinstance(x_spec.get("type"), str) else None,
        )


@dataclass(frozen=True, eq=False)
class ArtistFact:
    """A line or a scatter collection: its points as drawn."""

    kind: str  # "line" or the collection's class name
    x: np.ndarray
    y: np.ndarray
    n: int
    marker: str = ""
    linestyle: str = ""


@dataclass(frozen=True, eq=False)
class AxesFact:
    title: str
    xlabel: str
    ylabel: str
    artists: tuple[ArtistFact, ...]


@dataclass(frozen=True, eq=False)
class FigureFact:
    figure: int
    cell: int
    renders: int
    axes: tuple[AxesFact, ...]
    png_base64: str | None = field(repr=False)
    capped: tuple[str, ...] = ()  # the probe's caps this figure hit

    @classmethod
    def parse(cls, p: dict) -> FigureFact:
        axes = []
        for a in p["axes"]:
            artists = [
                ArtistFact(
                    "line",
                    np.array(_nan(line["x"])),
                    np.array(_nan(line["y"])),
                    line["n"],
                    line.get("marker", ""),
                    line.get("linestyle", ""),
                )
                for line in a["lines"]
            ]
            artists += [
                ArtistFact(
                    c.get("kind", "collection"),
                    np.array(_nan(c["x"])),
                    np.array(_nan(c["y"])),
                    c["n"],
                )
                for c in a["collections"]
            ]
            axes.append(
                AxesFact(
                    a.get("title", ""), a.get("xlabel", ""), a.get("ylabel", ""), tuple(artists)
                )
            )
        return cls(
            p["figure"],
            p.get("cell", 0),
            p.get("renders", 1),
            tuple(axes),
            p.get("png_base64"),
            tuple(str(c) for c in p.get("capped") or ()),
        )


def _nan(values: list) -> list[float]:
    return [np.nan if v is None else float(v) for v in values]


@dataclass(frozen=True, eq=False)
class ModelFact:
    model: int
    model_class: str
    names: tuple[str, ...]
    layers: tuple[LayerFact, ...]
    weights: tuple[np.ndarray, ...] | None

    @classmethod
    def parse(cls, p: dict) -> ModelFact:
        return cls(
            p["model"],
            p.get("model_class", "?"),
            tuple(p.get("names", [])),
            tuple(LayerFact.parse(s) for s in p["layers"]),
            _weights(p["weights"]),
        )


@dataclass(frozen=True, eq=False)
class EvidenceFact:
    """Something the probe's guard saw student code do to it (see probe/guard.py)."""

    what: str  # "introspection" | "descriptor" | "native" | "tracing" | "probe_altered" |...
    detail: str
    blocked: bool
    where: str  # the student's file and line

    @classmethod
    def parse(cls, p: dict) -> EvidenceFact:
        return cls(
            str(p.get("what", "?")),
            str(p.get("detail", "")),
            bool(p.get("blocked")),
            str(p.get("where", "")),
        )

    def describe(self) -> str:
        where = f" at {self.where}" if self.where else ""
        return f"{self.what}: {self.detail}{where}" + (" (blocked)" if self.blocked else "")


@dataclass(frozen=True, eq=False)
class Facts:
    """Everything the probe saw, validated."""

    fits: tuple[FitFact, ...]
    figures: tuple[FigureFact, ...]  # the last rendering of each figure, in order
    models: tuple[ModelFact, ...]  # final weights, when the notebook reached its end
    finished: bool  # the probe's end marker arrived
    net_is_model: bool
    net_type: str | None
    net_model: int | None
    rejected_records: int  # records that failed the schema or carried the wrong secret
    records: tuple[dict, ...] = field(repr=False)  # the validated records, for saving
    evidence: tuple[EvidenceFact, ...] = ()
    duplicate_records: int = 0  # records whose sequence number was already taken
    missing_records: int = 0  # sequence numbers absent: lines removed from the journal
    caps: tuple[str, ...] = ()  # the grader's journal caps hit while reading

    def model(self, serial: int) -> ModelFact | None:
        return next((m for m in self.models if m.model == serial), None)


def facts_from_records(
    records: list[dict],
    secret: str | None,
    deadline: float | None = None,
    validated: bool = False,
) -> Facts:
    """Validate records and build Facts; records failing either test are counted, not
    used.  Past ``deadline`` (time.monotonic()) the rest is left unread, and the cap
    "facts_seconds" is named in the facts.  ``validated``: the records were validated by
    this grader and sealed since (a stored facts.json whose seal holds), so the schema is
    not checked again."""
    validator = _validator()
    kept, rejected, caps = [], 0, []
    for record in records:
        if deadline is not None and time.monotonic() > deadline:
            caps.append("facts_seconds")
            break
        if not isinstance(record, dict):
            rejected += 1
            continue
        if secret is not None and record.get("secret") != secret:
            rejected += 1
            continue
        if not validated and not validator.is_valid(record):
            rejected += 1
            continue
        kept.append({k: v for k, v in record.items() if k != "secret"})
    kept.sort(key=lambda r: r["seq"])
    seen_seqs: set[int] = set()
    duplicates = 0
    fits, figures, models, end, evidence = [], {}, {}, None, []
    for record in kept:
        if record["seq"] in seen_seqs:
            duplicates += 1
            continue
        seen_seqs.add(record["seq"])
        kind, payload = record["kind"], record["payload"]
        if kind == "fit":
            fits.append(FitFact.parse(record["seq"], record["cell"], payload))
        elif kind == "figure":
            figures[payload["figure"]] = FigureFact.parse(payload)
        elif kind == "model":
            models[payload["model"]] = ModelFact.parse(payload)
        elif kind == "end":
            end = payload
        elif kind == "evidence":
            evidence.append(EvidenceFact.parse(payload))
        elif kind == "note" and str(payload.get("text", "")).startswith("cap "):
            caps.append(str(payload["text"])[4:].split(":")[0])  # "cap figures: ..."
    return Facts(
        fits=tuple(fits),
        figures=tuple(figures[k] for k in sorted(figures)),
        models=tuple(models[k] for k in sorted(models)),
        finished=end is not None,
        net_is_model=bool(end and end.get("net_is_model")),
        net_type=(end or {}).get("net_type"),
        net_model=(end or {}).get("net_model"),
        rejected_records=rejected,
        records=tuple(kept),
        evidence=tuple(evidence),
        duplicate_records=duplicates,
        missing_records=max(seen_seqs, default=0) - len(seen_seqs),
        caps=tuple(caps),
    )


def _no_constant(name: str) -> None:
    raise ValueError(f"{name} is not strict JSON")


def read_journal(
    path: Path,
    secret: str,
    max_bytes: int = MAX_JOURNAL_BYTES,
    time_limit_s: float = FACTS_TIME_LIMIT_S,
) -> Facts:
    """Facts from the probe's journal file; lines that are not JSON are rejected.  At
    most ``max_bytes`` are read, lines over MAX_RECORD_BYTES are skipped, and the work
    stops after ``time_limit_s``; each cap hit is named in ``Facts.caps``."""
    deadline = time.monotonic() + time_limit_s
    records: list = []
    rejected = skipped = 0
    caps: list[str] = []
    if path.is_file():
        with path.open("rb") as journal:
            text = journal.read(max_bytes + 1)
        if len(text) > max_bytes:
            caps.append("journal_bytes")
            text = text[: text.rfind(b"\n", 0, max_bytes) + 1]  # whole lines only
        for line in text.splitlines():
            if time.monotonic() > deadline:
                caps.append("facts_seconds")
                break
            if len(line) > MAX_RECORD_BYTES:
                caps.append("record_bytes")
                skipped += 1
                continue
            try:
                records.append(json.loads(line, parse_constant=_no_constant))
            except (ValueError, RecursionError):  # not JSON, not UTF-8, NaN or Infinity
                rejected += 1
    facts = facts_from_records(records, secret, deadline)
    caps = list(dict.fromkeys(caps + list(facts.caps)))
    if rejected or caps:
        facts = Facts(
            **{
                **facts.__dict__,
                "rejected_records": facts.rejected_records + rejected,
                "missing_records": max(0, facts.missing_records - skipped - rejected),
                "caps": tuple(caps),
            }
        )
    return facts


def facts_text(facts: Facts) -> str:
    """The validated records (no secret) as one JSON document: what facts.json holds.
    What reading the journal found besides them (lines it rejected, caps it hit) goes
    along, as a submission's review depends on it and the records no longer show it."""
    document = {
        "records": list(facts.records),
        "rejected_records": facts.rejected_records,
        "missing_records": facts.missing_records,
        "caps": list(facts.caps),
    }
    return json.dumps(document, ensure_ascii=False)


def save_facts(facts: Facts, path: Path) -> None:
    """Write ``facts_text`` to ``path``: a test fixture, or a submission's facts.json."""
    path.write_text(facts_text(facts), "utf-8")


def with_journal_findings(facts: Facts, document: dict) -> Facts:
    """``facts`` rebuilt from a saved document's records, with the rejected lines and
    caps that ``save_facts`` kept beside them."""
    rejected = document.get("rejected_records", 0)
    rejected = rejected if isinstance(rejected, int) and rejected > 0 else 0
    saved_caps = document.get("caps", [])
    caps = tuple(
        dict.fromkeys([*facts.caps, *(c for c in saved_caps if isinstance(c, str))])
        if isinstance(saved_caps, list)
        else facts.caps
    )
    missing = document.get("missing_records")  # absent: as the records show it
    missing = missing if isinstance(missing, int) and missing >= 0 else facts.missing_records
    if not rejected and caps == facts.caps and missing == facts.missing_records:
        return facts
    return Facts(
        **{
            **facts.__dict__,
            "rejected_records": facts.rejected_records + rejected,
            "missing_records": missing,
            "caps": caps,
        }
    )


def load_facts(path: Path) -> Facts:
    """Facts saved by ``save_facts``."""
    document = json.loads(path.read_text("utf-8"))
    return with_journal_findings(facts_from_records(document["records"], secret=None), document)
