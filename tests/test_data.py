"""course_utils.data: the container, the embedded datasets, data_root and the download paths.

Downloads are exercised end to end against archives the tests write themselves and serve
through file:// URLs; no test touches the network.
"""
import collections
import hashlib
import io
import os
import pickle
import re
import socket
import sys
import tarfile
import time
import types
from pathlib import Path

import numpy as np
import pytest
import torch
from scipy import stats
from sklearn.datasets import load_digits
from sklearn.linear_model import RidgeClassifier
from torchvision.datasets import CIFAR10, STL10

import course_utils as cu
from course_utils.data import (DATASETS, FACTORS, ImageDataset, data_root, load_cifar10n, load_dataset,
                               make_shapes, s_curve, swiss_roll, to_float)
from course_utils.data import cifar10n, download
from course_utils.data.shapes import COLORS, TEXTURES


# ----------------------------------------------------------------------------- ImageDataset

def _tiny(n=6):
    images = torch.arange(n * 3 * 4 * 4, dtype=torch.int64).remainder(256).to(torch.uint8).reshape(n, 3, 4, 4)
    return ImageDataset(images, torch.arange(n) % 2, ["a", "b"], {"f": torch.arange(n) * 10})


def test_image_dataset_indexing_and_subset():
    ds = _tiny()
    image, label = ds[3]
    assert torch.equal(image, ds.images[3]) and int(label) == 1 and len(ds) == 6 and ds.num_classes == 2
    for index in ([4, 0, 4], torch.tensor([5, 1]), np.array([2]), slice(1, 4), ds.labels == 1):
        sub = ds.subset(index)
        expected = torch.arange(6)[index if not isinstance(index, np.ndarray) else torch.from_numpy(index)]
        assert torch.equal(sub.images, ds.images[expected])
        assert torch.equal(sub.labels, ds.labels[expected])
        assert torch.equal(sub.factors["f"], expected * 10)
        assert sub.classes == ["a", "b"]
    assert "n=6" in repr(ds) and "factors=['f']" in repr(ds)


@pytest.mark.parametrize("change, error, name", [
    (dict(images=torch.zeros(6, 3, 4, 4)), TypeError, "images"),
    (dict(images=torch.zeros(6, 4, 4, dtype=torch.uint8)), ValueError, "images"),
    (dict(labels=torch.zeros(6, dtype=torch.int32)), TypeError, "labels"),
    (dict(labels=torch.zeros(5, dtype=torch.int64)), ValueError, "labels"),
    (dict(labels=torch.full((6,), 2)), ValueError, "labels"),
    (dict(labels=torch.full((6,), -2)), ValueError, "labels"),
    (dict(classes="ab"), TypeError, "classes"),
    (dict(factors={"color": torch.zeros(5, dtype=torch.int64)}), ValueError, "factors['color']"),
    (dict(factors={"color": torch.zeros(6)}), TypeError, "factors['color']"),
    (dict(factors=[1, 2]), TypeError, "factors"),
])
def test_image_dataset_validates(change, error, name):
    ds = _tiny()
    fields = dict(images=ds.images, labels=ds.labels, classes=ds.classes, factors=ds.factors) | change
    with pytest.raises(error, match="^" + re.escape(name) + " "):
        ImageDataset(**fields)


def test_image_dataset_accepts_unlabeled_images():
    ds = ImageDataset(torch.zeros(2, 1, 4, 4, dtype=torch.uint8), torch.tensor([-1, 0]), ["a"])
    assert ds.factors == {}


def test_to_float():
    images = torch.tensor([0, 1, 128, 255], dtype=torch.uint8)
    out = to_float(images)
    assert out.dtype == torch.float32 and torch.equal(out, torch.tensor([0, 1, 128, 255]) / 255.0)
    floats = torch.rand(3)
    assert to_float(floats) is floats
    with pytest.raises(TypeError, match="^images "):
        to_float(torch.zeros(3, dtype=torch.int32))


# ----------------------------------------------------------------------------- shapes

def test_shapes_deterministic_by_seed():
    a, b, c = make_shapes(300, seed=5), make_shapes(300, seed=5), make_shapes(300, seed=6)
    assert torch.equal(a.images, b.images) and torch.equal(a.labels, b.labels)
    assert all(torch.equal(a.factors[k], b.factors[k]) for k in FACTORS)
    assert not torch.equal(a.images, c.images)


