"""The probe: runs inside the student's kernel and records what their code did.

It imports nothing of the grader and nothing heavy at install time: Keras and
matplotlib are hooked when the student's code imports them.  Every record is one
JSON line written through the guard (``guard.py``, an audit hook that holds the run's
secret and the journal's descriptor, and records tampering), appended to a journal file
the grader reads after the kernel is gone.  Records are written as they happen, so a
kernel that dies or times out still leaves the facts gathered so far.

What it records:
  * "fit": every Keras ``Model.fit``: layers (with their initializers), optimizer (and
    whether it is exactly one of Keras's own classes, unpatched), loss, epochs, batch
    size, the training arrays as they were *before* training, the weights just before
    and just after, the loss history, and -- for models of at most MAX_STEP_PARAMS
    weights -- every optimizer step: the weights going into it, the weights coming out
    and, for mini-batches, the rows of the batch (seen by a host callback added to the
    compiled train step while Keras traces it; the step itself is Keras's own);
  * "figure": the last rendering of every matplotlib figure: per Axes the lines and
    scatter points, title and labels, and the PNG as rendered (all capped);
  * "model": at the end, the final weights of every Keras model that was fitted,
    of ``net``, and of every Keras model bound to a name in the user namespace;
  * "end": the finish marker.
"""

import base64
import importlib.abc
import importlib.util
import io
import json
import math
import os
import sys
import time

MAX_FIGURES = 100  # figures recorded per run; later ones are named in a note only
MAX_PNG_BYTES = 1024 * 1024  # a larger PNG is dropped (its points are kept)
MAX_STEP_PARAMS = 256  # models with more weights get a summary, not every step
MAX_STEP_ROWS = 20000  # training rows up to which batches are recorded
MAX_RECORDED_STEPS = 5000  # steps per fit recorded; a longer fit gets a summary
KERAS_DEFAULT_BATCH = 32
PNG_DPI = 72  # for figures the student saved but never rendered as PNG
FIT_ARGS = (
    "x", "y", "batch_size", "epochs", "verbose", "callbacks", "validation_split",
    "validation_data", "shuffle", "class_weight", "sample_weight", "initial_epoch",
    "steps_per_epoch",
)  # fmt: skip
OPTIMIZERS = ("SGD", "Adam", "RMSprop")  # the ones the grader can replay
OPTIMIZER_METHODS = ("update_step", "apply_gradients", "_distributed_apply", "minimize",
                     "compute_gradients", "_update_step", "apply", "build")  # fmt: skip
EMIT_EVENT = "grader.probe.emit"
REGISTER_EVENT = "grader.probe.register"
FINISH_EVENT = "grader.probe.finish"

_dumps = json.dumps
_audit = sys.audit
_probe = None


def _sibling(file_name, module_name):
    """A module next to this file, loaded by path (the kernel has no grader package)."""
    here = os.path.dirname(os.path.abspath(__file__))
    spec = importlib.util.spec_from_file_location(module_name, os.path.join(here, file_name))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


_describe = _sibling("describe.py", "_grader_describe")
_finite, _floats = _describe._finite, _describe._floats
_int_or_none, _array_fact = _describe._int_or_none, _describe._array_fact
_first_rows, _training_array = _describe._first_rows, _describe._training_array
_layers, _optimizer = _describe._layers, _describe._optimizer
_loss_name, _loss_history = _describe._loss_name, _describe._loss_history
_figure_snapshot = _describe._figure_snapshot


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
        _probe.note(text)


class _State:
    """What changes while the notebook runs (the Probe's own attributes do not)."""

    def __init__(self):
        self.cell = 0
        self.model_serials = {}  # id(model) -> (serial, model); keeps fitted models alive
        self.figure_serials = {}  # id(figure) -> (serial, figure)
        self.dirty_figures = {}  # serial -> snapshot not yet written
        self.in_fit = False
        self.rendering = False
        self.recorders = {}  # id(model) -> the step recorder of the fit under way


