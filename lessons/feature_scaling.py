"""Lesson 02: feature scaling, or why gradient descent hates elliptical bowls.

Least squares on two features, the second multiplied by `s`. The loss is the quadratic
f(w) = ½ wᵀHw − bᵀw with H = XᵀX/n, b = Xᵀy/n, and gradient descent's error obeys
e_{t+1} = (I − ηH) e_t. Everything about its speed follows from H's eigenvalues:
it converges iff η < 2/λ_max, and with the best fixed step η* = 2/(λ_max + λ_min) the error
shrinks by exactly ρ = (κ−1)/(κ+1) per step, κ = λ_max/λ_min. Scaling a feature by s
multiplies κ by about s²; standardising the features brings κ back to about 1.

The quadratic part is plain NumPy (the maths is exact there); the last part trains a one-layer
minigrad network (softmax regression) on features of very different scales, with and without
standardisation and with a BatchNorm layer in front, to show the same effect in a network. There
the stability edge is 2/λ_max again, of each model's own Hessian (built numerically) at the point
the run reaches: the Hessian at the start predicts it only where the curvature does not move.
"""
import numpy as np

import lessons
from minigrad import nn
from minigrad.analysis.hessian import hessian_vector_product
from minigrad.analysis.weights import scratch_weights, trainable
from minigrad.data.toy import make_linear_regression, make_teacher_classification
from minigrad.nn import functional as F

from . import models, plotting
from .runs import Run, run_all

EPS = 1e-6  # "converged": ‖w_t − w*‖ ≤ EPS·‖w_0 − w*‖
GALLERY = ("contours.png", "Gradient descent on least squares: unscaled features (s = 10, 100) "
           "give elliptical contours and a zig-zag of hundreds to tens of thousands of steps; "
           "standardised features give circles and a handful.")


# --------------------------------------------------------------------------- the quadratic


def standardize(X):
    """Each column shifted to mean 0 and scaled to standard deviation 1."""
    return (X - X.mean(axis=0)) / X.std(axis=0)


def least_squares(scale, n=1000, seed=0, standardized=False):
    """The problem: min_w ½‖Xw − y‖²/n on two features, the second multiplied by `scale`.

    Returns H, b, the minimiser w_star, H's eigenvalues (ascending) and κ. The same seed gives
    the same underlying draws for every scale, so the problems differ only by the scaling.
    """
    X, y, _ = make_linear_regression(n=n, feature_scales=(1.0, scale), seed=seed)
    X, y = X.astype(np.float64), y.astype(np.float64)
    if standardized:
        X = standardize(X)
    H, b = X.T @ X / n, X.T @ y / n
    eigenvalues = np.linalg.eigvalsh(H)
    return {"scale": scale, "standardized": standardized, "H": H, "b": b,
            "w_star": np.linalg.solve(H, b), "eigenvalues": eigenvalues,
            "kappa": eigenvalues[-1] / eigenvalues[0]}


def loss_gap(problem, w):
    """f(w) − f(w*) = ½ eᵀHe for e = w − w* (works on one w or on a stack of them)."""
    e = np.atleast_2d(w) - problem["w_star"]
    return 0.5 * np.einsum("ti,ij,tj->t", e, problem["H"], e)


def best_lr(problem):
    """η* = 2/(λ_max + λ_min): both eigen-directions then shrink by the same factor ρ."""
    low, high = problem["eigenvalues"][[0, -1]]
    return 2.0 / (low + high)


def edge_lr(problem):
    """2/λ_max: the stability edge. Above it the top eigen-direction grows every step."""
    return 2.0 / problem["eigenvalues"][-1]


def gradient_descent(problem, lr, steps, w0=(0.0, 0.0)):
    """`steps` updates w ← w − η(Hw − b) from w0; returns all iterates, shape (steps + 1, 2)."""
    H, b = problem["H"], problem["b"]
    path = np.empty((steps + 1, 2))
    path[0] = w0
    for t in range(steps):
        path[t + 1] = path[t] - lr * (H @ path[t] - b)
    return path


