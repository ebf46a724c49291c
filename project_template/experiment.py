"""The experiment starter: SimCLR pretraining, then frozen-feature evaluation, over seeds.

    python experiment.py                                 # configs/default.toml
    python experiment.py --config configs/smoke.toml     # a tiny run, seconds
    python experiment.py --profile gpu                   # CIFAR-10 and a ResNet-18

For each seed: pretrain SimCLR (Chen et al., 2020) with ``course_utils.train.fit``, then
evaluate the frozen encoder, and a randomly initialised one as the baseline, with linear
probes trained on fractions of the labels (1%, 10%, 100%, as in Chen et al., 2020b)
and a k-NN classifier (Wu et al., 2018). Writes into the results folder:

- ``results.json``: the resolved configuration, every seed's metrics and loss curve, and
  the mean and standard deviation over seeds;
- ``table.tex``: that summary as a LaTeX tabular (mean $\\pm$ std), which ``main.tex``
  inputs;
- ``label_fractions.pdf|png`` and ``pretrain_loss.pdf|png``: the figures.

An interrupted run resumes: finished seeds are read back from ``results.json``, and
pretraining restarts from its last checkpoint. Both are tied to the configuration, so
changing a value recomputes what it affects and nothing else.

A config lists only what differs from ``configs/default.toml``; "auto" takes the value
from the run profile (``course_utils.profile()``). To try your own method, change
:func:`pretrain` (the model, the step function, the augmentation): the evaluation and
the reporting stay as they are.
"""
from __future__ import annotations

import argparse
import functools
import hashlib
import json
import os
import statistics
import sys
import time
from pathlib import Path

try:
    import tomllib
except ModuleNotFoundError:  # Python < 3.11
    import tomli as tomllib

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

HERE = Path(__file__).resolve().parent
if (HERE.parent / "course_utils").is_dir() and str(HERE.parent) not in sys.path:
    sys.path.insert(0, str(HERE.parent))  # inside a checkout of the kit: its course_utils
try:
    import course_utils as cu
except ModuleNotFoundError as error:
    sys.exit(f"{error}: install the course kit first (see README.md, 'Set up'), "
             "e.g. pip install -e .. from a checkout of the kit")
from course_utils.augment import SimCLRAugment  # noqa: E402
from course_utils.evaluate import extract_features, knn_accuracy, linear_probe  # noqa: E402
from course_utils.models import ProjectionHead, SimCLRNet, build_encoder  # noqa: E402
from course_utils.recipes import default_augment, label_subset  # noqa: E402
from course_utils.train import fit, simclr_step  # noqa: E402

DEFAULT_CONFIG = HERE / "configs" / "default.toml"
# "auto" values and the profile fields they come from.
AUTO = {("data", "dataset"): "dataset", ("data", "n_train"): "n_train", ("data", "n_test"): "n_test",
        ("data", "image_size"): "image_size", ("model", "encoder"): "encoder",
        ("pretrain", "epochs"): "epochs", ("pretrain", "batch_size"): "batch_size",
        ("evaluate", "probe_epochs"): "probe_epochs", ("run", "seeds"): "seeds"}
METHODS = {"simclr": "SimCLR", "random_init": "Random init"}


# --- configuration -----------------------------------------------------------------

def load_config(path: Path, profile: cu.Profile) -> dict:
    """The configuration to run: ``configs/default.toml`` overlaid with ``path``.

    In order, later winning: ``default.toml``, its ``[profile.<name>]`` tables for the
    active profile, ``path``, and ``path``'s own ``[profile.<name>]`` tables. Then every
    "auto" takes the profile's value. A key that ``default.toml`` does not have raises
    ``ValueError`` naming it (a typo would otherwise be ignored silently), and so does a
    ``[pretrain] warmup`` outside [0, 1].
    """
    config = tomllib.loads(DEFAULT_CONFIG.read_text())
    user = {} if Path(path).resolve() == DEFAULT_CONFIG else tomllib.loads(Path(path).read_text())
    layers = [(config.pop("profile", {}), f"{DEFAULT_CONFIG.name} [profile]"),
              (user.pop("profile", {}), f"{Path(path).name} [profile]")]
    for by_profile, source in layers:
        unknown = sorted(set(by_profile) - set(cu.PROFILES))
        if unknown:
            raise ValueError(f"{source}: unknown profile(s) {unknown}; "
                             f"expected some of {sorted(cu.PROFILES)}")
    overlay(config, layers[0][0].get(profile.name, {}), layers[0][1])
    overlay(config, user, Path(path).name)
    overlay(config, layers[1][0].get(profile.name, {}), layers[1][1])
    for (section, key), field in AUTO.items():
        if config[section][key] == "auto":
            config[section][key] = getattr(profile, field)
    seeds = config["run"]["seeds"]
    config["run"]["seeds"] = list(range(seeds)) if isinstance(seeds, int) else [int(s) for s in seeds]
    warmup = config["pretrain"]["warmup"]
    if isinstance(warmup, bool) or not isinstance(warmup, (int, float)) or not 0 <= warmup <= 1:
        raise ValueError(f"[pretrain] warmup must be a fraction of the epochs in [0, 1], got {warmup!r}")
    return config