class _Keras:
    """What the probe captured of one Keras package when it was imported, before any
    student code could change it (the guard watches these attributes)."""

    def __init__(self, module):
        self.name = module.__name__
        self.model_class = module.Model
        self.fit = module.Model.fit
        self.get_weights = module.Model.get_weights
        weights = getattr(module.Model, "weights", None)  # a property: its getter
        self.weights_of = weights.fget if isinstance(weights, property) else None
        ops = sys.modules.get("tensorflow.python.ops.gen_resource_variable_ops")
        self.read_variable = getattr(ops, "read_variable_op", None)  # TensorFlow's own op
        self.train_step = getattr(module.Model, "train_step", None)
        optimizers = {}
        for holder in (getattr(module, "optimizers", None),
                       getattr(getattr(module, "optimizers", None), "legacy", None)):  # fmt: skip
            for name in OPTIMIZERS:
                cls = getattr(holder, name, None) if holder is not None else None
                if isinstance(cls, type):
                    optimizers[cls] = name
        self.optimizers = optimizers
        self.optimizer_methods = {
            (cls, m): getattr(cls, m, None) for cls in optimizers for m in OPTIMIZER_METHODS
        }
        losses = getattr(module, "losses", None)
        self.mse_objects = tuple(
            obj
            for obj in (getattr(losses, n, None) for n in ("mean_squared_error", "mse", "MSE"))
            if obj is not None
        )
        self.mse_class = getattr(losses, "MeanSquaredError", None)
        callbacks = getattr(module, "callbacks", None)
        self.callback_class = getattr(callbacks, "Callback", None)

    def optimizer_fact(self, optimizer):
        """Whether ``optimizer`` is exactly one of Keras's own replayable classes, with
        its methods as they were at import."""
        cls = type(optimizer)
        name = self.optimizers.get(cls)
        patched = []
        if name is not None:
            patched = [
                m
                for m in OPTIMIZER_METHODS
                if getattr(cls, m, None) is not self.optimizer_methods[(cls, m)]
            ]
            patched += [m for m in OPTIMIZER_METHODS if m in vars(optimizer)]
        return {"builtin": name, "patched": patched}

    def loss_is_mse(self, loss):
        if isinstance(loss, str):
            return loss in ("mse", "mean_squared_error", "MSE")
        if any(loss is obj for obj in self.mse_objects):
            return True
        return self.mse_class is not None and type(loss) is self.mse_class


class _StepRecorder:
    """Every optimizer step of one fit: the weights going in (read after every other
    callback's on_train_batch_begin), the weights coming out (read before any other
    callback's on_train_batch_end) and, when the fit runs eagerly, the batch's rows."""

    def __init__(self, keras, model, x, y, with_rows):
        self.keras = keras
        self.model = model
        self.epoch = 0
        self.epochs = []
        self.before = []
        self.after = []
        self.rows = [] if with_rows else None
        self.between = 0  # steps whose weights changed since the previous step ended
        self.overflow = False
        self._x, self._y = x, y
        self._index = None
        self._variables = None  # what get_weights reads, found on the first step
        self._read = None

    def _find_variables(self):
        """The model's variables, in get_weights's order, and a reader that gives exactly
        what get_weights gives (twice a step: TensorFlow's own read op costs 7 us where
        get_weights costs 45), or ([], None) and get_weights every time."""
        try:
            found = list(self.keras.weights_of(self.model))
            arrays = self.keras.get_weights(self.model)
        except Exception:
            return [], None
        readers = []
        op = self.keras.read_variable
        if op is not None:
            readers.append(lambda v: op(v.handle, v.dtype).numpy())
        readers.append(lambda v: v.numpy())
        for read in readers:
            try:
                direct = [read(v) for v in found]
            except Exception:
                continue
            if len(direct) == len(arrays) and all(
                a.shape == b.shape and a.dtype == b.dtype and a.tobytes() == b.tobytes()
                for a, b in zip(direct, arrays, strict=True)
            ):
                return found, read
        return [], None

    def weights(self):
        import numpy

        if self._variables is None:
            found = self._find_variables() if self.keras.weights_of else ([], None)
            self._variables, self._read = found
        arrays = None
        if self._variables:
            try:
                arrays = [self._read(v) for v in self._variables]
            except Exception:
                arrays = None
        if arrays is None:
            arrays = self.keras.get_weights(self.model)
        if not arrays:
            return []
        flat = (
            arrays[0].ravel()
            if len(arrays) == 1
            else numpy.concatenate([numpy.ravel(a) for a in arrays])
        )
        return [v if math.isfinite(v) else None for v in flat.astype(numpy.float64).tolist()]

    def step_begins(self):
        if len(self.before) >= MAX_RECORDED_STEPS:
            self.overflow = True
            return
        self.epochs.append(self.epoch)
        self.before.append(self.weights())
        self.after.append(None)
        if self.rows is not None:
            self.rows.append(None)

    def step_ends(self):
        if self.after and self.after[-1] is None and not self.overflow:
            self.after[-1] = self.weights()

    def batch_seen(self, data):
        """In an eager step: which training rows the batch holds (-1: none of them)."""
        if self.rows is None or not self.rows or self.rows[-1] is not None:
            return
        import numpy

        try:
            x_batch, y_batch = data[0], data[1]
            xb = numpy.asarray(x_batch.numpy(), dtype=numpy.float64)
            yb = numpy.asarray(y_batch.numpy(), dtype=numpy.float64)
        except Exception:
            return
        if self._index is None:
            self._index = {}
            for i in range(self._y.shape[0]):
                key = _row_key(self._x[i], self._y[i])
                self._index.setdefault(key, []).append(i)
            self._used = {}
        found = []
        for j in range(yb.shape[0]):
            key = _row_key(xb[j], yb[j])
            candidates = self._index.get(key, ())
            used = self._used.get((self.epoch, key), 0)
            if used < len(candidates):
                found.append(candidates[used])
                self._used[(self.epoch, key)] = used + 1
            else:
                found.append(-1)
        self.rows[-1] = found

    def fact(self):
        return {
            "epochs": self.epochs,
            "before": self.before,
            "after": self.after,
            "rows": self.rows,
            "overflow": self.overflow,
        }


