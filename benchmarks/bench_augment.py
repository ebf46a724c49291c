"""Two-view SimCLR augmentation throughput: batch-wise SimCLRAugment vs per-image pipelines.

The full recipe of SimCLR on CIFAR-10 (random resized crop, flip, colour jitter with hue
at strength 0.5 with p 0.8, grayscale p 0.2, no blur) at 32x32 on the same N random
uint8 images, two views each:

- ``ours``: :class:`course_utils.augment.SimCLRAugment` on batches of uint8 tensors,
  jitter in the paper's fixed order (``ours-random``: in a random order per image, as
  torchvision's ``ColorJitter`` does, which is what lightly applies);
- ``lightly``: ``lightly.transforms.SimCLRTransform`` (a torchvision Compose on PIL
  images) per image; the tensor -> PIL conversion is done beforehand and not timed;
- ``v2``: :func:`course_utils.augment.simclr_transform` (torchvision.transforms.v2) per
  image on uint8 tensors.

The per-image pipelines run on the first ``--n-per-image`` of the images (their cost per
view does not depend on how many there are, and they are 10-100x slower).

Every method runs with the same torch thread count (``--threads``, default 2 then 1;
on a busy machine the 1-thread figures and the views per CPU-second are the steadier
ones) in its own process, so that its peak RSS is its own; the best of ``--rounds``
interleaved rounds is kept. With CUDA, SimCLRAugment is also timed on the GPU (images
resident there) at batch sizes 512, 4096 and 16384, with its peak GPU memory. Prints
figures, never pass/fail.

    python benchmarks/bench_augment.py            # about 4 minutes on 2 busy cores
    python benchmarks/bench_augment.py --quick    # about 2 minutes
    python benchmarks/bench_augment.py --smoke    # seconds, in-process: checks that it runs
"""
from __future__ import annotations

import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from _common import Driver, PeakRSS, fmt, machine_line, print_table, summary, time_call  # noqa: E402

SIZE = 32
METHODS = {
    "ours": "SimCLRAugment, batch-wise, uint8 tensors",
    "ours-random": "SimCLRAugment, random jitter order",
    "lightly": "lightly SimCLRTransform, per image, PIL",
    "v2": "simclr_transform (torchvision v2), per image, uint8",
}


def _images(n: int):
    import torch

    return torch.randint(0, 256, (n, 3, SIZE, SIZE), dtype=torch.uint8,
                         generator=torch.Generator().manual_seed(0))


def _runner(method: str, images, batch_size: int):
    """A callable making two views of every image with ``method``."""
    from course_utils.augment import SimCLRAugment, TwoViews, simclr_transform

    if method in ("ours", "ours-random"):
        augment = SimCLRAugment(SIZE, jitter_order="random" if method == "ours-random" else "fixed")
        batches = images.split(batch_size)

        def run():
            for batch in batches:
                augment(batch), augment(batch)
        return run
    if method == "lightly":
        from _pipelines import lightly_transform
        from PIL import Image

        pil = [Image.fromarray(img.permute(1, 2, 0).numpy()) for img in images]  # not timed
        transform = lightly_transform(SIZE)  # returns both views
        return lambda: [transform(img) for img in pil]
    if method == "v2":
        two = TwoViews(simclr_transform(SIZE))
        return lambda: [two(img) for img in images]
    raise ValueError(f"method must be one of {sorted(METHODS)}, got {method!r}")


def measure(method: str, n: int, batch_size: int, repeat: int) -> dict:
    """Views per second of wall time and of CPU time (this process, all its threads; the
    mean over the warm-up and timed calls, which is robust to a busy machine's waits),
    and peak RSS (MiB) of one method, in this process."""
    with PeakRSS() as rss:
        run = _runner(method, _images(n), batch_size)
        cpu = time.process_time()
        seconds = time_call(run, warmup=1, repeat=repeat)
        cpu_seconds = (time.process_time() - cpu) / (repeat + 1)
    return {"views_per_s": 2 * n / seconds, "views_per_cpu_s": 2 * n / cpu_seconds,
            "peak_rss_mib": rss.peak_mib}


def measure_cuda(repeat: int) -> dict:
    """SimCLRAugment on the GPU: views/s and peak GPU memory at batch sizes 512 to 16384."""
    import torch

    from course_utils.augment import SimCLRAugment

    augment = SimCLRAugment(SIZE)
    result = {}
    for batch in (512, 4096, 16384):
        x = _images(batch).cuda()
        torch.cuda.synchronize()
        torch.cuda.reset_peak_memory_stats()
        seconds = time_call(lambda x=x: (augment(x), augment(x)), warmup=3, repeat=repeat,
                            sync=torch.cuda.synchronize)
        result[batch] = {"views_per_s": 2 * batch / seconds,
                         "peak_gpu_mib": torch.cuda.max_memory_allocated() / 2**20}
    return result


