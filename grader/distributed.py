"""Grade on a Dask cluster: ``grader grade DIR --out OUT --dask ADDRESS``.

``ADDRESS`` is a running scheduler (``tcp://host:8786``) or ``local:N``, a LocalCluster of
N worker processes on this machine.  Each worker keeps one kernel source for its life
(``KernelPool``, a worker plugin: the warm pool starts in ``setup`` and is closed in
``teardown``) and runs ``--jobs`` submissions at once.  No shared file system: the
notebook's bytes go to the worker, its Outcome comes back as plain JSON data (built by the
grader on the worker; nothing a kernel produced is pickled), and the client's collector
writes OUT/ as in a local run.

A worker that dies while it grades (killed, out of memory) loses nothing: the scheduler
runs its submissions again on another worker.  A submission that was running each time
its worker died ``allowed-failures`` + 1 times gets status ``error`` with that reason
(``local:N`` sets ``distributed.scheduler.allowed-failures`` to 1: a second death; a
scheduler you start yourself keeps its own setting, see the README).
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import os
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from grader.startup import skip_slow_imports

skip_slow_imports()  # a worker imports this module first (grader/startup.py says why)

from grader.api import unscored_result  # noqa: E402
from grader.assignment import Assignment  # noqa: E402
from grader.batch import DaskUnavailable  # noqa: E402
from grader.dask_preload import take  # noqa: E402
from grader.notebook import read_submission  # noqa: E402
from grader.result import Result, Status  # noqa: E402
from grader.run.pool import KernelSource, PlainSource, PoolUnavailable, kernel_source  # noqa: E402
from grader.submission import (  # noqa: E402
    Outcome,
    SubmissionOptions,
    grade_submission_async,
    internal_error_result,
    refused_outcome,
)

try:
    import dask
    from distributed import (
        Client,
        KilledWorker,
        LocalCluster,
        WorkerPlugin,
        as_completed,
        get_worker,
    )
except ImportError as error:  # the optional extra: pip install keras-hw-grader[dask]
    raise ImportError(
        "--dask needs Dask's distributed scheduler: pip install 'keras-hw-grader[dask]'"
    ) from error

LOCAL_PREFIX = "local:"
ALLOWED_FAILURES = 1  # a submission whose worker dies twice while running it: error
WORKER_WAIT_S = 300  # how long a client waits for the first worker of a cluster
logger = logging.getLogger("grader.distributed")


def parse_address(address: str) -> str | int:
    """``local:N`` -> N (worker processes to start here); anything else: a scheduler's
    address, as Dask takes it.  Raises ValueError on a malformed ``local:``."""
    if address.startswith(LOCAL_PREFIX):
        count = address[len(LOCAL_PREFIX) :]
        if not count.isdigit() or int(count) < 1:
            raise ValueError(f"{address!r}: local:N needs a number of workers N >= 1")
        return int(count)
    if not address.strip():
        raise ValueError("an empty Dask address")
    return address


class KernelPool(WorkerPlugin):
    """One kernel source per worker for the worker's life: the warm pool (ForkSource,
    keeping one kernel started ahead per thread of the worker) when asked for and it
    starts, plain kernels otherwise.  Its submissions all run on one event loop of its
    own (a thread), as a local batch's do: kernels started ahead belong to that loop."""

    idempotent = True  # a second batch on the same cluster finds its pool warm

    def __init__(self, pooled: bool = True):
        self.pooled = pooled
        self.name = f"grader-kernels-{'fork' if pooled else 'plain'}"
        self.source: KernelSource | None = None
        self.loop: asyncio.AbstractEventLoop | None = None
        self.thread: threading.Thread | None = None

    async def setup(self, worker) -> None:
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(
            target=self.loop.run_forever, name="grader-kernels", daemon=True
        )
        self.thread.start()
        slots = int(getattr(getattr(worker, "state", None), "nthreads", 1) or 1)
        started = take(worker)  # the parent the worker preload started, if any
        if started is not None and not self.pooled:
            started.close()
            started = None
        source = kernel_source(self.pooled, ready_kernels=slots, zygote=started)
        try:
            await asyncio.to_thread(source.start)  # importing TensorFlow takes a while
        except PoolUnavailable as error:
            logger.warning("%s; using plain kernels on %s", error, worker.address)
            source = PlainSource()
        self.source = source

    def run(self, coroutine) -> object:
        """Run ``coroutine`` on the pool's loop; called from one of the worker's threads."""
        return asyncio.run_coroutine_threadsafe(coroutine, self.loop).result()

    def teardown(self, worker) -> None:
        source, self.source = self.source, None
        if self.loop is None:
            return
        if source is not None:  # on its loop: kernels started ahead belong to it
            self.run(_closed(source))
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(timeout=30)
        self.loop = self.thread = None


async def _closed(source: KernelSource) -> None:
    source.close()


def namespaces_here() -> bool:
    """Whether this worker can build the sandbox (run on each worker by the client)."""
    from grader.run.sandbox import sandbox_available

    return sandbox_available()