def _symbolic(data):
    """Whether a train step's data are graph tensors (Keras is tracing the step)."""
    try:
        first = data[0]
    except Exception:
        return False
    return hasattr(first, "graph") and not hasattr(first, "numpy")


def _row_key(x_row, y_row):
    import numpy

    return (
        numpy.asarray(x_row, dtype=numpy.float32).tobytes()
        + b"|"
        + numpy.asarray(y_row, dtype=numpy.float32).tobytes()
    )


ARRAY_ADAPTERS = (
    "TensorLikeDataAdapter",
    "GenericArrayLikeDataAdapter",
    "CompositeTensorDataAdapter",
    "ListsOfScalarsDataAdapter",
)


def _without_autotune(module):
    """Keras 2 feeds `fit(x, y)` from arrays through a tf.data pipeline with autotuning
    on.  Its tuning thread has a lost wake-up in TensorFlow (CancellationManager marks
    itself cancelled only after running the callback that wakes the thread, which checks
    the mark and sleeps again): about one long `fit` in six returned up to 1.3 s late,
    idle (the wait grows with the fit's length, to a minute).  For batches sliced from
    arrays in memory there is nothing to tune; the batches, their order and the weights
    are the same without it (checked with a fixed seed, shuffled mini-batches).  The
    student's own tf.data pipelines are left as they are."""
    adapters = sys.modules.get(module.__name__ + ".src.engine.data_adapter") or sys.modules.get(
        module.__name__ + ".engine.data_adapter"
    )
    tf = sys.modules.get("tensorflow")
    if adapters is None or tf is None:
        return
    try:
        options = tf.data.Options()
        options.autotune.enabled = False
    except Exception:
        return
    for name in ARRAY_ADAPTERS:
        cls = getattr(adapters, name, None)
        original = getattr(cls, "get_dataset", None) if isinstance(cls, type) else None
        if original is None or "get_dataset" not in vars(cls):
            continue

        def get_dataset(self, _original=original):
            dataset = _original(self)
            try:
                return dataset.with_options(options)
            except Exception:
                return dataset

        get_dataset.__wrapped__ = original
        get_dataset.__doc__ = original.__doc__
        cls.get_dataset = get_dataset


def _step_callbacks(keras, recorder):
    """Two callbacks around the student's: the first reads the weights a step produced
    before any other callback runs, the last reads the weights a step starts from after
    every other callback ran."""
    base = keras.callback_class

    class _StepsOut(base):
        def __init__(self):
            super().__init__()
            self._supports_tf_logs = True

        def on_epoch_begin(self, epoch, logs=None):
            recorder.epoch = epoch

        def on_train_batch_end(self, batch, logs=None):
            recorder.step_ends()

    class _StepsIn(base):
        def __init__(self):
            super().__init__()
            self._supports_tf_logs = True

        def on_train_batch_begin(self, batch, logs=None):
            recorder.step_begins()

    return _StepsOut(), _StepsIn()