def overlay(config: dict, extra: dict, source: str) -> None:
    """Update ``config`` with ``extra`` section by section; unknown keys raise ``ValueError``."""
    for section, values in extra.items():
        if section not in config:
            raise ValueError(f"{source}: unknown key {section!r}; expected some of {sorted(config)}")
        if not isinstance(config[section], dict):
            config[section] = values
            continue
        if not isinstance(values, dict):
            raise ValueError(f"{source}: {section!r} must be a table ([{section}]), got {values!r}")
        unknown = sorted(set(values) - set(config[section])) if section != "augment" else []
        if unknown:
            raise ValueError(f"{source}: unknown key(s) {unknown} in [{section}]; "
                             f"expected some of {sorted(config[section])}")
        config[section].update(values)


def config_key(config: dict) -> str:
    """A short hash of everything that changes the numbers (not the seeds or the folders)."""
    relevant = {k: v for k, v in config.items() if k not in ("name", "run")}
    return hashlib.sha256(json.dumps(relevant, sort_keys=True).encode()).hexdigest()[:10]


# --- data, pretraining, evaluation ---------------------------------------------------

def load_data(cfg: dict):
    """The train and test splits named by ``cfg`` (``config["data"]``): the first
    ``n_train`` and ``n_test`` images."""
    shapes = ({"image_size": cfg["image_size"], "spurious": cfg["spurious"]}
              if cfg["dataset"] == "shapes" else {})
    return [cu.data.load_dataset(cfg["dataset"], split, n=cfg[f"n_{split}"], download=cfg["download"],
                                 **shapes)
            for split in ("train", "test")]


def build_model(config: dict, in_channels: int) -> SimCLRNet:
    encoder = build_encoder(config["model"]["encoder"], in_channels=in_channels)
    return SimCLRNet(encoder, ProjectionHead(encoder.feature_dim, out_dim=config["model"]["projection_dim"]))


def pretrain(config: dict, train, *, seed: int, device, checkpoint: Path, progress: bool):
    """SimCLR pretraining; resumes from ``checkpoint`` if it exists. Returns (model, losses).

    Your method goes here: another augmentation, another step function (any
    ``step(model, batch) -> loss`` works with ``fit``), another model.
    """
    cfg = config["pretrain"]
    cu.seed_everything(seed)
    model = build_model(config, in_channels=train.images.shape[1])
    options = {k: tuple(v) if isinstance(v, list) else v for k, v in config["augment"].items()}
    augment = SimCLRAugment(train.images.shape[-1], **options) if options else default_augment(train)
    step = functools.partial(simclr_step, augment=augment, temperature=cfg["temperature"])
    history = fit(model, step, train, epochs=cfg["epochs"], batch_size=min(cfg["batch_size"], len(train)),
                  lr=cfg["lr"], warmup_epochs=cfg["warmup"] * cfg["epochs"], weight_decay=cfg["weight_decay"],
                  device=device, seed=seed, checkpoint=checkpoint, progress=progress)
    return model, [float(x) for x in history["loss"]]


