"""The probe's guard: a PEP 578 audit hook that owns the journal and watches for tampering.

Loaded into the kernel by the probe (by file path, never put in ``sys.modules``).  The
hook cannot be removed; the run's secret, the journal's descriptor and the record
counter live only in its closure, which student code could reach only through ``gc``,
frames or ``ctypes`` -- the very events the hook blocks or records.

The probe writes through the hook (``sys.audit(EMIT, kind, cell, payload_json)``); the
hook accepts an emit only from the probe's own ``emit`` called by one of the probe's own
functions, adds the secret and the sequence number, and writes the line.  What student
code does that a grader must know about becomes an "evidence" record:

  * gc introspection (``gc.get_objects``, ``get_referrers``, ``get_referents``): blocked;
  * frame access (``sys._getframe``, ``inspect.currentframe/stack``, ``tb_frame``,
    ``gi_frame``...): blocked;
  * ``ctypes``, another audit hook: blocked; ``sys.settrace``/``setprofile``: blocked for
    everyone but the probe's own two line-table functions (a trusted library such as
    IPython's debugger or ``%prun`` would install a function the student chose);
  * any of these from a stack that is the standard library's alone (a thread or an
    executor whose target is ``gc.get_objects``, ``threading.settrace`` hooks): blocked,
    since whoever asked is not on the stack;
  * reopening one of its own descriptors through ``/proc/self/fd``, ``/dev/fd`` or its
    memory through ``/proc/self/mem`` (whoever asks): blocked; listing
    ``/proc/self/fd``, ``open(<int>)`` in student code: recorded (other processes'
    descriptors are the sandbox's to refuse);
  * the probe's code, module globals, wrappers or ``sys.modules`` entry changed (checked
    at every emit and at the end): recorded.

Student code is any frame whose file is outside the interpreter's standard library and
installed packages (notebook cells, ``exec``'d strings, files written by the notebook).
"""

import os
import re
import sys
import sysconfig
import time
from json import dumps

EMIT = "grader.probe.emit"
REGISTER = "grader.probe.register"
FINISH = "grader.probe.finish"
MAX_EVIDENCE = 200
_PROC_FD = re.compile(
    r"^/(proc/(?P<pid>self|thread-self|\d+)(/task/\d+)?/(fd|fdinfo|mem|map_files)|dev/fd)(/|$)"
)
_FRAME_ATTRS = frozenset({"tb_frame", "gi_frame", "cr_frame", "ag_frame"})
_WATCHED = frozenset(
    {
        EMIT,
        REGISTER,
        FINISH,
        "gc.get_objects",
        "gc.get_referrers",
        "gc.get_referents",
        "sys._getframe",
        "sys._current_frames",
        "object.__getattr__",
        "object.__setattr__",
        "object.__delattr__",
        "open",
        "os.listdir",
        "os.scandir",
        "sys.settrace",
        "sys.setprofile",
        "compile",
        "code.__new__",
        "marshal.loads",
        "exec",
        "sys.addaudithook",
        "ctypes.dlopen",
        "ctypes.dlsym",
        "ctypes.dlsym/handle",
        "ctypes.cdata",
        "ctypes.cdata/buffer",
        "ctypes.addressof",
        "ctypes.string_at",
        "ctypes.wstring_at",
        "ctypes.call_function",
        "ctypes.create_string_buffer",
        "ctypes.create_unicode_buffer",
        "ctypes.set_errno",
        "ctypes.get_errno",
    }
)


def _trusted_prefixes(extra):
    prefixes = set()
    paths = sysconfig.get_paths()
    for key in ("stdlib", "platstdlib", "purelib", "platlib"):
        if paths.get(key):
            prefixes.add(paths[key])
            prefixes.add(os.path.realpath(paths[key]))
    for path in sys.path:
        if path and ("site-packages" in path or "dist-packages" in path):
            prefixes.add(path)
            prefixes.add(os.path.realpath(path))
    prefixes.update(extra)
    return tuple(sorted(p.rstrip("/") + "/" for p in prefixes if p))


