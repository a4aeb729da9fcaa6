"""Notebooks the tests (and the bundled examples) are made of: real submissions' shapes.

Each builder returns a list of code-cell sources; ``write_notebook`` turns it into a
file.  Run ``python -m tests.notebooks DIR`` to write the example submissions.
"""

from __future__ import annotations

import sys
from pathlib import Path

import nbformat

IMPORTS = """import numpy as np
import matplotlib.pyplot as plt
import tensorflow as tf"""

DATA = """np.random.seed(43052)
N= 100
x= np.linspace(-1,1,N)
epsilon = np.random.randn(N)*0.5
y= 2.5+4*np.exp(-x) +epsilon
X=np.stack([np.ones(N),np.exp(-x)],axis=1)
y=y.reshape(N,1)"""

FIT = """net = tf.keras.Sequential() # 1: 네트워크 생성
net.add(tf.keras.layers.Dense(1,use_bias=False)) # 2: add layer
net.compile(tf.optimizers.SGD(0.1), loss='mse') # 3: compile
net.fit(X,y,epochs={epochs}, verbose=0, batch_size=N) # 4: fit"""

PLOT = """plt.plot(x,y,'o')
plt.plot(x,(X@net.weights).reshape(-1),'--')"""

# Prints the weights from inside the kernel, so tests can compare them with the facts.
PRINT_WEIGHTS = """import json as _json
print("WEIGHTS=" + _json.dumps([w.tolist() for w in {name}.get_weights()]))"""


def homework(epochs: int = 30) -> list[str]:
    """The lecture's own homework cells."""
    return [
        IMPORTS,
        DATA,
        FIT.format(epochs=epochs),
        "net.weights",
        PLOT,
        PRINT_WEIGHTS.format(name="net"),
    ]


def scalar_version() -> list[str]:
    """Dense(1) with a bias on exp(-x) alone (the lecture's 풀이1 style)."""
    return [
        IMPORTS,
        DATA,
        """u = np.exp(-x).reshape(N,1)
net = tf.keras.Sequential()
net.add(tf.keras.layers.Dense(1))
net.compile(tf.keras.optimizers.SGD(0.1), tf.keras.losses.MSE)
net.fit(u,y,epochs=30,verbose=0,batch_size=N)""",
        """b1, b0 = net.get_weights()
fig, ax = plt.subplots()
ax.plot(x, y, 'o')
ax.plot(x, b0[0] + b1[0,0]*np.exp(-x), '-')
plt.show()""",
        PRINT_WEIGHTS.format(name="net"),
    ]


def sequential_model_scatter() -> list[str]:
    """A model named `model`, built with Sequential([...]), drawn with ax.scatter."""
    return [
        IMPORTS,
        DATA,
        """model = tf.keras.Sequential([
    tf.keras.layers.Dense(1, use_bias=False, input_shape=(2,)),
])
model.compile(optimizer=tf.keras.optimizers.SGD(learning_rate=0.1), loss="mean_squared_error")
history = model.fit(X, y, epochs=30, batch_size=100, verbose=0)""",
        """fig, ax = plt.subplots()
ax.scatter(x, y.ravel(), s=8, label="data")
ax.plot(x, model.predict(X, verbose=0).ravel(), color="red", label="fit")
ax.set_title("y = b0 + b1 exp(-x)")
ax.legend()""",
        PRINT_WEIGHTS.format(name="model"),
    ]


