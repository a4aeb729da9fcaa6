"""The environment of a student kernel (standard library only: the pool's parent is
started with it before the grader has imported anything heavy)."""

from __future__ import annotations

import os

# Keras 2 behaviour, as the course used it (net.optimizer.lr, keras.callbacks.History),
# and ~20x faster epochs than Keras 3 on data this small.
#
# TF_ENABLE_ONEDNN_OPTS=0: oneDNN's graph rewrite asks, for every op type it meets, whether
# a oneDNN kernel exists by scanning TensorFlow's whole kernel registry; every kernel pays
# that again in its first fit (70 to 90 ms of CPU, a fifth of the homework's own work, by
# perf and forked-child timings), while epochs on models this small are no faster with it
# (1000-epoch fits: the same within noise).  Results differ only in float rounding.
KERNEL_ENV = {
    "TF_USE_LEGACY_KERAS": "1",
    "TF_ENABLE_ONEDNN_OPTS": "0",
    "TF_CPP_MIN_LOG_LEVEL": "2",
    "PYTHONHASHSEED": "0",
    "PYDEVD_DISABLE_FILE_VALIDATION": "1",
    "MPLBACKEND": "module://matplotlib_inline.backend_inline",
}


def kernel_environment() -> dict[str, str]:
    """The environment a student kernel starts with: ours, plus the Keras settings."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("JPY_", "JUPYTER_"))}
    env.update(KERNEL_ENV)
    return env
