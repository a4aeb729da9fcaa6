"""The probe: runs inside the student's kernel and records what their code did.

It imports nothing of the grader and nothing heavy at install time: Keras and
matplotlib are hooked when the student's code imports them.  Every record is one
JSON line, tagged with the run's secret, appended to a journal file the grader
reads after the kernel is gone.  Records are written as they happen, so a kernel
that dies or times out still leaves the facts gathered so far.

What it records:
  * "fit": every Keras ``Model.fit``: layers, optimizer, loss, epochs, batch size,
    weights just before and just after training, the loss history and the training
    arrays (whole when small, otherwise a fingerprint);
  * "figure": the last rendering of every matplotlib figure: per Axes the lines and
    scatter points, title and labels, and the PNG as rendered;
  * "model": at the end, the final weights of every Keras model that was fitted,
    of ``net``, and of every Keras model bound to a name in the user namespace;
  * "end": the finish marker.
"""

import base64
import importlib.abc
import io
import json
import math
import os
import sys
import time

MAX_ARRAY_VALUES = 20000  # training arrays larger than this are fingerprinted only
MAX_ARTIST_POINTS = 5000  # points kept per line or scatter collection
PNG_DPI = 72  # for figures the student saved but never rendered as PNG

_probe = None


def _finite(value):
    value = float(value)
    return value if math.isfinite(value) else None


def _floats(values):
    return [_finite(v) for v in values]


class _HookedLoader(importlib.abc.Loader):
    """Delegates to the real loader, then calls a hook on the loaded module."""

    def __init__(self, loader, hook):
        self._loader = loader
        self._hook = hook

    def create_module(self, spec):
        return self._loader.create_module(spec)

    def exec_module(self, module):
        self._loader.exec_module(module)
        module.__loader__ = self._loader
        if getattr(module, "__spec__", None) is not None:
            module.__spec__.loader = self._loader
        try:
            self._hook(module)
        except Exception as exc:  # the probe must never break the student's import
            _probe_note(f"hook for {module.__name__} failed: {exc!r}")

    def __getattr__(self, name):
        return getattr(self._loader, name)


class _ImportWatch(importlib.abc.MetaPathFinder):
    """Calls a hook when a watched module has been imported."""

    def __init__(self, hooks):
        self._hooks = dict(hooks)

    def find_spec(self, name, path, target=None):
        hook = self._hooks.get(name)
        if hook is None:
            return None
        for finder in sys.meta_path:
            if finder is self or not hasattr(finder, "find_spec"):
                continue
            spec = finder.find_spec(name, path, target)
            if spec is not None:
                break
        else:
            return None
        if spec.loader is None:
            return spec
        # find_spec is also called without importing (importlib.util.find_spec), so the
        # hook is dropped only once the module has really been executed.
        spec.loader = _HookedLoader(spec.loader, lambda module: self._fire(name, module))
        return spec

    def _fire(self, name, module):
        hook = self._hooks.pop(name, None)
        if hook is not None:
            hook(module)


def _probe_note(text):
    if _probe is not None:
        _probe.emit("note", {"text": str(text)[:500]})


