"""The verdict, computed where the student's code cannot reach: hidden tests run here, in the grader.

A test cell's visible part runs in the student's (sandboxed) kernel, as the student saw
it. Its hidden part never enters that kernel: :func:`run` executes it in the grader's
own process, where every name the hidden code uses without defining it (the student's
functions: ``empirical_risk``, ``nt_xent``...) is a :class:`Remote`. Calling a Remote
sends the arguments as plain data (:mod:`autograder.kernel.codec`) to the kernel's
harness (:mod:`autograder.kernel.harness`), which calls the student's function and sends
back plain data: fresh tensors and numbers, never an object of the student's. So no
frame, global, finalizer, thread, import hook or subclass of the student's can see the
hidden code, its reference implementations or its expected values, or bend a comparison.

Hidden tests use three helpers, which also work when the instructor runs the source
notebook as a plain notebook (the functions are then local and called in-process, with
the same plain-data round trip, so both ways judge alike):

- :func:`own` ``(fn, *forbid, message=...)``: ``fn`` whose calls fail when the answer
  reached a forbidden kit or library function ("write your own code");
- :func:`probe` ``(fn, "module.function", *args)``: evidence that needs live objects
  (a model's gradients, the ``meta`` device, a transform's parameters), gathered in the
  kernel by an instrumentation function of ``autograder/kernel/probes/`` and judged here;
- in-place changes of tensor, list and dict arguments are copied back into the caller's
  objects, so ``kept = x.clone(); f(x); assert torch.equal(x, kept)`` works unchanged.

Example
-------
>>> def student_double(x):          # stands in for a function of the student's kernel
...     return 2 * x
>>> run("assert double(21) == 42", send=lambda text: harness.serve(text, {"double": student_double}))
>>> run("assert double(2) == 5, 'wrong'", send=lambda text: harness.serve(text, {"double": student_double}))
('AssertionError', 'wrong')
"""
from __future__ import annotations

import builtins
import symtable

from autograder.kernel import codec, harness

MAX_MESSAGE = 300   # characters of a failure message kept for the feedback


class StudentError(Exception):
    """The student's function raised; subclasses carry the builtin type of what it raised."""


_RAISED = {name: type(name, (StudentError, getattr(builtins, name)), {"__module__": "builtins"})
           for name in ("ArithmeticError", "AssertionError", "AttributeError", "IndexError", "KeyError",
                        "LookupError", "MemoryError", "NotImplementedError", "OverflowError",
                        "RecursionError", "RuntimeError", "TypeError", "ValueError", "ZeroDivisionError")}


class Lost(BaseException):
    """The kernel stopped answering (died, hung): no ``except Exception`` of a hidden test may
    swallow this, since the grader must restart the kernel."""

    def __init__(self, cause: BaseException):
        super().__init__(str(cause))
        self.cause = cause


class Remote:
    """A student's function (or a name the hidden code did not define) in the kernel."""

    def __init__(self, name: str, send, forbid: tuple = (), message: str | None = None):
        self.__name__, self._send, self._forbid, self._message = name, send, forbid, message

    def __repr__(self):
        return f"<student's {self.__name__}>"

    def __call__(self, *args, **kwargs):
        return self._call(None, args, kwargs)

    def _call(self, probe_name, args, kwargs):
        request = codec.encode({"name": self.__name__, "args": args, "kwargs": kwargs,
                                "forbid": self._forbid, "probe": probe_name})
        try:
            text = self._send(request)
        except Exception as exc:
            raise Lost(exc) from None
        try:
            reply = codec.decode(text)
        except codec.DecodeError as exc:
            raise AssertionError(f"{self.__name__}: the kernel's answer is not plain data ({exc})") from None
        if type(reply) is not dict:
            raise AssertionError(f"{self.__name__}: the kernel's answer is not plain data")
        return _settle(self.__name__, reply, args, kwargs, self._message)


