"""The warm kernel pool's parent: imports what submissions import once, then forks one
fresh kernel per request.  Run by path (it imports nothing of the grader):

    python zygote.py SOCKET_PATH

Protocol, one request per connection on a unix socket: the grader sends one JSON line
(the kernel's argv, working folder, environment, sandbox plan) with two file descriptors
attached (the kernel's log, the probe's journal); the zygote answers {"pid": N}.
{"op": "status", "pid": N} answers {"returncode": R or null}.  Only the process that
started the zygote may ask (checked with SO_PEERCRED); a kernel could not reach the socket
anyway (its folder is not in the kernel's view, and the forked child closes it).

It never runs a TensorFlow op itself: importing is safe to fork after, running is not.
"""

import ctypes
import gc
import json
import os
import signal
import socket
import struct
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import confine  # noqa: E402  (beside this file; standard library only)
import grading_kernel  # noqa: E402  (likewise)

PR_SET_PDEATHSIG = 1
_exited = {}  # pid -> return code, as Popen reports it (negative: killed by a signal)


def preload():
    """What every homework imports, and what its first kernel would do once, paid for
    once here.  Only imports and pure-Python/C work: no TensorFlow op runs here (a
    process that ran one is not safe to fork), and nothing here starts a thread."""
    import numpy  # noqa: F401
    import tensorflow as tf

    tf.keras.layers.Dense  # noqa: B018 - loads tf_keras (TF_USE_LEGACY_KERAS=1)
    import ipykernel.ipkernel  # noqa: F401
    import ipykernel.kernelapp  # noqa: F401
    import ipykernel.zmqshell  # noqa: F401
    import IPython  # noqa: F401
    import IPython.core.completer  # noqa: F401
    import IPython.core.interactiveshell  # noqa: F401
    import IPython.core.logger  # noqa: F401
    import IPython.core.pylabtools  # noqa: F401
    import matplotlib
    import matplotlib.backend_bases  # noqa: F401
    import matplotlib.backends.backend_agg  # noqa: F401
    import matplotlib.figure  # noqa: F401
    import matplotlib.pyplot  # noqa: F401 - its backend is chosen later, in the kernel
    import PIL.Image
    import PIL.PngImagePlugin  # noqa: F401
    import tf_keras.src.engine.base_layer_v1  # noqa: F401 - imported by the first fit
    from tensorflow.python.data.ops import flat_map_op, zip_op  # noqa: F401 - likewise

    matplotlib.get_cachedir()
    PIL.Image.preinit()
    _draw_once()


def _draw_once():
    """Render one figure as the inline backend does (fonts loaded, text laid out) so that
    every kernel's first plot finds those caches filled.  No pyplot: no figure exists."""
    import io

    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    figure = Figure()
    FigureCanvasAgg(figure)
    axes = figure.add_subplot()
    axes.plot([-1.0, 0.0, 1.0], [6.5, 6.5, 3.9], "o")
    axes.plot([-1.0, 0.0, 1.0], [6.4, 6.4, 4.0], "--")
    axes.set_title("fit")
    figure.canvas.print_figure(io.BytesIO(), format="png", bbox_inches="tight")


def _reap(signum, frame):
    while True:
        try:
            pid, status = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            return
        _exited[pid] = os.waitstatus_to_exitcode(status)


def become_kernel(request, log_fd, journal_fd):
    """In the forked child: enter the sandbox, then run ipykernel until it exits."""
    os.setsid()
    os.dup2(log_fd, 1)
    os.dup2(log_fd, 2)
    os.close(log_fd)
    signal.signal(signal.SIGCHLD, signal.SIG_DFL)
    plan = request["sandbox"]
    confine.enter(plan)  # returns in the confined kernel process only
    gc.enable()  # off in the pool's parent since it preloaded: the student's is a normal one
    os.environ.clear()
    os.environ.update(request["env"])
    os.environ.update(plan["env"])
    os.environ["GRADER_JOURNAL_FD"] = str(journal_fd)  # its number in this process
    sys.argv = ["ipykernel_launcher", *request["kernel_args"]]
    here = os.path.dirname(os.path.abspath(__file__))
    sys.path[:] = [p for p in sys.path if os.path.abspath(p or ".") != here]  # not the grader's
    grading_kernel.trim()
    for name in ("confine", "grading_kernel"):  # done with: not the student's to import
        sys.modules.pop(name, None)
    from ipykernel.kernelapp import IPKernelApp

    IPKernelApp.launch_instance(argv=request["kernel_args"])
    os._exit(0)


def _peer_pid(connection):
    credentials = connection.getsockopt(
        socket.SOL_SOCKET, socket.SO_PEERCRED, struct.calcsize("3i")
    )
    return struct.unpack("3i", credentials)[0]


def serve(path, client_pid):
    signal.signal(signal.SIGCHLD, _reap)
    server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    old_umask = os.umask(0o177)
    server.bind(path)
    os.umask(old_umask)
    server.listen(16)
    print("ready", flush=True)
    while True:
        try:
            connection, _ = server.accept()
        except InterruptedError:
            continue
        with connection:
            if _peer_pid(connection) != client_pid:
                continue  # only the grader that started us may ask
            message, fds, _, _ = socket.recv_fds(connection, 1 << 20, 4)
            request = json.loads(message.decode("utf-8"))
            if request.get("op") == "status":
                for fd in fds:
                    os.close(fd)
                connection.sendall(
                    json.dumps({"returncode": _exited.get(request["pid"])}).encode() + b"\n"
                )
                continue
            pid = os.fork()
            if pid == 0:
                server.close()
                connection.close()
                try:
                    become_kernel(request, fds[0], fds[1])
                finally:
                    os._exit(70)
            for fd in fds:
                os.close(fd)
            connection.sendall(json.dumps({"pid": pid}).encode() + b"\n")


if __name__ == "__main__":
    # Die with the grader: a crashed or killed batch leaves no pool behind (its kernels
    # die with it in turn: each kernel's waiter has the same setting).
    ctypes.CDLL(None).prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
    if os.getppid() != int(sys.argv[2]):
        sys.exit(1)
    # No collections while preloading: each full one walks the whole TensorFlow heap, and
    # they cost 0.35 s of every pool start; the imports leave almost no cyclic garbage
    # (the same resident size either way).  A kernel turns the collector back on
    # (become_kernel); the waiter and the namespace's init never need it.
    gc.disable()
    preload()
    # every object so far into the permanent generation: a forked kernel's collections
    # neither scan the preloaded heap (a full one took ~0.1 s in each kernel's first fit)
    # nor write to its pages (copy-on-write would copy them)
    gc.freeze()
    serve(sys.argv[1], int(sys.argv[2]))