def iterations_to_tolerance(problem, lr, eps=EPS, w0=(0.0, 0.0), max_steps=10**7):
    """Run gradient descent until ‖w − w*‖ ≤ eps·‖w0 − w*‖; return the number of steps taken."""
    H, b, w_star = problem["H"], problem["b"], problem["w_star"]
    w = np.array(w0, dtype=np.float64)
    target = (eps * np.linalg.norm(w - w_star)) ** 2
    for t in range(1, max_steps + 1):
        w = w - lr * (H @ w - b)
        e = w - w_star
        if e @ e <= target:
            return t
    raise RuntimeError(f"no convergence to {eps} in {max_steps} steps at lr {lr:.3g}")


def theory_iterations(kappa, eps=EPS):
    """The textbook count for η*: ((κ+1)/2)·ln(1/ε), an upper bound on the exact one.

    ln(1/ρ) ≥ 1 − ρ = 2/(κ+1), so ln(1/ε)/ln(1/ρ) ≤ ((κ+1)/2)·ln(1/ε).
    """
    return (kappa + 1) / 2 * np.log(1 / eps)


def exact_iterations(kappa, eps=EPS):
    """ρ^t ≤ ε with ρ = (κ−1)/(κ+1): t = ⌈ln(1/ε) / ln((κ+1)/(κ−1))⌉.

    ln((κ+1)/(κ−1)) ≈ 2/κ for large κ, so this is about (κ/2)·ln(1/ε): the textbook count
    overshoots by about ½·ln(1/ε) ≈ 7 steps, whatever κ.
    """
    if kappa <= 1:
        return 1
    return int(np.ceil(np.log(1 / eps) / np.log((kappa + 1) / (kappa - 1))))


def scaling_table(scales=(1, 10, 100), seeds=(0, 1, 2), n=1000, eps=EPS, lr_factor=1.0):
    """κ, measured iterations to eps with lr_factor·η*, and the two counts for η*, per scale
    and per seed. One row per (features, seed); "features" is "s=10" or "standardised".
    """
    rows = []
    for seed in seeds:
        variants = [(f"s={s}", least_squares(s, n, seed)) for s in scales]
        variants.append(("standardised", least_squares(scales[-1], n, seed, standardized=True)))
        for name, problem in variants:
            kappa = problem["kappa"]
            rows.append({"features": name, "seed": seed, "kappa": float(kappa),
                         "measured": iterations_to_tolerance(problem, lr_factor * best_lr(problem), eps),
                         "theory": float(theory_iterations(kappa, eps)),
                         "exact": exact_iterations(kappa, eps)})
    return rows


def table_text(rows):
    """The scaling table as aligned text, one line per (features, seed)."""
    lines = [f"{'features':>13} {'seed':>4} {'kappa':>10} {'measured':>9} {'theory':>9} {'exact':>7}"]
    for r in rows:
        lines.append(f"{r['features']:>13} {r['seed']:>4} {r['kappa']:>10.2f} {r['measured']:>9,} "
                     f"{r['theory']:>9,.0f} {r['exact']:>7,}")
    return "\n".join(lines)


def stability_edge(problem, factors=(0.5, 0.9, 0.99, 1.01, 1.1), steps=200):
    """Loss gap per step for η = factor · 2/λ_max: below 1 it converges, above it diverges."""
    curves = {}
    for factor in factors:
        path = gradient_descent(problem, factor * edge_lr(problem), steps)
        curves[factor] = loss_gap(problem, path)
    return curves


def iterations_vs_kappa(scales=np.logspace(0, 2, 9), seed=0, n=1000, eps=EPS):
    """Measured iterations for η* and for η = 1/λ_max over a sweep of scales (so of κ)."""
    kappas, at_best, at_inverse_top = [], [], []
    for s in scales:
        problem = least_squares(float(s), n, seed)
        kappas.append(problem["kappa"])
        at_best.append(iterations_to_tolerance(problem, best_lr(problem), eps))
        at_inverse_top.append(iterations_to_tolerance(problem, 1 / problem["eigenvalues"][-1], eps))
    return {"kappa": np.array(kappas), "best_lr": np.array(at_best),
            "inverse_top_lr": np.array(at_inverse_top), "eps": eps}


# --------------------------------------------------------------------------- a network


