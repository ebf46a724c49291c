"""The integrity guard: what the tests rely on, put back before every autograded test cell.

The sandbox launcher loads this file into the kernel (as ``_autograder_guard``)
before any student code runs:

- :func:`snapshot` imports numpy, torch and the kit and records every callable of
  the protected modules (and of the modules their functions come from: numpy's
  ``allclose`` calls ``numpy._core.numeric.isclose``), each Python function's code
  and defaults, ``torch.Tensor``'s methods, builtins and the import system.
- :func:`arm` records IPython's machinery once the shell exists: input and AST
  transformers, event callbacks, the custom exception handler, the shell's and the
  kernel's methods (``showtraceback`` and friends: the trick behind nbgrader PR 1324).
- :func:`restore` runs right before each autograded test cell. GuardedExecute calls
  it as a *user expression*, which no input or AST transformer of the student sees.
  It puts back whatever changed, sets aside the student's globals that shadow a
  builtin, drops look-alike ``course_utils`` modules and reloads patched ones,
  clears tracers and the last traceback (which can pin a memory bomb's memory), and
  returns a JSON list naming what it had to undo.
- :func:`release`, right after the test cell, gives the set-aside globals back.

This defends against tampering with ordinary Python (monkeypatching, rebinding,
hooks). Code that goes after the guard itself, knowing how it works, is out of its
reach: everything a kernel holds can be rewritten by code running in that kernel.
"""
from __future__ import annotations

import builtins
import gc
import importlib
import json
import os
import sys
import sysconfig
import types

PROTECTED = ("sys", "os", "math", "operator", "functools", "numpy", "numpy.testing", "numpy.linalg",
             "torch", "torch.testing", "torch.nn.functional", "course_utils")
VOLATILE_BUILTINS = {"input", "getpass", "raw_input", "_"}   # ipykernel swaps these per request
SYS_HOOKS = {"displayhook", "excepthook", "breakpointhook", "unraisablehook"}   # IPython sets its own
IDENTITY = ("__file__", "__path__", "__spec__", "__loader__", "__name__")   # where a module says it lives
_MISSING = object()
# The guard's own builtins and helpers, taken before any student code runs: a student
# who rebinds builtins.isinstance or json.dumps changes nothing the guard relies on.
__builtins__ = dict(vars(builtins))  # noqa: A001
_dumps, _collect, _reload, _realpath = json.dumps, gc.collect, importlib.reload, os.path.realpath

_modules: dict[str, tuple[types.ModuleType, dict, dict]] = {}   # name -> (module, callables, code)
_classes: list[tuple[type, dict, dict]] = []
_builtins: dict = {}
_sys: dict = {}
_shell: dict = {}
_trusted_roots: tuple[str, ...] = ()
_kit_root = ""
_set_aside: dict = {}


def _code_state(obj):
    """(code, defaults, kwdefaults) of a Python function, or of the function a numpy dispatcher wraps."""
    try:
        func = getattr(obj, "_implementation", obj)
        func = getattr(func, "__func__", func)   # a bound method: its function
    except Exception:   # lazy namespaces (torch.ops) may raise anything
        func = obj
    if isinstance(func, types.FunctionType):
        return func, (func.__code__, func.__defaults__, func.__kwdefaults__)
    return None, None


def _record(namespace: dict) -> tuple[dict, dict]:
    """The callables (and identity attributes) of a namespace, and its functions' code."""
    callables = {k: v for k, v in list(namespace.items())
                 if (callable(v) or k in IDENTITY) and not (namespace is vars(sys) and k in SYS_HOOKS)}
    code = {}
    for name, value in callables.items():
        func, state = _code_state(value)
        if func is not None:
            code[name] = (func, state)
    return callables, code


def _trusted(func) -> bool:
    filename = func.__code__.co_filename
    return filename.startswith("<frozen") or filename.startswith(_trusted_roots)


def _protect_module(module: types.ModuleType) -> None:
    if module.__name__ not in _modules:
        _modules[module.__name__] = (module, *_record(vars(module)))


def _protect_class(cls: type) -> None:
    _classes.append((cls, *_record(dict(vars(cls)))))


