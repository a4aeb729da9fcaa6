"""The environment of a student kernel (standard library only: the pool's parent is
started with it before the grader has imported anything heavy)."""

from __future__ import annotations

import os

# Keras 2 behaviour, as the course used it (net.optimizer.lr, keras.callbacks.History),
# and ~20x faster epochs than Keras 3 on data this small.
KERNEL_ENV = {
    "TF_USE_LEGACY_KERAS": "1",
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
