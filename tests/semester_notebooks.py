"""Notebooks for the similarity report: honest solutions written in different hands,
copies of them (variables renamed, comments removed), files with saved outputs.

``honest(i)`` draws each part of a solution from the ways students in the course write
it (the lecture's own lines included), plus each student's own labels and habits, so
two honest notebooks share what the lecture gives them and what happens to coincide.
"""

from __future__ import annotations

import io
import random
import tokenize
from pathlib import Path

import nbformat

from tests.notebooks import DATA

IMPORTS = [
    "import numpy as np\nimport matplotlib.pyplot as plt\nimport tensorflow as tf",
    "import tensorflow as tf\nimport numpy as np\nimport matplotlib.pyplot as plt",
    "import numpy as np\nimport tensorflow as tf\nfrom matplotlib import pyplot as plt",
    "import matplotlib.pyplot as plt\nimport numpy as np\nimport tensorflow as tf\n"
    "import tensorflow.experimental.numpy as tnp",
]
DESIGN = [
    "{X} = np.stack([np.ones(N), np.exp(-x)], axis=1)",
    "{X} = np.column_stack((np.ones(len(x)), np.exp(-x)))",
    "{X} = np.c_[np.ones(N), np.exp(-x)]",
    "ones = np.ones((N, 1))\nex = np.exp(-x).reshape(-1, 1)\n"
    "{X} = np.concatenate([ones, ex], axis=1)",
    "{X} = np.array([[1.0, np.exp(-xi)] for xi in x])",
]
TARGET = [
    "{y} = y.reshape(N, 1)",
    "{y} = y.reshape(-1, 1)",
    "{y} = np.asarray(y, dtype=float)",
    "{y} = y",
]
MODEL = [
    "{net} = tf.keras.Sequential()\n{net}.add(tf.keras.layers.Dense(1, use_bias=False))",
    "{net} = tf.keras.Sequential([tf.keras.layers.Dense(1, use_bias=False)])",
    "{net} = tf.keras.models.Sequential()\n{layer} = tf.keras.layers.Dense(units=1, "
    "use_bias=False, input_dim=2)\n{net}.add({layer})",
    "{layer} = tf.keras.layers.Dense(1, use_bias=False, input_shape=(2,))\n"
    "{net} = tf.keras.Sequential([{layer}])",
]
COMPILE = [
    "{net}.compile(tf.optimizers.SGD(0.1), loss='mse')",
    "{net}.compile(optimizer=tf.keras.optimizers.SGD(learning_rate=0.1), loss='mse')",
    "{net}.compile(tf.keras.optimizers.SGD(0.1), tf.keras.losses.MSE)",
    "{opt} = tf.keras.optimizers.SGD(learning_rate=0.1)\n"
    "{net}.compile(optimizer={opt}, loss=tf.keras.losses.MeanSquaredError())",
]
FIT = [
    "{net}.fit({X}, {y}, epochs=30, verbose=0, batch_size=N)",
    "{hist} = {net}.fit({X}, {y}, epochs=30, batch_size=100, verbose=0)",
    "{hist} = {net}.fit({X}, {y}, batch_size=len({X}), epochs=30, verbose=0)",
    "{net}.fit({X}, {y}, epochs=30, batch_size={X}.shape[0], verbose=False)",
]
SHOW = [
    "{net}.weights",
    "{net}.get_weights()",
    "{b} = {net}.get_weights()[0].ravel()\nprint('beta0 =', {b}[0], 'beta1 =', {b}[1])",
    "print({net}.layers[0].kernel.numpy())",
]
PLOT = [
    "plt.plot(x, {y}, 'o')\nplt.plot(x, ({X} @ {net}.weights).reshape(-1), '--')",
    "{fig}, {ax} = plt.subplots()\n{ax}.scatter(x, {y}, s=6)\n"
    "{ax}.plot(x, {net}.predict({X}, verbose=0).ravel(), color='{color}')",
    "plt.scatter(x, {y}, alpha=0.5)\n{b} = {net}.get_weights()[0]\n"
    "plt.plot(x, {b}[0] + {b}[1] * np.exp(-x), '{style}', lw=2)",
    "plt.figure(figsize=({w}, {h}))\nplt.plot(x, {y}, '.', label='{data_label}')\n"
    "plt.plot(x, {X} @ {net}.get_weights()[0], label='{fit_label}')\nplt.legend()",
]
EXTRA = [
    "",
    "plt.title('{title}')",
    "plt.xlabel('x')\nplt.ylabel('y')",
    "print('MSE:', np.mean(({y}.reshape(-1) - ({X} @ {net}.get_weights()[0]).reshape(-1)) ** 2))",
    "{ols} = np.linalg.lstsq({X}, {y}, rcond=None)[0]\nprint('{ols_text}', {ols}.ravel())",
]
NAMES = {
    "X": ["X", "design", "Xmat", "features", "A", "X_design", "inputs"],
    "y": ["y", "target", "yy", "Y", "y_col", "labels", "t"],
    "net": ["net", "model", "m", "reg", "keras_model", "nn", "lin"],
    "layer": ["layer", "dense", "lyr", "d1"],
    "opt": ["opt", "sgd", "optimizer_", "o"],
    "hist": ["hist", "history", "h", "log"],
    "b": ["b", "w", "beta", "coef", "params"],
    "fig": ["fig", "f", "figure1"],
    "ax": ["ax", "axes", "a1"],
    "ols": ["ols", "beta_ls", "lsq", "exact"],
}
WORDS = [
    "fit", "data", "result", "exp model", "keras", "regression", "homework", "숙제", "적합",
    "observed", "line", "curve", "관측값", "추정", "model output", "prediction",
]  # fmt: skip