def install(journal_fd, secret, probe_module, probe_codes, guarded, tracing_codes=()):
    """Register the hook.  ``probe_codes``: the code objects allowed to emit (the probe's
    ``emit`` first); ``guarded``: objects whose attributes must not change (classes and
    the probe module); ``tracing_codes``: the only code allowed to call ``sys.settrace``
    or ``sys.setprofile``.  Returns nothing: nothing outside the hook holds its state."""
    state = {
        "seq": 0,
        "evidence": 0,
        "busy": False,
        "seen": set(),
        "finished": False,
    }
    # the grader's own package (the probe, and the pool's kernel launcher) is trusted
    trusted = _trusted_prefixes([os.path.dirname(os.path.dirname(os.path.abspath(__file__)))])
    emit_code = probe_codes[0]
    caller_codes = frozenset(probe_codes[1:])
    tracers = frozenset(tracing_codes)
    guarded_ids = {id(obj) for obj in guarded}
    guarded_objects = tuple(guarded)  # keeps the ids valid
    module_name = getattr(probe_module, "__name__", None)
    snapshots = {}  # id(obj) -> (obj, {name: value})
    getframe = sys._getframe
    write = os.write
    clock = time.time

    def snapshot(obj):
        items = _contents(obj)
        extra = {}
        closure = getattr(obj, "__closure__", None)
        if closure is not None:
            extra["__closure__"] = tuple(_cell_value(c) for c in closure)
        for name in ("__code__", "__defaults__", "__kwdefaults__"):
            if hasattr(obj, name):
                extra[name] = getattr(obj, name)
        snapshots[id(obj)] = (obj, items, extra)

    def changed():
        found = []
        for obj, items, extra in list(snapshots.values()):
            now = _contents(obj)
            for name, value in items.items():
                if now.get(name, _MISSING) is not value:
                    found.append(f"{_name(obj)}.{name}")
            for name in now.keys() - items.keys():
                found.append(f"{_name(obj)}.{name} (added)")
            closure = getattr(obj, "__closure__", None)
            if "__closure__" in extra and (
                closure is None
                or len(closure) != len(extra["__closure__"])
                or any(
                    _cell_value(c) is not v
                    for c, v in zip(closure, extra["__closure__"], strict=True)
                )
            ):
                found.append(f"{_name(obj)}.__closure__")
            for name in ("__code__", "__defaults__", "__kwdefaults__"):
                if name in extra and getattr(obj, name, None) is not extra[name]:
                    found.append(f"{_name(obj)}.{name}")
        if module_name is not None and sys.modules.get(module_name) is not probe_module:
            found.append(f"sys.modules[{module_name!r}]")
        return found

    def line(kind, cell, payload_json):
        state["seq"] += 1
        head = f'{{"secret":"{secret}","seq":{state["seq"]},"kind":"{kind}","cell":{int(cell)},'
        return (head + f'"time":{clock()!r},"payload":{payload_json}}}\n').encode("utf-8")

    def evidence(what, detail, blocked, frame):
        key = (what, detail)
        if key in state["seen"] or state["evidence"] >= MAX_EVIDENCE:
            return
        state["seen"].add(key)
        state["evidence"] += 1
        where = _where(frame, trusted)
        payload = dumps(
            {"what": what, "detail": str(detail)[:300], "blocked": blocked, "where": where},
            separators=(",", ":"),
        )
        try:
            write(journal_fd, line("evidence", 0, payload))
        except OSError:
            pass

    def check_integrity():
        for name in changed():
            evidence("probe_altered", name, False, None)

    normal = {}  # a code's file name -> its normal form ("/lib/x/../../tmp" -> "/tmp")

    def clean(filename):
        found = normal.get(filename)
        if found is None:
            found = os.path.normpath(filename) if filename.startswith("/") else filename
            if len(normal) < 100_000:
                normal[filename] = found
        return found

    def trusted_name(filename):
        filename = clean(filename)
        return filename.startswith(trusted) or filename.startswith("<frozen ")

    def student(code):
        return not trusted_name(code.co_filename)

    def outside_stdlib(frame):
        """The first frame that is not the standard library's own code."""
        stdlib = trusted_stdlib
        while frame is not None:
            filename = clean(frame.f_code.co_filename)
            if not (filename.startswith(stdlib) or filename.startswith("<frozen ")):
                break
            frame = frame.f_back
        return frame

    def disguised(source, filename, caller):
        """Code made under a trusted file's name (the standard library's, an installed
        package's, ``<frozen ...>``) for student code: the guard would trust its frames.
        Only the file's own source passes (the import system compiling a module that has
        no cached bytecode)."""
        name = os.fsdecode(filename) if isinstance(filename, bytes) else str(filename)
        if caller is None or not trusted_name(name):
            return False
        frame = outside_stdlib(caller)
        if frame is not None and not student(frame.f_code):
            return False  # a trusted library's own doing
        if isinstance(source, (str, bytes)) and clean(name).startswith("/"):
            try:
                with open(clean(name), "rb") as handle:
                    on_disk = handle.read(len(source) * 4 + 1)
                if source == on_disk or (isinstance(source, str) and source.encode() == on_disk):
                    return False
            except (OSError, UnicodeEncodeError):
                pass
        return True

    paths = sysconfig.get_paths()
    trusted_stdlib = tuple(
        {paths["stdlib"].rstrip("/") + "/", os.path.realpath(paths["stdlib"]).rstrip("/") + "/"}
    )

    def only_stdlib(caller):
        """Nothing but the standard library on the stack: a thread's or an executor's
        target that is a standard-library function, or a threading hook; whoever asked
        for it is not on the stack, so nobody vouches for it."""
        return caller is not None and outside_stdlib(caller) is None

    def blocked(what, detail, frame):
        evidence(what, detail, True, frame)
        raise PermissionError(f"blocked by the grader: {what}")

    def hook(event, args):
        if event not in _WATCHED or state["busy"]:
            return
        if event == "object.__getattr__" and (len(args) < 2 or args[1] not in _FRAME_ATTRS):
            return
        if event == "open" and not isinstance(args[0], (str, bytes, int)):
            return
        state["busy"] = True
        try:
            caller = getframe(1)
            decision = _decide(event, args, caller)
        finally:
            state["busy"] = False
        if decision is not None:
            what, detail, frame, block = decision
            if block:
                blocked(what, detail, frame)
            evidence(what, detail, False, frame)

    def _decide(event, args, caller):
        if event == EMIT:
            outer = caller.f_back if caller is not None else None
            if (
                caller is None
                or caller.f_code is not emit_code
                or outer is None
                or outer.f_code not in caller_codes
            ):
                return ("forged_emit", str(args[0])[:40], outer or caller, True)
            kind, cell, payload_json = args
            check_integrity()
            write(journal_fd, line(kind, cell, payload_json))
            return None
        if event == REGISTER:
            if caller is None or caller.f_code not in caller_codes:
                return ("forged_register", "", caller, True)
            for obj in args:
                guarded_ids.add(id(obj))
                snapshot(obj)
            return None
        if event == FINISH:
            if caller is None or caller.f_code not in caller_codes:
                return ("forged_finish", "", caller, True)
            check_integrity()
            state["finished"] = True
            return None
        if event.startswith("gc.") or event in ("sys._getframe", "sys._current_frames"):
            if caller is not None and student(caller.f_code):
                return ("introspection", event, caller, True)
            if event != "sys._getframe" and only_stdlib(caller):
                return ("introspection", event, caller, True)
            if (
                caller is not None
                and event == "sys._getframe"
                and caller.f_code.co_filename.endswith("inspect.py")
                and caller.f_back is not None
                and student(caller.f_back.f_code)
            ):
                return ("introspection", f"inspect.{caller.f_code.co_name}", caller.f_back, True)
            return None
        if event == "object.__getattr__":
            if caller is not None and student(caller.f_code):
                return ("introspection", args[1], caller, True)
            return None
        if event in ("object.__setattr__", "object.__delattr__"):
            if id(args[0]) in guarded_ids:
                return ("probe_altered", f"{_name(args[0])}.{args[1]}", caller, True)
            return None
        if event == "open":
            path = args[0]
            if isinstance(path, int):
                # student code opening a descriptor by number itself (the standard
                # library does it for pipes: subprocess, os.fdopen)
                if caller is not None and student(caller.f_code):
                    return ("descriptor", f"open({path})", caller, False)
                return None
            text = os.fsdecode(path) if isinstance(path, bytes) else path
            found = _PROC_FD.match(os.path.normpath(text) if text.startswith("/") else text)
            if found and _own(found.group("pid")):
                return ("descriptor", text, outside_stdlib(caller), True)
            return None
        if event in ("os.listdir", "os.scandir"):
            path = args[0]
            text = os.fsdecode(path) if isinstance(path, bytes) else str(path)
            found = _PROC_FD.match(text.rstrip("/"))
            if found and _own(found.group("pid")):
                frame = outside_stdlib(caller)
                if frame is not None and student(frame.f_code):
                    return ("descriptor", f"listdir {text}", frame, False)
            return None
        if event == "compile" or event == "code.__new__":
            source, filename = (args[0], args[1]) if event == "compile" else (None, args[1])
            if disguised(source, filename, caller):
                return (
                    "disguise",
                    f"{event} {str(filename)[:200]}",
                    outside_stdlib(caller) or caller,
                    True,
                )
            return None
        if event == "exec":
            code = args[0] if args else None
            if caller is None or not hasattr(code, "co_filename"):
                return None
            if not trusted_name(code.co_filename):
                return None  # cells, exec'd strings: the student's, and judged as such
            frame = outside_stdlib(caller)
            if frame is not None and not student(frame.f_code):
                return None  # a trusted library running its own code
            origin = _module_origin(caller)
            if origin is not None and trusted_name(origin):
                return None  # the import system running an installed module
            where = frame or caller
            return ("disguise", f"exec {code.co_filename[:200]}", where, True)
        if event == "marshal.loads":
            # code objects from bytes carry any file name they like; the import system
            # (its frames are frozen) loads cached bytecode this way, students never need to
            if caller is not None and (student(caller.f_code) or only_stdlib(caller)):
                return ("disguise", event, caller, True)
            return None
        if event in ("sys.settrace", "sys.setprofile"):
            if caller is not None and caller.f_code in tracers:
                return None
            return ("tracing", event, outside_stdlib(caller) or caller, True)
        # ctypes, audit hooks
        frame = outside_stdlib(caller)
        if (frame is not None and student(frame.f_code)) or only_stdlib(caller):
            return (
                "native" if event.startswith("ctypes") else "tracing",
                event,
                frame or caller,
                True,
            )
        return None

    for obj in guarded_objects:
        snapshot(obj)
    sys.addaudithook(hook)