def _settle(name: str, reply: dict, args, kwargs, message: str | None):
    """What a call's reply means for the test: copy in-place changes back, refuse forbidden
    calls, re-raise the student's exception, else return the value."""
    changed = reply.get("changed") if type(reply.get("changed")) is dict else {}
    for key, after in changed.items():
        if type(key) is int and 0 <= key < len(args):
            _copy_back(args[key], after, name)
        elif type(key) is str and key in kwargs:
            _copy_back(kwargs[key], after, name)
    calls = [c for c in reply.get("calls", []) if type(c) is str]
    if calls:
        raise AssertionError((message or "{name} must be your own code, not a call into {call}")
                             .format(name=name, call=calls[0]))
    if reply.get("ok") is not True:
        error = reply.get("error")
        ename, evalue, bases = (error if type(error) is tuple and len(error) == 3 else ("Error", "", ()))
        cls = next((_RAISED[str(b)] for b in (ename, *bases) if str(b) in _RAISED), StudentError)
        raise cls(f"{name} raised {str(ename)[:60]}: {str(evalue)[:MAX_MESSAGE]}".rstrip(": "))
    return reply.get("value")


def _copy_back(original, after, name: str) -> None:
    """Make ``original`` (the judge's argument) show the change the student's function made to it."""
    import torch
    if isinstance(original, torch.Tensor) and isinstance(after, torch.Tensor):
        if after.shape != original.shape or after.dtype != original.dtype:
            raise AssertionError(f"{name} must not resize or retype its inputs in place")
        with torch.no_grad():
            original.copy_(after)
    elif isinstance(original, list) and isinstance(after, list):
        original[:] = after
    elif isinstance(original, dict) and isinstance(after, dict):
        original.clear()
        original.update(after)


def _local(fn, probe_name, forbid, message, args, kwargs):
    """A local function (the instructor's notebook): the same call and plain-data round trip."""
    reply = harness.call(fn, args, kwargs, forbid=forbid, probe=probe_name,
                         namespace=getattr(fn, "__globals__", {}))
    reply = codec.decode(codec.encode(reply))
    return _settle(getattr(fn, "__name__", "the answer"), reply, args, kwargs, message)


def own(fn, *forbid: str, message: str | None = None):
    """``fn`` whose calls fail (AssertionError) when the answer reached a function whose dotted name
    starts with one of ``forbid`` (``"torch.nn.functional.cross_entropy"``, ``"course_utils.manifold"``).
    ``message`` may use ``{name}`` and ``{call}``."""
    if isinstance(fn, Remote):
        return Remote(fn.__name__, fn._send, tuple(forbid), message)

    def checked(*args, **kwargs):
        return _local(fn, None, tuple(forbid), message, args, kwargs)
    checked.__name__ = getattr(fn, "__name__", "the answer")
    return checked


def probe(fn, name: str, *args, forbid: tuple = (), message: str | None = None, **kwargs):
    """Run probe ``name`` (``"module.function"`` of ``autograder/kernel/probes/``) on the student's
    ``fn`` in its kernel; return its evidence as plain data."""
    if isinstance(fn, Remote):
        return Remote(fn.__name__, fn._send, tuple(forbid) or fn._forbid, message)._call(name, args, kwargs)
    return _local(fn, name, tuple(forbid), message, args, kwargs)


def free_names(source: str) -> set[str]:
    """The global names ``source`` reads but never binds, builtins excepted: the student's names."""
    top = symtable.symtable(source, "<hidden test>", "exec")
    bound = {s.get_name() for s in top.get_symbols()
             if s.is_assigned() or s.is_imported() or s.is_namespace()}
    read, tables = set(), [top]
    while tables:
        table = tables.pop()
        tables.extend(table.get_children())
        for symbol in table.get_symbols():
            if symbol.is_referenced() and (table is top or symbol.is_global()):
                read.add(symbol.get_name())
    return read - bound - set(dir(builtins))


def run(source: str, send) -> tuple[str, str] | None:
    """Execute hidden test code ``source`` here, the student's names reached through ``send`` (a
    function: request text -> reply text, see :mod:`autograder.kernel.harness`); None when it
    passes, else ``(ename, evalue)`` of the failure. A kernel that stops answering raises the
    channel's own exception."""
    try:
        code = compile(source, "<hidden test>", "exec")
    except SyntaxError as exc:
        return "SyntaxError", f"the hidden test does not compile: {exc.msg} (line {exc.lineno})"
    namespace = {"__name__": "__hidden_test__", "__builtins__": builtins}
    namespace.update((name, Remote(name, send)) for name in free_names(source))
    try:
        exec(code, namespace)
    except Lost as lost:
        raise lost.cause from None
    except Exception as exc:
        return type(exc).__name__, str(exc)[:MAX_MESSAGE]
    return None