@pytest.mark.parametrize("size", [8, 16, 24, 32, 64, 96])
def test_shapes_shapes_and_dtypes(size):
    ds = make_shapes(20, image_size=size, seed=1)
    assert ds.images.shape == (20, 3, size, size) and ds.images.dtype == torch.uint8
    assert ds.labels.dtype == torch.int64 and torch.equal(ds.labels, ds.factors["shape"])
    assert ds.classes == list(FACTORS["shape"]) and set(ds.factors) == set(FACTORS)
    for name, values in FACTORS.items():
        assert ds.factors[name].dtype == torch.int64 and 0 <= ds.factors[name].min()
        assert ds.factors[name].max() < len(values)


def _exact_matches(images, colors):
    """(n, len(colors)): how many pixels of each image have exactly each RGB colour."""
    colors = torch.tensor(colors, dtype=torch.uint8)[:, :, None, None]  # (k, 3, 1, 1)
    return (images[:, None] == colors[None]).all(dim=2).flatten(2).sum(dim=2)


def test_shapes_images_show_their_factors():
    ds = make_shapes(1500, seed=2)
    f = {k: v.numpy() for k, v in ds.factors.items()}
    fg = _exact_matches(ds.images, list(COLORS.values()))
    assert np.array_equal(fg.argmax(dim=1).numpy(), f["color"])          # the shape has its colour
    bg = sum(_exact_matches(ds.images, [pair[i] for pair in TEXTURES.values()]) for i in (0, 1))
    assert np.array_equal(bg.argmax(dim=1).numpy(), f["texture"])        # the background its texture
    assert (bg.max(dim=1).values > 0.4 * 32 * 32).all()

    colors = torch.tensor(list(COLORS.values()), dtype=torch.uint8)[f["color"]]
    mask = (ds.images == colors[:, :, None, None]).all(dim=1)              # (n, H, W): inside the shape
    area = mask.flatten(1).sum(1).numpy()
    rows, cols = torch.meshgrid(torch.arange(32.0), torch.arange(32.0), indexing="ij")
    cx = ((mask * cols).flatten(1).sum(1) / mask.flatten(1).sum(1)).numpy()
    cy = ((mask * rows).flatten(1).sum(1) / mask.flatten(1).sum(1)).numpy()
    assert stats.spearmanr(f["x"], cx)[0] > 0.8 and stats.spearmanr(f["y"], cy)[0] > 0.8
    for k in range(len(FACTORS["shape"])):                                # bigger scale bin, bigger area
        means = [area[(f["shape"] == k) & (f["scale"] == s)].mean() for s in range(3)]
        assert means[0] < means[1] < means[2]
    row, col = torch.from_numpy(cy).round().long(), torch.from_numpy(cx).round().long()
    centre = mask[torch.arange(len(ds)), row, col]
    ring = f["shape"] == FACTORS["shape"].index("ring")
    assert not centre[ring].any() and centre[~ring].float().mean() > 0.95  # only rings are hollow


def test_shapes_factors_independent_without_spurious():
    f = {k: v.numpy() for k, v in make_shapes(20000, image_size=8, seed=3).factors.items()}
    for name, values in FACTORS.items():
        assert stats.chisquare(np.bincount(f[name], minlength=len(values))).pvalue > 1e-3, name
    names = list(FACTORS)
    for i, a in enumerate(names):
        for b in names[i + 1:]:
            table = np.zeros((len(FACTORS[a]), len(FACTORS[b])))
            np.add.at(table, (f[a], f[b]), 1)
            assert stats.chi2_contingency(table).pvalue > 1e-3, (a, b)


def test_shapes_spurious_rate_realised():
    n, p, t = 20000, 0.7, len(TEXTURES)
    biased, plain = make_shapes(n, image_size=8, seed=4, spurious=p), make_shapes(n, image_size=8, seed=4)
    rate = (biased.factors["texture"] == biased.labels).double().mean().item()
    expected = p + (1 - p) / t
    assert abs(rate - expected) < 4 * np.sqrt(expected * (1 - expected) / n)
    # same seed: only backgrounds change
    for name in ("shape", "color", "x", "y", "scale"):
        assert torch.equal(biased.factors[name], plain.factors[name])
    same = biased.factors["texture"] == plain.factors["texture"]
    assert torch.equal(biased.images[same], plain.images[same])
    always = make_shapes(500, seed=0, spurious=1.0)
    assert torch.equal(always.factors["texture"], always.labels)


