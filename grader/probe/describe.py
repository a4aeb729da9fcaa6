"""What the probe writes about Keras objects and matplotlib figures: plain numbers and
strings, with the figure caps (points per artist, artists per figure, axes per figure).

Loaded by the probe by file path (never imported by name); the guard watches its
functions like the probe's own.
"""

import math

MAX_ARRAY_VALUES = 20000  # training arrays larger than this are fingerprinted only
MAX_ARTIST_POINTS = 2000  # points kept per line or scatter collection
MAX_ARTISTS_PER_FIGURE = 40  # lines and collections kept per figure (all axes)
MAX_AXES_PER_FIGURE = 16


def _finite(value):
    value = float(value)
    return value if math.isfinite(value) else None


def _floats(values):
    return [_finite(v) for v in values]


# -- describing Keras objects -------------------------------------------------------
def _int_or_none(value):
    try:
        return None if value is None else int(value)
    except (TypeError, ValueError):
        return None


def _array_fact(value):
    import numpy

    array = numpy.asarray(value, dtype=numpy.float64)
    return {"shape": list(array.shape), "values": _floats(array.reshape(-1))}


def _first_rows(x):
    import numpy

    return numpy.asarray(x)[:1]


def _training_array(value):
    if value is None:
        return None
    import numpy

    try:
        array = numpy.asarray(value, dtype=numpy.float64)
    except Exception:
        return {"type": type(value).__name__, "shape": None, "values": None, "stats": None}
    flat = array.reshape(-1)
    stats = None
    if flat.size:
        stats = {
            "mean": _finite(flat.mean()),
            "std": _finite(flat.std()),
            "min": _finite(flat.min()),
            "max": _finite(flat.max()),
        }
    return {
        "type": type(value).__name__,
        "shape": list(array.shape),
        "values": _floats(flat) if flat.size <= MAX_ARRAY_VALUES else None,
        "stats": stats,
    }


def _layers(model):
    layers = []
    for layer in getattr(model, "layers", []) or []:
        config = {}
        try:
            config = layer.get_config()
        except Exception:
            pass
        activation = config.get("activation")
        if not isinstance(activation, (str, type(None))):
            activation = getattr(activation, "__name__", type(activation).__name__)
        shapes = []
        for weight in getattr(layer, "weights", []) or []:
            try:
                shapes.append([int(d) for d in weight.shape])
            except Exception:
                shapes.append(None)
        layers.append(
            {
                "class": type(layer).__name__,
                "units": _int_or_none(config.get("units")),
                "activation": activation,
                "use_bias": config.get("use_bias"),
                "weight_shapes": shapes,
                "kernel_initializer": _initializer(config.get("kernel_initializer")),
                "bias_initializer": _initializer(config.get("bias_initializer")),
                "constrained": any(
                    config.get(k) is not None
                    for k in (
                        "kernel_constraint",
                        "bias_constraint",
                        "kernel_regularizer",
                        "bias_regularizer",
                        "activity_regularizer",
                    )
                ),
            }
        )
    return layers


def _initializer(config):
    """An initializer's class name and numeric settings, from a layer's config."""
    if config is None:
        return None
    if isinstance(config, str):
        return {"class": config, "config": {}}
    if isinstance(config, dict):
        inner = config.get("config") or {}
        numbers = {
            k: _finite(v)
            for k, v in inner.items()
            if isinstance(v, (int, float)) and not isinstance(v, bool)
        }
        strings = {k: v for k, v in inner.items() if isinstance(v, str)}
        return {"class": str(config.get("class_name", "?")), "config": {**numbers, **strings}}
    return {"class": type(config).__name__, "config": {}}


def _scalar(value):
    try:
        return _finite(value)
    except Exception:
        pass
    try:
        return _finite(value.numpy())
    except Exception:
        return None


