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

import argparse
import functools
import json
import math
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from _common import (PeakRSS, best_of, fmt, machine_line, print_table, run_child, summary,  # noqa: E402
                     torch_threads)

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


def _setup(method: str, batch_size: int, n: int):
    """(model, step, data for fit, batch_size for fit, batches for anatomy, augment)."""
    import torch
    from _pipelines import PILImages, endless, lightly_transform, resident_batches, simclr_model, views_step

    from course_utils import seed_everything
    from course_utils.augment import SimCLRAugment
    from course_utils.data import make_shapes
    from course_utils.train import simclr_step

    data = make_shapes(n, image_size=SIZE, seed=0)
    seed_everything(0)
    model = simclr_model("small")
    if method == "ours":
        augment = SimCLRAugment(SIZE)
        step = functools.partial(simclr_step, augment=augment, temperature=0.5)
        return (model, step, data, batch_size,
                resident_batches(data.images, data.labels, batch_size), augment)
    workers = {"lightly-0w": 0, "lightly-2w": 2}[method]
    loader = torch.utils.data.DataLoader(
        PILImages(data.images, data.labels, lightly_transform(SIZE)), batch_size=batch_size,
        shuffle=True, drop_last=True, num_workers=workers, persistent_workers=workers > 0)
    step = functools.partial(views_step, temperature=0.5)
    return model, step, loader, None, endless(loader), None


def measure(method: str, *, batch_size: int, steps: int, anatomy_steps: int) -> dict:
    """Images/s, peak RSS (MiB) and seconds per phase of one step, in this process."""
    import torch
    from _pipelines import anatomy

    from course_utils.train import fit

    n = batch_size * 8  # an epoch of 8 steps
    with PeakRSS() as rss:
        model, step, data, fit_batch, batches, augment = _setup(method, batch_size, n)
        clock = _clock()
        total = WARMUP + steps
        fit(model, step, data, epochs=math.ceil(total / 8), batch_size=fit_batch, amp=False,
            callbacks=[clock], progress=False, max_steps=total, device="cpu")
        seconds = clock.times[-1] - clock.times[WARMUP - 1]
        optimizer = torch.optim.AdamW(model.parameters(), lr=1e-3, weight_decay=1e-4)
        phases = anatomy(model, optimizer, batches, augment=augment, steps=anatomy_steps,
                         device=torch.device("cpu"))
    return {"images_per_s": steps * batch_size / seconds, "peak_rss_mib": rss.peak_mib,
            "phases": phases}


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="fewer steps and rounds (~2 min)")
    parser.add_argument("--smoke", action="store_true",
                        help="tiny batches, 0 workers, in this process: checks that it runs")
    parser.add_argument("--batch-size", type=int, default=None, help="default: the cpu profile's")
    parser.add_argument("--steps", type=int, default=None, help="timed steps (default 20, quick 10)")
    parser.add_argument("--threads", type=int, default=2, help="torch threads (default 2)")
    parser.add_argument("--rounds", type=int, default=None, help="interleaved rounds (default 3, quick 2)")
    parser.add_argument("--method", choices=METHODS, help=argparse.SUPPRESS)  # child process
    args = parser.parse_args(argv)

    import torch

    from course_utils import profile

    methods = list(METHODS)
    if args.smoke:  # in this process, one thread (quick even on a busy machine)
        args.batch_size, args.steps, args.rounds, args.threads = 16, 1, 1, 1
        methods = ["ours", "lightly-0w"]
    args.batch_size = args.batch_size or profile("cpu").batch_size
    args.steps = args.steps or (10 if args.quick else 20)
    args.rounds = args.rounds or (2 if args.quick else 3)
    anatomy_steps = 1 if args.smoke else 5
    if args.method:  # child process: one measurement, as JSON on the last line
        torch.set_num_threads(args.threads)
        print(json.dumps(measure(args.method, batch_size=args.batch_size, steps=args.steps,
                                 anatomy_steps=anatomy_steps)))
        return {}

    print(machine_line())
    print(f"SimCLR, SmallConvNet, 32x32 shapes, batch {args.batch_size} ({2 * args.batch_size} views), "
          f"{args.threads} torch threads; {args.steps} timed steps after {WARMUP} warm-up steps; best "
          f"of {args.rounds} interleaved round(s), each method in its own process"
          f"{' (smoke: in this process)' if args.smoke else ''}\n")

    def one(method):
        if args.smoke:
            with torch_threads(1):
                return measure(method, batch_size=args.batch_size, steps=args.steps,
                               anatomy_steps=anatomy_steps)
        return run_child(os.path.abspath(__file__), [
            "--method", method, "--batch-size", str(args.batch_size), "--steps", str(args.steps),
            "--threads", str(args.threads)])

    best = best_of(args.rounds, methods, one, "images_per_s")
    print_table(["method", "what", "images/s", "peak RSS (MiB)"],
                [[m, METHODS[m], fmt(best[m]["images_per_s"]), fmt(best[m]["peak_rss_mib"])]
                 for m in methods])
    alt = max((m for m in methods if m != "ours"), key=lambda m: best[m]["images_per_s"])
    ratio = best["ours"]["images_per_s"] / best[alt]["images_per_s"]
    print(f"\nours / {alt} (the faster DataLoader setting): {ratio:.1f}x\n")

    print("Where the time goes: median milliseconds per step (share of the step)")
    from _pipelines import PHASES

    rows = []
    for phase in PHASES:
        row = [phase]
        for m in ("ours", alt):
            ms, step_ms = 1e3 * best[m]["phases"][phase], 1e3 * sum(best[m]["phases"].values())
            row.append(f"{ms:.1f} ({100 * ms / step_ms:.0f}%)")
        rows.append(row)
    rows.append(["step (sum)", *(f"{1e3 * sum(best[m]['phases'].values()):.1f}" for m in ("ours", alt))])
    print_table(["phase", "ours", alt], rows)

    summary(f"SimCLR training step, SmallConvNet, CPU {args.threads} threads: images/s vs {alt}",
            ours=best["ours"]["images_per_s"], alternative=best[alt]["images_per_s"],
            unit="images/s", target=">= 2x")
    summary(f"SimCLR training peak RSS (workers included): MiB vs {alt}", ours=best["ours"]["peak_rss_mib"],
            alternative=best[alt]["peak_rss_mib"], unit="MiB", target="reported", higher_is_better=False)
    return best


if __name__ == "__main__":
    main()
