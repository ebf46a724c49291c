"""SimCLR on the embedded shapes, end to end: ``python -m course_utils.demo``.

Pretrains SmallConvNet with SimCLR in the active profile (``SSL_COURSE_PROFILE``,
``cpu`` by default without a GPU), probes it against a random-init encoder, and saves
a figure (training loss, a t-SNE of the learned features coloured by shape and by
colour) to ``runs/demo/simclr_shapes.png``.
"""
from __future__ import annotations

import argparse
import time
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

import course_utils as cu  # noqa: E402
from course_utils.evaluate import extract_features, knn_accuracy, linear_probe  # noqa: E402
from course_utils.manifold import embed  # noqa: E402
from course_utils.models import build_encoder  # noqa: E402
from course_utils.plotting import plot_embedding, plot_history  # noqa: E402
from course_utils.recipes import pretrain_simclr  # noqa: E402


def probe(encoder, train, test, device):
    """Linear-probe and kNN accuracy of a frozen encoder."""
    tr = extract_features(encoder, train.images, device=device)
    te = extract_features(encoder, test.images, device=device)
    probe_acc = linear_probe(tr, train.labels, te, test.labels, device=device)
    return probe_acc, knn_accuracy(tr, train.labels, te, test.labels), te


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", type=Path, default=Path("runs/demo"), help="folder for the figure")
    args = parser.parse_args(argv)
    p, device = cu.profile(), cu.get_device()
    print(f"profile={p.name} device={device} dataset=shapes n_train={p.n_train} epochs={p.epochs}")
    train = cu.data.load_dataset("shapes", "train", n=p.n_train)
    test = cu.data.load_dataset("shapes", "test", n=p.n_test)

    start = time.perf_counter()
    model, history = pretrain_simclr(train, epochs=p.epochs, batch_size=p.batch_size, device=device)
    print(f"pretrained in {time.perf_counter() - start:.0f} s, final loss {history['loss'][-1]:.3f}")

    cu.seed_everything(0)
    random_acc, random_knn, _ = probe(build_encoder("small").to(device), train, test, device)
    ssl_acc, ssl_knn, features = probe(model.encoder, train, test, device)
    print(f"{'encoder':<12}{'linear probe':>14}{'kNN':>8}")
    print(f"{'random init':<12}{random_acc:>14.3f}{random_knn:>8.3f}")
    print(f"{'SimCLR':<12}{ssl_acc:>14.3f}{ssl_knn:>8.3f}")

    n = min(len(test), p.embed_samples)
    xy = embed(features[:n].numpy(), method="tsne")
    fig, axes = plt.subplots(1, 3, figsize=(15, 4.5))
    plot_history(history, ax=axes[0])
    plot_embedding(xy, test.labels[:n].numpy(), labels=test.classes, title="SimCLR features: shape",
                   ax=axes[1])
    plot_embedding(xy, test.factors["color"][:n].numpy(), title="SimCLR features: colour", ax=axes[2])
    args.out.mkdir(parents=True, exist_ok=True)
    fig.savefig(args.out / "simclr_shapes.png", dpi=100, bbox_inches="tight")
    print(f"figure: {args.out / 'simclr_shapes.png'}")


if __name__ == "__main__":
    main()