FEATURE_SCALES = np.logspace(-1, 2, 8)  # eight features from 0.1 to 100
NUM_CLASSES = 4
PREPROCESSING = {"raw": "raw features", "standardised": "standardised features",
                 "input_bn": "raw → BatchNorm1d → linear"}
PREPROCESSING_COLORS = {"raw": plotting.COLORS["standard"], "standardised": "#2ca02c",
                        "input_bn": plotting.COLORS["bn"]}


def scaled_task(seed, n=1000, scales=FEATURE_SCALES):
    """A 4-class teacher task whose input features live on the given scales (0.1 to 100).

    The labels come from the unscaled inputs, so every feature matters equally; only
    their units differ (think metres, millimetres and kilometres in one table).
    """
    X, y = make_teacher_classification(n=n, dim=len(scales), num_classes=NUM_CLASSES, seed=seed)
    return (X * np.asarray(scales)).astype(np.float32), y


def prepare(preprocessing, X):
    """Standardise with the data's own statistics for "standardised"; leave X alone otherwise."""
    return standardize(X).astype(np.float32) if preprocessing == "standardised" else X


def softmax_regression(preprocessing, in_features):
    """A one-layer network (softmax regression), all weights zero so every run starts at ln 4.

    "input_bn" puts a BatchNorm1d in front: standardisation with each batch's statistics.
    """
    model = nn.Linear(in_features, NUM_CLASSES)
    for parameter in model.parameters():
        parameter.data[...] = 0
    return nn.Sequential(nn.BatchNorm1d(in_features), model) if preprocessing == "input_bn" else model


def predicted_edge(X, num_classes=NUM_CLASSES):
    """2/λ_max of the loss's Hessian at zero weights, where every class has probability 1/C.

    There the Hessian is (1/C)(I − 11ᵀ/C) ⊗ E[x̃x̃ᵀ] (x̃ = x with a 1 appended for the bias), so
    λ_max = λ_max(E[x̃x̃ᵀ])/C: the same 2/λ_max as on the quadratic, with the inputs' second
    moment in place of H. (Softmax regression alone: with BN in front, γ and β couple to W.)
    """
    augmented = np.c_[X.astype(np.float64), np.ones(len(X))]
    return 2 * num_classes / np.linalg.eigvalsh(augmented.T @ augmented / len(X))[-1]


def hessian(model, X, y, h=1e-6):
    """The full Hessian of the full-batch loss in the model's parameters (float64).

    Column j is a central difference of minigrad gradients along parameter j (the
    Hessian-vector product of minigrad.analysis.hessian with a unit vector); the models
    here have 36 or 52 parameters, so building all of it is cheap. Symmetrised.
    """
    with scratch_weights(model, dtype=np.float64):
        shapes = [p.shape for p in trainable(model)]
        sizes = [int(np.prod(shape)) for shape in shapes]
        columns = []
        for unit in np.eye(sum(sizes)):
            direction = [piece.reshape(shape)
                         for piece, shape in zip(np.split(unit, np.cumsum(sizes)[:-1]), shapes)]
            hv = hessian_vector_product(model, F.cross_entropy, (X, y), direction, h)
            columns.append(np.concatenate([a.ravel() for a in hv]))
    matrix = np.array(columns).T
    return (matrix + matrix.T) / 2


def sharpness(model, X, y):
    """λ_max, the largest eigenvalue of the model's loss Hessian at its current weights."""
    return float(np.linalg.eigvalsh(hessian(model, X, y))[-1])


def train_network(preprocessing, lr, seed, steps, scales=FEATURE_SCALES, measure_sharpness=False):
    """Full-batch gradient descent on the scaled task: {"loss": per-step loss (nan after
    divergence)}, plus λ_max at the start and at the end with `measure_sharpness`."""
    X, y = scaled_task(seed, scales=scales)
    X = prepare(preprocessing, X)
    model = softmax_regression(preprocessing, X.shape[1])
    start = sharpness(model, X, y) if measure_sharpness else None
    with np.errstate(over="ignore", invalid="ignore"):  # past the edge, overflow is the point
        losses = models.train(model, X, y, steps, lr, batch_size=len(X), seed=seed)["loss"]
    if not measure_sharpness:
        return {"loss": losses}
    return {"loss": losses, "sharpness_start": start, "sharpness_end": sharpness(model, X, y)}