def test_shapes_load_dataset_splits():
    budget = cu.profile()
    train, test = load_dataset("shapes", "train"), load_dataset("shapes", "test")
    assert len(train) == budget.n_train and len(test) == budget.n_test
    assert torch.equal(train.images, make_shapes(budget.n_train, seed=0).images)
    assert not torch.equal(test.images[:10], train.images[:10])
    n = 6000
    test = load_dataset("shapes", "test", n=n, spurious=0.9, seed=1, image_size=8)
    rate = (test.factors["texture"] == test.labels).double().mean().item()
    assert abs(rate - 1 / len(TEXTURES)) < 4 * np.sqrt(1 / 6 * 5 / 6 / n)  # the test split is unbiased
    train = load_dataset("shapes", "train", n=n, spurious=0.9, seed=1, image_size=8)
    assert (train.factors["texture"] == train.labels).double().mean() > 0.85


def test_shapes_linear_probe_learnable_not_trivial():
    """Raw pixels: colour is linear, shape only partly; a spurious background takes over."""
    def probe(train, test, factor):
        x = to_float(train.images).flatten(1).numpy()
        clf = RidgeClassifier(alpha=10.0).fit(x, train.factors[factor].numpy())
        return clf.score(to_float(test.images).flatten(1).numpy(), test.factors[factor].numpy())

    train, test = make_shapes(3000, image_size=16, seed=0), make_shapes(1000, image_size=16, seed=1)
    shape_acc = probe(train, test, "shape")
    assert 0.3 < shape_acc < 0.8                        # chance is 0.2
    assert probe(train, test, "color") > 0.7
    biased = make_shapes(3000, image_size=16, seed=0, spurious=1.0)
    assert probe(biased, test, "shape") < shape_acc - 0.1


@pytest.mark.parametrize("kwargs, error, name", [
    (dict(n=0), ValueError, "n"), (dict(n=2.5), TypeError, "n"),
    (dict(image_size=4), ValueError, "image_size"), (dict(image_size=32.0), TypeError, "image_size"),
    (dict(spurious=1.5), ValueError, "spurious"), (dict(spurious="high"), TypeError, "spurious"),
    (dict(seed=-1), ValueError, "seed"), (dict(seed=1.0), TypeError, "seed"),
])
def test_make_shapes_bad_input(kwargs, error, name):
    with pytest.raises(error, match=f"^{name} "):
        make_shapes(**({"n": 4} | kwargs))


# ----------------------------------------------------------------------------- digits, manifolds

def test_digits_splits():
    train, test = load_dataset("digits", "train"), load_dataset("digits", "test")
    assert (len(train), len(test)) == (1437, 360)
    assert train.images.shape[1:] == (1, 8, 8) and train.images.dtype == torch.uint8
    assert train.classes == [str(d) for d in range(10)]
    reference = load_digits()
    scaled = np.rint(reference.images * 255 / 16).astype(np.uint8)
    expected = collections.Counter((x.tobytes(), int(y)) for x, y in zip(scaled, reference.target))
    got = collections.Counter((x.numpy().tobytes(), int(y))
                              for ds in (train, test) for x, y in zip(ds.images, ds.labels))
    assert got == expected                                             # a partition of all digits
    per_class = np.bincount(reference.target)
    assert np.all(np.abs(np.bincount(test.labels.numpy(), minlength=10) - 0.2 * per_class) <= 1)  # stratified
    again = load_dataset("digits", "test")
    assert torch.equal(again.images, test.images) and torch.equal(again.labels, test.labels)
    assert torch.equal(load_dataset("digits", n=100).images, train.images[:100])


def test_manifolds_match_sklearn():
    from sklearn.datasets import make_s_curve, make_swiss_roll
    pairs = [(swiss_roll(200, noise=0.1, seed=3), make_swiss_roll(200, noise=0.1, random_state=3)),
             (swiss_roll(200, seed=3, hole=True), make_swiss_roll(200, random_state=3, hole=True)),
             (s_curve(200, seed=3), make_s_curve(200, random_state=3))]
    for ours, theirs in pairs:
        assert ours[0].shape == (200, 3) and ours[1].shape == (200,)
        np.testing.assert_array_equal(ours[0], theirs[0])
        np.testing.assert_array_equal(ours[1], theirs[1])
    with pytest.raises(ValueError, match="^noise "):
        swiss_roll(10, noise=-1.0)
    with pytest.raises(ValueError, match="^n "):
        s_curve(0)


# ----------------------------------------------------------------------------- load_dataset errors

