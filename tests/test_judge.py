"""The trust boundary's parts, without a kernel: the codec, the harness, the judge, the output caps.

The whole pipeline (a sandboxed kernel, the judge in the grader) is tested on real
submissions in test_autograder_grading.py; here each part is checked on its own, with
the student's side played by plain Python, including the classes of attack the
boundary exists for (lying values, code that tries to run on the trusted side, the own-
code check's evasions).
"""
from __future__ import annotations

import inspect
import json
import math
import pickle

import nbformat
import numpy as np
import pytest
import torch

import course_utils.losses
from autograder import judge
from autograder.kernel import codec, harness
from autograder.outputs import OutputBudget, size


# ------------------------------------------------------------------------------ codec
PLAIN = [None, True, 3, -2**70, 2.5, float("inf"), "text", [1, [2]], (1, (2, "x")), {"a": 1, 2: (3,)},
         torch.arange(6, dtype=torch.float64).reshape(2, 3), torch.tensor([True, False]),
         torch.ones(2, dtype=torch.bfloat16), torch.zeros(0, 3), torch.tensor(7, dtype=torch.int16),
         np.arange(5, dtype=np.int32), np.float64(0.25), np.bool_(True)]


@pytest.mark.parametrize("value", PLAIN, ids=lambda v: type(v).__name__)
def test_plain_values_cross_unchanged(value):
    back = codec.decode(codec.encode(value))
    assert type(back) is type(value)
    if isinstance(value, torch.Tensor):
        assert back.dtype == value.dtype and back.shape == value.shape and torch.equal(back, value)
    elif isinstance(value, np.ndarray):
        assert back.dtype == value.dtype and np.array_equal(back, value)
    else:
        assert back == value


def test_tensor_flags_and_meta_cross_without_data():
    back = codec.decode(codec.encode([torch.ones(2, requires_grad=True), torch.empty(3, 4, device="meta")]))
    assert back[0].requires_grad and back[0].grad_fn is None
    assert back[1].device.type == "meta" and back[1].shape == (3, 4)


def test_nan_crosses():
    assert math.isnan(codec.decode(codec.encode(float("nan"))))


class LyingFloat(float):
    def __eq__(self, other):
        return True

    __hash__ = float.__hash__


class LyingInt(int):
    def __eq__(self, other):
        return True

    __hash__ = int.__hash__


class LyingTensor(torch.Tensor):
    @classmethod
    def __torch_function__(cls, func, types, args=(), kwargs=None):
        return torch.tensor(True)


class Exploit:
    def __reduce__(self):
        return (print, ("pwned",))


class LyingStr(str):
    def __eq__(self, other):
        return True

    __hash__ = str.__hash__


@pytest.mark.parametrize("liar, plain, other", [(LyingFloat(1.0), 1.0, 2.0), (LyingInt(3), 3, 4),
                                                (LyingStr("s"), "s", "t")])
def test_subclasses_of_plain_types_arrive_as_the_plain_type(liar, plain, other):
    back = codec.decode(codec.encode(liar))
    assert type(back) is type(plain) and back == plain and back != other


def test_a_lying_tensor_arrives_as_its_data():
    liar = torch.tensor([1.0, 2.0]).as_subclass(LyingTensor)
    back = codec.decode(codec.encode(liar))
    assert type(back) is torch.Tensor and back.tolist() == [1.0, 2.0]
    assert not torch.equal(back, torch.zeros(2))


@pytest.mark.parametrize("value", [object(), Exploit(), print, torch.nn.Linear(2, 2), (i for i in range(3))],
                         ids=["object", "reduce", "function", "module", "generator"])
def test_other_objects_arrive_opaque_and_run_nothing(value, capsys):
    back = codec.decode(codec.encode(value))
    assert isinstance(back, codec.Opaque)
    assert capsys.readouterr().out == ""


@pytest.mark.parametrize("text", [
    pickle.dumps(Exploit()).decode("latin-1"), "{\"$eval\": \"1+1\"}",
    "{\"$tensor\": {\"dtype\": \"os.system\"}}",
    json.dumps({"$tensor": {"dtype": "float32", "shape": [4], "device": "cpu", "data": "AAAA"}}),
    json.dumps({"$dict": [[[1], 2]]}), "[" * 10_000 + "]" * 10_000, 42,
    json.dumps({"$tensor": {"dtype": "float32", "shape": [-1], "device": "cpu", "data": ""}})],
    ids=["pickle", "unknown-tag", "bad-dtype", "short-data", "unhashable-key", "deep", "not-text",
         "bad-shape"])