LECTURE_HEAD = [
    """import numpy as np
import matplotlib.pyplot as plt
import tensorflow as tf
import tensorflow.experimental.numpy as tnp""",
    "tnp.experimental_enable_numpy_behavior()",
    """import graphviz
def gv(s): return graphviz.Source('digraph G{ rankdir="LR"'+s + '; }')""",
    """gv('''
    "1" -> "β̂₀ + x*β̂₁,    bias=False"[label="* β̂₀"]
    "x" -> "β̂₀ + x*β̂₁,    bias=False"[label="* β̂₁"]
''')""",
    """tnp.random.seed(43052)
N= 200
x= tnp.linspace(0,1,N)
epsilon= tnp.random.randn(N)*0.5
y= 2.5+4*x +epsilon
X=tf.stack([tf.ones(N,dtype='float64'),x],axis=1)""",
    """y=y.reshape(N,1)
x=x.reshape(N,1)
net = tf.keras.Sequential()
layer = tf.keras.layers.Dense(1)
net.add(layer)
net.compile(tf.keras.optimizers.SGD(0.1), tf.keras.losses.MSE)
net.fit(x,y,epochs=1000,verbose=0,batch_size=N)""",
    """net = tf.keras.Sequential()
net.add(tf.keras.layers.Dense(1,use_bias=False))
net.compile(tf.keras.optimizers.SGD(0.1), tf.keras.losses.MSE)
net.fit(X,y,epochs=1000,verbose=0,batch_size=N)
net.weights""",
    """net1 = tf.keras.Sequential()
net1.add(tf.keras.layers.Dense(1,use_bias=False))
net1.weights""",
    """net = tf.keras.Sequential()
net.add(tf.keras.layers.Dense(1,use_bias=False,input_dim=2))
net.set_weights([np.array([[ -5.0],[10.0]], dtype=np.float32)])
net.compile(tf.keras.optimizers.SGD(0.1), tf.losses.MSE)
net.fit(X,y,epochs=1000,verbose=0,batch_size=N)""",
    """net = tf.keras.Sequential()
net.add(tf.keras.layers.Dense(1,use_bias=False))
net.compile(optimizer='sgd', loss='mse')
net.optimizer.lr""",
    """net.fit(X,y,epochs=500,verbose=0,batch_size=N)
net.weights""",
    """np.random.seed(43052)
N= 100
x= np.random.randn(N)
epsilon = np.random.randn(N)*0.5
y= 2.5+4*x +epsilon
X= np.stack([np.ones(N),x],axis=1)
y= y.reshape(N,1)
plt.plot(x,y,'o')""",
    """beta_hat = np.array([-3,-2]).reshape(2,1)
yhat = X@beta_hat
plt.plot(x,y,'o')
plt.plot(x,yhat.reshape(-1),'-')""",
    """np.random.seed(43052)
N= 100
x= np.linspace(-1,1,N)
epsilon = np.random.randn(N)*0.5
y= 2.5+4*np.exp(-x) + 5*np.cos(5*x) + epsilon
X=np.stack([np.ones(N),np.exp(-x),np.cos(5*x)],axis=1)
y=y.reshape(N,1)
net = tf.keras.Sequential()
net.add(tf.keras.layers.Dense(1,use_bias=False))
net.compile(tf.optimizers.SGD(0.1), loss='mse')
net.fit(X,y,epochs=30, batch_size=N)""",
    """plt.plot(x,y,'o')
plt.plot(x,(X@net.weights).reshape(-1),'--')""",
]


def lecture_notebook() -> list[str]:
    """The whole lecture with the homework at its end: many models, `net` reassigned,
    several figures, a failing graphviz import."""
    return LECTURE_HEAD + homework()


def wrong_features() -> list[str]:
    """Features [1, x] instead of [1, exp(-x)]."""
    cells = homework(epochs=200)
    cells[1] = DATA.replace("np.exp(-x)],axis=1)", "x],axis=1)")
    return cells


def not_converged() -> list[str]:
    """2 epochs at learning rate 0.001."""
    cells = homework()
    cells[2] = FIT.format(epochs=2).replace("SGD(0.1)", "SGD(0.001)")
    return cells


def set_weights_without_fit() -> list[str]:
    """The OLS values typed in with set_weights; fit never called."""
    return [
        IMPORTS,
        DATA,
        """net = tf.keras.Sequential()
net.add(tf.keras.layers.Dense(1,use_bias=False,input_dim=2))
net.compile(tf.optimizers.SGD(0.1), loss='mse')
net.set_weights([np.array([[2.46307644],[3.99681332]], dtype=np.float32)])""",
        PLOT,
    ]


def patched_after_fit() -> list[str]:
    """Trained, then the weights overwritten with the OLS values."""
    cells = homework()
    cells.insert(3, "net.set_weights([np.linalg.lstsq(X, y, rcond=None)[0].astype('float32')])")
    return cells