def _optimizer(model, keras):
    optimizer = getattr(model, "optimizer", None)
    if optimizer is None:
        return None
    learning_rate = None
    schedule = False
    for attribute in ("learning_rate", "lr"):
        try:
            value = getattr(optimizer, attribute)
            learning_rate = _scalar(value)
        except Exception:
            learning_rate = None
        if learning_rate is not None:
            break
    config = {}
    try:
        config = optimizer.get_config()
    except Exception:
        pass
    if isinstance(config.get("learning_rate"), dict):
        schedule = True
    fact = {
        "class": type(optimizer).__name__,
        "learning_rate": learning_rate,
        "schedule": schedule,
        "momentum": _scalar(config.get("momentum", 0.0) or 0.0),
        "nesterov": bool(config.get("nesterov", False)),
        "weight_decay": _scalar(config.get("weight_decay") or 0.0),
        "clipnorm": _scalar(config.get("clipnorm")) if config.get("clipnorm") else None,
        "clipvalue": _scalar(config.get("clipvalue")) if config.get("clipvalue") else None,
        "global_clipnorm": _scalar(config.get("global_clipnorm"))
        if config.get("global_clipnorm")
        else None,
        "use_ema": bool(config.get("use_ema", False)),
        "legacy": bool(config.get("is_legacy_optimizer", False)) or "decay" in config,
        "decay": _scalar(config.get("decay") or 0.0),
        "iterations": _int_or_none(_scalar(getattr(optimizer, "iterations", 0))),
    }
    for name in ("beta_1", "beta_2", "epsilon", "rho"):
        if name in config:
            fact[name] = _scalar(config.get(name))
    for name in ("amsgrad", "centered", "adaptive_epsilon"):
        if name in config:
            fact[name] = bool(config.get(name))
    if keras is not None:
        fact.update(keras.optimizer_fact(optimizer))
    return fact


def _loss_name(loss):
    if loss is None:
        return None
    if isinstance(loss, str):
        return loss
    name = getattr(loss, "__name__", None)
    if name:
        return name
    name = getattr(loss, "name", None)
    if isinstance(name, str):
        return name
    return type(loss).__name__


def _loss_history(history):
    values = getattr(history, "history", {}) or {}
    loss = values.get("loss")
    if loss is None:
        return None
    return _floats(loss)


# -- describing matplotlib figures --------------------------------------------------
def _points(values):
    import numpy

    try:
        array = numpy.asarray(values, dtype=numpy.float64).reshape(-1)
    except Exception:
        return [], 0
    return _floats(array[:MAX_ARTIST_POINTS]), int(array.size)


def _figure_snapshot(figure):
    """Each Axes' lines and scatter points, with at most MAX_ARTIST_POINTS points per
    artist, MAX_ARTISTS_PER_FIGURE artists and MAX_AXES_PER_FIGURE axes; every cap hit is
    named in "capped"."""
    import numpy

    capped = set()
    axes_facts = []
    budget = MAX_ARTISTS_PER_FIGURE
    all_axes = figure.get_axes()
    if len(all_axes) > MAX_AXES_PER_FIGURE:
        capped.add("axes_per_figure")
    for axes in all_axes[:MAX_AXES_PER_FIGURE]:
        lines = []
        for line in axes.get_lines():
            if budget <= 0:
                capped.add("lines_per_figure")
                break
            budget -= 1
            xs, n = _points(line.get_xdata(orig=False))
            ys, _ = _points(line.get_ydata(orig=False))
            if n > MAX_ARTIST_POINTS:
                capped.add("points_per_line")
            lines.append(
                {
                    "x": xs,
                    "y": ys,
                    "n": n,
                    "marker": str(line.get_marker())[:20],
                    "linestyle": str(line.get_linestyle())[:20],
                    "label": str(line.get_label())[:200],
                }
            )
        collections = []
        for collection in axes.collections:
            if budget <= 0:
                capped.add("lines_per_figure")
                break
            try:
                offsets = numpy.asarray(collection.get_offsets(), dtype=numpy.float64)
            except Exception:
                continue
            if offsets.ndim != 2 or offsets.shape[1] != 2:
                continue
            budget -= 1
            if offsets.shape[0] > MAX_ARTIST_POINTS:
                capped.add("points_per_line")
            kept = offsets[:MAX_ARTIST_POINTS]
            collections.append(
                {
                    "kind": type(collection).__name__,
                    "x": _floats(kept[:, 0]),
                    "y": _floats(kept[:, 1]),
                    "n": int(offsets.shape[0]),
                }
            )
        axes_facts.append(
            {
                "title": str(axes.get_title())[:200],
                "xlabel": str(axes.get_xlabel())[:200],
                "ylabel": str(axes.get_ylabel())[:200],
                "projection": str(getattr(axes, "name", "rectilinear"))[:40],
                "lines": lines,
                "collections": collections,
            }
        )
    return {"axes": axes_facts, "capped": sorted(capped)}