def honest(i: int) -> list[str]:
    """Student ``i``'s own solution: the same homework, written their own way."""
    rng = random.Random(1000 + i)
    names = {key: rng.choice(options) for key, options in NAMES.items()}
    words = {
        "title": f"{rng.choice(WORDS)} {rng.choice(WORDS)} #{rng.randint(1, 99)}",
        "data_label": rng.choice(WORDS),
        "fit_label": f"{rng.choice(WORDS)} ({rng.choice(WORDS)})",
        "ols_text": rng.choice(["OLS:", "least squares", "정답", "lstsq ->"]),
        "color": rng.choice(["red", "C1", "k", "tab:orange", "#e41a1c"]),
        "style": rng.choice(["--", "-", "r-", "k--", "g-."]),
        "w": rng.choice([4, 5, 6, 8]),
        "h": rng.choice([3, 4, 5]),
    }
    fill = {**names, **words}
    cells = [rng.choice(IMPORTS), DATA.replace("X=np.stack([np.ones(N),np.exp(-x)],axis=1)\n", "")]
    cells.append(rng.choice(DESIGN).format(**fill) + "\n" + rng.choice(TARGET).format(**fill))
    cells.append(
        "\n".join(part.format(**fill) for part in (rng.choice(MODEL), rng.choice(COMPILE)))
    )
    cells.append(rng.choice(FIT).format(**fill))
    cells.append(rng.choice(SHOW).format(**fill))
    plot = rng.choice(PLOT).format(**fill)
    extras = [e.format(**fill) for e in rng.sample(EXTRA, 2) if e]
    cells.append("\n".join([plot, *extras]))
    return cells