def snapshot() -> None:
    """Record the pristine state of the libraries the tests use (kernel start, no student code yet)."""
    global _trusted_roots, _kit_root
    paths = sysconfig.get_paths()
    roots = {p for k in ("stdlib", "platstdlib", "purelib", "platlib")
             for p in (paths[k], os.path.realpath(paths[k]))}
    _builtins.update((k, v) for k, v in vars(builtins).items() if k not in VOLATILE_BUILTINS)
    for name in PROTECTED:
        try:
            module = importlib.import_module(name)
        except ImportError:   # the kit may be missing on a bare grader; nothing to protect then
            continue
        _protect_module(module)
        for value in list(vars(module).values()):   # the modules the public functions come from
            func, _ = _code_state(value)
            home = sys.modules.get(func.__globals__.get("__name__", "")) if func else None
            if home is not None and home.__name__.split(".")[0] == name.split(".")[0]:
                _protect_module(home)
    if "course_utils" in sys.modules:
        kit = os.path.dirname(sys.modules["course_utils"].__file__)
        _kit_root = os.path.realpath(kit)
        roots |= {kit, _kit_root}
    _trusted_roots = tuple(sorted(roots))
    if "torch" in sys.modules:
        _protect_class(sys.modules["torch"].Tensor)
    _sys["modules"] = {name: sys.modules[name] for name in _modules}


def arm(shell) -> None:
    """Record IPython's machinery: call once the shell exists, before any execute request."""
    tm = shell.input_transformer_manager
    _shell.update(
        shell=shell, kernel=shell.kernel, user_ns=dict(shell.user_ns),
        lists={(shell, "input_transformers_cleanup"): list(shell.input_transformers_cleanup),
               (shell, "input_transformers_post"): list(shell.input_transformers_post),
               (shell, "ast_transformers"): list(shell.ast_transformers),
               (tm, "cleanup_transforms"): list(tm.cleanup_transforms),
               (tm, "line_transforms"): list(tm.line_transforms),
               (tm, "token_transformers"): list(tm.token_transformers)},
        callbacks={event: list(funcs) for event, funcs in shell.events.callbacks.items()},
        custom_exc=(shell.custom_exceptions, shell.CustomTB),
        attrs={obj: set(vars(obj)) for obj in (shell, shell.kernel, shell.compile)},
        handlers={name: dict(getattr(shell.kernel, name)) for name in ("shell_handlers", "control_handlers")
                  if isinstance(getattr(shell.kernel, name, None), dict)},
        hooks=(sys.excepthook, sys.displayhook, sys.stdout, sys.stderr),
    )
    _sys.update(path=list(sys.path), meta_path=list(sys.meta_path), path_hooks=list(sys.path_hooks))
    for obj in (shell, shell.kernel, shell.compile):
        for cls in type(obj).__mro__[:-1]:
            _protect_class(cls)


def _foreign(value) -> bool:
    """Whether ``value`` is not the libraries' own code: a student's function, or a wrapper of
    one, or some other callable swapped in (libraries do replace their functions by
    wrappers of their own, e.g. torch.manual_seed once dynamo is imported: those pass)."""
    func = _code_state(value)[0]
    if func is None:
        return True
    while func is not None:
        if not _trusted(func):
            return True
        func = _code_state(getattr(func, "__wrapped__", None))[0]
    return False


def _restore_namespace(label: str, setter, current: dict, callables: dict, code: dict, found: list) -> None:
    for name, value in list(callables.items()):
        now = current.get(name, _MISSING)
        if now is value:
            continue
        if now is not _MISSING and name not in IDENTITY and not _foreign(now):
            callables[name] = now
            continue
        setter(name, value)
        found.append(f"{label}.{name}")
    for name, (func, state) in code.items():
        code_obj, defaults, kwdefaults = state
        if (func.__code__ is not code_obj or func.__defaults__ is not defaults
                or func.__kwdefaults__ is not kwdefaults):
            func.__code__, func.__defaults__, func.__kwdefaults__ = state
            found.append(f"{label}.{name} (code)")


def _restore_libraries(found: list) -> None:
    for name, module in _sys["modules"].items():
        if sys.modules.get(name) is not module:
            sys.modules[name] = module
            found.append(f"sys.modules[{name!r}]")
    for name, (module, callables, code) in _modules.items():
        _restore_namespace(name, lambda k, v, m=module: setattr(m, k, v), vars(module), callables, code,
                           found)
    for cls, callables, code in _classes:
        label = f"{cls.__module__}.{cls.__qualname__}"
        _restore_namespace(label, lambda k, v, c=cls: setattr(c, k, v), dict(vars(cls)), callables, code,
                           found)
        for name, value in list(vars(cls).items()):   # methods the student added (Tensor.__eq__ ...)
            if name not in callables and isinstance(value, types.FunctionType) and not _trusted(value):
                delattr(cls, name)
                found.append(f"{label}.{name}")
    _restore_namespace("builtins", lambda k, v: setattr(builtins, k, v), vars(builtins), _builtins, {}, found)


