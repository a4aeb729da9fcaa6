"""A Dask worker preload: ``dask worker tcp://… --preload grader.dask_preload``.

It starts the worker's warm-pool parent (``grader/run/parent.py``, standard library only)
as the worker process starts, so that the parent imports TensorFlow while the cluster
comes up and the client connects; the ``KernelPool`` plugin (``grader/distributed.py``)
takes it over when the client registers it.  Without the preload the plugin starts the
parent when the first batch arrives, and that batch waits for the import.  ``--dask
local:N`` does not add it (see ``connected``)."""

from __future__ import annotations

import logging

from grader.run.parent import Zygote

ATTRIBUTE = "_grader_zygote"  # on the Worker: the parent started here, until taken
logger = logging.getLogger("grader.dask_preload")


def dask_setup(worker) -> None:
    try:
        setattr(worker, ATTRIBUTE, Zygote())
    except OSError as error:  # the plugin will try again, or use plain kernels
        logger.warning("the pool's parent did not start at worker start: %s", error)


def take(worker) -> Zygote | None:
    """The parent started by the preload, now the caller's to close; None without one."""
    zygote = getattr(worker, ATTRIBUTE, None)
    if zygote is not None:
        setattr(worker, ATTRIBUTE, None)
    return zygote


def dask_teardown(worker) -> None:
    zygote = take(worker)  # never taken: no plugin came
    if zygote is not None:
        zygote.close()