def main(argv=None) -> dict:
    driver = Driver(__file__, __doc__, METHODS, quick="fewer images and rounds (~2 min)",
                    smoke="a few images, one round, in this process: checks that it runs")
    driver.parser.add_argument("--n", type=int, default=None, help="images (default 2048, quick 1024)")
    driver.parser.add_argument("--n-per-image", type=int, default=None,
                               help="images for the per-image pipelines (default 256, quick 128)")
    driver.parser.add_argument("--batch-size", type=int, default=256, help="SimCLRAugment batch size")
    driver.parser.add_argument("--threads", type=int, nargs="+", default=[2, 1],
                               help="torch thread counts to measure at (default 2 1)")
    driver.parser.add_argument("--repeat", type=int, default=None, help="timed passes per measurement")
    args = driver.parse(argv)

    import torch

    if args.smoke:  # in this process, one thread (quick even on a busy machine)
        args.n, args.batch_size, args.repeat, args.threads = args.n or 16, 8, 1, [1]
        args.n_per_image = args.n
    args.n = args.n or (1024 if args.quick else 2048)
    args.n_per_image = min(args.n, args.n_per_image or (128 if args.quick else 256))
    args.repeat = args.repeat or (2 if args.quick else 3)

    def n_images(method):
        return args.n if method.startswith("ours") else args.n_per_image

    if args.method:  # child process: one measurement, as JSON on the last line
        return driver.child(args.threads[0],
                            lambda: measure(args.method, args.n, args.batch_size, args.repeat))

    print(machine_line())
    print(f"{args.n} images of {SIZE}x{SIZE} ({args.n_per_image} for the per-image pipelines), two views "
          f"each; SimCLRAugment batches of {args.batch_size}; {driver.rounds_note(args)}\n")
    results = {}
    for threads in args.threads:
        best = driver.best(
            args, list(METHODS), "views_per_s",
            lambda method: measure(method, n_images(method), args.batch_size, args.repeat),
            lambda method, threads=threads: [
                "--n", str(n_images(method)), "--batch-size", str(args.batch_size), "--threads", str(threads),
                "--repeat", str(args.repeat)])
        results[threads] = best
        print(f"torch threads: {threads}")
        print_table(["method", "what", "views/s", "views per CPU-s", "peak RSS (MiB)"],
                    [[m, what, fmt(best[m]["views_per_s"]), fmt(best[m]["views_per_cpu_s"]),
                      fmt(best[m]["peak_rss_mib"])] for m, what in METHODS.items()])
        ours = best["ours"]["views_per_s"]
        rnd = best["ours-random"]["views_per_s"]
        print(f"ours / lightly: {ours / best['lightly']['views_per_s']:.1f}x   "
              f"ours / v2: {ours / best['v2']['views_per_s']:.1f}x   (random order: "
              f"{rnd / best['lightly']['views_per_s']:.1f}x and {rnd / best['v2']['views_per_s']:.1f}x)\n")
    if torch.cuda.is_available() and not args.smoke:
        gpu = measure_cuda(args.repeat)
        results["cuda"] = gpu
        print(f"SimCLRAugment on {torch.cuda.get_device_name(0)}, images resident on the GPU:")
        print_table(["batch", "views/s", "peak GPU memory (MiB)"],
                    [[b, fmt(r["views_per_s"]), fmt(r["peak_gpu_mib"])] for b, r in gpu.items()])
    for threads, best in ((t, b) for t, b in results.items() if t != "cuda"):
        for alt in ("lightly", "v2"):
            summary(f"augmentation, 32x32 two views, {threads} thread(s): views/s vs {alt}",
                    ours=best["ours"]["views_per_s"], alternative=best[alt]["views_per_s"],
                    unit="views/s", target=">= 20x")
        for alt in ("lightly", "v2"):
            summary(f"augmentation, {threads} thread(s): views per CPU-second vs {alt}",
                    ours=best["ours"]["views_per_cpu_s"], alternative=best[alt]["views_per_cpu_s"],
                    unit="views/CPU-s", target="(load-robust)")
        summary(f"augmentation peak RSS, {threads} thread(s): MiB vs lightly",
                ours=best["ours"]["peak_rss_mib"], alternative=best["lightly"]["peak_rss_mib"],
                unit="MiB", target="reported", higher_is_better=False)
    if "cuda" in results:
        summary("augmentation on the GPU, batch 4096: views/s", ours=results["cuda"][4096]["views_per_s"],
                alternative=None, unit="views/s", target=">= 2,000,000 (H100)")
    return results


if __name__ == "__main__":
    main()