def warn_unconfined(client: Client) -> None:
    """Say which workers grade without namespaces (memory cap only), as a local run does."""
    from grader.run.sandbox import UNAVAILABLE_WARNING

    lacking = sorted(a for a, ok in client.run(namespaces_here).items() if not ok)
    if lacking:
        shown = ", ".join(lacking[:5]) + (f", … ({len(lacking)})" if len(lacking) > 5 else "")
        print(f"warning: on Dask worker(s) {shown}: {UNAVAILABLE_WARNING}", file=sys.stderr)


def grade_on_worker(
    name: str,
    content: bytes,
    assignment: Assignment,
    options: SubmissionOptions,
    plugin_name: str,
) -> dict:
    """The task: one submission on this worker, with its plugin's kernel source; the
    Outcome as JSON data."""
    plugin = get_worker().plugins.get(plugin_name)
    if getattr(plugin, "source", None) is None:  # not set up: a plain kernel, here
        graded = grade_submission_async(name, content, assignment, options, PlainSource())
        return asyncio.run(graded).to_json()
    graded = grade_submission_async(name, content, assignment, options, plugin.source)
    return plugin.run(graded).to_json()


@contextmanager
def connected(address: str, jobs: int) -> Iterator[Client]:
    """A client of the cluster at ``address`` (started here for ``local:N``).  Its
    workers get no preload (grader/dask_preload.py): started together with the worker
    processes on one machine, the pool parents' imports only compete with theirs (two
    interleaved runs each on 2 cores: 15.7 and 16.0 s with it, 15.2 and 15.3 s without)."""
    target = parse_address(address)
    if isinstance(target, int):
        settings = {
            "distributed.scheduler.allowed-failures": ALLOWED_FAILURES,
            # a worker holds no more submissions than it has slots: a worker's death
            # counts against the submissions it was running, not against queued ones
            "distributed.scheduler.worker-saturation": 1.0,
        }
        with dask.config.set(settings):
            cluster = LocalCluster(
                n_workers=target,
                threads_per_worker=jobs,
                processes=True,
                dashboard_address=None,
                silence_logs=logging.ERROR,
                memory_limit=0,  # the kernels' own memory cap applies; workers hold little
            )
        try:
            with Client(cluster) as client:
                yield client
        finally:
            cluster.close()
        return
    try:
        client = Client(target, timeout=60)
    except (OSError, TimeoutError) as error:
        raise DaskUnavailable(f"cannot reach the Dask scheduler at {target}: {error}") from None
    with client:
        try:
            client.wait_for_workers(1, timeout=WORKER_WAIT_S)
        except TimeoutError:
            raise DaskUnavailable(
                f"the Dask scheduler at {target} has no worker after {WORKER_WAIT_S} s"
            ) from None
        yield client


def _digest(name: str) -> str:
    """A short tag of a file name for a task's key (keys are text; names may not be)."""
    return hashlib.sha256(os.fsencode(name)).hexdigest()[:16]


def _slots(client: Client) -> int:
    """Submissions the cluster runs at once now (its workers' threads)."""
    workers = client.scheduler_info().get("workers", {})
    return max(1, sum(int(w.get("nthreads", 1)) for w in workers.values()))


def worker_lost_result(name: str, assignment: Assignment, lang: str, error: KilledWorker) -> Result:
    times = int(getattr(error, "allowed_failures", ALLOWED_FAILURES)) + 1
    reason = assignment.message("worker.lost", lang, times=times)
    return unscored_result(name, assignment, lang, Status.ERROR, reason)


def grade_on_dask(
    address: str,
    pooled: bool,
    jobs: int,
    paths: list[Path],
    assignment: Assignment,
    options: SubmissionOptions,
    collector,
) -> None:
    """Grade ``paths`` on the cluster; each Outcome goes to ``collector.graded`` as it
    comes back.  No more submissions are out than the cluster has slots, so the
    notebooks' bytes wait here rather than in the scheduler's memory."""
    with connected(address, jobs) as client:
        plugin = KernelPool(pooled)
        client.register_plugin(plugin, name=plugin.name)
        warn_unconfined(client)
        waiting = list(reversed(paths))
        running: dict[str, Path] = {}
        finished = as_completed()

        def send_more() -> None:
            while waiting and len(running) < _slots(client):
                path = waiting.pop()
                try:
                    content = read_submission(path)
                except OSError as error:
                    collector.graded(refused_outcome(path.name, error, assignment, options))
                    continue
                future = client.submit(
                    grade_on_worker,
                    path.name,
                    content,
                    assignment,
                    options,
                    plugin.name,
                    key=f"grade-{len(paths) - len(waiting)}-{_digest(path.name)}",
                )
                running[future.key] = path
                finished.add(future)

        send_more()
        for future in finished:
            path = running.pop(future.key)
            try:
                outcome = Outcome.from_json(future.result())
            except KilledWorker as error:
                outcome = Outcome(worker_lost_result(path.name, assignment, options.lang, error))
            except Exception as error:  # noqa: BLE001 - one bad submission never stops a batch
                outcome = Outcome(internal_error_result(path.name, assignment, options.lang, error))
            future.release()
            collector.graded(outcome)
            send_more()
