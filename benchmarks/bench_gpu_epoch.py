"""A SimCLR epoch of ResNet-18 on CIFAR-10-sized data on a GPU: resident data vs a DataLoader.

50,000 random 32x32 uint8 images (CIFAR-10's size; the pixels do not change the cost),
batch 512, :func:`course_utils.models.resnet18_cifar` + projection head, NT-Xent,
AdamW, bf16 autocast (fp16 where bf16 is unsupported), channels_last, ``torch.compile``
(``--no-compile`` to compare), all in :func:`course_utils.train.fit`, two ways:

- ``ours``: the images resident on the GPU, two views made there batch-wise by
  :class:`course_utils.augment.SimCLRAugment` inside :func:`course_utils.train.simclr_step`;
- ``dataloader``: a ``torch.utils.data.DataLoader`` (``--workers``, default every CPU;
  pinned memory, persistent workers) over PIL images with lightly's ``SimCLRTransform``
  (a torchvision Compose of PIL transforms) making the views per image on the CPU.

Reports seconds per epoch (the best epoch after the first, which includes compilation),
model FLOP utilisation (forward + backward FLOPs counted by
``torch.utils.flop_counter`` / epoch time / the GPU's dense bf16 peak; ``--peak-tflops``
for a GPU not in the table), peak GPU memory allocated and peak host RSS, then one step
taken apart (:func:`_pipelines.anatomy`). Needs CUDA: on a CPU it says so and exits 0,
except with ``--smoke`` (tiny sizes on the CPU, no compile: checks that it runs).

    python benchmarks/bench_gpu_epoch.py                # CUDA; a few minutes on an H100
    python benchmarks/bench_gpu_epoch.py --no-compile
    python benchmarks/bench_gpu_epoch.py --smoke        # CPU, seconds
"""
from __future__ import annotations

import argparse
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from _common import PeakRSS, fmt, machine_line, print_table, summary, torch_threads  # noqa: E402

METHODS = {
    "ours": "fit: images resident on the GPU, SimCLRAugment batch-wise on the GPU",
    "dataloader": "fit: DataLoader, lightly SimCLRTransform per image on the CPU workers",
}
# dense bf16 (fp16 on T4) tensor-core peaks in TFLOP/s, from the vendors' data sheets;
# the first name contained in torch.cuda.get_device_name() wins
PEAK_TFLOPS = (("H100 PCIe", 756.0), ("H100", 989.0), ("H200", 989.0), ("GH200", 989.0),
               ("A100", 312.0), ("L40S", 362.0), ("L4", 121.0), ("A10G", 70.0), ("A10", 125.0),
               ("T4", 65.0))


def _peak_tflops(override: float | None) -> float | None:
    import torch

    if override is not None or not torch.cuda.is_available():
        return override
    name = torch.cuda.get_device_name(0)
    return next((peak for key, peak in PEAK_TFLOPS if key in name), None)


def _model():
    """ResNet-18 SimCLRNet taking its input in channels_last (the model too)."""
    import torch
    from _pipelines import simclr_model

    class ChannelsLast(torch.nn.Module):
        def __init__(self, inner):
            super().__init__()
            self.inner = inner

        def forward(self, x):
            return self.inner(x.contiguous(memory_format=torch.channels_last))

    return ChannelsLast(simclr_model("resnet18")).to(memory_format=torch.channels_last)


def train_flops_per_view(size: int, device) -> float:
    """Forward + backward FLOPs of the model for one view (torch.utils.flop_counter)."""
    import torch
    from torch.utils.flop_counter import FlopCounterMode

    model, x = _model().to(device), torch.rand(4, 3, size, size, device=device)
    with FlopCounterMode(display=False) as counter:
        model(x)[1].sum().backward()
    return counter.get_total_flops() / len(x)