def evaluate(encoder, train, test, config: dict, *, seed: int, device) -> dict:
    """Linear probes on each label fraction and k-NN (all labels), on frozen features."""
    cfg = config["evaluate"]
    train_x = extract_features(encoder, train.images, device=device)
    test_x = extract_features(encoder, test.images, device=device)
    probes = {}
    for fraction in cfg["label_fractions"]:
        idx = label_subset(train.labels, fraction, seed)
        probes[f"{fraction:g}"] = linear_probe(train_x[idx], train.labels[idx], test_x, test.labels,
                                               epochs=cfg["probe_epochs"], device=device, seed=seed)
    knn = knn_accuracy(train_x, train.labels, test_x, test.labels, k=cfg["knn_k"])
    return {"linear_probe": probes, "knn": knn}


def run_seed(config: dict, train, test, *, seed: int, device, checkpoint: Path, progress: bool) -> dict:
    start = time.perf_counter()
    cu.seed_everything(seed)
    baseline = build_model(config, in_channels=train.images.shape[1]).encoder
    metrics = {"random_init": evaluate(baseline, train, test, config, seed=seed, device=device)}
    model, losses = pretrain(config, train, seed=seed, device=device, checkpoint=checkpoint,
                             progress=progress)
    metrics["simclr"] = evaluate(model.encoder, train, test, config, seed=seed, device=device)
    return {"metrics": metrics, "pretrain_loss": losses, "seconds": round(time.perf_counter() - start, 2)}


# --- reporting -------------------------------------------------------------------------

def summarize(runs: dict) -> dict:
    """Mean and standard deviation (n - 1 in the denominator) over seeds of every metric."""
    def stats(values):
        return {"mean": statistics.fmean(values),
                "std": statistics.stdev(values) if len(values) > 1 else 0.0, "n": len(values)}

    seeds = list(runs.values())
    out = {}
    for method in METHODS:
        first = seeds[0]["metrics"][method]
        out[method] = {
            "linear_probe": {f: stats([s["metrics"][method]["linear_probe"][f] for s in seeds])
                             for f in first["linear_probe"]},
            "knn": stats([s["metrics"][method]["knn"] for s in seeds]),
        }
    return out


def latex_table(summary: dict, n_seeds: int) -> str:
    """A booktabs tabular: one row per method, accuracies in % as mean $\\pm$ std; best in bold."""
    fractions = list(summary["simclr"]["linear_probe"])
    columns = [("linear_probe", f) for f in fractions] + [("knn", None)]

    def cell(method, column):
        kind, f = column
        return summary[method][kind][f] if f else summary[method][kind]

    best = {c: max(cell(m, c)["mean"] for m in METHODS) for c in columns}
    lines = [f"% Written by experiment.py from results.json ({n_seeds} seed{'s' * (n_seeds != 1)}); "
             "rerun it rather than editing by hand.",
             "\\begin{tabular}{l" + "c" * len(columns) + "}", "\\toprule",
             f" & \\multicolumn{{{len(fractions)}}}{{c}}{{Linear probe, labels used}} & \\\\",
             f"\\cmidrule(lr){{2-{len(fractions) + 1}}}",
             "Method & " + " & ".join(f"{100 * float(f):g}\\%" for f in fractions) + " & $k$-NN \\\\",
             "\\midrule"]
    for method, label in METHODS.items():
        cells = []
        for column in columns:
            s = cell(method, column)
            text = f"{100 * s['mean']:.1f}" + (f" $\\pm$ {100 * s['std']:.1f}" if s["n"] > 1 else "")
            cells.append(f"\\textbf{{{text}}}" if s["mean"] == best[column] else text)
        lines.append(f"{label} & " + " & ".join(cells) + " \\\\")
    lines += ["\\bottomrule", "\\end{tabular}", ""]
    return "\n".join(lines)


def save_figure(fig, folder: Path, name: str) -> None:
    for ext in ("pdf", "png"):
        fig.savefig(folder / f"{name}.{ext}", bbox_inches="tight", dpi=200)
    plt.close(fig)


def plot_label_fractions(summary: dict, folder: Path) -> None:
    fig, ax = plt.subplots(figsize=(4.5, 3.2))
    for method, label in METHODS.items():
        probes = summary[method]["linear_probe"]
        x = [100 * float(f) for f in probes]
        ax.errorbar(x, [100 * s["mean"] for s in probes.values()],
                    yerr=[100 * s["std"] for s in probes.values()],
                    marker="o", capsize=3, label=label)
    ax.set(xscale="log", xlabel="labelled training images", ylabel="linear-probe test accuracy (%)")
    ax.set_xticks(x, [f"{v:g}%" for v in x])
    ax.minorticks_off()
    ax.grid(alpha=0.3)
    ax.legend()
    save_figure(fig, folder, "label_fractions")


