"""The kernel's end of the judge's channel: call a student's function on plain data, send back plain data.

This module runs *inside the student's kernel* (the sandbox launcher loads it as
``_autograder_harness`` before any student code). It holds no test, no expected value
and no secret: it only decodes the arguments the judge sent (:mod:`codec`), calls the
student's function, and encodes what came out. Whatever a student's code does to this
module changes only what their own answer looks like, never how it is judged: the
verdict is computed by :mod:`autograder.judge` in the grader's process.

A request (JSON) names the function, its arguments, optionally a *probe* (an
instrumentation function from ``probes/<module>.py`` that needs live objects: a model,
a gradient, the ``meta`` device) and the kit or library functions the answer must not
call (``forbid``: dotted-name prefixes such as ``"course_utils.losses.nt_xent"``). The
reply says what the function returned (or raised), how it changed its arguments in
place, and which forbidden functions it reached. A forbidden function is recognised by
its module and name, and kit functions also by their code (a copy of the kit's source
compiled under another file or module name is still the kit's).

Example
-------
>>> from autograder.kernel import codec
>>> def double(x):
...     return 2 * x
>>> reply = codec.decode(serve(codec.encode({"name": "double", "args": (21,)}), {"double": double}))
>>> reply["ok"], reply["value"], reply["calls"]
(True, 42, [])
"""
from __future__ import annotations

import importlib
import importlib.util
import os
import pkgutil
import sys
import types
from pathlib import Path

_HERE = Path(__file__).resolve().parent


def _load(name: str, path: Path):
    """A kernel-side module by file path (the kernel cannot import the ``autograder`` package)."""
    if name in sys.modules:
        return sys.modules[name]
    spec = importlib.util.spec_from_file_location(name, path)
    module = sys.modules[name] = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


codec = _load("_autograder_codec", _HERE / "codec.py")
_kit: dict[tuple, str] = {}          # code fingerprint -> dotted name, for every kit function
_probes: dict[str, types.ModuleType] = {}
_setprofile, _getprofile = sys.setprofile, sys.getprofile   # taken before any student code runs
MAX_MESSAGE = 500                    # characters of an exception message sent back


def _fingerprint(code: types.CodeType) -> tuple:
    """What a code object computes, whatever file and name it was compiled under."""
    consts = tuple(_fingerprint(c) if isinstance(c, types.CodeType) else repr(c) for c in code.co_consts)
    return code.co_code, code.co_names, consts


def _functions(owner, prefix: str, depth: int = 0):
    for name, value in list(vars(owner).items()):
        func = getattr(value, "__func__", value)
        if isinstance(func, types.FunctionType):
            yield f"{prefix}.{name}", func.__code__
        elif isinstance(value, type) and depth == 0 and value.__module__ == getattr(owner, "__name__", None):
            yield from _functions(value, f"{prefix}.{name}", depth + 1)


def prepare() -> None:
    """Import the kit and record its functions' code: call before any student code runs, so a
    student's ``course_utils.py`` or later patch can neither stand in for the kit nor hide a call."""
    here = {"", ".", os.getcwd()}
    kept, sys.path[:] = list(sys.path), [p for p in sys.path if p not in here]   # not the student's folder
    try:
        kit = importlib.import_module("course_utils")
        modules = [kit] + [importlib.import_module(info.name)
                           for info in pkgutil.walk_packages(kit.__path__, "course_utils.")]
    except ImportError:   # a bare grader without the kit: nothing to recognise
        return
    finally:
        sys.path[:] = kept
    for module in modules:
        for name, code in _functions(module, module.__name__):
            _kit.setdefault(_fingerprint(code), name)


def _dotted(frame_or_func, event: str) -> str:
    if event == "call":
        code = frame_or_func.f_code
        name = _kit.get(_fingerprint(code))
        if name is not None:
            return name
        module = frame_or_func.f_globals.get("__name__", "")
        return f"{module}.{getattr(code, 'co_qualname', code.co_name)}"
    module = getattr(frame_or_func, "__module__", None) or ""
    return f"{module}.{getattr(frame_or_func, '__qualname__', '')}"


