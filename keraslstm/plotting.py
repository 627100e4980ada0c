"""Figures and displays the notebooks share: image grids, metric curves, rate-distortion plots,
`save_fig`, and `show_source` to put the package's own code on the notebook page."""

import inspect

import matplotlib.pyplot as plt
import numpy as np

from keraslstm.results import relative, results_dir

__all__ = [
    "mosaic",
    "image_grid",
    "labelled_rows",
    "mean_band",
    "metric_curves",
    "rate_distortion",
    "codec_learning_curve",
    "gate_experiment",
    "gate_saturation",
    "save_fig",
    "show_source",
]


def mosaic(images, ncols):
    """Tile `(n, H, W)` or `(n, H, W, C)` images, n a multiple of `ncols`, into one array for `imshow`.

    `skimage.util.montage` does the tiling; this wrapper fixes the grid to `ncols` columns and
    refuses a partial last row rather than padding it with a fill colour.
    """
    from skimage.util import montage

    images = np.asarray(images)
    if images.ndim == 4 and images.shape[-1] == 1:
        images = images[..., 0]
    if images.ndim not in (3, 4):
        raise ValueError(f"mosaic takes (n, H, W) or (n, H, W, C) images, got {images.shape}")
    n = len(images)
    if n % ncols:
        raise ValueError(f"mosaic needs a multiple of ncols={ncols} images, got {n}")
    channel_axis = -1 if images.ndim == 4 else None
    return montage(images, grid_shape=(n // ncols, ncols), channel_axis=channel_axis)


def image_grid(images, ncols=8, titles=None, scale=1.2, suptitle=None):
    """Show `(n, H, W)` or `(n, H, W, C)` images in [0, 1] on a grid; returns the figure."""
    images = np.asarray(images)
    if images.ndim not in (3, 4):
        raise ValueError(f"image_grid takes (n, H, W) or (n, H, W, C) images, got {images.shape}")
    if titles is not None and len(titles) != len(images):
        raise ValueError(f"got {len(titles)} titles for {len(images)} images")
    n = len(images)
    ncols = min(ncols, n)
    nrows = -(-n // ncols)
    fig, axes = plt.subplots(nrows, ncols, figsize=(scale * ncols, scale * nrows), squeeze=False)
    for i, ax in enumerate(axes.flat):
        ax.axis("off")
        if i < n:
            image = images[i]
            if image.ndim == 3 and image.shape[-1] == 1:
                image = image[..., 0]
            ax.imshow(
                np.clip(image, 0, 1), cmap="gray" if image.ndim == 2 else None, vmin=0, vmax=1
            )
            if titles is not None:
                ax.set_title(titles[i], fontsize=8)
    if suptitle:
        fig.suptitle(suptitle)
    fig.tight_layout()
    return fig


def labelled_rows(rows, ncols=None, scale=0.8, title=None):
    """One row of images per entry of `{label: images}`, the label written left of its row."""
    if not rows:
        raise ValueError("labelled_rows needs at least one row")
    ncols = ncols or len(next(iter(rows.values())))
    fig, axes = plt.subplots(
        len(rows), 1, figsize=(scale * ncols, scale * len(rows) + 0.3), squeeze=False
    )
    for ax, (label, images) in zip(axes[:, 0], rows.items(), strict=True):
        images = np.asarray(images)[:ncols]
        ax.imshow(np.clip(mosaic(images, ncols), 0, 1), cmap="gray", vmin=0, vmax=1)
        ax.set_xticks([])
        ax.set_yticks([])
        ax.set_ylabel(label, rotation=0, ha="right", va="center")
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    return fig


def mean_band(ax, xs, runs, label, color=None, marker=None):
    """Mean of `runs` (one row of values per seed) as a line, their min-max range as a band."""
    runs = np.asarray(runs, dtype=float)
    ax.fill_between(xs, runs.min(axis=0), runs.max(axis=0), color=color, alpha=0.2, lw=0)
    return ax.plot(xs, runs.mean(axis=0), color=color, marker=marker, label=label)


def metric_curves(curves, xlabel="iteration", ylabel="value", title=None, ax=None, logy=False):
    """Plot `{label: ys}` or `{label: (xs, ys)}` as lines on one axis; returns the axis."""
    if ax is None:
        _, ax = plt.subplots(figsize=(6, 3.5))
    for label, values in curves.items():
        xs, ys = values if isinstance(values, tuple) else (np.arange(1, len(values) + 1), values)
        ax.plot(xs, ys, label=label)
    ax.set(xlabel=xlabel, ylabel=ylabel, title=title)
    if logy:
        ax.set_yscale("log")
    ax.grid(alpha=0.3)
    ax.legend()
    return ax


def rate_distortion(curves, metric="MS-SSIM", title=None, ax=None, references=None):
    """Quality vs bits per pixel: `{codec: (bpp, quality)}` as lines with markers.

    `references` (same form) are drawn dashed, for published numbers such as Toderici 2017's.
    """
    if ax is None:
        _, ax = plt.subplots(figsize=(6, 4))
    for label, (bpp, quality) in curves.items():
        ax.plot(bpp, quality, marker="o", label=label)
    for label, (bpp, quality) in (references or {}).items():
        ax.plot(bpp, quality, linestyle="--", marker="x", label=f"{label} (published)")
    ax.set(xlabel="bits per pixel", ylabel=metric, title=title)
    ax.grid(alpha=0.3)
    ax.legend()
    return ax


def codec_learning_curve(curve, colours=None, labels=None):
    """Held-out MS-SSIM after 2 and 8 whole iterations (0.25 and 1 bpp before lossless coding)
    against training steps, one line per run of `results/codec_learning_curve.json`.

    `colours` maps run names to colours, so a notebook can keep one colour per arm across its
    figures; runs it does not name take matplotlib's colour cycle. `labels` maps run names to
    legend entries (default: the name).
    """
    labels = {"l1": "L1 loss", "balanced": "balanced per-iteration loss", **(labels or {})}
    cycle = plt.rcParams["axes.prop_cycle"].by_key()["color"]
    colours = {
        run: (colours or {}).get(run, cycle[i % len(cycle)]) for i, run in enumerate(curve["runs"])
    }
    fig, axes = plt.subplots(1, 2, figsize=(10, 3.8), layout="constrained")
    for axis, key, k in zip(axes, ("ms_ssim@0.25", "ms_ssim@1"), (2, 8), strict=True):
        for run, colour in colours.items():
            points = curve["runs"][run]
            axis.plot(
                [p["step"] for p in points],
                [p[key] for p in points],
                "o-",
                color=colour,
                label=labels.get(run, run),
            )
        axis.set(
            xlabel="training steps (batches of 32 crops)",
            ylabel="held-out MS-SSIM",
            title=f"{k} iterations ({k / 8:g} bpp before lossless coding)",
        )
        axis.grid(alpha=0.3)
    handles, names = axes[0].get_legend_handles_labels()
    fig.legend(handles, names, loc="outside lower center", ncols=min(len(names), 3))
    return fig


GATE_LABELS = {"hard_sigmoid": "paper's hard sigmoid", "sigmoid": "sigmoid"}


def _arms_by_gate(arms):
    """{gate: [the runs of its seeds]} from `{"gate/seedN": [points]}` (`results/codec_gates.json`)."""
    by_gate = {}
    for name, run in arms.items():
        by_gate.setdefault(name.split("/")[0], []).append(run)
    return by_gate


def common_step(arms):
    """The last step that every arm of the gate experiment has reached (and logged)."""
    if not arms:
        raise ValueError("the gate experiment's record has no arms yet")
    shared = set.intersection(*({p["step"] for p in run} for run in arms.values()))
    if not shared:
        last = {name: run[-1]["step"] if run else None for name, run in arms.items()}
        raise ValueError(f"the arms share no logged step; their last steps: {last}")
    return max(shared)


def _at(run, step):
    return next(p for p in run if p["step"] == step)


def gate_experiment(arms, colours=None, floor=None):
    """The gate experiment's learning: held-out MS-SSIM after 8 iterations against training steps
    (one line per arm, seeds told apart by line style) and, at the last step all arms reached,
    MS-SSIM after each iteration (mean over seeds): whether late iterations still help. `floor`:
    a sanity floor's MS-SSIM, judged after 8 iterations (1 bpp): a grey line on the left, a grey
    point at iteration 8 on the right."""
    colours = colours or {"hard_sigmoid": "tab:red", "sigmoid": "tab:blue"}
    fig, (curve, per_iteration) = plt.subplots(1, 2, figsize=(10, 3.8), layout="constrained")
    step = common_step(arms)
    for name, run in sorted(arms.items()):
        gate, seed = name.split("/")
        curve.plot(
            [p["step"] for p in run],
            [p["ms_ssim"][7] for p in run],
            marker="o",
            color=colours[gate],
            ls=("-", "--", ":")[int(seed.removeprefix("seed")) % 3],
            alpha=0.8,
            label=f"{GATE_LABELS.get(gate, gate)}, {seed.replace('seed', 'seed ')}",
        )
    for gate, runs in _arms_by_gate(arms).items():
        last = np.mean([_at(run, step)["ms_ssim"] for run in runs], axis=0)
        per_iteration.plot(
            np.arange(1, len(last) + 1),
            last,
            "o-",
            color=colours[gate],
            label=GATE_LABELS.get(gate, gate),
        )
    if floor is not None:
        curve.axhline(floor, color="0.5", ls="-.", lw=1, label="sanity floor (8×8 block means)")
        per_iteration.plot(
            [8], [floor], "s", color="0.5", label="sanity floor, judged at 8 iterations"
        )
    curve.set(
        xlabel="training steps from scratch",
        ylabel="held-out MS-SSIM",
        title="after 8 iterations (1 bpp); one line per seed",
    )
    per_iteration.set(
        xlabel="iteration (1/8 bpp each)",
        ylabel="held-out MS-SSIM",
        title=f"after each iteration, at step {step} (mean over seeds)",
    )
    for axis in (curve, per_iteration):
        axis.grid(alpha=0.3)
        axis.legend(fontsize=8)
    return fig


def gate_saturation(arms, colours=None):
    """Share of each ConvLSTM's gates that are saturated (stuck closed or open, so training can
    hardly move them) after each iteration, at the last step all arms reached: one panel per
    layer, one line per gate activation (input, forget and output gates pooled; mean over seeds)."""
    from keraslstm.codec.training import saturated_share

    colours = colours or {"hard_sigmoid": "tab:red", "sigmoid": "tab:blue"}
    by_gate = _arms_by_gate(arms)
    step = common_step(arms)
    layers = list(next(iter(arms.values()))[-1]["saturated"])
    ncols = -(-len(layers) // 2)
    fig, axes = plt.subplots(
        2,
        ncols,
        figsize=(2.6 * ncols, 5.2),
        sharex=True,
        sharey=True,
        layout="constrained",
        squeeze=False,
    )
    for axis, layer in zip(axes.flat, layers, strict=False):
        for gate, runs in by_gate.items():
            shares = [saturated_share(_at(run, step)["saturated"][layer]) for run in runs]
            axis.plot(
                np.arange(1, len(shares[0]) + 1),
                100 * np.mean(shares, axis=0),
                color=colours[gate],
                label=GATE_LABELS.get(gate, gate),
            )
        axis.set_title(layer.replace("conv_lstm_", "ConvLSTM "), fontsize=10)
        axis.grid(alpha=0.3)
    for axis in axes.flat[len(layers) :]:
        axis.axis("off")
    for axis in axes[:, 0]:
        axis.set_ylabel("% gates saturated")
    for axis in axes[-1]:
        axis.set_xlabel("iteration")
    for index in range(len(layers), axes.size):  # the panel above an empty one keeps its x axis
        axes.flat[index - ncols].tick_params(labelbottom=True)
        axes.flat[index - ncols].set_xlabel("iteration")
    handles, names = axes.flat[0].get_legend_handles_labels()
    fig.legend(handles, names, loc="outside lower center", ncols=len(names))
    fig.suptitle(
        f"At step {step} of training from scratch: % of each layer's input, forget and output gates "
        f"stuck closed or open\n(slope under 1 % of its peak), after each iteration; mean over "
        f"{len(next(iter(by_gate.values())))} seeds"
    )
    return fig


def save_fig(name, fig=None, dpi=150):
    """Save `fig` (default: the current figure) as `figures/<name>.png` in this run's results
    folder (`results.results_dir()`: committed results only under `make reproduce`).

    Returns the path, relative to the project root when it lies inside it.
    """
    fig = fig if fig is not None else plt.gcf()
    path = results_dir() / "figures" / f"{name}.png"
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=dpi, bbox_inches="tight")
    return relative(path)


def show_source(obj):
    """The source of a package function or class as highlighted code in a notebook.

    Notebooks show the mechanism (a train step, a gate) from the package itself, so the page and
    the code that ran can never disagree.
    """
    from IPython.display import Markdown

    return Markdown(f"```python\n{inspect.getsource(obj)}```")
