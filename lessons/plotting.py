"""One look for every lesson's figures: colours per method, bands over seeds, saving.

Lessons compare the same few methods again and again, so each has a fixed colour: the
reader learns once that orange is BatchNorm.
"""
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np

COLORS = {
    "standard": "#1f77b4",   # no normalisation
    "bn": "#ff7f0e",         # BatchNorm
    "bn_noisy": "#2ca02c",   # BatchNorm + injected noise
    "layer_norm": "#9467bd",
    "l1": "#8c564b",
    "l2": "#e377c2",
    "linf": "#7f7f7f",
    "theory": "#000000",
}
LABELS = {"standard": "Standard", "bn": "BatchNorm", "bn_noisy": "BatchNorm + noise",
          "layer_norm": "LayerNorm", "l1": "ℓ1 BN", "l2": "ℓ2 BN", "linf": "ℓ∞ BN"}

plt.rcParams.update({
    "figure.dpi": 100, "savefig.dpi": 120, "axes.grid": True, "grid.alpha": 0.3,
    "axes.spines.top": False, "axes.spines.right": False, "legend.frameon": False,
    "font.size": 10, "axes.titlesize": 11,
})


def figure(ncols=1, nrows=1, width=4.5, height=3.5, **kwargs):
    """A figure with a grid of axes sized per panel; always returns an array of axes."""
    fig, axes = plt.subplots(nrows, ncols, figsize=(width * ncols, height * nrows),
                             squeeze=False, constrained_layout=True, **kwargs)
    return fig, axes.ravel()


def band(ax, x, runs, key=None, label=None, color=None, log=False):
    """Median over seeds as a line, min..max over seeds as a shaded band.

    `runs` is (seeds, len(x)). Showing every seed's spread, not one seed, is the point:
    an effect is only claimed where the bands separate.
    """
    runs = np.asarray(runs, dtype=float)
    color = color or COLORS.get(key)
    label = label or LABELS.get(key, key)
    middle = np.median(runs, axis=0)
    ax.plot(x, middle, color=color, label=label, lw=1.6)
    ax.fill_between(x, runs.min(axis=0), runs.max(axis=0), color=color, alpha=0.25, lw=0)
    if log:
        ax.set_yscale("log")


def save(fig, out_dir, name, palette=None):
    """Save `fig` as out_dir/name (PNG) and close it; returns the path.

    `palette=k` stores the PNG with k indexed colours: several times smaller for figures full
    of antialiased markers, which keeps the committed gallery figures small.
    """
    path = Path(out_dir) / name
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, bbox_inches="tight")
    plt.close(fig)
    if palette:
        from PIL import Image  # Pillow comes with matplotlib

        with Image.open(path) as image:
            indexed = image.convert("RGB").quantize(palette)
        indexed.save(path, optimize=True)
    return path
