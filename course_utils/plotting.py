"""The figures the notebooks share: image grids, embeddings, training curves, confusion
matrices and galleries of suspected label errors.

Every function returns the matplotlib ``Figure`` it drew on (nothing is shown or
saved, so it works under any backend, ``Agg`` included) and accepts torch tensors or
numpy arrays. Functions that draw a single panel take ``ax=`` to draw into an existing
figure.

Example
-------
>>> import numpy as np
>>> from course_utils.plotting import plot_embedding
>>> Y = np.random.default_rng(0).normal(size=(100, 2))
>>> fig = plot_embedding(Y, np.arange(100) % 3, labels=["circle", "square", "triangle"])
>>> fig.savefig("embedding.png")                          # doctest: +SKIP
"""
from __future__ import annotations

import math

import matplotlib.pyplot as plt
import numpy as np
import torch
from matplotlib import colormaps
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator
from sklearn.metrics import ConfusionMatrixDisplay, confusion_matrix

from ._validate import check_positive

# panel size, in inches, of one image in a grid
CELL = 1.4


def image_grid(images, *, nrow: int = 8, labels=None, class_names=None) -> Figure:
    """Show images in a grid, one panel each, optionally titled with their labels.

    Parameters
    ----------
    images : tensor or array (N, C, H, W), uint8 in [0, 255] or float in [0, 1]
        (clipped), with C = 1 (grey) or 3 (RGB). Meant for up to ~100 images.
    nrow : int, images per row.
    labels : None or integer (N,), shown as titles.
    class_names : None or list of str, the names of the label values.

    Returns
    -------
    fig : Figure with one Axes (holding one image) per image.

    Example
    -------
    >>> images = torch.randint(0, 256, (16, 3, 32, 32), dtype=torch.uint8)
    >>> fig = image_grid(images, nrow=8, labels=torch.arange(16) % 2, class_names=["a", "b"])
    >>> len(fig.axes)
    16
    """
    images = _check_images(images, "images")
    titles = None
    if labels is not None:
        labels = _check_ints(labels, "labels", len(images))
        titles = [_name(y, class_names, "class_names") for y in labels]
    elif class_names is not None:
        raise ValueError("class_names names the values of labels; pass labels too")
    return _grid(images, titles, nrow)


def label_issue_gallery(images, given, suggested, indices, *, class_names=None, nrow: int = 8) -> Figure:
    """Show suspected label errors with their given and suggested labels.

    Parameters
    ----------
    images : tensor or array (N, C, H, W), as for :func:`image_grid`.
    given : integer (N,), the labels in the dataset.
    suggested : integer (N,), what the model thinks instead (e.g. ``pred_probs.argmax(1)``).
    indices : integer (K,), the examples to show, in order, e.g. the first 16 of
        :func:`course_utils.noise.find_label_issues`.
    class_names : None or list of str.
    nrow : int, images per row.

    Returns
    -------
    fig : Figure with one Axes per shown example, titled "given: ... / suggested: ...".

    Example
    -------
    >>> images = torch.randint(0, 256, (10, 1, 8, 8), dtype=torch.uint8)
    >>> given, suggested = torch.arange(10) % 3, torch.arange(10) % 2
    >>> fig = label_issue_gallery(images, given, suggested, torch.tensor([3, 7]))
    >>> [ax.get_title() for ax in fig.axes]
    ['given: 0\\nsuggested: 1', 'given: 1\\nsuggested: 1']
    """
    images = _check_images(images, "images")
    given = _check_ints(given, "given", len(images))
    suggested = _check_ints(suggested, "suggested", len(images))
    indices = _check_ints(indices, "indices")
    if len(indices) == 0:
        raise ValueError("indices must select at least one image, got none")
    if indices.max() >= len(images):
        raise ValueError(f"indices must be < {len(images)} (the number of images), got {indices.max()}")
    titles = [f"given: {_name(given[i], class_names, 'class_names')}\n"
              f"suggested: {_name(suggested[i], class_names, 'class_names')}" for i in indices]
    return _grid(images[indices], titles, nrow)