def plot_losses(runs: dict, folder: Path) -> None:
    fig, ax = plt.subplots(figsize=(4.5, 3.2))
    for seed, run in runs.items():
        losses = run["pretrain_loss"]
        ax.plot(range(1, len(losses) + 1), losses, marker="o" if len(losses) < 20 else None,
                label=f"seed {seed}")
    ax.set(xlabel="epoch", ylabel="NT-Xent loss (train)")
    ax.grid(alpha=0.3)
    ax.legend()
    save_figure(fig, folder, "pretrain_loss")


def write_json(path: Path, obj) -> None:
    """Write ``obj`` as JSON atomically: an interruption never leaves half a file."""
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(obj, indent=2) + "\n")
    os.replace(tmp, path)


# --- main --------------------------------------------------------------------------------

def resolve(path: str | Path, base: Path) -> Path:
    path = Path(path)
    return path if path.is_absolute() else base / path


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--config", type=Path, default=DEFAULT_CONFIG,
                        help="a TOML config (default: %(default)s)")
    parser.add_argument("--profile", choices=sorted(cu.PROFILES), help="the run profile for \"auto\" values "
                        "(default: $SSL_COURSE_PROFILE, else gpu with CUDA, cpu without)")
    parser.add_argument("--results", type=Path, help="override [run] results: the output folder")
    parser.add_argument("--checkpoints", type=Path, help="override [run] checkpoints")
    parser.add_argument("--fresh", action="store_true", help="ignore cached seeds and checkpoints")
    parser.add_argument("--quiet", action="store_true", help="no progress bars")
    args = parser.parse_args(argv)

    profile = cu.profile(args.profile)
    config = load_config(args.config, profile)
    key = config_key(config)
    results_dir = args.results or resolve(config["run"]["results"], HERE)
    checkpoints = args.checkpoints or resolve(config["run"]["checkpoints"], HERE)
    checkpoint_dir = checkpoints / f"{config['name']}-{key}"
    results_dir.mkdir(parents=True, exist_ok=True)
    checkpoint_dir.mkdir(parents=True, exist_ok=True)
    results_path = results_dir / "results.json"
    device = cu.get_device()

    cached = {}
    if results_path.exists() and not args.fresh:
        previous = json.loads(results_path.read_text())
        if previous.get("config_key") == key:
            cached = previous.get("runs", {})
        else:
            print(f"{results_path}: written for another configuration; recomputing")
    if args.fresh:
        for stale in checkpoint_dir.glob("*.ckpt"):
            stale.unlink()

    data = config["data"]
    print(f"profile={profile.name} device={device} dataset={data['dataset']} n_train={data['n_train']} "
          f"encoder={config['model']['encoder']} epochs={config['pretrain']['epochs']} "
          f"seeds={config['run']['seeds']}")
    train, test = load_data(data)
    runs = {}
    for seed in config["run"]["seeds"]:
        if str(seed) in cached:
            runs[str(seed)] = cached[str(seed)]
            print(f"seed {seed}: cached in {results_path}")
            continue
        runs[str(seed)] = run_seed(config, train, test, seed=seed, device=device,
                                   checkpoint=checkpoint_dir / f"seed{seed}.ckpt", progress=not args.quiet)
        m = runs[str(seed)]["metrics"]
        print(f"seed {seed}: SimCLR linear probe {m['simclr']['linear_probe']} kNN {m['simclr']['knn']:.3f}; "
              f"random init kNN {m['random_init']['knn']:.3f} ({runs[str(seed)]['seconds']:.0f} s)")
        write_json(results_path, {"config_key": key, "config": config, "profile": profile.name,
                                  "device": str(device), "runs": {**cached, **runs}})

    summary = summarize(runs)
    write_json(results_path, {"config_key": key, "config": config, "profile": profile.name,
                              "device": str(device), "runs": {**cached, **runs}, "summary": summary})
    (results_dir / "table.tex").write_text(latex_table(summary, len(runs)))
    plot_label_fractions(summary, results_dir)
    plot_losses(runs, results_dir)
    print(f"wrote {results_path}, table.tex, label_fractions.pdf/png and pretrain_loss.pdf/png "
          f"in {results_dir}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
