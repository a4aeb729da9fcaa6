"""The midterm's example submissions (assignments/midterm_2022/examples): the course's own
solution and variants that each get one question wrong.

Run ``python -m tests.midterm_notebooks DIR`` to write them.
"""

from __future__ import annotations

import sys
from pathlib import Path

from tests.notebooks import write_notebook

IMPORTS = """import numpy as np
import matplotlib.pyplot as plt
import tensorflow as tf
import tensorflow.experimental.numpy as tnp
tnp.experimental_enable_numpy_behavior()"""

Q3_1 = """np.random.seed(43052)
t = np.array(range(1000))*np.pi/1000
y = -2 + 3*np.cos(t) + 1*np.cos(2*t) + 0.5*np.cos(5*t) + np.random.randn(1000)*{noise}
X = tf.stack([np.cos(t), np.cos(2*t), np.cos(3*t), np.cos(4*t), np.cos(5*t)], axis=1)
y = y.reshape(1000, 1)
net = tf.keras.Sequential()
net.add(tf.keras.layers.Dense(1))
net.compile(loss='mse', optimizer='sgd')
net.fit(X, y, epochs={epochs}, batch_size=1000, verbose=0)
net.weights"""

Q3_2 = """x = tnp.linspace(-1, 1, 2000).reshape(2000, 1)
v = -1 + 5*x
prob = np.exp(v)/(1+np.exp(v))
y = np.random.binomial(1, prob)
net = tf.keras.Sequential()
net.add(tf.keras.layers.Dense(1, activation='sigmoid'))
net.compile(loss='binary_crossentropy', optimizer='sgd')
net.fit(x, y, epochs=10000, batch_size=2000, verbose=0)
net.weights"""

Q4_DATA = """np.random.seed(43052)
N = 100
x = np.linspace(-1, 1, N)
lamb = lambda x: x*1 + np.random.normal()*0.3 if x <= 0 else x*3.5 + np.random.normal()*0.3
y = np.array(list(map(lamb, x)))
X = x.reshape(N, 1)
y = y.reshape(N, 1)"""

Q4_1 = """tf.random.set_seed(43054)
net = tf.keras.Sequential()
net.add(tf.keras.layers.Dense(1))
net.compile(optimizer=tf.keras.optimizers.SGD(0.1), loss='mse')
net.fit(X, y, epochs=1000, batch_size=N, verbose=0)
net.weights"""

Q4_2 = """tf.random.set_seed(43056)
net = tf.keras.Sequential()
net.add(tf.keras.layers.Dense(2))
net.add(tf.keras.layers.Activation('relu'))
net.add(tf.keras.layers.Dense(1))
net.compile(optimizer=tf.keras.optimizers.SGD(0.1), loss='mse')
net.fit(X, y, epochs=1000, batch_size=N, verbose=0)
net.weights"""

Q4_2_ONE_LAYER = """tf.random.set_seed(43056)
net = tf.keras.Sequential()
net.add(tf.keras.layers.Dense(1))
net.compile(optimizer=tf.keras.optimizers.SGD(0.1), loss='mse')
net.fit(X, y, epochs=1000, batch_size=N, verbose=0)
net.weights"""


def solution() -> list[str]:
    """The four Keras questions answered as the course's solution does."""
    return [
        IMPORTS,
        Q3_1.format(noise=0.2, epochs=1000),
        Q3_2,
        Q4_DATA,
        Q4_1,
        Q4_2,
    ]


def wrong_data() -> list[str]:
    """Q3-(1) on data with another noise level; the rest right."""
    cells = solution()
    cells[1] = Q3_1.format(noise=0.5, epochs=1000)
    return cells


def wrong_architecture() -> list[str]:
    """Q4-(2) with one Dense(1) instead of Dense(2) → ReLU → Dense(1)."""
    cells = solution()
    cells[5] = Q4_2_ONE_LAYER
    return cells


def too_few_epochs() -> list[str]:
    """Q3-(1) trained for 100 epochs: SGD(0.01) has not converged."""
    cells = solution()
    cells[1] = Q3_1.format(noise=0.2, epochs=100)
    return cells


def skipped() -> list[str]:
    """Q3-(2) left out."""
    cells = solution()
    del cells[2]
    return cells


EXAMPLES = {
    "01_solution.ipynb": solution,
    "02_wrong_data.ipynb": wrong_data,
    "03_wrong_architecture.ipynb": wrong_architecture,
    "04_too_few_epochs.ipynb": too_few_epochs,
    "05_skipped_question.ipynb": skipped,
}


def main(directory: Path) -> None:
    directory.mkdir(parents=True, exist_ok=True)
    for name, builder in EXAMPLES.items():
        write_notebook(builder(), directory / name)


if __name__ == "__main__":
    main(Path(sys.argv[1]))