class Probe:
    def __init__(self, shell):
        self._shell = shell
        self._state = _State()
        self._keras = []  # one _Keras per Keras package imported

    # -- the channel: every record goes through the guard -----------------------------
    def emit(self, kind, payload):
        text = _dumps(payload, allow_nan=False, separators=(",", ":"))
        _audit(EMIT_EVENT, kind, self._state.cell, text)

    def note(self, text):
        self.emit("note", {"text": str(text)[:500]})

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
        _stop_line_tables()  # off before any student code, whatever the event loop did
        self._state.cell += 1

    def _post_run_cell(self, result=None):
        self.flush_figures()

    # -- Keras -----------------------------------------------------------------------
    def _hook_keras(self, module):
        model_class = getattr(module, "Model", None)
        if model_class is None or any(k.model_class is model_class for k in self._keras):
            return
        keras = _Keras(module)
        self._keras.append(keras)
        _without_autotune(module)
        probe = self
        original_fit = keras.fit
        original_train_step = keras.train_step

        def fit(model, *args, **kwargs):
            if probe._state.in_fit:
                return original_fit(model, *args, **kwargs)
            probe._state.in_fit = True
            try:
                return probe._recorded_fit(keras, model, args, kwargs)
            finally:
                probe._state.in_fit = False

        fit.__wrapped__ = original_fit
        fit.__doc__ = original_fit.__doc__
        fit.__name__ = "fit"
        model_class.fit = fit
        wrappers = [fit]
        if original_train_step is not None:

            def train_step(model, data):
                if _symbolic(data):
                    probe._watch_rows(model, data)  # traced: a callback in the graph
                else:
                    probe._rows_seen(model, data)  # eager: the batch is here
                return original_train_step(model, data)

            train_step.__wrapped__ = original_train_step
            train_step.__doc__ = original_train_step.__doc__
            train_step.__name__ = "train_step"
            model_class.train_step = train_step
            wrappers.append(train_step)
        keras.wrappers = tuple(wrappers)
        _audit(REGISTER_EVENT, keras, self._keras, *wrappers)

    def _rows_seen(self, model, data):
        recorder = self._state.recorders.get(id(model))
        if recorder is not None and recorder.model is model:
            recorder.batch_seen(data)

    def _watch_rows(self, model, data):
        """While Keras traces a small model's train step, add a host callback that hands
        each batch to the fit's step recorder: mini-batch fits keep their compiled step
        and the grader still learns which rows every batch held."""
        tf = sys.modules.get("tensorflow")
        if tf is None or getattr(model, "_jit_compile", False):
            return
        recorder = self._state.recorders.get(id(model))
        if recorder is None or recorder.model is not model or recorder.rows is None:
            # a full-batch fit needs no rows: no host callback in its graph (one costs
            # about 0.3 ms per step; _recorded_fit retraces when a later fit needs rows)
            return
        try:
            if model.count_params() > MAX_STEP_PARAMS:
                return
            x, y = data[0], data[1]
            probe = self

            def seen(x_batch, y_batch):
                probe._rows_seen(model, (x_batch, y_batch))
                return 0

            tf.py_function(seen, [x, y], Tout=tf.int32)
        except Exception as exc:
            _probe_note(f"batch rows not watched: {exc!r}"[:200])

    def _keras_of(self, model):
        return next((k for k in self._keras if isinstance(model, k.model_class)), None)

    def _is_model(self, obj):
        return self._keras_of(obj) is not None

    def _serial(self, model):
        serials = self._state.model_serials
        entry = serials.get(id(model))
        if entry is None or entry[1] is not model:
            entry = (len(serials) + 1, model)
            serials[id(model)] = entry
        return entry[0]

    def _weights(self, model):
        keras = self._keras_of(model)
        if keras is None:
            return None
        try:
            return [_array_fact(w) for w in keras.get_weights(model)]
        except Exception:
            return None

    def _recorded_fit(self, keras, model, args, kwargs):
        bound = dict(zip(FIT_ARGS, args, strict=False))
        bound.update({k: v for k, v in kwargs.items() if k in FIT_ARGS})
        x, y = bound.get("x"), bound.get("y")
        if not getattr(model, "built", True) and x is not None:
            # Build now (as fit would on its first batch) so the starting weights exist.
            try:
                model(_first_rows(x))
            except Exception:
                pass
        # The training data as it is now, before any callback can change it.
        x_fact, y_fact = _training_array(x), _training_array(y)
        before = self._weights(model)
        recorder, why = self._plan_steps(keras, model, bound, x, y, before)
        started = time.time()
        run_kwargs = dict(kwargs)
        run_args = tuple(args[: FIT_ARGS.index("callbacks")]) if len(args) > 5 else tuple(args)
        if len(args) > 5:
            run_kwargs.update(
                {name: value for name, value in zip(FIT_ARGS[5:], args[5:], strict=False)}
            )
        if recorder is not None:
            first, last = _step_callbacks(keras, recorder)
            run_kwargs["callbacks"] = [first, *list(bound.get("callbacks") or []), last]
            self._state.recorders[id(model)] = recorder
            if recorder.rows is not None:
                # the rows are watched from inside the traced step (_watch_rows), which
                # a step traced by an earlier full-batch fit lacks: trace it again
                try:
                    model.train_function = None
                except Exception as exc:
                    _probe_note(f"train step not retraced: {exc!r}"[:200])
        try:
            history = keras.fit(model, *run_args, **run_kwargs)
        finally:
            self._state.recorders.pop(id(model), None)
        record = {
            "model": self._serial(model),
            "model_class": type(model).__name__,
            "layers": _layers(model),
            "optimizer": _optimizer(model, keras),
            "loss": _loss_name(getattr(model, "loss", None)),
            "loss_is_mse": keras.loss_is_mse(getattr(model, "loss", None)),
            "train_step_builtin": type(model).train_step in keras.wrappers
            or keras.train_step is None,
            "epochs_requested": _int_or_none(bound.get("epochs", 1)),
            "initial_epoch": _int_or_none(bound.get("initial_epoch", 0)),
            "batch_size": _int_or_none(bound.get("batch_size")),
            "shuffle": bound.get("shuffle", True) is True,
            "validation_split": _finite(bound.get("validation_split", 0.0) or 0.0),
            "has_sample_weight": bound.get("sample_weight") is not None
            or bound.get("class_weight") is not None,
            "x": x_fact,
            "y": y_fact,
            "weights_before": before,
            "weights_after": self._weights(model),
            "loss_history": _loss_history(history),
            "steps": recorder.fact() if recorder is not None else None,
            "steps_missing_reason": why,
            "seconds": time.time() - started,
        }
        self.emit("fit", record)
        return history

    def _plan_steps(self, keras, model, bound, x, y, before):
        """A step recorder for this fit, or None and the reason there is none."""
        if keras.callback_class is None:
            return None, "no_callbacks"
        if before is None:
            return None, "no_weights"
        params = sum(len(w["values"]) for w in before)
        if params > MAX_STEP_PARAMS:
            return None, "model_too_large"
        try:
            import numpy

            xs = numpy.asarray(x, dtype=numpy.float64)
            ys = numpy.asarray(y, dtype=numpy.float64)
        except Exception:
            return None, "not_arrays"
        if ys.ndim == 0 or xs.ndim == 0 or xs.shape[0] != ys.shape[0]:
            return None, "not_arrays"
        rows = int(ys.shape[0] * (1.0 - float(bound.get("validation_split") or 0.0)))
        batch = _int_or_none(bound.get("batch_size")) or KERAS_DEFAULT_BATCH
        epochs = (_int_or_none(bound.get("epochs", 1)) or 1) - (
            _int_or_none(bound.get("initial_epoch", 0)) or 0
        )
        if rows > MAX_STEP_ROWS:
            return None, "too_many_rows"
        if max(0, epochs) * max(1, -(-rows // max(1, batch))) > MAX_RECORDED_STEPS:
            return None, "too_many_steps"
        with_rows = batch < rows and keras.train_step is not None
        return _StepRecorder(keras, model, xs, ys, with_rows), None

    # -- matplotlib ------------------------------------------------------------------
    def _hook_matplotlib(self, module):
        canvas_class = module.FigureCanvasBase
        original = canvas_class.print_figure
        probe = self

        def print_figure(canvas, filename, *args, **kwargs):
            result = original(canvas, filename, *args, **kwargs)
            if not probe._state.rendering:
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
        _audit(REGISTER_EVENT, print_figure)

    def _figure_serial(self, figure):
        serials = self._state.figure_serials
        entry = serials.get(id(figure))
        if entry is None or entry[1] is not figure:
            entry = (len(serials) + 1, figure)
            serials[id(figure)] = entry
        return entry[0]

    def record_figure(self, figure, png=None):
        serial = self._figure_serial(figure)
        if serial > MAX_FIGURES:
            if serial == MAX_FIGURES + 1:
                self.note(f"cap figures: more than {MAX_FIGURES} figures, the rest not recorded")
            return
        if png is None:
            png = self._render_png(figure)
        previous = self._state.dirty_figures.get(serial)
        renders = (previous or {}).get("renders", 0) + 1
        snapshot = _figure_snapshot(figure)
        if png is not None and len(png) > MAX_PNG_BYTES:
            png = None
            snapshot["capped"].append("png_bytes")
        snapshot.update(
            {
                "figure": serial,
                "renders": renders,
                "cell": self._state.cell,
                "png_base64": base64.b64encode(png).decode("ascii") if png else None,
            }
        )
        self._state.dirty_figures[serial] = snapshot

    def _render_png(self, figure):
        self._state.rendering = True
        try:
            buffer = io.BytesIO()
            figure.savefig(buffer, format="png", dpi=PNG_DPI)
            return buffer.getvalue()
        except Exception:
            return None
        finally:
            self._state.rendering = False

    def flush_figures(self):
        dirty = self._state.dirty_figures
        for serial in sorted(dirty):
            self.emit("figure", dirty[serial])
        dirty.clear()

    # -- the end ---------------------------------------------------------------------
    def finish(self):
        pyplot = sys.modules.get("matplotlib.pyplot")
        if pyplot is not None:
            for number in pyplot.get_fignums():
                figure = pyplot.figure(number)
                serial = self._figure_serial(figure)
                if serial not in self._state.dirty_figures:
                    self.record_figure(figure)
        self.flush_figures()
        namespace = getattr(self._shell, "user_ns", {}) or {}
        bound_names = {}
        for name, value in list(namespace.items()):
            if not name.startswith("_") and self._is_model(value):
                bound_names.setdefault(self._serial(value), []).append(name)
        models = {s: m for s, m in self._state.model_serials.values()}
        for serial, model in sorted(models.items()):
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
        _audit(FINISH_EVENT)
        net = namespace.get("net")
        self.emit(
            "end",
            {
                "net_is_model": self._is_model(net),
                "net_type": None if net is None else type(net).__name__,
                "net_model": self._serial(net) if self._is_model(net) else None,
            },
        )


def _forget_secret(secret):
    """The install cell's source (which named the secret) is cached for tracebacks."""
    import linecache

    for name, entry in list(linecache.cache.items()):
        try:
            if secret in "".join(entry[2]):
                del linecache.cache[name]
        except Exception:
            pass


def install(journal_fd, secret):
    """Start recording to the journal the grader opened for this kernel (an inherited
    file descriptor: no file of the grader's is visible to the student's code)."""
    global _probe
    try:
        from IPython import get_ipython

        shell = get_ipython()
    except Exception:
        shell = None
    module = sys.modules[__name__] if __name__ in sys.modules else None
    guard = _sibling("guard.py", "_grader_guard")
    _probe = Probe(shell)
    callers = [
        getattr(Probe, name).__code__
        for name in (
            "note",
            "flush_figures",
            "finish",
            "_recorded_fit",
            "_hook_keras",
            "_hook_matplotlib",
        )  # fmt: skip
    ]
    guard.install(
        journal_fd,
        secret,
        module,
        [Probe.emit.__code__, *callers],
        [
            obj
            for obj in (module, _describe, Probe, _StepRecorder, _Keras, _probe)
            if obj is not None
        ],
        [_warm_line_tables.__code__, _stop_line_tables.__code__],
    )
    _forget_secret(secret)
    _probe.install()
    _warm_line_tables()
    return None


def _no_trace(frame, event, arg):
    return None  # no per-line tracing of any new frame: see _warm_line_tables


def _warm_line_tables():
    """Give the kernel's own frames (IPython's and ipykernel's, below every cell) their
    line tables, once.  TensorFlow records a 30-frame Python stack with line numbers for
    every op it runs and every compiled step it calls; Python 3.11 finds a frame's line
    by scanning its code's location table unless the code has a line array, which it
    only builds while a trace function is set.  The scans of those long functions made
    every op about 10 us slower in a kernel than in a script (perf:
    _PyCode_CheckLineNumber), about 0.15 ms per epoch of Keras's loop.  Tracing is on
    while this cell's frames return to the event loop, and off at the loop's next turn
    (and at the start of the next cell, whatever happens)."""
    if sys.version_info[:2] != (3, 11):
        return  # 3.12 has no line arrays
    try:
        import asyncio

        loop = asyncio.get_running_loop()
    except Exception:
        return
    sys.settrace(_no_trace)
    try:
        loop.call_soon(_stop_line_tables)
    except Exception:
        _stop_line_tables()


def _stop_line_tables():
    if sys.gettrace() is _no_trace:
        sys.settrace(None)


def finish():
    """Write the final records; called by the grader's last injected cell."""
    if _probe is not None:
        _probe.finish()