def plot_embedding(Y, c, *, labels=None, title: str | None = None, ax: Axes | None = None) -> Figure:
    """Scatter a 2-D embedding, coloured by a class, a factor or a continuous value.

    Integer (or bool) ``c`` is drawn as categories with a legend; float ``c`` (e.g.
    the position along a swiss roll) with a colour map and a colour bar.

    Parameters
    ----------
    Y : tensor or array (N, 2), e.g. from :func:`course_utils.manifold.embed`.
    c : tensor or array (N,), the value that colours each point.
    labels : None or list of str, the legend names of the integer values of ``c``.
    title : str or None.
    ax : Axes to draw into; default a new figure.

    Returns
    -------
    fig : the Figure holding ``ax``.

    Example
    -------
    >>> from sklearn.datasets import make_swiss_roll
    >>> X, t = make_swiss_roll(300, random_state=0)
    >>> fig = plot_embedding(X[:, [0, 2]], t, title="swiss roll, seen from above")
    """
    Y = _to_numpy(Y, "Y")
    if Y.ndim != 2 or Y.shape[1] != 2:
        raise ValueError(f"Y must have shape (N, 2), got {Y.shape}")
    c = _to_numpy(c, "c")
    if c.shape != (len(Y),):
        raise ValueError(f"c must have shape ({len(Y)},), one value per point of Y, got {c.shape}")
    ax = _new_axes(ax, figsize=(5.5, 4.5))
    size = float(np.clip(3000 / len(Y), 2, 30))
    if np.issubdtype(c.dtype, np.floating):
        if labels is not None:
            raise ValueError("labels names categories, but c holds continuous (float) values: "
                             "pass labels=None")
        points = ax.scatter(Y[:, 0], Y[:, 1], c=c, s=size, cmap="viridis")
        ax.figure.colorbar(points, ax=ax)
    else:
        c = _check_ints(c, "c")
        values = np.unique(c)
        colors = _category_colors(len(values))
        for color, value in zip(colors, values):
            mask = c == value
            ax.scatter(Y[mask, 0], Y[mask, 1], s=size, color=color, label=_name(value, labels, "labels"))
        ax.legend(markerscale=max(1.0, 30 / size) ** 0.5, fontsize="small", loc="best",
                  ncol=math.ceil(len(values) / 12))
    ax.set_xticks([])
    ax.set_yticks([])
    if title is not None:
        ax.set_title(title)
    return ax.figure


def plot_history(history, keys=("loss",), *, ax=None, label: str | None = None) -> Figure:
    """Plot per-epoch training curves, one panel per key.

    Parameters
    ----------
    history : a :class:`course_utils.train.History` or a dict of lists, where
        ``history[key]`` holds one value per epoch (``None`` for epochs without one,
        e.g. a metric computed every few epochs).
    keys : str or sequence of str, what to plot, e.g. ``("loss", "probe_acc")``.
    ax : None (a new figure, one panel per key), one Axes (one key), or a sequence
        of Axes, one per key: pass ``fig.axes`` to draw a second run over a first.
    label : legend entry for this run (e.g. ``"SimCLR"``); no legend when None.

    Returns
    -------
    fig : the Figure holding the panels.

    Example
    -------
    >>> fig = plot_history({"loss": [2.0, 1.5, 1.2]}, label="SimCLR")
    >>> fig = plot_history({"loss": [2.1, 1.9, 1.8]}, ax=fig.axes, label="supervised")
    >>> len(fig.axes[0].lines)
    2
    """
    keys = (keys,) if isinstance(keys, str) else tuple(keys)
    if not keys or not all(isinstance(key, str) for key in keys):
        raise ValueError(f"keys must be a non-empty sequence of str, got {keys!r}")
    if ax is None:
        fig, axes = plt.subplots(1, len(keys), figsize=(4.5 * len(keys), 3.5), squeeze=False,
                                 layout="constrained")
        axes = list(axes.flat)
    else:
        axes = [ax] if isinstance(ax, Axes) else list(ax)
        if len(axes) != len(keys) or not all(isinstance(a, Axes) for a in axes):
            raise ValueError(f"ax must be one matplotlib Axes per key ({len(keys)}), got {ax!r}")
    for key, panel in zip(keys, axes):
        try:
            values = history[key]
        except KeyError:
            raise ValueError(f"keys: history has no {key!r}") from None
        epochs = [e for e, v in enumerate(values, start=1) if v is not None]
        points = [float(v) for v in values if v is not None]
        panel.plot(epochs, points, marker="o" if len(points) <= 30 else None, markersize=3, label=label)
        panel.set_xlabel("epoch")
        panel.xaxis.set_major_locator(MaxNLocator(integer=True))
        panel.set_ylabel(key)
        if label is not None:
            panel.legend()
    return axes[0].figure


