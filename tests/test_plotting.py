"""course_utils.plotting: every figure draws headless, returns its Figure with the
expected panels and images, and names the argument it rejects."""
import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
import torch  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402
from sklearn.metrics import confusion_matrix  # noqa: E402

from course_utils.plotting import (image_grid, label_issue_gallery, plot_confusion, plot_embedding,  # noqa: E402
                                   plot_history)
from course_utils.train import History  # noqa: E402


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


@pytest.mark.parametrize("channels, dtype", [(1, torch.uint8), (3, torch.uint8), (3, torch.float32)])
def test_image_grid_one_panel_per_image(channels, dtype):
    images = torch.randint(0, 256, (11, channels, 8, 8), dtype=torch.uint8)
    if dtype == torch.float32:
        images = images.float() / 255
    fig = image_grid(images, nrow=4, labels=torch.arange(11) % 3, class_names=["a", "b", "c"])
    assert isinstance(fig, Figure) and len(fig.axes) == 11  # 3 rows of 4, the unused panel removed
    assert all(len(ax.images) == 1 for ax in fig.axes)
    assert [ax.get_title() for ax in fig.axes[:4]] == ["a", "b", "c", "a"]
    shown = fig.axes[5].images[0].get_array()
    expected = images[5, 0] if channels == 1 else images[5].permute(1, 2, 0)
    np.testing.assert_array_equal(np.asarray(shown), expected.numpy())
    fig.canvas.draw()


def test_image_grid_accepts_numpy_and_no_labels():
    fig = image_grid(np.random.default_rng(0).random((3, 3, 5, 5)))
    assert len(fig.axes) == 3 and all(ax.get_title() == "" for ax in fig.axes)


@pytest.mark.parametrize("kwargs, match, error", [
    ({"images": torch.zeros(4, 2, 8, 8)}, "images", ValueError),         # 2 channels
    ({"images": torch.zeros(4, 8, 8)}, "images", ValueError),
    ({"images": torch.zeros(4, 1, 8, 8, dtype=torch.long)}, "images", TypeError),
    ({"labels": torch.arange(3)}, "labels", ValueError),                 # 3 labels for 4 images
    ({"labels": torch.arange(4), "class_names": ["a", "b"]}, "class_names", ValueError),
    ({"class_names": ["a"]}, "labels", ValueError),
    ({"nrow": 0}, "nrow", ValueError),
    ({"images": "images.png"}, "images", TypeError),
])
def test_image_grid_rejects_bad_arguments(kwargs, match, error):
    args = {"images": torch.zeros(4, 1, 8, 8), **kwargs}
    with pytest.raises(error, match=match):
        image_grid(args.pop("images"), **args)


def test_plot_embedding_categories_get_a_legend_entry_each():
    Y = np.random.default_rng(0).normal(size=(60, 2))
    c = torch.arange(60) % 4
    fig = plot_embedding(Y, c, labels=["circle", "square", "triangle", "star"], title="shape")
    ax = fig.axes[0]
    assert len(fig.axes) == 1 and len(ax.collections) == 4
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["circle", "square", "triangle", "star"]
    assert ax.get_title() == "shape"
    for collection, value in zip(ax.collections, range(4)):  # each category's points, exactly
        np.testing.assert_array_equal(collection.get_offsets(), Y[c.numpy() == value])


def test_plot_embedding_continuous_values_get_a_colour_bar_and_can_share_a_figure():
    fig, axes = plt.subplots(1, 2)
    Y, t = np.random.default_rng(0).normal(size=(50, 2)), np.linspace(0, 1, 50)
    assert plot_embedding(Y, t, ax=axes[0]) is fig
    assert plot_embedding(torch.tensor(Y), np.arange(50) % 2, ax=axes[1]) is fig
    assert len(fig.axes) == 3  # two panels and the colour bar
    assert axes[0].get_legend() is None and axes[1].get_legend() is not None


@pytest.mark.parametrize("Y, c, kwargs, match, error", [
    (np.zeros((5, 3)), np.zeros(5, int), {}, "Y", ValueError),
    (np.zeros((5, 2)), np.zeros(4, int), {}, "c", ValueError),
    (np.zeros((5, 2)), np.arange(5), {"labels": ["a", "b"]}, "labels", ValueError),
    (np.zeros((5, 2)), np.linspace(0, 1, 5), {"labels": ["a"]}, "labels", ValueError),
    (np.zeros((5, 2)), np.zeros(5, int), {"ax": "left"}, "ax", TypeError),
])
def test_plot_embedding_rejects_bad_arguments(Y, c, kwargs, match, error):
    with pytest.raises(error, match=match):
        plot_embedding(Y, c, **kwargs)