class Probe:
    def __init__(self, journal_fd, secret, shell):
        self._fd = journal_fd
        self._secret = secret
        self._shell = shell
        self._seq = 0
        self._model_serials = {}  # id(model) -> (serial, model); keeps fitted models alive
        self._figure_serials = {}  # id(figure) -> (serial, figure)
        self._dirty_figures = {}  # serial -> snapshot not yet written
        self._model_classes = []
        self._original = {}
        self._rendering = False
        self._in_fit = False
        self._cell = 0

    # -- the channel -----------------------------------------------------------------
    def emit(self, kind, payload):
        self._seq += 1
        record = {
            "secret": self._secret,
            "seq": self._seq,
            "kind": kind,
            "cell": self._cell,
            "time": time.time(),
            "payload": payload,
        }
        line = json.dumps(record, allow_nan=False, separators=(",", ":")) + "\n"
        os.write(self._fd, line.encode("utf-8"))

    # -- installation ----------------------------------------------------------------
    def install(self):
        hooks = {
            "tf_keras": self._hook_keras,
            "keras": self._hook_keras,
            "matplotlib.backend_bases": self._hook_matplotlib,
        }
        for name in list(hooks):
            if name in sys.modules:
                hooks.pop(name)(sys.modules[name])
        sys.meta_path.insert(0, _ImportWatch(hooks))
        if self._shell is not None:
            self._shell.events.register("pre_run_cell", self._pre_run_cell)
            self._shell.events.register("post_run_cell", self._post_run_cell)

    def _pre_run_cell(self, info=None):
        self._cell += 1

    def _post_run_cell(self, result=None):
        self.flush_figures()

    # -- Keras -----------------------------------------------------------------------
    def _hook_keras(self, module):
        model_class = getattr(module, "Model", None)
        if model_class is None or model_class in self._model_classes:
            return
        self._model_classes.append(model_class)
        original_fit = model_class.fit
        original_get_weights = model_class.get_weights
        self._original[model_class] = {"get_weights": original_get_weights}
        probe = self

        def fit(model, *args, **kwargs):
            if probe._in_fit:
                return original_fit(model, *args, **kwargs)
            probe._in_fit = True
            try:
                return probe._recorded_fit(model, original_fit, args, kwargs)
            finally:
                probe._in_fit = False

        fit.__wrapped__ = original_fit
        fit.__doc__ = original_fit.__doc__
        fit.__name__ = "fit"
        model_class.fit = fit

    def _is_model(self, obj):
        return any(isinstance(obj, cls) for cls in self._model_classes)

    def _serial(self, model):
        entry = self._model_serials.get(id(model))
        if entry is None or entry[1] is not model:
            entry = (len(self._model_serials) + 1, model)
            self._model_serials[id(model)] = entry
        return entry[0]

    def _weights(self, model):
        for cls, originals in self._original.items():
            if isinstance(model, cls):
                try:
                    return [_array_fact(w) for w in originals["get_weights"](model)]
                except Exception:
                    return None
        return None

    def _recorded_fit(self, model, original_fit, args, kwargs):
        names = ["x", "y", "batch_size", "epochs", "verbose"]
        bound = dict(zip(names, args, strict=False))
        bound.update({k: v for k, v in kwargs.items() if k in names})
        x, y = bound.get("x"), bound.get("y")
        if not getattr(model, "built", True) and x is not None:
            # Build now (as fit would on its first batch) so the starting weights exist.
            try:
                model(_first_rows(x))
            except Exception:
                pass
        before = self._weights(model)
        started = time.time()
        history = original_fit(model, *args, **kwargs)
        record = {
            "model": self._serial(model),
            "model_class": type(model).__name__,
            "layers": _layers(model),
            "optimizer": _optimizer(model),
            "loss": _loss_name(getattr(model, "loss", None)),
            "epochs_requested": _int_or_none(bound.get("epochs", 1)),
            "initial_epoch": _int_or_none(kwargs.get("initial_epoch", 0)),
            "batch_size": _int_or_none(bound.get("batch_size")),
            "validation_split": _finite(kwargs.get("validation_split", 0.0) or 0.0),
            "has_sample_weight": kwargs.get("sample_weight") is not None,
            "x": _training_array(x),
            "y": _training_array(y),
            "weights_before": before,
            "weights_after": self._weights(model),
            "loss_history": _loss_history(history),
            "seconds": time.time() - started,
        }
        self.emit("fit", record)
        return history

    # -- matplotlib ------------------------------------------------------------------
    def _hook_matplotlib(self, module):
        canvas_class = module.FigureCanvasBase
        original = canvas_class.print_figure
        probe = self

        def print_figure(canvas, filename, *args, **kwargs):
            result = original(canvas, filename, *args, **kwargs)
            if not probe._rendering:
                fmt = kwargs.get("format") or (args[4] if len(args) > 4 else None)
                png = None
                if isinstance(filename, io.BytesIO) and (fmt or "").lower() == "png":
                    png = filename.getvalue()
                try:
                    probe.record_figure(canvas.figure, png)
                except Exception as exc:
                    _probe_note(f"figure capture failed: {exc!r}")
            return result

        print_figure.__wrapped__ = original
        print_figure.__doc__ = original.__doc__
        canvas_class.print_figure = print_figure

    def _figure_serial(self, figure):
        entry = self._figure_serials.get(id(figure))
        if entry is None or entry[1] is not figure:
            entry = (len(self._figure_serials) + 1, figure)
            self._figure_serials[id(figure)] = entry
        return entry[0]

    def record_figure(self, figure, png=None):
        serial = self._figure_serial(figure)
        if png is None:
            png = self._render_png(figure)
        previous = self._dirty_figures.get(serial)
        renders = (previous or {}).get("renders", 0) + 1
        snapshot = _figure_snapshot(figure)
        snapshot.update(
            {
                "figure": serial,
                "renders": renders,
                "cell": self._cell,
                "png_base64": base64.b64encode(png).decode("ascii") if png else None,
            }
        )
        self._dirty_figures[serial] = snapshot

    def _render_png(self, figure):
        self._rendering = True
        try:
            buffer = io.BytesIO()
            figure.savefig(buffer, format="png", dpi=PNG_DPI)
            return buffer.getvalue()
        except Exception:
            return None
        finally:
            self._rendering = False

    def flush_figures(self):
        for serial in sorted(self._dirty_figures):
            self.emit("figure", self._dirty_figures[serial])
        self._dirty_figures.clear()

    # -- the end ---------------------------------------------------------------------
    def finish(self):
        pyplot = sys.modules.get("matplotlib.pyplot")
        if pyplot is not None:
            for number in pyplot.get_fignums():
                figure = pyplot.figure(number)
                serial = self._figure_serial(figure)
                if serial not in self._dirty_figures:
                    self.record_figure(figure)
        self.flush_figures()
        namespace = getattr(self._shell, "user_ns", {}) or {}
        bound_names = {}
        for name, value in list(namespace.items()):
            if not name.startswith("_") and self._is_model(value):
                bound_names.setdefault(self._serial(value), []).append(name)
        for serial, model in sorted({s: m for s, m in self._model_serials.values()}.items()):
            self.emit(
                "model",
                {
                    "model": serial,
                    "model_class": type(model).__name__,
                    "names": sorted(bound_names.get(serial, [])),
                    "layers": _layers(model),
                    "weights": self._weights(model),
                },
            )
        net = namespace.get("net")
        self.emit(
            "end",
            {
                "net_is_model": self._is_model(net),
                "net_type": None if net is None else type(net).__name__,
                "net_model": self._serial(net) if self._is_model(net) else None,
            },
        )


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
            }
        )
    return layers