def _restore_kit(found: list) -> None:
    """course_utils modules imported after the snapshot: drop look-alikes, reload patched ones."""
    if not _kit_root:
        return
    for name in [n for n in list(sys.modules) if n.startswith("course_utils.") and n not in _modules]:
        module = sys.modules[name]
        source = _realpath(getattr(module, "__file__", None) or "")
        if not source.startswith(_kit_root + os.sep):
            del sys.modules[name]
            parent, _, child = name.rpartition(".")
            if getattr(sys.modules.get(parent), child, None) is module:
                delattr(sys.modules[parent], child)
            found.append(f"sys.modules[{name!r}]")
            continue
        patched = [k for k, v in vars(module).items()
                   if isinstance(_code_state(v)[0], types.FunctionType) and not _trusted(_code_state(v)[0])]
        if patched:
            _reload(module)
            found.extend(f"{name}.{k}" for k in patched)
        _protect_module(module)


def _restore_ipython(found: list) -> None:
    shell, kernel = _shell["shell"], _shell["kernel"]
    for (owner, attr), items in _shell["lists"].items():
        if getattr(owner, attr) != items:
            setattr(owner, attr, list(items))
            found.append(f"IPython {attr}")
    for event, funcs in shell.events.callbacks.items():   # libraries register theirs (pyplot: post_execute)
        kept = [f for f in funcs if f in _shell["callbacks"].get(event, ()) or not _foreign(f)]
        if kept != funcs:
            funcs[:] = kept
            found.append(f"IPython {event} event callbacks")
        _shell["callbacks"][event] = list(kept)
    if (shell.custom_exceptions, shell.CustomTB) != _shell["custom_exc"]:
        shell.custom_exceptions, shell.CustomTB = _shell["custom_exc"]
        found.append("IPython custom exception handler")
    for obj, names in _shell["attrs"].items():
        for name in set(vars(obj)) - names:   # instance-level overrides of methods
            if callable(getattr(type(obj), name, None)):
                delattr(obj, name)
                found.append(f"{type(obj).__name__}.{name}")
    for name, table in _shell["handlers"].items():
        if getattr(kernel, name) != table:
            setattr(kernel, name, dict(table))
            found.append(f"kernel.{name}")
    if shell.user_ns.get("__builtins__") is not builtins:
        shell.user_ns["__builtins__"] = builtins
        found.append("__builtins__")


def _restore_sys(found: list) -> None:
    if sys.gettrace() is not None or sys.getprofile() is not None:
        found.append("sys.settrace/setprofile")
    sys.settrace(None)
    sys.setprofile(None)
    for attr in ("path", "meta_path", "path_hooks"):
        if getattr(sys, attr) != _sys[attr]:
            getattr(sys, attr)[:] = _sys[attr]
            sys.path_importer_cache.clear()
            found.append(f"sys.{attr}")
    hooks = (sys.excepthook, sys.displayhook, sys.stdout, sys.stderr)
    if hooks != _shell["hooks"]:
        sys.excepthook, sys.displayhook, sys.stdout, sys.stderr = _shell["hooks"]
        found.append("sys hooks")


def restore() -> str:
    """Undo tampering before a test cell; return a JSON list of what was undone."""
    found: list[str] = []
    _restore_libraries(found)   # first: builtins and sys.settrace & co. are back to the real ones
    _restore_sys(found)
    _restore_kit(found)
    _restore_ipython(found)
    shell_ns, at_start = _shell["shell"].user_ns, _shell["user_ns"]
    for name in [n for n in shell_ns if n in _builtins]:
        if shell_ns[name] is not at_start.get(name, _MISSING):
            _set_aside[name] = shell_ns.pop(name)
            found.append(f"global {name!r} shadowing a builtin")
    sys.last_type = sys.last_value = sys.last_traceback = None
    _collect()
    return _dumps(found)


def release() -> None:
    """Give back the globals :func:`restore` set aside (the student's later cells may use them)."""
    _shell["shell"].user_ns.update(_set_aside)
    _set_aside.clear()