def test_plot_history_one_panel_per_key_and_overlays():
    history = History([{"epoch": 1, "loss": 2.0, "acc": None}, {"epoch": 2, "loss": 1.5, "acc": 0.6},
                       {"epoch": 3, "loss": 1.2, "acc": 0.7}])
    fig = plot_history(history, keys=("loss", "acc"), label="SimCLR")
    assert len(fig.axes) == 2
    np.testing.assert_array_equal(fig.axes[0].lines[0].get_xydata(), [[1, 2.0], [2, 1.5], [3, 1.2]])
    np.testing.assert_array_equal(fig.axes[1].lines[0].get_xydata(), [[2, 0.6], [3, 0.7]])  # epoch 1 had none
    assert plot_history({"loss": [3, 2, 1], "acc": [0.1, 0.2, 0.3]}, ("loss", "acc"), ax=fig.axes) is fig
    assert [len(ax.lines) for ax in fig.axes] == [2, 2]
    assert len(plot_history({"loss": [1.0, 0.5]}, "loss").axes) == 1  # a single key as a str


@pytest.mark.parametrize("history, kwargs, match, error", [
    ({"loss": [1.0]}, {"keys": ("acc",)}, "keys", ValueError),
    (History([{"epoch": 1, "loss": 1.0}]), {"keys": ("acc",)}, "keys", ValueError),
    ({"loss": [1.0]}, {"keys": ()}, "keys", ValueError),
    ({"loss": [1.0]}, {"ax": "axes"}, "ax", ValueError),
])
def test_plot_history_rejects_bad_arguments(history, kwargs, match, error):
    with pytest.raises(error, match=match):
        plot_history(history, **kwargs)


@pytest.mark.parametrize("normalize", [True, False])
def test_plot_confusion_draws_sklearns_matrix(normalize):
    rng = np.random.default_rng(0)
    y_true, y_pred = rng.integers(0, 4, 100), rng.integers(0, 4, 100)
    fig = plot_confusion(torch.tensor(y_true), y_pred, class_names=list("abcd"), normalize=normalize)
    assert len(fig.axes) == 1 and len(fig.axes[0].images) == 1
    expected = confusion_matrix(y_true, y_pred, normalize="true" if normalize else None)
    np.testing.assert_allclose(fig.axes[0].images[0].get_array(), expected)
    assert [t.get_text() for t in fig.axes[0].get_xticklabels()] == list("abcd")


@pytest.mark.parametrize("y_true, y_pred, kwargs, match, error", [
    ([0, 1, 2], [0, 1], {}, "y_pred", ValueError),
    ([0, 1, 2], [0, 1, 2], {"class_names": ["a", "b"]}, "class_names", ValueError),
    ([0.0, 1.0], [0, 1], {}, "y_true", TypeError),
    ([], [], {}, "y_true", ValueError),
])
def test_plot_confusion_rejects_bad_arguments(y_true, y_pred, kwargs, match, error):
    with pytest.raises(error, match=match):
        plot_confusion(y_true, y_pred, **kwargs)


def test_label_issue_gallery_titles_given_and_suggested():
    images = torch.randint(0, 256, (20, 3, 8, 8), dtype=torch.uint8)
    given, suggested = torch.arange(20) % 3, (torch.arange(20) + 1) % 3
    fig = label_issue_gallery(images, given, suggested, torch.tensor([4, 0, 7]),
                              class_names=["cat", "dog", "frog"])
    assert len(fig.axes) == 3 and all(len(ax.images) == 1 for ax in fig.axes)
    assert fig.axes[0].get_title() == "given: dog\nsuggested: frog"
    assert fig.axes[1].get_title() == "given: cat\nsuggested: dog"
    np.testing.assert_array_equal(fig.axes[2].images[0].get_array(), images[7].permute(1, 2, 0).numpy())


@pytest.mark.parametrize("kwargs, match, error", [
    ({"indices": torch.tensor([20])}, "indices", ValueError),
    ({"indices": torch.tensor([], dtype=torch.long)}, "indices", ValueError),
    ({"given": torch.arange(19)}, "given", ValueError),
    ({"suggested": torch.arange(20).float()}, "suggested", TypeError),
    ({"class_names": ["cat"]}, "class_names", ValueError),
])
def test_label_issue_gallery_rejects_bad_arguments(kwargs, match, error):
    args = {"images": torch.zeros(20, 1, 8, 8), "given": torch.arange(20) % 3,
            "suggested": torch.arange(20) % 2, "indices": torch.tensor([1, 2]), **kwargs}
    positional = [args.pop(name) for name in ("images", "given", "suggested", "indices")]
    with pytest.raises(error, match=match):
        label_issue_gallery(*positional, **args)