ROUNDING = 1e-5  # a rise this small (relative) is float32 rounding, not instability


def is_stable(losses, rounding=ROUNDING):
    """Stable: the loss stays finite and falls at every step, up to float32 rounding.

    Below its edge, gradient descent lowers a smooth loss at every step. In this lesson's
    sweep (seeds 0–2) a stable run's rises were at most 2e-7 of the loss (rounding, near
    the minimum); a run above its edge rises by 5e-3 or more, again and again. (The old
    test, "never above the start", called runs stable whose loss rose on half their steps.)
    """
    losses = np.asarray(losses)
    return bool(np.all(np.isfinite(losses))
                and np.all(np.diff(losses) <= rounding * np.abs(losses[:-1])))


def measured_edge(preprocessing, seed, steps, low, high, iterations=7, scales=FEATURE_SCALES):
    """Bisect (in log lr) for the largest stable lr between a stable `low` and an unstable
    `high`; returns the final bracket (low, high): 7 halvings of a half decade is 1.3%."""
    for _ in range(iterations):
        middle = float(np.sqrt(low * high))
        if is_stable(train_network(preprocessing, middle, seed, steps, scales)["loss"]):
            low = middle
        else:
            high = middle
    return low, high


def lr_sweep(lrs, seeds, steps, preprocessings=tuple(PREPROCESSING), scales=FEATURE_SCALES):
    """Loss curves for every preprocessing × lr × seed: {prep: array (lrs, seeds, steps)}."""
    grid = [(prep, float(lr), seed) for prep in preprocessings for lr in lrs for seed in seeds]
    results = run_all([Run(train_network, preprocessing=prep, lr=lr, seed=seed, steps=steps,
                           scales=tuple(scales)) for prep, lr, seed in grid], desc="lr sweep")
    losses = np.array([result["loss"] for result in results])
    return dict(zip(preprocessings, losses.reshape(len(preprocessings), len(lrs), len(seeds), -1)))


def steps_to_within(losses, fraction=0.01):
    """The first step from which the loss stays within `fraction` of its final value."""
    outside = np.flatnonzero(np.abs(losses - losses[-1]) > fraction * abs(losses[-1]))
    return int(outside[-1] + 1) if len(outside) else 0


def sweep_summary(lrs, curves, seeds, steps=None, scales=FEATURE_SCALES, edges=True):
    """Per preprocessing and seed: the largest stable lr on the grid, the best lr, its final
    loss and steps to within 1% of it; with `edges`, also the edge measured by bisection and
    2/λ_max predicted at the start and at the end of the run at the largest stable lr."""
    summary = {prep: [grid_summary(lrs, runs[:, k], seed) for k, seed in enumerate(seeds)]
               for prep, runs in curves.items()}
    if edges:
        add_edges(summary, lrs, steps or next(iter(curves.values())).shape[2], scales)
    return summary