def _scalar(value):
    try:
        return _finite(value)
    except Exception:
        pass
    try:
        return _finite(value.numpy())
    except Exception:
        return None


def _optimizer(model):
    optimizer = getattr(model, "optimizer", None)
    if optimizer is None:
        return None
    learning_rate = None
    for attribute in ("learning_rate", "lr"):
        try:
            learning_rate = _scalar(getattr(optimizer, attribute))
        except Exception:
            learning_rate = None
        if learning_rate is not None:
            break
    config = {}
    try:
        config = optimizer.get_config()
    except Exception:
        pass
    return {
        "class": type(optimizer).__name__,
        "learning_rate": learning_rate,
        "momentum": _scalar(config.get("momentum", 0.0) or 0.0),
        "nesterov": bool(config.get("nesterov", False)),
        "weight_decay": _scalar(config.get("weight_decay") or 0.0),
        "clipnorm": _scalar(config.get("clipnorm")) if config.get("clipnorm") else None,
        "clipvalue": _scalar(config.get("clipvalue")) if config.get("clipvalue") else None,
    }


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
    axes_facts = []
    for axes in figure.get_axes():
        lines = []
        for line in axes.get_lines():
            xs, n = _points(line.get_xdata(orig=False))
            ys, _ = _points(line.get_ydata(orig=False))
            lines.append(
                {
                    "x": xs,
                    "y": ys,
                    "n": n,
                    "marker": str(line.get_marker()),
                    "linestyle": str(line.get_linestyle()),
                    "label": str(line.get_label())[:200],
                }
            )
        collections = []
        for collection in axes.collections:
            try:
                offsets = collection.get_offsets()
            except Exception:
                continue
            import numpy

            offsets = numpy.asarray(offsets, dtype=numpy.float64)
            if offsets.ndim != 2 or offsets.shape[1] != 2:
                continue
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
                "projection": getattr(axes, "name", "rectilinear"),
                "lines": lines,
                "collections": collections,
            }
        )
    return {"axes": axes_facts}


def install(journal_fd, secret):
    """Start recording to the journal the grader opened for this kernel (an inherited
    file descriptor: no file of the grader's is visible to the student's code)."""
    global _probe
    try:
        from IPython import get_ipython

        shell = get_ipython()
    except Exception:
        shell = None
    _probe = Probe(journal_fd, secret, shell)
    _probe.install()
    return _probe


def finish():
    """Write the final records; called by the grader's last injected cell."""
    if _probe is not None:
        _probe.finish()