def test_anything_else_is_refused(text):
    with pytest.raises(codec.DecodeError):
        codec.decode(text)


def test_size_limits(monkeypatch):
    monkeypatch.setattr(codec, "LIMIT", 1000)
    with pytest.raises(ValueError, match="MiB"):
        codec.encode(torch.zeros(1000))
    with pytest.raises(codec.DecodeError):
        codec.decode("[" + "1," * 600 + "1]")


# ---------------------------------------------------------------------------- harness
def _student(source: str) -> dict:
    namespace = {"__name__": "__main__"}
    exec(compile(source, "<student cell>", "exec"), namespace)
    return namespace


def _call(namespace, name, *args, forbid=(), **kwargs):
    return codec.decode(harness.serve(codec.encode({"name": name, "args": args, "kwargs": kwargs,
                                                   "forbid": forbid}), namespace))


KIT = ("course_utils.losses.nt_xent",)
EVASIONS = {
    "calls it": "import course_utils.losses\ndef f(a, b):\n    return course_utils.losses.nt_xent(a, b)",
    "alias": "from course_utils.losses import nt_xent as f",
    "copied code object": ("import types, course_utils.losses as k\n"
                           "f = types.FunctionType(k.nt_xent.__code__, vars(k), 'f',"
                           " k.nt_xent.__defaults__)"),
    "recompiled elsewhere": ("import inspect, course_utils.losses as k\nns = {'__name__': 'mine', "
                             "'__package__': 'course_utils'}\n"
                             "exec(compile(inspect.getsource(k), '/home/me/mine.py', 'exec'), ns)\n"
                             "f = ns['nt_xent']"),
    "hook switched off": ("import sys, course_utils.losses as k\ndef f(a, b):\n    sys.setprofile(None)\n"
                          "    return k.nt_xent(a, b)"),
    "sys.setprofile replaced": ("import sys, course_utils.losses as k\nsys.setprofile = lambda *a: None\n"
                                "def f(a, b):\n    return k.nt_xent(a, b)"),
}


@pytest.mark.parametrize("how", list(EVASIONS))
def test_own_code_check_recognises_the_kit_however_it_is_reached(how):
    harness.prepare()
    import sys
    kept = sys.setprofile
    try:
        reply = _call(_student(EVASIONS[how]), "f", torch.randn(4, 3), torch.randn(4, 3), forbid=KIT)
    finally:
        sys.setprofile = kept
    assert reply["calls"], how


def test_own_code_check_passes_an_answer_of_ones_own():
    harness.prepare()
    ns = _student("import torch\n" + inspect.getsource(_own_nt_xent).replace("_own_nt_xent", "f"))
    reply = _call(ns, "f", torch.randn(4, 3), torch.randn(4, 3), forbid=KIT)
    assert reply["ok"] and reply["calls"] == []
    want = course_utils.losses.nt_xent(*(torch.randn(4, 3, generator=torch.Generator().manual_seed(0)),) * 2)
    assert torch.isfinite(want)


def _own_nt_xent(z1, z2, temperature=0.5):
    z = torch.nn.functional.normalize(torch.cat([z1, z2]), dim=1)
    logits = (z @ z.T / temperature).fill_diagonal_(float("-inf"))
    n = len(z1)
    target = torch.cat([torch.arange(n, 2 * n), torch.arange(n)])
    return torch.nn.functional.cross_entropy(logits, target)


def test_harness_reports_exceptions_in_place_changes_and_unknown_names():
    ns = _student("def f(x, out):\n    out.append(1)\n    x.add_(1)\n    raise KeyError('k')")
    reply = _call(ns, "f", torch.zeros(2), [])
    assert reply["ok"] is False and reply["error"][0] == "KeyError"
    assert torch.equal(reply["changed"][0], torch.ones(2)) and reply["changed"][1] == [1]
    assert _call(ns, "g")["error"][0] == "NameError"


def test_harness_answers_even_when_the_result_cannot_cross(monkeypatch):
    monkeypatch.setattr(harness.codec, "LIMIT", 10_000)   # the kernel's own copy of the codec
    reply = _call(_student("def f():\n    return [[[]]] * 5000"), "f")
    assert reply["ok"] is False and "MiB" in reply["error"][1]