def numpy_only() -> list[str]:
    """OLS with numpy, no Keras at all."""
    return [
        "import numpy as np\nimport matplotlib.pyplot as plt",
        DATA,
        "beta = np.linalg.inv(X.T@X) @ X.T @ y\nbeta",
        "plt.plot(x,y,'o')\nplt.plot(x,(X@beta).reshape(-1),'--')",
    ]


def fake_net() -> list[str]:
    """A class posing as a trained net."""
    return [
        "import numpy as np\nimport matplotlib.pyplot as plt",
        DATA,
        """class Net:
    weights = [np.array([[2.46307644],[3.99681332]])]
    def get_weights(self):
        return self.weights
    def fit(self, *args, **kwargs):
        return None
net = Net()
net.fit(X, y, epochs=30)""",
        "plt.plot(x,y,'o')\nplt.plot(x,(X@net.weights[0]).reshape(-1),'--')",
    ]


def no_plot() -> list[str]:
    return [IMPORTS, DATA, FIT.format(epochs=30), PRINT_WEIGHTS.format(name="net")]


def data_without_curve() -> list[str]:
    return [IMPORTS, DATA, FIT.format(epochs=30), "plt.plot(x,y,'o')\nplt.show()"]


def raising_cell() -> list[str]:
    cells = homework()
    cells.insert(3, "print(undefined_name)")
    return cells


def infinite_loop() -> list[str]:
    cells = homework()
    cells.insert(3, "while True:\n    pass")
    return cells


def kernel_exit() -> list[str]:
    return [IMPORTS, DATA, FIT.format(epochs=30), "import os\nos._exit(3)", PLOT]


def exp_cos_homework() -> list[str]:
    """The lecture's 예제3 with Keras (β0 + β1·exp(−x) + β2·cos(5x))."""
    return [
        IMPORTS,
        """np.random.seed(43052)
N= 100
x= np.linspace(-1,1,N)
epsilon = np.random.randn(N)*0.5
y= 2.5+4*np.exp(-x) + 5*np.cos(5*x) + epsilon
X=np.stack([np.ones(N),np.exp(-x),np.cos(5*x)],axis=1)
y=y.reshape(N,1)""",
        """net = tf.keras.Sequential() # 1: 네트워크 생성
net.add(tf.keras.layers.Dense(1,use_bias=False)) # 2: add layer
net.compile(tf.optimizers.SGD(0.1), loss='mse') # 3: compile
net.fit(X,y,epochs=30, batch_size=N) # 4: fit""",
        PLOT,
        PRINT_WEIGHTS.format(name="net"),
    ]