def measure(method: str, args, device) -> dict:
    """Seconds per epoch, peak memories and seconds per step phase of one method."""
    import torch
    from _pipelines import anatomy, dataloader_pipeline, resident_pipeline

    from course_utils import seed_everything
    from course_utils.train import fit

    g = torch.Generator().manual_seed(0)
    images = torch.randint(0, 256, (args.n, 3, args.image_size, args.image_size), dtype=torch.uint8,
                           generator=g)
    labels = torch.randint(0, 10, (args.n,), generator=g)
    seed_everything(0)
    model = _model()
    net = torch.compile(model) if args.compile else model
    cuda = device.type == "cuda"
    if cuda:
        torch.cuda.empty_cache()
        torch.cuda.reset_peak_memory_stats()
    with PeakRSS() as rss:
        if method == "ours":
            pipe = resident_pipeline(images.to(device), labels.to(device), args.batch_size)
        else:
            pipe = dataloader_pipeline(images, labels, args.batch_size, workers=args.workers, pin_memory=cuda,
                                       prefetch_factor=4 if args.workers else None)
        history = fit(net, pipe.step, pipe.data, epochs=args.epochs, batch_size=pipe.batch_size, amp=args.amp,
                      progress=False, device=device)
        epoch_s = min(r["time_s"] for r in history.records[1:] or history.records)
        phases = anatomy(net, pipe.batches, augment=pipe.augment, steps=args.anatomy_steps, device=device,
                         amp=args.amp)
    steps = args.n // args.batch_size
    return {"epoch_s": epoch_s, "views_per_epoch": 2 * steps * args.batch_size,
            "peak_gpu_mib": torch.cuda.max_memory_allocated(device) / 2**20 if cuda else None,
            "peak_rss_mib": rss.peak_mib, "phases": phases}


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--smoke", action="store_true", help="tiny sizes on the CPU, no compile")
    parser.add_argument("--n", type=int, default=50_000, help="images (default 50,000)")
    parser.add_argument("--batch-size", type=int, default=512)
    parser.add_argument("--image-size", type=int, default=32)
    parser.add_argument("--epochs", type=int, default=3, help="the first one warms up (default 3)")
    parser.add_argument("--workers", type=int, default=os.cpu_count(),
                        help="DataLoader workers (default: every CPU)")
    parser.add_argument("--no-compile", dest="compile", action="store_false", help="skip torch.compile")
    parser.add_argument("--peak-tflops", type=float, default=None,
                        help="the GPU's dense bf16 peak, for a GPU not in the table")
    parser.add_argument("--methods", nargs="+", choices=METHODS, default=list(METHODS))
    args = parser.parse_args(argv)

    import torch

    if not torch.cuda.is_available() and not args.smoke:
        print("bench_gpu_epoch.py needs a CUDA GPU; none here, so nothing is measured. On a CUDA "
              "machine run: python benchmarks/bench_gpu_epoch.py")
        summary("GPU epoch, ResNet-18 SimCLR (needs CUDA: not measured here)", ours=None,
                alternative=None, unit="s/epoch", target="<= 2 s and >= 5x (H100)")
        return {}
    if args.smoke:
        args.n, args.batch_size, args.image_size, args.epochs, args.workers = 16, 8, 8, 2, 0
        args.compile = False
    device = torch.device("cuda" if torch.cuda.is_available() and not args.smoke else "cpu")
    args.amp = "bf16" if device.type == "cpu" or torch.cuda.is_bf16_supported() else "fp16"
    args.anatomy_steps = 1 if args.smoke else 10

    print(machine_line())
    print(f"SimCLR, ResNet-18 (CIFAR stem), {args.n:,} random {args.image_size}x{args.image_size} uint8 "
          f"images, batch {args.batch_size}, {args.amp} autocast, channels_last, "
          f"torch.compile {'on' if args.compile else 'off'}, {args.epochs} epochs (best after the first), "
          f"{args.workers} DataLoader workers, on {device.type}\n")
    flops_view = train_flops_per_view(args.image_size, device)
    peak = _peak_tflops(args.peak_tflops)
    results = {}
    for method in args.methods:
        if args.smoke:
            with torch_threads(1):
                results[method] = measure(method, args, device)
        else:
            results[method] = measure(method, args, device)
        r = results[method]
        r["tflops"] = flops_view * r["views_per_epoch"] / r["epoch_s"] / 1e12
        r["mfu"] = r["tflops"] / peak if peak else None
    print_table(["method", "what", "s / epoch", "achieved TFLOP/s", "MFU", "peak GPU MiB",
                 "peak RSS MiB"],
                [[m, METHODS[m], f"{r['epoch_s']:.2f}", fmt(r["tflops"]),
                  "-" if r["mfu"] is None else f"{100 * r['mfu']:.1f}%", fmt(r["peak_gpu_mib"]),
                  fmt(r["peak_rss_mib"])] for m, r in results.items()])
    print(f"\nmodel FLOPs per view (forward + backward): {flops_view / 1e9:.2f} GFLOP; peak "
          f"{'unknown (pass --peak-tflops)' if peak is None else f'{peak:g} TFLOP/s'}")
    from _pipelines import print_phase_table

    print("\nWhere the time goes: median milliseconds per step, device synchronised between phases")
    print_phase_table({m: r["phases"] for m, r in results.items()}, digits=2, shares=False)
    if "ours" in results:
        ours = results["ours"]
        alt = results.get("dataloader", {})
        summary(f"GPU epoch, ResNet-18 SimCLR, {args.n:,} {args.image_size}x{args.image_size}, batch "
                f"{args.batch_size}: seconds vs DataLoader",
                ours=ours["epoch_s"], alternative=alt.get("epoch_s"), unit="s/epoch",
                target="<= 2 s and >= 5x (H100)", higher_is_better=False)
        summary("GPU epoch: model FLOP utilisation", ours=ours["mfu"], alternative=alt.get("mfu"),
                unit="fraction of peak", target="reported")
        summary("GPU epoch: peak GPU memory allocated, MiB", ours=ours["peak_gpu_mib"],
                alternative=alt.get("peak_gpu_mib"), unit="MiB", target="reported", higher_is_better=False)
    return results


if __name__ == "__main__":
    main()