@pytest.mark.parametrize("args, kwargs, error, name", [
    (("mnist",), {}, ValueError, "name"),
    (("digits", "val"), {}, ValueError, "split"),
    (("cifar10", "unlabeled"), {}, ValueError, "split"),
    (("digits",), dict(n=0), ValueError, "n"),
    (("digits",), dict(n=5000), ValueError, "n"),
    (("shapes", "test"), dict(spurious=2.0), ValueError, "spurious"),
    (("shapes", "test"), dict(seed=-3), ValueError, "seed"),
])
def test_load_dataset_bad_input(args, kwargs, error, name):
    with pytest.raises(error, match=f"^{name} ") as info:
        load_dataset(*args, **kwargs)
    if name == "name":
        assert all(repr(d) in str(info.value) for d in DATASETS)
    if name == "split":
        assert "'train'" in str(info.value) and "'test'" in str(info.value)


def test_load_dataset_unexpected_keyword():
    with pytest.raises(TypeError, match="spurious"):
        load_dataset("digits", spurious=0.5)
    with pytest.raises(TypeError, match="colour"):
        load_dataset("shapes", colour=1)


# ----------------------------------------------------------------------------- data_root

def test_data_root_precedence(tmp_path, monkeypatch):
    monkeypatch.delenv(download.DATA_ENV, raising=False)
    for key in [k for k in os.environ if k.startswith("COLAB_")]:
        monkeypatch.delenv(key)
    monkeypatch.delitem(sys.modules, "google.colab", raising=False)
    monkeypatch.chdir(tmp_path)
    checkout = tmp_path / "repo" / "data"
    checkout.mkdir(parents=True)
    monkeypatch.setattr(download, "CHECKOUT_DATA", checkout)

    assert data_root() == Path.cwd() / "data"                     # not a checkout: ./data
    (checkout / "README.md").write_text("data folder\n")
    assert data_root() == checkout                                # a checkout: its data/
    monkeypatch.setitem(sys.modules, "google.colab", types.ModuleType("google.colab"))
    assert data_root() == Path("/content/data")                   # Colab
    monkeypatch.setenv(download.DATA_ENV, str(tmp_path / "env"))
    assert data_root() == tmp_path / "env"                        # $SSL_COURSE_DATA
    assert data_root(tmp_path / "arg") == tmp_path / "arg"        # the argument wins
    assert data_root("rel") == Path.cwd() / "rel" and data_root("~/d") == Path.home() / "d"


def test_data_root_is_the_repository_data_folder():
    repo_data = Path(cu.__file__).resolve().parents[1] / "data"
    assert download.CHECKOUT_DATA == repo_data and (repo_data / "README.md").is_file()


# ----------------------------------------------------------------------------- downloads

def _md5(path):
    return hashlib.md5(Path(path).read_bytes()).hexdigest()


@pytest.fixture
def no_proxy(monkeypatch):
    """urllib must connect to 127.0.0.1 directly, whatever the machine's proxy settings."""
    for key in [k for k in os.environ if k.lower().endswith("_proxy")]:
        monkeypatch.delenv(key)


@pytest.fixture
def fake_cifar10(tmp_path, monkeypatch):
    """A tiny CIFAR-10 in torchvision's layout, its archive served at a file:// URL."""
    rng = np.random.default_rng(0)
    folder = tmp_path / "server" / "cifar-10-batches-py"
    folder.mkdir(parents=True)
    classes = [f"class{i}" for i in range(10)]
    images, labels = {}, {}
    for name in [f"data_batch_{i}" for i in range(1, 6)] + ["test_batch"]:
        images[name] = rng.integers(0, 256, (3, 3, 32, 32), dtype=np.uint8)
        labels[name] = rng.integers(0, 10, 3).tolist()
        batch = {"data": images[name].reshape(3, -1), "labels": labels[name]}  # rows: R, G, B planes
        (folder / name).write_bytes(pickle.dumps(batch))
    (folder / "batches.meta").write_bytes(pickle.dumps({"label_names": classes}))
    archive = tmp_path / "server" / CIFAR10.filename
    with tarfile.open(archive, "w:gz") as tar:
        tar.add(folder, arcname=CIFAR10.base_folder)
    monkeypatch.setattr(CIFAR10, "url", archive.as_uri())
    monkeypatch.setattr(CIFAR10, "tgz_md5", _md5(archive))
    monkeypatch.setattr(CIFAR10, "train_list", [[f"data_batch_{i}", _md5(folder / f"data_batch_{i}")]
                                                for i in range(1, 6)])
    monkeypatch.setattr(CIFAR10, "test_list", [["test_batch", _md5(folder / "test_batch")]])
    monkeypatch.setattr(CIFAR10, "meta", dict(CIFAR10.meta, md5=_md5(folder / "batches.meta")))
    train = np.concatenate([images[f"data_batch_{i}"] for i in range(1, 6)])
    train_labels = sum((labels[f"data_batch_{i}"] for i in range(1, 6)), [])
    return dict(archive=archive, classes=classes, train=(train, train_labels),
                test=(images["test_batch"], labels["test_batch"]))


