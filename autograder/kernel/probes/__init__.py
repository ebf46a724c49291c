"""Probes: instrumentation the judge runs in the student's kernel when a check needs live objects.

A probe is ``probe(answer, namespace, *args, **kwargs) -> plain data``: ``answer`` is the
student's function (wrapped by the harness's own-code spy), ``namespace`` the kernel's
globals, the arguments plain data from the judge. It builds what the check needs (a small
model with given weights, a recording transform), calls the answer, and returns *evidence*:
values, shapes, flags, gradients. It holds no expected value and decides nothing: the
judge (:mod:`autograder.judge`) compares the evidence with its own reference computation.
Probes are public test apparatus, one module per notebook (``generic`` for any notebook,
and what the others share), loaded by file path as ``_autograder_probe_<module>`` (the
kernel cannot import the ``autograder`` package), ``generic`` first.
"""