def test_prepare_ignores_a_course_utils_beside_the_notebook(tmp_path, monkeypatch):
    (tmp_path / "course_utils.py").write_text("raise ImportError('the fake kit was imported')")
    monkeypatch.chdir(tmp_path)
    monkeypatch.syspath_prepend("")
    harness.prepare()
    assert "course_utils.losses.nt_xent" in harness._kit.values()


# ------------------------------------------------------------------------------ judge
def _send(namespace):
    return lambda text: harness.serve(text, namespace)


STUDENT = _student('''
import torch

def double(x):
    return 2 * x

def lying(x):
    class Yes(float):
        def __eq__(self, other):
            return True
        __hash__ = float.__hash__
    return Yes(0.0)

def mutates(x):
    x.mul_(0)
    return x

def raises(x):
    raise ValueError("not today")

def raises_torch(x):
    raise torch.OutOfMemoryError("a library's own subclass of RuntimeError")
''')


def test_judge_passes_and_fails_on_the_trusted_side():
    assert judge.run("assert double(21) == 42", _send(STUDENT)) is None
    verdict = judge.run("assert double(2) == 5, 'wrong double'", _send(STUDENT))
    assert verdict == ("AssertionError", "wrong double")


def test_a_lying_value_cannot_bend_the_comparison():
    assert judge.run("assert lying(1) == 2.0, 'lied'", _send(STUDENT)) == ("AssertionError", "lied")


def test_in_place_changes_come_back_to_the_judges_arguments():
    code = ("import torch\nx = torch.ones(3)\nkept = x.clone()\nmutates(x)\n"
            "assert torch.equal(x, kept), 'changed'")
    assert judge.run(code, _send(STUDENT)) == ("AssertionError", "changed")


def test_the_students_exception_keeps_its_builtin_type():
    code = "try:\n    raises(1)\nexcept ValueError as e:\n    raise AssertionError('caught ' + str(e))"
    assert judge.run(code, _send(STUDENT)) == ("AssertionError", "caught raises raised ValueError: not today")
    code = ("try:\n    raises_torch(1)\nexcept RuntimeError as e:\n"
            "    raise AssertionError('caught ' + str(e))")
    assert judge.run(code, _send(STUDENT))[1].startswith("caught raises_torch raised OutOfMemoryError")


def test_free_names_are_the_students():
    source = ("import torch\ndef helper(y):\n    return f(y) + torch.ones(1)\n"
              "z = [g(i) for i in range(3)]\nh = 1\nh += k")
    assert judge.free_names(source) == {"f", "g", "k"}


def test_a_kernel_that_stops_answering_is_not_swallowed_by_the_hidden_code():
    def dead(text):
        raise RuntimeError("Kernel died")
    code = "try:\n    double(1)\nexcept Exception:\n    pass"
    with pytest.raises(RuntimeError, match="Kernel died"):
        judge.run(code, dead)


def test_garbage_from_the_kernel_fails_the_test():
    assert judge.run("double(1)", lambda text: "not json")[0] == "AssertionError"
    assert judge.run("double(1)", lambda text: "[1, 2]")[0] == "AssertionError"


def test_own_and_probe_work_in_the_instructors_notebook_too():
    checked = judge.own(STUDENT["double"], "builtins")
    assert checked(torch.ones(2)).tolist() == [2.0, 2.0]
    x = torch.tensor([3.0], requires_grad=True)
    evidence = judge.probe(lambda x: (x * x).sum(), "generic.gradient", x)
    assert evidence["grads"][0].tolist() == [6.0] and evidence["has_graph"]


# ------------------------------------------------------------------------- output caps
def test_outputs_are_cut_per_cell_and_per_notebook_errors_kept():
    budget = OutputBudget(cell_bytes=100, notebook_bytes=200)
    text = nbformat.v4.new_output("stream", name="stdout", text="x" * 60)
    image = nbformat.v4.new_output("display_data", data={"image/png": "A" * 60})
    error = nbformat.v4.new_output("error", ename="E", evalue="v" * 50_000, traceback=["t"] * 100)
    assert [budget.admit(0, o) for o in (text, image, error)] == [True, False, True]
    assert len(error.evalue) == 10_000 and len(error.traceback) == 40
    assert [budget.admit(c, text) for c in (1, 2, 3)] == [True, True, False]
    kept = budget.trim(0, [text, image, error])
    assert [o.output_type for o in kept] == ["stream", "error", "stream"] and "cut here" in kept[-1].text
    assert "notebook" in budget.note(3).text and size(image) == 60