def test_cifar10_downloads_extracts_and_loads(fake_cifar10, tmp_path):
    root = tmp_path / "data"
    train = load_dataset("cifar10", "train", root=root, download=True)
    assert (root / CIFAR10.filename).is_file() and (root / CIFAR10.base_folder).is_dir()
    assert train.images.shape == (15, 3, 32, 32) and train.images.is_contiguous()
    assert np.array_equal(train.images.numpy(), fake_cifar10["train"][0])
    assert train.labels.tolist() == fake_cifar10["train"][1] and train.classes == fake_cifar10["classes"]
    test = load_dataset("cifar10", "test", root=root)                      # already there: no download
    assert np.array_equal(test.images.numpy(), fake_cifar10["test"][0])
    reference = CIFAR10(str(root), train=False)                            # torchvision's own PIL images
    assert np.array_equal(np.asarray(reference[1][0]), test.images[1].permute(1, 2, 0).numpy())
    assert len(load_dataset("cifar10", "test", root=root, n=2)) == 2


def test_cifar10_archive_placed_by_hand(fake_cifar10, tmp_path):
    root = tmp_path / "data"
    root.mkdir()
    (root / CIFAR10.filename).write_bytes(fake_cifar10["archive"].read_bytes())
    train = load_dataset("cifar10", "train", root=root, download=False)
    assert np.array_equal(train.images.numpy(), fake_cifar10["train"][0])


def test_cifar10_missing_or_corrupted_says_where_to_put_it(fake_cifar10, tmp_path):
    root = tmp_path / "data"
    with pytest.raises(FileNotFoundError) as info:
        load_dataset("cifar10", root=root)
    message = str(info.value)
    assert CIFAR10.filename in message and CIFAR10.url in message and str(root) in message
    root.mkdir()
    (root / CIFAR10.filename).write_bytes(b"not an archive")
    with pytest.raises(FileNotFoundError, match="corrupted"):
        load_dataset("cifar10", root=root)


def test_stl10_downloads_and_loads(tmp_path, monkeypatch):
    rng = np.random.default_rng(1)
    folder = tmp_path / "server" / STL10.base_folder
    folder.mkdir(parents=True)
    images = {s: rng.integers(0, 256, (2, 3, 96, 96), dtype=np.uint8) for s in ("train", "test", "unlabeled")}
    labels = {s: rng.integers(0, 10, 2) for s in ("train", "test")}
    for split, x in images.items():
        (folder / f"{split}_X.bin").write_bytes(x.transpose(0, 1, 3, 2).tobytes())  # stored column-major
    for split, y in labels.items():
        (folder / f"{split}_y.bin").write_bytes((y + 1).astype(np.uint8).tobytes())  # stored 1..10
    archive = tmp_path / "server" / STL10.filename
    with tarfile.open(archive, "w:gz") as tar:
        tar.add(folder, arcname=STL10.base_folder)
    monkeypatch.setattr(STL10, "url", archive.as_uri())
    monkeypatch.setattr(STL10, "tgz_md5", _md5(archive))
    monkeypatch.setattr(STL10, "train_list", [[f, _md5(folder / f)] for f in ("train_X.bin", "train_y.bin",
                                                                            "unlabeled_X.bin")])
    monkeypatch.setattr(STL10, "test_list", [[f, _md5(folder / f)] for f in ("test_X.bin", "test_y.bin")])

    root = tmp_path / "data"
    train = load_dataset("stl10", "train", root=root, download=True)
    assert train.images.shape == (2, 3, 96, 96) and np.array_equal(train.images.numpy(), images["train"])
    assert train.labels.tolist() == labels["train"].tolist() and len(train.classes) == 10
    unlabeled = load_dataset("stl10", "unlabeled", root=root)
    assert np.array_equal(unlabeled.images.numpy(), images["unlabeled"]) and (unlabeled.labels == -1).all()
    both = load_dataset("stl10", "train+unlabeled", root=root)
    assert both.labels.tolist() == labels["train"].tolist() + [-1, -1]
    assert np.array_equal(load_dataset("stl10", "test", root=root).images.numpy(), images["test"])