class Spy:
    """Records the forbidden functions reached while it is on (``sys.setprofile``, this thread)."""

    def __init__(self, forbid):
        self.forbid = tuple(str(f) for f in forbid)
        self.calls: list[str] = []
        self.hook = self._hook   # one bound method, so that sys.getprofile() can be compared with it

    def _hook(self, frame, event, arg):
        if event == "call":
            name = _dotted(frame, event)
        elif event == "c_call":
            name = _dotted(arg, event)
        else:
            return
        if name.startswith(self.forbid) and name not in self.calls:
            self.calls.append(name)

    def __call__(self, fn):
        """``fn`` wrapped so that each of its calls runs under this spy."""
        if not self.forbid:
            return fn

        def spied(*args, **kwargs):
            before = _getprofile()
            _setprofile(self.hook)
            try:
                return fn(*args, **kwargs)
            finally:
                if _getprofile() is not self.hook:
                    self.calls.append("sys.setprofile (the answer switched off the autograder's check)")
                _setprofile(before)
        return spied


def _probe(name: str):
    module_name, _, function = name.rpartition(".")
    if not module_name.isidentifier() or not function.isidentifier():
        raise ValueError(f"probe must read 'module.function', got {name!r}")
    for needed in dict.fromkeys(("generic", module_name)):   # the others import from generic
        if needed not in _probes:
            _probes[needed] = _load(f"_autograder_probe_{needed}", _HERE / "probes" / f"{needed}.py")
    return getattr(_probes[module_name], function)


def _error(exc: BaseException) -> tuple:
    """(type name, message, names of the builtin exception types it derives from)."""
    bases = tuple(c.__name__ for c in type(exc).__mro__ if c.__module__ == "builtins")
    return type(exc).__name__, str(exc)[:MAX_MESSAGE], bases


def call(fn, args=(), kwargs=None, *, forbid=(), probe=None, namespace=None) -> dict:
    """Call ``fn(*args, **kwargs)`` (or ``probe(fn, namespace, *args, **kwargs)``); the reply as plain
    values: ``ok``, ``value`` or ``error`` ``(ename, evalue, builtin bases)``, ``changed`` (the
    arguments, as they are after the call, of those it modified in place: index or keyword ->
    value) and ``calls``."""
    kwargs = dict(kwargs or {})
    before = {key: codec.encode(value) for key, value in [*enumerate(args), *kwargs.items()]}
    spy = Spy(forbid)
    reply = {"ok": True, "calls": spy.calls}
    try:
        if probe is None:
            reply["value"] = spy(fn)(*args, **kwargs)
        else:
            namespace = namespace if namespace is not None else {}
            reply["value"] = _probe(probe)(spy(fn), namespace, *args, **kwargs)
    except BaseException as exc:   # a student's SystemExit or KeyboardInterrupt is an answer too
        reply = {"ok": False, "calls": spy.calls, "error": _error(exc)}
    after = {key: value for key, value in [*enumerate(args), *kwargs.items()]}
    reply["changed"] = {key: value for key, value in after.items() if codec.encode(value) != before[key]}
    return reply


def _user_namespace() -> dict:
    from IPython import get_ipython
    return get_ipython().user_ns


def serve(request: str, namespace: dict | None = None) -> str:
    """Answer one encoded request from the judge; always returns encoded text."""
    namespace = _user_namespace() if namespace is None else namespace
    try:
        req = codec.decode(request)
        name = req["name"]
        if name not in namespace:
            reply = {"ok": False, "calls": [], "changed": {},
                     "error": _error(NameError(f"name {name!r} is not defined "
                                               "(run the cell that defines it)"))}
        else:
            reply = call(namespace[name], req.get("args", ()), req.get("kwargs"),
                         forbid=req.get("forbid", ()), probe=req.get("probe"), namespace=namespace)
        return codec.encode(reply)
    except BaseException as exc:   # an answer that cannot be encoded (too large, too deep...)
        return codec.encode({"ok": False, "calls": [], "changed": {}, "error": _error(exc)})