def write_notebook(
    cells: list[str], path: Path, kernel_name: str = "py38", with_markdown: bool = False
) -> Path:
    """A v4 notebook whose kernelspec names a kernel that exists nowhere here; with
    ``with_markdown`` each code cell follows a markdown cell, as in the lecture notes."""
    nb = nbformat.v4.new_notebook()
    for number, source in enumerate(cells, start=1):
        if with_markdown:
            nb.cells.append(nbformat.v4.new_markdown_cell(f"({number}단계)"))
        nb.cells.append(nbformat.v4.new_code_cell(source))
    nb.metadata["kernelspec"] = {
        "name": kernel_name,
        "display_name": "Python 3 (py38)",
        "language": "python",
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(nb, str(path))
    return path


def write_v3_notebook(cells: list[str], path: Path) -> Path:
    """The same cells in the old nbformat 3 layout (worksheets, 'input' fields)."""
    nb = nbformat.v3.new_notebook(
        worksheets=[
            nbformat.v3.new_worksheet(cells=[nbformat.v3.new_code_cell(input=c) for c in cells])
        ]
    )
    path.write_text(nbformat.v3.writes_json(nb), "utf-8")
    return path


EXAMPLES = {
    "01_homework.ipynb": homework,
    "02_lecture_with_homework.ipynb": lecture_notebook,
    "03_scalar_version.ipynb": scalar_version,
    "04_model_scatter.ipynb": sequential_model_scatter,
    "05_wrong_features.ipynb": wrong_features,
    "06_not_converged.ipynb": not_converged,
    "07_set_weights_only.ipynb": set_weights_without_fit,
    "08_numpy_only.ipynb": numpy_only,
    "09_no_plot.ipynb": no_plot,
}


def write_examples(folder: Path) -> None:
    for name, builder in EXAMPLES.items():
        write_notebook(builder(), folder / name)
    (folder / "10_broken.ipynb").write_text('{"cells": [', "utf-8")


if __name__ == "__main__":
    write_examples(Path(sys.argv[1]))


# -- hostile submissions (the sandbox's tests) -------------------------------------------
def report(label: str, attempt: str) -> str:
    """A cell that tries something and prints LABEL: OK or LABEL: BLOCKED <why>."""
    body = "\n".join("    " + line for line in attempt.splitlines())
    return f"""try:
{body}
    print("{label}: OK")
except Exception as error:
    print("{label}: BLOCKED", type(error).__name__, error)"""


def memory_hog() -> list[str]:
    """The homework, then a cell asking for 6 GiB."""
    cells = homework()
    cells.insert(5, "hog = bytearray(6 * 1024**3)")
    return cells


def network_probe(port: int) -> list[str]:
    """The homework, then tries to reach a listener on this machine and a public address."""
    return homework() + [
        report(
            "LOOPBACK",
            f"import socket\nsocket.create_connection(('127.0.0.1', {port}), timeout=3).close()",
        ),
        report(
            "PUBLIC", "import socket\nsocket.create_connection(('1.1.1.1', 80), timeout=3).close()"
        ),
    ]


def files_probe(submissions: str, out: str, mark: str) -> list[str]:
    """The homework, then looks around the file system and tries to write where it
    must not."""
    return homework() + [
        f"open('mark_{mark}.txt', 'w').write('{mark}')\nimport os\n"
        "print('CWD:', sorted(os.listdir('.')))\nprint('UP:', sorted(os.listdir('../..')))",
        report(
            "READ_SUBMISSIONS", f"open(os.path.join({submissions!r}, '01_homework.ipynb')).read()"
        ),
        report(
            "WRITE_SUBMISSIONS", f"open(os.path.join({submissions!r}, 'evil.txt'), 'w').write('x')"
        ),
        report("WRITE_OUT", f"open(os.path.join({out!r}, 'results.json'), 'w').write('{{}}')"),
    ]


def big_output() -> list[str]:
    cells = homework()
    cells.insert(5, "print('x' * 20_000_000)")
    return cells


def tampering() -> list[str]:
    """No Keras training at all, but every trick to look graded: fake JSON on stdout,
    patched comparisons, forged journal lines on every open descriptor, a fake net."""
    return [
        "import numpy as np\nimport matplotlib.pyplot as plt\nimport json, math, os",
        DATA,
        """print(json.dumps({"score": 100, "max_score": 100, "status": "graded",
                  "checks": [{"name": "beta", "passed": True}]}))
np.allclose = lambda *a, **k: True
math.isclose = lambda *a, **k: True""",
        """forged = {"secret": "0" * 32, "seq": 1, "kind": "end", "cell": 1,
          "payload": {"net_is_model": True, "net_type": "Sequential", "net_model": 1}}
for fd in range(3, 64):
    try:
        os.write(fd, (json.dumps(forged) + "\\n").encode())
    except OSError:
        pass
open("../facts.jsonl", "a").write(json.dumps(forged) + "\\n") if os.access("..", os.W_OK) \\
    else None""",
        """class net:
    weights = [np.array([[2.46307644], [3.99681332]])]""",
        "plt.plot(x,y,'o')\nplt.plot(x,(X@net.weights[0]).reshape(-1),'--')",
    ]


def overriding_keras() -> list[str]:
    """Trains badly, then overrides get_weights and registers a hook that sets the
    weights to OLS before the grader's last cell."""
    cells = not_converged()
    cells.insert(
        3,
        """ols = np.linalg.lstsq(X, y, rcond=None)[0].astype('float32')
tf.keras.Model.get_weights = lambda self: [ols]
def _patch(*args):
    net.set_weights([ols])
get_ipython().events.register('pre_run_cell', _patch)
get_ipython().events.register('post_run_cell', _patch)""",
    )
    return cells


def overriding_fit() -> list[str]:
    """Replaces Keras's Model.fit (the probe's hook) with a function that writes the OLS
    answer into the model and returns a made-up history."""
    return [
        IMPORTS,
        DATA,
        """net = tf.keras.Sequential()
net.add(tf.keras.layers.Dense(1,use_bias=False))
net.compile(tf.optimizers.SGD(0.1), loss='mse')
ols = np.linalg.lstsq(X, y, rcond=None)[0].astype('float32')
class History:
    history = {'loss': [1.0, 0.5, 0.25]}
def my_fit(self, *args, **kwargs):
    self.build((None, 2))
    self.set_weights([ols])
    return History()
tf.keras.Model.fit = my_fit
net.fit(X,y,epochs=30, verbose=0, batch_size=N)""",
        "net.weights",
        PLOT,
    ]


def global_state_polluter() -> list[str]:
    """Changes process-wide state a later submission would inherit from a shared kernel."""
    return homework() + [
        """import matplotlib
matplotlib.rcParams['lines.linewidth'] = 9
np.random.seed(0)
tf.keras.backend.set_floatx('float64')
import sys
sys.modules['numpy'].POLLUTED = True"""
    ]


def global_state_detector() -> list[str]:
    """Prints the process-wide state a previous submission might have changed."""
    return homework() + [
        """import matplotlib
print("STATE", matplotlib.rcParams['lines.linewidth'], tf.keras.backend.floatx(),
      hasattr(np, 'POLLUTED'))
import os
print("PARENT", open(f"/proc/{os.getppid()}/cmdline", "rb").read().replace(b"\\0", b" "))"""
    ]


SEEDED_MINIBATCH = """tf.keras.utils.set_random_seed(7)
net = tf.keras.Sequential()
net.add(tf.keras.layers.Dense(1,use_bias=False))
net.compile(tf.optimizers.SGD(0.1), loss='mse')
net.fit(X,y,epochs=40, verbose=0, batch_size=20)
import sys as _sys
_adapter = _sys.modules['tf_keras.src.engine.data_adapter'].TensorLikeDataAdapter
print("PATCHED", hasattr(_adapter.get_dataset, "__wrapped__"))
print("SEEDED", *net.get_weights()[0].ravel().tolist())"""


def seeded_minibatch() -> list[str]:
    """The homework with a fixed seed and shuffled mini-batches: the same weights wherever
    it runs, so a kernel that fed Keras's batches differently would show it."""
    return [IMPORTS, DATA, SEEDED_MINIBATCH, PLOT]


# -- issue 10: honest variants that must still earn full marks ----------------------------
def with_fit(fit: str, before_fit: str | None = None) -> list[str]:
    """The homework with another training cell (and, optionally, a cell before it)."""
    cells = homework()
    cells[2] = fit
    if before_fit is not None:
        cells.insert(2, before_fit)
    return cells


MODEL = """net = tf.keras.Sequential()
net.add(tf.keras.layers.Dense(1,use_bias=False))
"""


def minibatch_default() -> list[str]:
    """Mini-batch SGD: batch_size left out (Keras's 32), shuffled every epoch."""
    return with_fit(MODEL + "net.compile(tf.optimizers.SGD(0.1), loss='mse')\n"
                    "net.fit(X,y,epochs=30,verbose=0)")  # fmt: skip


def full_then_minibatch() -> list[str]:
    """The same net fitted twice: full batch first, then mini-batches.  The second fit's
    batch rows are only known if its train step is traced again with the row watcher
    (the first fit's step, full batch, has none)."""
    return with_fit(MODEL + "net.compile(tf.optimizers.SGD(0.1), loss='mse')\n"
                    "net.fit(X,y,epochs=10,verbose=0,batch_size=N)\n"
                    "net.fit(X,y,epochs=5,verbose=0,batch_size=25)")  # fmt: skip


def kernel_view() -> list[str]:
    """The homework, then a cell that reports what the grading kernel left out (its
    debugger, its history database) and whether the grader's own modules can be
    imported by name (they must not: the student's "import pool" is the student's), and
    whether the heap it was forked with is frozen (its collections skip the preload), and
    whether TensorFlow's oneDNN rewrite is off (it costs every kernel's first fit), and
    that the probe's brief trace function (it builds the line tables of the kernel's own
    frames) is gone before the student's first cell."""
    return homework() + [
        "import sys, importlib.util\n"
        "print('DEBUGPY', sys.modules.get('debugpy', 'absent'))\n"
        "print('HISTORY', get_ipython().history_manager.enabled)\n"
        "import gc; print('FROZEN', gc.get_freeze_count() > 100000, gc.isenabled())\n"
        "from tensorflow.python.util import _pywrap_util_port\n"
        "print('ONEDNN', _pywrap_util_port.IsMklEnabled())\n"
        "print('TRACE', sys.gettrace())\n"
        "print('GRADER_MODULES', [m for m in ('pool', 'confine', 'zygote', 'kernel', "
        "'grading_kernel') if importlib.util.find_spec(m) is not None])"
    ]


def tf_data_input() -> list[str]:
    """The homework fitted on a tf.data pipeline instead of arrays: honest, but its rows
    cannot be read by the probe."""
    return with_fit(MODEL + "net.compile(tf.optimizers.SGD(0.1), loss='mse')\n"
                    "ds = tf.data.Dataset.from_tensor_slices((X, y)).batch(N)\n"
                    "net.fit(ds, epochs=30, verbose=0)")  # fmt: skip


def keras3() -> list[str]:
    """The homework with Keras 3 (`import keras`, which the grading kernel's
    TF_USE_LEGACY_KERAS=1 leaves alone): honest, replayed like tf-keras."""
    return with_fit("import keras\n"
                    "net = keras.Sequential()\n"
                    "net.add(keras.layers.Dense(1,use_bias=False))\n"
                    "net.compile(keras.optimizers.SGD(0.1), loss='mse')\n"
                    "net.fit(X,y,epochs=30,verbose=0,batch_size=N)")  # fmt: skip


def momentum() -> list[str]:
    return with_fit(MODEL + "net.compile(tf.optimizers.SGD(0.1, momentum=0.5), loss='mse')\n"
                    "net.fit(X,y,epochs=30,verbose=0,batch_size=N)")  # fmt: skip


def adam() -> list[str]:
    return with_fit(MODEL + "net.compile(tf.optimizers.Adam(0.1), loss='mse')\n"
                    "net.fit(X,y,epochs=300,verbose=0,batch_size=N)")  # fmt: skip


def rmsprop_minibatch() -> list[str]:
    return with_fit(MODEL + "net.compile(tf.optimizers.RMSprop(0.05), loss='mse')\n"
                    "net.fit(X,y,epochs=200,verbose=0,batch_size=20)")  # fmt: skip


def seeded() -> list[str]:
    """tf.random.set_seed before the model: a reproducible Glorot draw."""
    return with_fit(FIT.format(epochs=30), before_fit="tf.random.set_seed(43052)")


def logging_callbacks() -> list[str]:
    """EarlyStopping and a printer: callbacks that only look."""
    return with_fit(
        MODEL
        + """net.compile(tf.optimizers.SGD(0.1), loss='mse')
class Printer(tf.keras.callbacks.Callback):
    def on_epoch_end(self, epoch, logs=None):
        if epoch % 10 == 0:
            print(epoch, logs["loss"], [w.tolist() for w in self.model.get_weights()])
stop = tf.keras.callbacks.EarlyStopping(monitor='loss', patience=3)
net.fit(X,y,epochs=30,verbose=0,batch_size=N,callbacks=[stop, Printer()])"""
    )


# -- issue 10: cheating, each must score <= 50 or be held for review ---------------------
OLS = "ols = np.linalg.lstsq(X, y, rcond=None)[0].astype('float32')"


def ols_start() -> list[str]:
    """OLS set by hand, then the prescribed 30 epochs: the replay agrees, the start is
    no draw of Glorot-uniform."""
    return with_fit(
        OLS + "\n" + MODEL + "net.build(input_shape=(None, 2))\nnet.set_weights([ols])\n"
        "net.compile(tf.optimizers.SGD(0.1), loss='mse')\n"
        "net.fit(X,y,epochs=30,verbose=0,batch_size=N)"
    )


def weight_writing_callback() -> list[str]:
    """A callback writes OLS into the layer after every epoch; no batch_size."""
    return with_fit(
        OLS
        + "\n"
        + MODEL
        + """net.compile(tf.optimizers.SGD(0.1), loss='mse')
class Cheat(tf.keras.callbacks.Callback):
    def on_epoch_end(self, epoch, logs=None):
        self.model.set_weights([ols])
net.fit(X,y,epochs=30,verbose=0,callbacks=[Cheat()])"""
    )


def optimizer_subclass() -> list[str]:
    """An SGD subclass (its class name is still "SGD") whose step writes OLS."""
    return with_fit(
        OLS
        + "\n"
        + MODEL
        + """class SGD(tf.keras.optimizers.SGD):
    def update_step(self, gradient, variable):
        variable.assign(tf.constant(ols))
net.compile(SGD(0.1), loss='mse')
net.fit(X,y,epochs=30,verbose=0,batch_size=N)"""
    )


def closure_swap() -> list[str]:
    """Swaps what the probe's fit wrapper calls for a fake that sets OLS and returns a
    made-up history."""
    return with_fit(
        OLS
        + "\n"
        + MODEL
        + """net.compile(tf.optimizers.SGD(0.1), loss='mse')
class FakeHistory:
    history = {"loss": [1.0, 0.5, 0.3]}
def fake_fit(model, *args, **kwargs):
    model.set_weights([ols])
    return FakeHistory()
wrapper = tf.keras.Model.fit
for cell in wrapper.__closure__ or ():
    value = cell.cell_contents
    if callable(value) and getattr(value, "__name__", "") == "fit":
        cell.cell_contents = fake_fit
    if hasattr(value, "fit") and not callable(value):
        try:
            value.fit = fake_fit
        except Exception as error:
            print("KERAS:", error)
net.fit(X,y,epochs=30,verbose=0,batch_size=N)"""
    )


def module_swap() -> list[str]:
    """Trains badly, writes OLS with set_weights, and replaces the probe's sys.modules
    entries so its final records are never written."""
    cells = not_converged()
    cells.insert(
        3,
        OLS
        + """
net.set_weights([ols])
import sys, types
for name in list(sys.modules):
    if "grader" in name:
        fake = types.ModuleType(name)
        fake.finish = lambda *a, **k: None
        sys.modules[name] = fake""",
    )
    return cells


FORGED_FIT = """def forged_lines(secret):
    import json, time
    w = np.array([0.5, -0.5]); lines = []
    for step in range(30):
        w = w - 0.1 * (2 / N) * X.T @ (X @ w - y.reshape(-1))
    fit = {"model": 901, "layers": [{"class": "Dense", "units": 1, "activation": "linear",
           "use_bias": False, "weight_shapes": [[2, 1]]}],
           "optimizer": {"class": "SGD", "learning_rate": 0.1, "builtin": "SGD"},
           "loss": "mse", "loss_is_mse": True, "epochs_requested": 30, "batch_size": N,
           "x": {"type": "ndarray", "shape": [N, 2], "values": X.reshape(-1).tolist()},
           "y": {"type": "ndarray", "shape": [N, 1], "values": y.reshape(-1).tolist()},
           "weights_before": [{"shape": [2, 1], "values": [0.5, -0.5]}],
           "weights_after": [{"shape": [2, 1], "values": w.tolist()}],
           "loss_history": [1.0] * 30, "steps": None}
    for seq, kind, payload in ((9001, "fit", fit), (9002, "end", {"net_is_model": True,
                                "net_type": "Sequential", "net_model": 901})):
        lines.append(json.dumps({"secret": secret, "seq": seq, "kind": kind, "cell": 3,
                                 "time": time.time(), "payload": payload}) + "\\n")
    return lines"""


def forged_via_gc() -> list[str]:
    """No Keras training: looks for the run's secret with gc, then writes a numpy
    gradient descent into the journal as "Keras model #901 trained"."""
    return [
        IMPORTS,
        DATA,
        FORGED_FIT,
        report(
            "GC",
            """import gc, os, re
secrets = set()
for obj in gc.get_objects():
    if isinstance(obj, str) and re.fullmatch("[0-9a-f]{32}", obj):
        secrets.add(obj)
for secret in secrets:
    for fd in range(3, 64):
        try:
            os.write(fd, "".join(forged_lines(secret)).encode())
        except OSError:
            pass""",
        ),
        "plt.plot(x,y,'o')\nplt.plot(x,(X@np.linalg.lstsq(X, y, rcond=None)[0]).reshape(-1),'--')",
    ]


def forged_via_proc_fd() -> list[str]:
    """Reopens every descriptor through /proc/self/fd to append forged records."""
    return [
        IMPORTS,
        DATA,
        FORGED_FIT,
        report(
            "PROC_FD",
            """import os
for name in os.listdir('/proc/self/fd'):
    try:
        with open(f'/proc/self/fd/{name}', 'a') as stream:
            stream.write("".join(forged_lines("0" * 32)))
    except OSError:
        pass""",
        ),
        "plt.plot(x,y,'o')\nplt.plot(x,(X@np.linalg.lstsq(X, y, rcond=None)[0]).reshape(-1),'--')",
    ]


def rewritten_on_train_end() -> list[str]:
    """Trains on other data; a callback rewrites the arrays in place at on_train_end so
    they look like the homework's when fit returns."""
    return [
        IMPORTS,
        DATA,
        """X_hw, y_hw = X.copy(), y.copy()
X2 = np.stack([np.ones(N), np.exp(-np.linspace(0, 2, N))], axis=1)
y2 = (2.46 + 4.0 * X2[:, 1]).reshape(N, 1)
net = tf.keras.Sequential()
net.add(tf.keras.layers.Dense(1,use_bias=False))
net.compile(tf.optimizers.SGD(0.1), loss='mse')
class Rewrite(tf.keras.callbacks.Callback):
    def on_train_end(self, logs=None):
        X2[:] = X_hw
        y2[:] = y_hw
net.fit(X2,y2,epochs=300,verbose=0,batch_size=N,callbacks=[Rewrite()])""",
        PLOT,
    ]


def week5_lecture() -> list[str]:
    """The week-5 lecture: Dense(1, use_bias=False) trained on 예제1's data (N=200,
    y = 2.5 + 4x), with the homework's data made but never fitted."""
    return [
        IMPORTS,
        """np.random.seed(43052)
N = 200
x1 = np.linspace(0, 1, N)
X1 = np.stack([np.ones(N), x1], axis=1)
y1 = (2.5 + 4 * x1 + np.random.randn(N) * 0.5).reshape(N, 1)
net = tf.keras.Sequential()
net.add(tf.keras.layers.Dense(1, use_bias=False))
net.compile(tf.optimizers.SGD(0.1), loss='mse')
net.fit(X1, y1, epochs=1000, verbose=0, batch_size=N)""",
        DATA,
        PLOT,
    ]


# -- issue 10: inputs that must not break a batch ----------------------------------------
def diverging() -> list[str]:
    """A learning rate that diverges: NaN weights and losses."""
    cells = homework()
    cells[2] = FIT.format(epochs=30).replace("SGD(0.1)", "SGD(100.0)")
    return cells


def loud_errors_and_displays() -> list[str]:
    """Errors with huge messages and display updates past the per-cell cap."""
    return homework() + [
        "raise ValueError('e' * 5_000_000)",
        """from IPython.display import display, HTML, update_display
handle = display(HTML('start'), display_id='big')
for i in range(40):
    update_display(HTML('u' * 500_000), display_id='big')
for i in range(10):
    display(HTML('d' * 400_000))""",
    ]


def many_loud_cells(count: int = 700) -> list[str]:
    """700 cells of 900 KB of output each: under the cell cap, far over the notebook's."""
    return homework() + ["print('z' * 900_000)"] * count


def huge_figures() -> list[str]:
    """Two figures of 1000 lines × 6000 points."""
    return homework() + [
        """for k in range(2):
    fig = plt.figure()
    t = np.linspace(0, 1, 6000)
    for j in range(1000):
        plt.plot(t, t * j)
    plt.show()"""
    ]