class _Missing:
    pass


_MISSING = _Missing()


def _own(pid):
    """Whether a /proc path names this process (its own descriptors and memory: the
    journal's); other processes' are the sandbox's to refuse."""
    if pid in (None, "self", "thread-self") or int(pid) == os.getpid():
        return True
    return os.path.exists(f"/proc/self/task/{int(pid)}")  # one of its threads


# Written into a module by Python itself: the warnings machinery caches which warnings a
# module's code has shown there (a matplotlib "Glyph missing" warning raised while the
# probe renders a figure with a Korean label adds it to the probe's module).
_INTERPRETER_OWNED = frozenset({"__warningregistry__"})


def _contents(obj):
    """What must not change in a watched object: a list's items, or its attributes
    (Python's own bookkeeping, such as ``__warningregistry__``, aside)."""
    if isinstance(obj, list):
        return dict(enumerate(obj))
    try:
        return {k: v for k, v in vars(obj).items() if k not in _INTERPRETER_OWNED}
    except TypeError:
        return {}


def _cell_value(cell):
    try:
        return cell.cell_contents
    except ValueError:
        return _MISSING


def _name(obj):
    name = getattr(obj, "__qualname__", None) or getattr(obj, "__name__", None)
    return name or type(obj).__name__


def _module_origin(frame, depth=8):
    """The file a module being imported comes from (the import system's ``exec_module``
    holds the module in a local), or None when no import is under way."""
    while frame is not None and depth > 0:
        module = frame.f_locals.get("module") if frame.f_code.co_name == "exec_module" else None
        spec = getattr(module, "__spec__", None)
        origin = getattr(spec, "origin", None)
        if isinstance(origin, str):
            return origin
        frame, depth = frame.f_back, depth - 1
    return None


def _where(frame, trusted):
    """Where student code did it: the cell's line, as text (never the frame itself)."""
    while frame is not None:
        filename = frame.f_code.co_filename
        if not (filename.startswith(trusted) or filename.startswith("<frozen ")):
            return f"{os.path.basename(filename)}:{frame.f_lineno} in {frame.f_code.co_name}"
        frame = frame.f_back
    return ""