def _cifar10n_table():
    rng = np.random.default_rng(2)
    return {key: rng.integers(0, 10, cifar10n.NUM_IMAGES) for key in cifar10n.LABEL_SETS}


def test_cifar10n_downloads_and_loads(tmp_path, monkeypatch):
    table = _cifar10n_table()
    served = tmp_path / "server" / cifar10n.FILENAME
    served.parent.mkdir()
    torch.save(table, served)
    monkeypatch.setattr(cifar10n, "URL", served.as_uri())
    root = tmp_path / "data"
    noisy = load_cifar10n(root=root, download=True)
    assert (root / cifar10n.FILENAME).is_file() and not list(root.glob("*.part"))
    assert noisy.dtype == torch.int64 and np.array_equal(noisy.numpy(), table["worse_label"])
    for key in cifar10n.LABEL_SETS:
        assert np.array_equal(load_cifar10n(root=root, label=key).numpy(), table[key])


def test_cifar10n_reads_a_file_saved_with_numpy_1(tmp_path):
    """The published file predates numpy 2: its arrays name numpy.core, not numpy._core."""
    table = _cifar10n_table()
    buffer = io.BytesIO()
    torch.save(table, buffer, _use_new_zipfile_serialization=False)
    legacy = buffer.getvalue().replace(b"numpy._core.multiarray", b"numpy.core.multiarray")
    assert b"numpy.core.multiarray" in legacy
    (tmp_path / cifar10n.FILENAME).write_bytes(legacy)
    assert np.array_equal(load_cifar10n(root=tmp_path, label="aggre_label").numpy(), table["aggre_label"])


def test_cifar10n_bad_label_or_file(tmp_path):
    with pytest.raises(ValueError, match="^label ") as info:
        load_cifar10n(root=tmp_path, label="worst")
    assert all(repr(key) in str(info.value) for key in cifar10n.LABEL_SETS)
    with pytest.raises(FileNotFoundError) as info:
        load_cifar10n(root=tmp_path)
    assert cifar10n.FILENAME in str(info.value) and cifar10n.URL in str(info.value)
    assert str(tmp_path) in str(info.value)
    torch.save({"worse_label": np.zeros(10, dtype=np.int64)}, tmp_path / cifar10n.FILENAME)
    with pytest.raises(FileNotFoundError, match="not CIFAR-10N's label file"):
        load_cifar10n(root=tmp_path)


def _closed_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_unreachable_url_fails_at_once(tmp_path, monkeypatch, no_proxy):
    url = f"http://127.0.0.1:{_closed_port()}/{cifar10n.FILENAME}"
    monkeypatch.setattr(cifar10n, "URL", url)
    start = time.perf_counter()
    with pytest.raises(FileNotFoundError) as info:
        load_cifar10n(root=tmp_path / "data", download=True)
    assert time.perf_counter() - start < 3
    message = str(info.value)
    assert cifar10n.FILENAME in message and url in message and str(tmp_path / "data") in message
    assert not list((tmp_path / "data").iterdir())                     # no partial file left


def test_silent_server_times_out(tmp_path, monkeypatch, no_proxy):
    with socket.socket() as server:                                     # accepts, never answers
        server.bind(("127.0.0.1", 0))
        server.listen(1)
        url = f"http://127.0.0.1:{server.getsockname()[1]}/{CIFAR10.filename}"
        monkeypatch.setattr(CIFAR10, "url", url)
        monkeypatch.setattr(download, "TIMEOUT", 0.5)
        start = time.perf_counter()
        with pytest.raises(FileNotFoundError, match="timed out") as info:
            load_dataset("cifar10", root=tmp_path, download=True)
        assert time.perf_counter() - start < 3
    assert url in str(info.value) and str(tmp_path) in str(info.value)


def test_corrupted_download_is_not_kept(fake_cifar10, tmp_path, monkeypatch):
    monkeypatch.setattr(CIFAR10, "tgz_md5", "0" * 32)
    with pytest.raises(FileNotFoundError, match="corrupted"):
        load_dataset("cifar10", root=tmp_path / "data", download=True)
    assert not list((tmp_path / "data").iterdir())