def plot_confusion(y_true, y_pred, *, class_names=None, normalize: bool = True,
                   ax: Axes | None = None) -> Figure:
    """Confusion matrix of predictions, via scikit-learn's ``ConfusionMatrixDisplay``.

    Parameters
    ----------
    y_true, y_pred : integer (N,), true and predicted classes.
    class_names : None or list of str; also fixes the number of classes (default
        ``max(y_true, y_pred) + 1``).
    normalize : bool, show each row as fractions of the true class (rows sum to 1),
        or raw counts.
    ax : Axes to draw into; default a new figure.

    Returns
    -------
    fig : the Figure holding the matrix (no colour bar; values are written in the
    cells for up to 20 classes).

    Example
    -------
    >>> fig = plot_confusion([0, 1, 1, 2], [0, 1, 2, 2], class_names=["a", "b", "c"])
    """
    y_true = _check_ints(y_true, "y_true")
    y_pred = _check_ints(y_pred, "y_pred", len(y_true))
    if len(y_true) == 0:
        raise ValueError("y_true must hold at least one label, got 0")
    num_classes = int(max(y_true.max(), y_pred.max())) + 1
    if class_names is not None:
        if len(class_names) < num_classes:
            raise ValueError(f"class_names must name all {num_classes} classes in y_true/y_pred, "
                             f"got {len(class_names)} names")
        num_classes = len(class_names)
    matrix = confusion_matrix(y_true, y_pred, labels=np.arange(num_classes),
                              normalize="true" if normalize else None)
    ax = _new_axes(ax, figsize=(2.5 + 0.45 * num_classes, 2.5 + 0.45 * num_classes))
    display = ConfusionMatrixDisplay(matrix, display_labels=class_names)
    display.plot(ax=ax, cmap="Blues", colorbar=False, include_values=num_classes <= 20,
                 values_format=".2f" if normalize else "d",
                 xticks_rotation=45 if class_names else "horizontal")
    return display.figure_


def _grid(images: np.ndarray, titles, nrow: int) -> Figure:
    """One panel per image (N, C, H, W), ``nrow`` per row, optional titles."""
    check_positive(nrow, "nrow", integer=True)
    ncols = min(nrow, len(images))
    nrows = math.ceil(len(images) / ncols)
    height = CELL + (0.15 * max(t.count("\n") + 1 for t in titles) if titles else 0)
    fig, axes = plt.subplots(nrows, ncols, figsize=(CELL * ncols, height * nrows), squeeze=False,
                             layout="constrained")
    grey = images.shape[1] == 1
    vmax = 255 if images.dtype == np.uint8 else 1.0
    for i, panel in enumerate(axes.flat):
        if i >= len(images):
            fig.delaxes(panel)
            continue
        image = images[i] if images.dtype == np.uint8 else images[i].clip(0.0, 1.0)
        panel.imshow(image[0] if grey else image.transpose(1, 2, 0), cmap="gray" if grey else None,
                     vmin=0, vmax=vmax, interpolation="nearest")
        panel.set_axis_off()
        if titles:
            panel.set_title(titles[i], fontsize=8)
    return fig


def _check_images(images, name: str) -> np.ndarray:
    images = _to_numpy(images, name)
    if images.ndim != 4 or images.shape[1] not in (1, 3) or len(images) == 0:
        raise ValueError(f"{name} must have shape (N, C, H, W) with N >= 1 and C = 1 or 3, "
                         f"got {images.shape}")
    if images.dtype != np.uint8 and not np.issubdtype(images.dtype, np.floating):
        raise TypeError(f"{name} must be uint8 (0..255) or float (0..1), got dtype {images.dtype}")
    return images


def _check_ints(x, name: str, n: int | None = None) -> np.ndarray:
    """A 1-D array of class indices (ints or bools) >= 0, of length ``n`` if given."""
    x = _to_numpy(x, name)
    if x.ndim != 1:
        raise ValueError(f"{name} must be 1-D, got shape {x.shape}")
    if not (np.issubdtype(x.dtype, np.integer) or x.dtype == np.bool_) and len(x):
        raise TypeError(f"{name} must hold integer class indices, got dtype {x.dtype}")
    if n is not None and len(x) != n:
        raise ValueError(f"{name} must have length {n}, got {len(x)}")
    if len(x) and x.min() < 0:
        raise ValueError(f"{name} must hold indices >= 0, got min {x.min()}")
    return x.astype(np.int64)


def _name(value, names, names_arg: str) -> str:
    """The display name of class ``value``: ``names[value]``, or the number itself."""
    if names is None:
        return str(int(value))
    if value >= len(names):
        raise ValueError(f"{names_arg} must name every class: got class {int(value)} but {len(names)} names")
    return str(names[value])


def _to_numpy(x, name: str) -> np.ndarray:
    if isinstance(x, torch.Tensor):
        return x.detach().cpu().numpy()
    if isinstance(x, (np.ndarray, list, tuple)):
        return np.asarray(x)
    raise TypeError(f"{name} must be a torch.Tensor, numpy array or list, got {type(x).__name__}")


def _new_axes(ax: Axes | None, figsize) -> Axes:
    if ax is None:
        return plt.subplots(figsize=figsize, layout="constrained")[1]
    if not isinstance(ax, Axes):
        raise TypeError(f"ax must be a matplotlib Axes or None, got {type(ax).__name__}")
    return ax


def _category_colors(n: int):
    """``n`` distinct colours: tab10 / tab20 when they suffice, else evenly spaced viridis."""
    if n <= 10:
        return [colormaps["tab10"](i) for i in range(n)]
    if n <= 20:
        return [colormaps["tab20"](i) for i in range(n)]
    return [colormaps["viridis"](x) for x in np.linspace(0, 1, n)]
