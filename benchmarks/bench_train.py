"""SimCLR training throughput on the CPU: course_utils' fit vs a per-image DataLoader pipeline.

SmallConvNet + projection head, NT-Xent (temperature 0.5), AdamW, the ``cpu`` profile's
batch size of 32x32 shapes, full precision (fit's default on a CPU), in
:func:`course_utils.train.fit` both ways:

- ``ours``: the images resident as one uint8 tensor, two views made batch-wise by
  :class:`course_utils.augment.SimCLRAugment` inside
  :func:`course_utils.train.simclr_step`;
- ``lightly-0w`` / ``lightly-2w``: a ``torch.utils.data.DataLoader`` with 0 or 2 worker
  processes over PIL images (as torchvision's CIFAR-10 serves them), lightly's
  ``SimCLRTransform`` making the two views per image, fed to the same model and loss.

Images per second are timed over ``--steps`` steps after 3 warm-up steps (a callback
stamps each optimizer step), each method in its own process (so its peak RSS,
DataLoader workers included, is its own), best of ``--rounds`` interleaved rounds. Then
one step is taken apart (:func:`_pipelines.anatomy`): milliseconds in data, augmentation,
forward, loss, backward and optimizer. Prints figures, never pass/fail.

    python benchmarks/bench_train.py            # about 4 minutes on 2 busy cores
    python benchmarks/bench_train.py --quick    # about 2 minutes
    python benchmarks/bench_train.py --smoke    # seconds, in-process: checks that it runs
"""
from __future__ import annotations

import math
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from _common import Driver, PeakRSS, fmt, machine_line, print_table, summary  # noqa: E402

SIZE = 32
WARMUP = 3
METHODS = {
    "ours": "fit: resident uint8 tensor, SimCLRAugment batch-wise",
    "lightly-0w": "fit: DataLoader, lightly SimCLRTransform per image, 0 workers",
    "lightly-2w": "fit: DataLoader, lightly SimCLRTransform per image, 2 workers",
}


def _clock():
    """A fit callback that stamps the time of each optimizer step."""
    from course_utils.train import Callback

    class StepClock(Callback):
        def __init__(self):
            self.times = []

        def on_step_end(self, state, batch, outputs):
            self.times.append(time.perf_counter())

    return StepClock()


def _pipeline(method: str, batch_size: int, n: int):
    """The model and the input pipeline of ``method`` over ``n`` 32x32 shapes ``(n, 3, 32, 32)``."""
    from _pipelines import dataloader_pipeline, resident_pipeline, simclr_model

    from course_utils import seed_everything
    from course_utils.data import make_shapes

    data = make_shapes(n, image_size=SIZE, seed=0)
    seed_everything(0)
    model = simclr_model("small")
    if method == "ours":
        return model, resident_pipeline(data.images, data.labels, batch_size)
    workers = {"lightly-0w": 0, "lightly-2w": 2}[method]
    return model, dataloader_pipeline(data.images, data.labels, batch_size, workers=workers)


def measure(method: str, *, batch_size: int, steps: int, anatomy_steps: int) -> dict:
    """Images/s, peak RSS (MiB) and seconds per phase of one step, in this process."""
    import torch
    from _pipelines import anatomy

    from course_utils.train import fit

    n = batch_size * 8  # an epoch of 8 steps
    with PeakRSS() as rss:
        model, pipe = _pipeline(method, batch_size, n)
        clock = _clock()
        total = WARMUP + steps
        fit(model, pipe.step, pipe.data, epochs=math.ceil(total / 8), batch_size=pipe.batch_size, amp=False,
            callbacks=[clock], progress=False, max_steps=total, device="cpu")
        seconds = clock.times[-1] - clock.times[WARMUP - 1]
        phases = anatomy(model, pipe.batches, augment=pipe.augment, steps=anatomy_steps,
                         device=torch.device("cpu"))
    return {"images_per_s": steps * batch_size / seconds, "peak_rss_mib": rss.peak_mib,
            "phases": phases}


def main(argv=None) -> dict:
    driver = Driver(__file__, __doc__, METHODS, quick="fewer steps and rounds (~2 min)",
                    smoke="tiny batches, 0 workers, in this process: checks that it runs")
    driver.parser.add_argument("--batch-size", type=int, default=None, help="default: the cpu profile's")
    driver.parser.add_argument("--steps", type=int, default=None, help="timed steps (default 20, quick 10)")
    driver.parser.add_argument("--threads", type=int, default=2, help="torch threads (default 2)")
    args = driver.parse(argv)

    from course_utils import profile

    methods = list(METHODS)
    if args.smoke:  # in this process, one thread (quick even on a busy machine)
        args.batch_size, args.steps, args.threads = 16, 1, 1
        methods = ["ours", "lightly-0w"]
    args.batch_size = args.batch_size or profile("cpu").batch_size
    args.steps = args.steps or (10 if args.quick else 20)
    anatomy_steps = 1 if args.smoke else 5

    def one(method):
        return measure(method, batch_size=args.batch_size, steps=args.steps, anatomy_steps=anatomy_steps)

    if args.method:  # child process: one measurement, as JSON on the last line
        return driver.child(args.threads, lambda: one(args.method))

    print(machine_line())
    print(f"SimCLR, SmallConvNet, 32x32 shapes, batch {args.batch_size} ({2 * args.batch_size} views), "
          f"{args.threads} torch threads; {args.steps} timed steps after {WARMUP} warm-up steps; "
          f"{driver.rounds_note(args)}\n")

    best = driver.best(args, methods, "images_per_s", one, lambda method: [
        "--batch-size", str(args.batch_size), "--steps", str(args.steps), "--threads", str(args.threads)])
    print_table(["method", "what", "images/s", "peak RSS (MiB)"],
                [[m, METHODS[m], fmt(best[m]["images_per_s"]), fmt(best[m]["peak_rss_mib"])]
                 for m in methods])
    alt = max((m for m in methods if m != "ours"), key=lambda m: best[m]["images_per_s"])
    ratio = best["ours"]["images_per_s"] / best[alt]["images_per_s"]
    print(f"\nours / {alt} (the faster DataLoader setting): {ratio:.1f}x\n")

    print("Where the time goes: median milliseconds per step (share of the step)")
    from _pipelines import print_phase_table

    print_phase_table({m: best[m]["phases"] for m in ("ours", alt)}, digits=1, shares=True)

    summary(f"SimCLR training step, SmallConvNet, CPU {args.threads} threads: images/s vs {alt}",
            ours=best["ours"]["images_per_s"], alternative=best[alt]["images_per_s"],
            unit="images/s", target=">= 2x")
    summary(f"SimCLR training peak RSS (workers included): MiB vs {alt}", ours=best["ours"]["peak_rss_mib"],
            alternative=best[alt]["peak_rss_mib"], unit="MiB", target="reported", higher_is_better=False)
    return best


if __name__ == "__main__":
    main()