def grid_summary(lrs, runs, seed):
    """One preprocessing and seed, runs of shape (lrs, steps): what the lr grid alone shows."""
    stable = [i for i in range(len(lrs)) if is_stable(runs[i])]
    finals = [np.mean(runs[i, -max(1, runs.shape[1] // 10):]) for i in stable]
    best = stable[int(np.argmin(finals))] if stable else None
    return {"seed": seed, "largest_stable_lr": float(lrs[stable[-1]]) if stable else None,
            "bracket": (float(lrs[stable[-1]]), float(lrs[stable[-1] + 1]))
            if stable and stable[-1] + 1 < len(lrs) else None,
            "best_lr": float(lrs[best]) if stable else None,
            "best_final_loss": float(min(finals)) if stable else None,
            "steps_to_1_percent": steps_to_within(runs[best]) if stable else None}


def add_edges(summary, lrs, steps, scales):
    """Bisect each edge inside its grid bracket and measure the Hessian at the start and the end
    of the run at the largest stable grid lr (two lists of runs); fills in `summary`."""
    rows = [(prep, row) for prep, per_seed in summary.items() for row in per_seed if row["bracket"]]
    common = {"steps": steps, "scales": tuple(scales)}
    bisected = run_all([Run(measured_edge, preprocessing=prep, seed=row["seed"],
                            low=row["bracket"][0], high=row["bracket"][1], **common)
                        for prep, row in rows], desc="bisecting the edges")
    hessians = run_all([Run(train_network, preprocessing=prep, lr=row["bracket"][0],
                            seed=row["seed"], measure_sharpness=True, **common)
                        for prep, row in rows], desc="Hessians at start and end")
    for (prep, row), edge, run in zip(rows, bisected, hessians):
        row.update(measured_edge=edge, predicted_edge_start=2 / run["sharpness_start"],
                   predicted_edge_end=2 / run["sharpness_end"])


# --------------------------------------------------------------------------- plots: quadratic


def _contour_window(problem, path):
    """A square window centred on w* holding the whole path (equal axes: circles look round)."""
    half = 1.15 * np.abs(path - problem["w_star"]).max()
    return problem["w_star"] - half, problem["w_star"] + half


def _draw_contours(ax, problem, low, high, levels=12, grid=201):
    w1, w2 = np.meshgrid(np.linspace(low[0], high[0], grid), np.linspace(low[1], high[1], grid))
    gap = loss_gap(problem, np.stack([w1.ravel(), w2.ravel()], axis=1)).reshape(w1.shape)
    top = gap.max()
    ax.contour(w1, w2, gap, levels=top * np.logspace(-4, 0, levels), colors="0.6", linewidths=0.7)
    ax.plot(*problem["w_star"], marker="*", color="k", ms=10, zorder=3)


def _draw_path(ax, path, color):
    ax.plot(path[:, 0], path[:, 1], "-", color=color, lw=0.8, zorder=2)
    ax.plot(path[:, 0], path[:, 1], "o", color=color, ms=2.5, zorder=2)
    ax.plot(*path[0], "s", color=color, ms=6, zorder=3)


def format_kappa(kappa):
    return f"{kappa:.2f}" if kappa < 10 else f"{kappa:,.0f}"


def title_of(problem):
    return "standardised" if problem["standardized"] else f"s = {problem['scale']:g}"


def plot_contours(problems, eps=EPS, zoom_steps=12):
    """One panel per problem: loss contours (equal axes) and the η* path from w = 0 to w*.

    Where the bowl is so narrow that the zig-zag disappears at equal axes, an inset
    stretches the narrow direction to show the first `zoom_steps` steps.
    """
    fig, axes = plotting.figure(len(problems), width=3.6, height=3.8)
    for ax, problem in zip(axes, problems):
        steps = iterations_to_tolerance(problem, best_lr(problem), eps)
        path = gradient_descent(problem, best_lr(problem), steps)
        low, high = _contour_window(problem, path)
        _draw_contours(ax, problem, low, high)
        _draw_path(ax, path, plotting.COLORS["standard"])
        ax.set(xlim=(low[0], high[0]), ylim=(low[1], high[1]), aspect="equal",
               xlabel="$w_1$", ylabel="$w_2$")
        ax.set_title(f"{title_of(problem)}: κ = {format_kappa(problem['kappa'])}\n"
                     f"{steps:,} steps to ε = {eps:g}")
        if problem["kappa"] > 1000:
            inset = ax.inset_axes([0.3, 0.06, 0.65, 0.36])
            start = path[:zoom_steps + 1]
            ilow, ihigh = start.min(axis=0), start.max(axis=0)
            pad = 0.15 * (ihigh - ilow)
            _draw_contours(inset, problem, ilow - pad, ihigh + pad, levels=20)
            _draw_path(inset, start, plotting.COLORS["standard"])
            inset.set(xlim=(ilow[0] - pad[0], ihigh[0] + pad[0]),
                      ylim=(ilow[1] - pad[1], ihigh[1] + pad[1]), xticks=[], yticks=[])
            inset.set_title(f"zoom: first {zoom_steps} steps, $w_2$ stretched", fontsize=8)
    return fig


def plot_stability_edge(problem, curves, path_factors=(0.9, 1.01), steps=30):
    """Left: paths just below and just above η = 2/λ_max. Right: loss gap per step per η."""
    fig, (left, right) = plotting.figure(2, width=4.6, height=3.8)
    colors = dict(zip(sorted(curves), plotting.plt.cm.viridis(np.linspace(0, 0.9, len(curves)))))
    paths = {f: gradient_descent(problem, f * edge_lr(problem), steps) for f in path_factors}
    low, high = _contour_window(problem, np.vstack(list(paths.values())))
    _draw_contours(left, problem, low, high)
    for factor, path in paths.items():
        _draw_path(left, path, colors.get(factor, "C3"))
        left.plot([], [], color=colors.get(factor, "C3"), label=f"η = {factor:g}·2/λ_max")
    left.set(xlim=(low[0], high[0]), ylim=(low[1], high[1]), aspect="equal", xlabel="$w_1$",
             ylabel="$w_2$", title=f"{title_of(problem)}: first {steps} steps")
    left.legend(loc="lower left", fontsize=8)
    for factor, gap in curves.items():
        right.semilogy(gap, color=colors[factor], label=f"η = {factor:g}·2/λ_max")
    right.set(xlabel="step", ylabel="f(w) − f(w*)", title="just above 2/λ_max it diverges")
    right.legend(fontsize=8)
    return fig


def plot_iterations_vs_kappa(sweep, rows=()):
    """Measured iterations against κ on log-log axes, with the two textbook lines."""
    fig, (ax,) = plotting.figure(1, width=5.5, height=4.2)
    kappa = np.logspace(0, np.log10(sweep["kappa"].max()) + 0.1, 100)
    log_inv = np.log(1 / sweep["eps"])
    ax.loglog(kappa, (kappa + 1) / 2 * log_inv, color=plotting.COLORS["theory"], lw=1,
              label="theory, η*: ((κ+1)/2)·ln(1/ε)")
    ax.loglog(kappa, kappa * log_inv, color=plotting.COLORS["theory"], lw=1, ls="--",
              label="theory, η = 1/λ_max: κ·ln(1/ε)")
    exact = [exact_iterations(k, sweep["eps"]) for k in kappa]
    ax.loglog(kappa, exact, color="0.5", lw=1, ls=":", label="exact, η*: ⌈ln(1/ε)/ln((κ+1)/(κ−1))⌉")
    ax.loglog(sweep["kappa"], sweep["best_lr"], "o", color="C0", label="measured, η*")
    ax.loglog(sweep["kappa"], sweep["inverse_top_lr"], "s", color="C1", mfc="none",
              label="measured, η = 1/λ_max")
    standard = [r for r in rows if r["features"] == "standardised"]
    if standard:
        ax.loglog([r["kappa"] for r in standard], [r["measured"] for r in standard], "*",
                  color="C2", ms=11, label="measured, standardised (η*)")
    ax.set(xlabel="condition number κ = λ_max/λ_min", ylabel=f"iterations to ε = {sweep['eps']:g}",
           title="iterations grow linearly with κ")
    ax.legend(fontsize=8)
    return fig


# --------------------------------------------------------------------------- plots: network


def _final_losses(runs):
    """Mean loss over the last tenth of training per (lr, seed); inf where it diverged."""
    tail = runs[:, :, -max(1, runs.shape[2] // 10):]
    finals = tail.mean(axis=2)
    return np.where(np.isfinite(finals), finals, np.inf)


def plot_lr_sweep(lrs, curves, summary, ceiling=1e3):
    """Final training loss against lr, log-log, per preprocessing; dotted: 2/λ_max at the start,
    dashed: 2/λ_max at the end of the run; ▼: the measured edge (bisection), per seed."""
    fig, (ax,) = plotting.figure(1, width=6.0, height=4.2)
    for prep, runs in curves.items():
        finals = np.minimum(_final_losses(runs), ceiling)  # nan (diverged) drawn at the ceiling
        color = PREPROCESSING_COLORS[prep]
        plotting.band(ax, lrs, finals.T, label=PREPROCESSING[prep], color=color)
        with_edges = [s for s in summary[prep] if "measured_edge" in s]
        for key, style in (("predicted_edge_start", ":"), ("predicted_edge_end", "--")):
            if with_edges:
                ax.axvline(np.median([s[key] for s in with_edges]), color=color, ls=style, lw=1.2)
        edges = [np.sqrt(np.prod(s["measured_edge"])) for s in with_edges]
        ax.plot(edges, [ceiling * 1.4] * len(edges), "v", color=color, ms=7, clip_on=False)
    ax.axhline(np.log(NUM_CLASSES), color="0.5", lw=0.6, ls="--")
    ax.text(lrs[0], np.log(NUM_CLASSES) * 1.1, "start: ln 4", fontsize=8, color="0.4")
    ax.set(xscale="log", yscale="log", xlabel="learning rate", ylabel="final training loss",
           ylim=(None, ceiling * 1.6),
           title="2/λ_max at the start (dotted) and at the end (dashed);\n▼ measured edge per seed")
    ax.legend(fontsize=8, loc="upper left")
    return fig


def plot_best_curves(lrs, curves, summary):
    """Training loss per step, each preprocessing at its own best lr (median and range of seeds)."""
    fig, (ax,) = plotting.figure(1, width=5.8, height=4.0)
    for prep, runs in curves.items():
        best = [s["best_lr"] for s in summary[prep]]
        index = [list(lrs).index(b) for b in best]
        chosen = np.array([runs[i, k] for k, i in enumerate(index)])
        lr_text = ", ".join(f"{b:.0e}" for b in best)
        plotting.band(ax, np.arange(runs.shape[2]), chosen, color=PREPROCESSING_COLORS[prep],
                      label=f"{PREPROCESSING[prep]} (best lr per seed: {lr_text})")
    ax.set(xlabel="gradient-descent step (full batch)", ylabel="training loss (cross-entropy)",
           yscale="log",
           title="each at its best learning rate")
    ax.legend(fontsize=7)
    return fig


# --------------------------------------------------------------------------- the lesson


def network_experiment(quick=False, seed=0, scales=FEATURE_SCALES):
    """The lr sweep at the lesson's size: lrs 1e-5..100 every half decade, 3 seeds, 300 steps
    (quick: every decade, 2 seeds, 100 steps), then each edge bisected and each model's
    Hessian measured. Returns lrs, seeds, curves and their summary."""
    lrs = 10.0 ** np.arange(-5, 2.01, 1.0 if quick else 0.5)
    seeds = (seed, seed + 1) if quick else (seed, seed + 1, seed + 2)
    steps = 100 if quick else 300
    curves = lr_sweep(lrs, seeds, steps, scales=scales)
    return {"lrs": lrs, "seeds": seeds, "curves": curves,
            "summary": sweep_summary(lrs, curves, seeds, steps, scales)}


def run(out_dir, quick=False, seed=0):
    """All experiments and figures of the lesson; returns the numbers it claims."""
    quick = lessons.is_quick(quick)
    seeds = (seed, seed + 1, seed + 2)
    rows = scaling_table(seeds=seeds)
    problems = [least_squares(s, seed=seed) for s in (1, 10, 100)]
    problems.append(least_squares(100, seed=seed, standardized=True))
    plotting.save(plot_contours(problems), out_dir, "contours.png", palette=64)
    plotting.save(plot_stability_edge(problems[1], stability_edge(problems[1])), out_dir,
                  "stability_edge.png")
    sweep = iterations_vs_kappa(seed=seed)
    plotting.save(plot_iterations_vs_kappa(sweep, rows), out_dir, "iterations_vs_kappa.png")

    network = network_experiment(quick, seed)
    lrs, curves, summary = network["lrs"], network["curves"], network["summary"]
    plotting.save(plot_lr_sweep(lrs, curves, summary), out_dir, "network_lr_sweep.png")
    plotting.save(plot_best_curves(lrs, curves, summary), out_dir, "network_loss_curves.png")
    return {"iterations_to_eps": rows, "eps": EPS,
            "kappa_sweep": {"kappa": sweep["kappa"].tolist(), "best_lr": sweep["best_lr"].tolist(),
                            "inverse_top_lr": sweep["inverse_top_lr"].tolist()},
            "network": summary}
