"""Label efficiency at small scale: the lecture's SimCLRv2 slide (SimCLR's Table 7) on the embedded data.

For each dataset and seed: pretrain SimCLR (Chen et al., 2020a) with SmallConvNet on the
training images (labels unused), then, with 1%, 10% and 100% of the training labels
(a stratified subset, :func:`course_utils.recipes.label_subset`):

- ``simclr``: a linear probe on the frozen SimCLR features;
- ``fine-tuned``: the SimCLR encoder and a linear head, fine-tuned on those labels (the
  lecture's table: Chen et al., 2020a, Table 7, fine-tunes the whole network);
- ``random``: the same probe on a frozen, randomly initialised encoder;
- ``supervised``: the same encoder and a linear head trained from scratch on those labels
  only, with the fine-tuning's recipe (:func:`course_utils.recipes.train_supervised`
  for both), so that the two differ only in where the weights start.

Budgets come from the run profile (``--profile``, default ``cpu``), so this is the run the
``cpu`` profile stands for. Prints a table of mean +- std over seeds and writes the numbers
as JSON (``--out``). A figure, not a test::

    python benchmarks/label_efficiency.py                      # shapes and digits, cpu profile
    python benchmarks/label_efficiency.py --datasets digits --seeds 1
"""
from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import machine_line, print_table, summary  # noqa: E402

import course_utils as cu  # noqa: E402
from course_utils.models import build_encoder  # noqa: E402
from course_utils.recipes import label_efficiency, pretrain_simclr, label_subset, train_supervised  # noqa: E402

FRACTIONS = (0.01, 0.1, 1.0)
METHODS = {"simclr": "SimCLR probe", "fine-tuned": "SimCLR fine-tuned", "random": "random-init probe",
           "supervised": "supervised"}
"""The methods, each with its column in the table."""


def splits(name: str, profile: cu.Profile):
    """Train and test :class:`~course_utils.data.ImageDataset` of ``name`` at the profile's size."""
    if name == "shapes":
        return (cu.data.load_dataset("shapes", "train", n=profile.n_train, image_size=profile.image_size),
                cu.data.load_dataset("shapes", "test", n=profile.n_test, image_size=profile.image_size))
    return cu.data.load_dataset(name, "train"), cu.data.load_dataset(name, "test")


def one_seed(train, test, profile: cu.Profile, seed: int, temperature: float) -> dict:
    """``{method: {fraction: accuracy}}`` for one dataset's splits and one seed."""
    model, _ = pretrain_simclr(train, epochs=profile.epochs, batch_size=profile.batch_size,
                               temperature=temperature, seed=seed, progress=False)
    cu.seed_everything(seed)
    random_encoder = build_encoder("small", in_channels=train.images.shape[1])
    result = {"simclr": label_efficiency(model.encoder, train, test, fractions=FRACTIONS, seed=seed),
              "random": label_efficiency(random_encoder, train, test, fractions=FRACTIONS, seed=seed),
              "fine-tuned": {}, "supervised": {}}
    for fraction in FRACTIONS:
        subset = train.subset(label_subset(train.labels, fraction, seed))
        result["fine-tuned"][fraction] = train_supervised(subset, test, encoder=model.encoder, seed=seed)
        result["supervised"][fraction] = train_supervised(subset, test, seed=seed)
    return result


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--datasets", nargs="+", default=["shapes", "digits"], choices=["shapes", "digits"])
    parser.add_argument("--profile", default="cpu", choices=sorted(cu.PROFILES))
    parser.add_argument("--seeds", type=int, default=None, help="default: the profile's")
    parser.add_argument("--temperature", type=float, default=0.2)
    parser.add_argument("--out", type=Path, default=Path("runs/label_efficiency.json"))
    args = parser.parse_args(argv)
    profile = cu.profile(args.profile)
    seeds = range(args.seeds or profile.seeds)
    torch.set_num_threads(min(2, torch.get_num_threads()))
    print(machine_line())
    print(f"profile={profile.name}: {profile.epochs} epochs, batch {profile.batch_size}, seeds {list(seeds)}")

    runs, rows, mean = {}, [], {}
    for name in args.datasets:
        start = time.perf_counter()
        train, test = splits(name, profile)
        runs[name] = [one_seed(train, test, profile, seed, args.temperature) for seed in seeds]
        seconds = (time.perf_counter() - start) / len(seeds)
        for fraction in FRACTIONS:
            cells = []
            for method in METHODS:
                accs = [100 * run[method][fraction] for run in runs[name]]
                mean[name, method, fraction] = statistics.mean(accs)
                std = statistics.stdev(accs) if len(accs) > 1 else 0.0
                cells.append(f"{mean[name, method, fraction]:.1f} +- {std:.1f}")
            rows.append([name, f"{fraction:.0%}", *cells, f"{seconds:.0f}"])
    print_table(["dataset", "labels", *METHODS.values(), "s/seed"], rows)
    for name in args.datasets:
        for fraction in FRACTIONS[:2]:
            where = f"label efficiency, {name}, {fraction:.0%} labels"
            for method in ("simclr", "fine-tuned"):
                summary(f"{where}: {METHODS[method]} vs supervised (%)", ours=mean[name, method, fraction],
                        alternative=mean[name, "supervised", fraction], unit="% accuracy",
                        target="> 1x (lecture's SimCLRv2 table)")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps({"profile": profile.name, "temperature": args.temperature,
                                    "machine": machine_line(), "runs": runs}, indent=1))
    print(f"wrote {args.out}")
    return runs


if __name__ == "__main__":
    main()
