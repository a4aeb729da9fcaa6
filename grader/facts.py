"""Facts: what the student's code did, as plain data.

The probe writes JSON lines; here they are checked against ``facts_schema.json`` and
turned into frozen dataclasses.  Nothing from the kernel is unpickled or evaluated.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

import jsonschema
import numpy as np

SCHEMA_PATH = Path(__file__).with_name("facts_schema.json")
MAX_JOURNAL_BYTES = 256 * 1024 * 1024


@cache
def _validator() -> jsonschema.protocols.Validator:
    schema = json.loads(SCHEMA_PATH.read_text("utf-8"))
    return jsonschema.Draft202012Validator(schema)


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
class LayerFact:
    cls: str
    units: int | None
    activation: str | None
    use_bias: bool | None
    weight_shapes: tuple

    @classmethod
    def parse(cls, spec: dict) -> LayerFact:
        return cls(
            spec["class"],
            spec.get("units"),
            spec.get("activation"),
            spec.get("use_bias"),
            tuple(tuple(s) if s else None for s in spec.get("weight_shapes", [])),
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
            bool(spec.get("clipnorm") or spec.get("clipvalue")),
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
            p["figure"], p.get("cell", 0), p.get("renders", 1), tuple(axes), p.get("png_base64")
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

    def model(self, serial: int) -> ModelFact | None:
        return next((m for m in self.models if m.model == serial), None)


def facts_from_records(records: list[dict], secret: str | None, validated: bool = False) -> Facts:
    """Validate records and build Facts; records failing either test are counted, not used.
    ``validated``: the records were validated by this grader and sealed since (a stored
    facts.json whose seal holds), so the schema is not checked again."""
    validator = _validator()
    kept, rejected = [], 0
    for record in records:
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
    fits, figures, models, end = [], {}, {}, None
    for record in kept:
        kind, payload = record["kind"], record["payload"]
        if kind == "fit":
            fits.append(FitFact.parse(record["seq"], record["cell"], payload))
        elif kind == "figure":
            figures[payload["figure"]] = FigureFact.parse(payload)
        elif kind == "model":
            models[payload["model"]] = ModelFact.parse(payload)
        elif kind == "end":
            end = payload
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
    )


def read_journal(path: Path, secret: str) -> Facts:
    """Facts from the probe's journal file; lines that are not JSON are rejected."""
    records: list = []
    rejected = 0
    if path.is_file():
        with path.open("rb") as journal:
            text = journal.read(MAX_JOURNAL_BYTES)
        for line in text.splitlines():
            try:
                records.append(json.loads(line))
            except (json.JSONDecodeError, UnicodeDecodeError):
                rejected += 1
    facts = facts_from_records(records, secret)
    if rejected:
        facts = Facts(**{**facts.__dict__, "rejected_records": facts.rejected_records + rejected})
    return facts


def save_facts(facts: Facts, path: Path) -> None:
    """Write the validated records (no secret) as one JSON document: a test fixture."""
    path.write_text(json.dumps({"records": list(facts.records)}, ensure_ascii=False), "utf-8")


def load_facts(path: Path) -> Facts:
    """Facts saved by ``save_facts``."""
    return facts_from_records(json.loads(path.read_text("utf-8"))["records"], secret=None)