def own_solution() -> list[str]:
    """An idiosyncratic solution: a student's helper function, a loss plot, notes."""
    return [
        "import numpy as np\nimport matplotlib.pyplot as plt\nimport tensorflow as tf",
        DATA,
        """# build the model the homework prescribes
def make_regressor(n_features):
    regressor = tf.keras.Sequential(name="exp_regression")
    regressor.add(tf.keras.layers.Dense(1, use_bias=False, input_dim=n_features))
    regressor.compile(tf.keras.optimizers.SGD(0.1), loss="mse")  # plain SGD
    return regressor

regressor = make_regressor(X.shape[1])
training_log = regressor.fit(X, y, epochs=30, batch_size=N, verbose=0)""",
        """estimated = regressor.get_weights()[0].ravel()
for coef_name, coef_value in zip(["beta0", "beta1"], estimated):
    print(coef_name, "=", round(float(coef_value), 5))""",
        """# two panels: the fit, and how the loss fell
panels = plt.figure(figsize=(9, 3.5))
left = panels.add_subplot(1, 2, 1)
left.plot(x, y, "o", ms=3, color="gray", label="observed (seed 43052)")
left.plot(x, X @ estimated, "-", color="crimson", label="keras fit after 30 epochs")
left.legend(loc="upper right", fontsize=8)
right = panels.add_subplot(1, 2, 2)
right.semilogy(training_log.history["loss"], marker=".", label="training loss")
right.set_xlabel("epoch")
right.set_title("loss per epoch (full batch)")
panels.tight_layout()""",
    ]


HISTORY = "<keras.callbacks.History at 0x7f06011c7c40>"
WEIGHTS = "[array([[2.126046 ],\n        [4.2351737]], dtype=float32)]"


# two students' own plots after the lecture's cells with the same seed
SEEDED_PLOTS = (
    "plt.plot(x, y, 'o', ms=2)\nplt.plot(x, (X@net.weights).reshape(-1), 'r-', label='seeded fit')"
    "\nplt.legend()",
    "fig, ax = plt.subplots(figsize=(5, 3))\nax.scatter(x, y.ravel(), s=5, color='gray')\n"
    "ax.plot(x, X @ net.get_weights()[0], 'b--')\nax.set_title('beta with tf.random.set_seed')",
)


def seeded(cells: list[str], seed: int = 43052, call: str = "tf.random.set_seed") -> list[str]:
    """The same solution with a seed set after the imports (the course's habit:
    ``tf.random.set_seed(43052)``; ``tf.keras.utils.set_random_seed`` also fixes the
    initial weights in today's Keras)."""
    return [cells[0] + f"\n{call}({seed})", *cells[1:]]


KERAS_SEED = "tf.keras.utils.set_random_seed"


def renamed_without_comments(cells: list[str], mapping: dict[str, str]) -> list[str]:
    """The copier's disguise: every name in ``mapping`` renamed, every comment removed,
    blank lines squeezed."""
    copied = []
    for source in cells:
        tokens = []
        for token in tokenize.generate_tokens(io.StringIO(source + "\n").readline):
            if token.type == tokenize.COMMENT:
                continue
            text = (
                mapping.get(token.string, token.string)
                if token.type == tokenize.NAME
                else token.string
            )
            tokens.append((token.type, text))
        text = tokenize.untokenize(tokens)
        copied.append("\n".join(line.rstrip() for line in text.splitlines() if line.strip()))
    return copied


COPY_RENAMES = {
    "make_regressor": "build",
    "n_features": "k",
    "regressor": "mdl",
    "training_log": "hist",
    "estimated": "bhat",
    "coef_name": "nm",
    "coef_value": "v",
    "panels": "fig",
    "left": "ax1",
    "right": "ax2",
}


def notebook(cells: list[str], outputs: dict[int, list] | None = None) -> nbformat.NotebookNode:
    """A v4 notebook; ``outputs`` maps a cell's position to the outputs saved with it."""
    nb = nbformat.v4.new_notebook()
    for index, source in enumerate(cells):
        cell = nbformat.v4.new_code_cell(source)
        cell.outputs = list((outputs or {}).get(index, []))
        nb.cells.append(cell)
    nb.metadata["kernelspec"] = {
        "name": "python3",
        "display_name": "Python 3",
        "language": "python",
    }
    return nb


def stream(text: str):
    return nbformat.v4.new_output("stream", name="stdout", text=text)


def result(text: str, count: int = 1):
    return nbformat.v4.new_output(
        "execute_result", data={"text/plain": text}, execution_count=count
    )


def write(nb: nbformat.NotebookNode, path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(nb, str(path))
    return path
