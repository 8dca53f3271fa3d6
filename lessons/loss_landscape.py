"""Lesson 06: the loss landscape, seen three ways.

1. Santurkar et al. 2018, Figure 4: at points along training, walk along the gradient and
   measure how much the loss and the gradient change (`minigrad.analysis.landscape`). BN's
   claimed benefit is that these change less: the landscape is smoother, so large steps are
   safe. The comparison means something only where both nets train (the init pilot,
   docs/experiments.md §4), so the lesson also shows a regime where the raw numbers favour the
   net without BN because that net spends its first 125-200 steps on a flat plateau and then
   learns slowly.
2. Curvature: the top eigenvalue of the Hessian over training, against 2/lr, the stability
   edge of gradient descent from lesson 2 (`minigrad.analysis.hessian`).
3. Li et al. 2018: filter-normalised 2-D loss surfaces around trained nets, and why the
   normalisation is needed (`minigrad.analysis.surface`).

Every ReLU net here uses He init (Kaiming normal, fan_in) unless a regime says otherwise.
Each network's training and probing is one `Run` (`smoothness_run`, `curvature_run`,
`surface_run`: each builds its data and seeds everything from its arguments), executed by
`run_all` (lessons/runs.py: parallel, cached).
"""
from functools import lru_cache

import numpy as np

import lessons
import minigrad as mg
from minigrad import nn
from minigrad.analysis import (
    filter_normalized_direction,
    hessian_top_eigenvalue,
    landscape_along_gradient,
    loss_surface,
)
from minigrad.data import cifar_like, make_teacher_classification

from . import models, plotting
from .runs import Run, run_all

GALLERY = ("smoothness.png", "Santurkar et al.'s Figure 4 at toy scale: along the gradient, the "
           "loss and the gradient of a BatchNorm MLP change less than those of the same MLP "
           "without BN (He init, lr 0.3; bands over seeds).")
STEP_FACTORS = (0.5, 1.0, 2.0, 3.0, 4.0)  # probe steps η = factor × lr, S18's [0.5, 4] × lr
METRICS = {"loss_variation": "loss variation",
           "gradient_predictiveness": "gradient predictiveness  ‖∇L(w) − ∇L(w − ηg)‖",
           "beta_smoothness": "effective β-smoothness"}
NETS = ("standard", "bn")
# The MLP regimes (depth-6, width-64 ReLU MLP, SGD, batch 128, on the 10-class teacher task).
REGIMES = {
    "main": {"lr": 0.3, "init": "he", "depth": 6,
             "title": "He init, lr 0.3: both nets train"},
    "torch_init": {"lr": 0.3, "init": "torch", "depth": 6,
                   "title": "PyTorch's default init, lr 0.3: the net without BN starts on a plateau"},
    "small_lr": {"lr": 0.05, "init": "he", "depth": 6,
                 "title": "He init, lr 0.05"},
}
loss_fn = nn.functional.cross_entropy


# --------------------------------------------------------------------------- data and models


def teacher_task(n_train=3000, n_test=1000, seed=100):
    """The 10-class teacher task (20 inputs): ((X, y) train, (X, y) test) from one draw."""
    X, y = make_teacher_classification(n=n_train + n_test, seed=seed)
    return (X[:n_train], y[:n_train]), (X[n_train:], y[n_train:])


@lru_cache(maxsize=2)
def image_task(n_train, n_test=500):
    """cifar_like images: seed 0 for training, seed 1 for testing (same classes). Kept per
    process (the runs only read it): drawing the images takes seconds."""
    return cifar_like(n_train, seed=0), cifar_like(n_test, seed=1)


def make_mlp(net, seed, depth=6, init="he", width=64):
    """The depth-`depth` ReLU MLP with (`net` = "bn") or without BatchNorm, seeded."""
    mg.manual_seed(seed)
    norm = nn.BatchNorm1d if net == "bn" else None
    return models.mlp(20, 10, width, depth, norm=norm, init=init)


def make_cnn(net, seed, channels=(8, 16, 32)):
    """The small VGG (conv3×3 → [BN] → ReLU → maxpool, three stages), He init, seeded."""
    mg.manual_seed(seed)
    return models.vgg_like(10, channels, bn=net == "bn")


# --------------------------------------------------------------------------- 1. Figure 4


def track_smoothness(model, data, test, lr, steps, every, seed, batch_size=128):
    """Train with SGD; after every `every` steps measure S18's three metrics.

    Each probe uses a fresh random training batch (its own generator, so the probes never
    change the training run) and steps η = STEP_FACTORS × lr along that batch's gradient.
    Returns the probe steps, one array per metric, the training loss per step and the final
    train/test accuracy.
    """
    probe_rng = np.random.default_rng(10_000 + seed)
    etas = lr * np.array(STEP_FACTORS)
    record = {"step": [], **{metric: [] for metric in METRICS}}

    def on_step(step, model):
        if step % every == 0:
            index = probe_rng.choice(len(data[0]), batch_size, replace=False)
            probe = landscape_along_gradient(model, loss_fn, (data[0][index], data[1][index]), etas)
            record["step"].append(step + 1)
            for metric in METRICS:
                record[metric].append(probe[metric])

    history = models.train(model, *data, steps, lr, batch_size, seed, X_test=test[0],
                           y_test=test[1], eval_every=steps, on_step=on_step)
    _, train_accuracy, test_accuracy = history["evals"][-1]
    return {**{key: np.array(value) for key, value in record.items()}, "loss": history["loss"],
            "train_accuracy": float(train_accuracy), "test_accuracy": float(test_accuracy)}


def smoothness_run(*, task, net, seed, lr, steps, every, batch_size, depth=6, init="he",
                   n_train=None):
    """track_smoothness for one net: an MLP (`task` "teacher": depth, init) on the teacher task,
    or the small CNN (`task` "images", He init) on `n_train` cifar_like images."""
    if task == "teacher":
        model, (data, test) = make_mlp(net, seed, depth, init), teacher_task()
    else:
        model, (data, test) = make_cnn(net, seed), image_task(n_train)
    return track_smoothness(model, data, test, lr, steps, every, seed, batch_size)


def smoothness_study(seeds, desc, **config):
    """{net: [one smoothness_run per seed]} for the nets with and without BN."""
    results = iter(run_all([Run(smoothness_run, net=net, seed=seed, **config)
                            for net in NETS for seed in seeds], desc=desc))
    return {net: [next(results) for _ in seeds] for net in NETS}


def mlp_study(regime, seeds, steps, every):
    """The smoothness study for one of the MLP REGIMES on the teacher task (batch 128)."""
    settings = REGIMES[regime]
    return smoothness_study(seeds, f"smoothness, {regime}", task="teacher", lr=settings["lr"],
                            steps=steps, every=every, batch_size=128, depth=settings["depth"],
                            init=settings["init"])


def cnn_study(seeds, steps, every, n_train, lr=0.1, batch_size=64):
    """The smoothness study for the small CNN on `n_train` cifar_like images."""
    return smoothness_study(seeds, "smoothness, CNN", task="images", lr=lr, steps=steps,
                            every=every, batch_size=batch_size, n_train=n_train)


def smoothness_summary(study, seeds):
    """Per seed and net: the median of each metric over the probes, the final training loss
    (mean of the last tenth) and accuracies; plus on how many seeds BN is lower per metric."""
    per_seed = []
    for k, seed in enumerate(seeds):
        row = {"seed": seed}
        for net in NETS:
            run = study[net][k]
            tail = run["loss"][-max(1, len(run["loss"]) // 10):]
            row[net] = {**{metric: float(np.median(run[metric])) for metric in METRICS},
                        "final_loss": float(np.mean(tail)), "train_accuracy": run["train_accuracy"],
                        "test_accuracy": run["test_accuracy"]}
        per_seed.append(row)
    bn_lower = {metric: sum(r["bn"][metric] < r["standard"][metric] for r in per_seed)
                for metric in METRICS}
    return {"per_seed": per_seed, "bn_lower_on_seeds": bn_lower, "seeds": len(seeds)}


# --------------------------------------------------------------------------- 2. curvature


def track_curvature(model, data, lr, steps, every, seed, iters=20, probe_size=256,
                    batch_size=128):
    """Top Hessian eigenvalue at init and after every `every` SGD steps, on a fixed probe batch.

    The probe batch is the same at every point (drawn once), so the curve shows how the
    weights' curvature changes, not batch-to-batch noise.
    """
    index = np.random.default_rng(20_000 + seed).choice(len(data[0]), probe_size, replace=False)
    probe = (data[0][index], data[1][index])
    record = {"step": [0], "top_eigenvalue": [hessian_top_eigenvalue(model, loss_fn, probe, iters)]}

    def on_step(step, model):
        if (step + 1) % every == 0:
            record["step"].append(step + 1)
            record["top_eigenvalue"].append(hessian_top_eigenvalue(model, loss_fn, probe, iters))

    history = models.train(model, *data, steps, lr, batch_size, seed, on_step=on_step)
    return {"step": np.array(record["step"]), "top_eigenvalue": np.array(record["top_eigenvalue"]),
            "loss": history["loss"]}


def curvature_run(*, net, seed, steps, every, iters, lr):
    """track_curvature for one depth-6 MLP (He init) on the teacher task."""
    return track_curvature(make_mlp(net, seed), teacher_task()[0], lr, steps, every, seed, iters)


def curvature_study(seeds, steps, every, iters=20, lr=0.3):
    """{net: [track_curvature per seed]} for the depth-6 MLP, He init."""
    results = iter(run_all([Run(curvature_run, net=net, seed=seed, steps=steps, every=every,
                                iters=iters, lr=lr) for net in NETS for seed in seeds],
                           desc="top Hessian eigenvalue"))
    return {net: [next(results) for _ in seeds] for net in NETS}


def curvature_summary(study, seeds, lr):
    """Per seed and net: the top eigenvalue at init, its median and maximum over the second half
    of training and its value at the last probe; and 2/lr."""
    rows = []
    for k, seed in enumerate(seeds):
        row = {"seed": seed}
        for net in NETS:
            run = study[net][k]
            late = run["top_eigenvalue"][len(run["step"]) // 2:]
            row[net] = {"at_init": float(run["top_eigenvalue"][0]),
                        "late_median": float(np.median(late)),
                        "late_max": float(np.max(late)),
                        "at_end": float(run["top_eigenvalue"][-1])}
        rows.append(row)
    return {"per_seed": rows, "two_over_lr": 2 / lr}


# --------------------------------------------------------------------------- 3. surfaces


def trained_mlp(net, seed, steps, data, lr=0.3):
    """The depth-6 MLP (He init) trained for `steps` SGD steps."""
    model = make_mlp(net, seed)
    models.train(model, *data, steps, lr, 128, seed)
    return model


def surface_pair(model, data, grid, normalize="filter", seed=0):
    """The 2-D loss surface around `model` along two random directions (seeds seed, seed + 1)."""
    directions = [filter_normalized_direction(model, seed=seed + k, normalize=normalize)
                  for k in range(2)]
    return loss_surface(model, loss_fn, data, directions, grid)


def rescaled_copy(model, seed, low=0.25, high=4.0):
    """The same function with differently sized filters: each unit of every Linear followed by
    a BatchNorm1d gets its weights and bias multiplied by a random c ∈ [low, high], and the BN's
    running mean and variance by c and c² (what training the scaled net would have left there).
    In eval mode the copy computes the same outputs (exactly with ε = 0; here ε = 1e-5)."""
    copy = make_mlp("bn", seed)
    copy.load_state_dict(model.state_dict())
    rng = np.random.default_rng(seed)
    layers = list(copy)
    for linear, norm in zip(layers, layers[1:]):
        if isinstance(linear, nn.Linear) and isinstance(norm, nn.BatchNorm1d):
            c = np.exp(rng.uniform(np.log(low), np.log(high), linear.out_features))
            c = c.astype(np.float32)
            linear.weight.data *= c[:, None]
            linear.bias.data *= c
            norm.running_mean.data *= c
            norm.running_var.data *= c * c
    return copy


def slice_curvature(surface, grid):
    """The 2×2 Hessian of the surface at its centre by central differences on the grid, its
    eigenvalues and their ratio κ (lesson 2's condition number, for this 2-D slice)."""
    i, h = len(grid) // 2, grid[1] - grid[0]
    f = surface
    d11 = (f[i + 1, i] - 2 * f[i, i] + f[i - 1, i]) / h ** 2
    d22 = (f[i, i + 1] - 2 * f[i, i] + f[i, i - 1]) / h ** 2
    d12 = (f[i + 1, i + 1] - f[i + 1, i - 1] - f[i - 1, i + 1] + f[i - 1, i - 1]) / (4 * h * h)
    eigenvalues = np.linalg.eigvalsh(np.array([[d11, d12], [d12, d22]]))
    kappa = eigenvalues[1] / eigenvalues[0] if eigenvalues[0] > 0 else np.inf
    return {"eigenvalues": eigenvalues.tolist(), "kappa": float(kappa)}


def surface_run(*, net, seed, steps, grid, n_eval):
    """The filter-normalised surface around one trained MLP; for the BN net also the rescaling
    demonstration: it and a rescaled copy under filter-normalised and "global" directions."""
    data = teacher_task()[0]
    grid = np.asarray(grid)
    trained = trained_mlp(net, seed, steps, data)
    subset = (data[0][:n_eval], data[1][:n_eval])
    result = {"surface": surface_pair(trained, subset, grid, seed=seed)}
    if net == "bn":
        copy = rescaled_copy(trained, seed)
        result["rescaling"] = {(normalize, name): surface_pair(model, subset, grid, normalize,
                                                               seed=seed)
                               for normalize in ("filter", "global")
                               for name, model in (("original", trained), ("rescaled", copy))}
    return result


def surface_study(seed, steps, grid, n_eval):
    """Filter-normalised surfaces of both trained MLPs, and the rescaling demonstration."""
    grid = tuple(float(g) for g in grid)
    results = dict(zip(NETS, run_all([Run(surface_run, net=net, seed=seed, steps=steps, grid=grid,
                                          n_eval=n_eval) for net in NETS], desc="loss surfaces")))
    return {"grid": np.asarray(grid), "rescaling": results["bn"]["rescaling"],
            "surfaces": {net: results[net]["surface"] for net in NETS}}


def surface_summary(study):
    grid = study["grid"]
    out = {net: {"loss_at_centre": float(s[len(grid) // 2, len(grid) // 2]),
                 "loss_max": float(s.max()), **slice_curvature(s, grid)}
           for net, s in study["surfaces"].items()}
    r = study["rescaling"]
    for normalize in ("filter", "global"):
        difference = np.abs(r[normalize, "rescaled"] - r[normalize, "original"]).max()
        out[f"rescaled_max_difference_{normalize}"] = float(difference)
    return out


# --------------------------------------------------------------------------- plots


def plot_smoothness(study, title, metrics=tuple(METRICS), show_loss=True):
    """One panel per metric (bands over seeds, log scale), plus the training loss."""
    panels = len(metrics) + show_loss
    fig, axes = plotting.figure(panels, width=3.9, height=3.3)
    for ax, metric in zip(axes, metrics):
        for net in NETS:
            runs = study[net]
            plotting.band(ax, runs[0]["step"], [r[metric] for r in runs], net, log=True)
        ax.set(xlabel="training step", title=METRICS[metric].split("  ")[0])
    if show_loss:
        ax = axes[-1]
        for net in NETS:
            losses = np.array([r["loss"] for r in study[net]])
            plotting.band(ax, np.arange(1, losses.shape[1] + 1), losses, net)
        ax.set(xlabel="training step", title="training loss (minibatch)")
    axes[0].legend()
    fig.suptitle(title)
    return fig


def plot_regimes(studies, metric="gradient_predictiveness"):
    """For each regime side by side: the metric (top) and the training loss (bottom)."""
    fig, axes = plotting.figure(len(studies), 2, width=4.2, height=3.2)
    for col, (regime, study) in enumerate(studies.items()):
        top, bottom = axes[col], axes[len(studies) + col]
        for net in NETS:
            runs = study[net]
            plotting.band(top, runs[0]["step"], [r[metric] for r in runs], net, log=True)
            losses = np.array([r["loss"] for r in runs])
            plotting.band(bottom, np.arange(1, losses.shape[1] + 1), losses, net)
        top.set(title=REGIMES[regime]["title"], xlabel="training step",
                ylabel=METRICS[metric].split("  ")[0] if col == 0 else None)
        bottom.set(xlabel="training step", ylabel="training loss" if col == 0 else None)
    axes[0].legend()
    return fig


def plot_curvature(study, lr):
    """Top Hessian eigenvalue over training per net (bands over seeds), 2/lr dashed."""
    fig, (ax, loss_ax) = plotting.figure(2, width=4.6, height=3.5)
    for net in NETS:
        runs = study[net]
        plotting.band(ax, runs[0]["step"], [r["top_eigenvalue"] for r in runs], net)
        losses = np.array([r["loss"] for r in runs])
        plotting.band(loss_ax, np.arange(1, losses.shape[1] + 1), losses, net)
    ax.axhline(2 / lr, color=plotting.COLORS["theory"], ls="--", lw=1,
               label=f"2/lr = {2 / lr:.2g} (gradient descent's edge)")
    ax.set(xlabel="training step", ylabel="λ_max of the minibatch Hessian", yscale="symlog",
           title="top Hessian eigenvalue")
    ax.legend(fontsize=8)
    loss_ax.set(xlabel="training step", title="training loss")
    return fig


def _contours(ax, grid, surface, levels, title):
    contour = ax.contour(grid, grid, surface.T, levels=levels, cmap="viridis", linewidths=0.9)
    ax.clabel(contour, fontsize=6, fmt="%.2g")
    ax.plot(0, 0, "k*", ms=8)
    ax.set(aspect="equal", xlabel="α (direction 1)", ylabel="β (direction 2)", title=title)


def surface_levels(surfaces):
    """Shared contour levels: log-spaced from the lowest loss to the highest."""
    low = min(s.min() for s in surfaces)
    high = max(s.max() for s in surfaces)
    return np.geomspace(max(low, 1e-3), high, 14)


def plot_surfaces(study):
    """Filter-normalised contours around the trained MLP without and with BN (shared levels)."""
    grid = study["grid"]
    fig, axes = plotting.figure(2, width=4.2, height=4.0)
    levels = surface_levels(study["surfaces"].values())
    for ax, net in zip(axes, NETS):
        _contours(ax, grid, study["surfaces"][net], levels,
                  f"{plotting.LABELS[net]}: L(θ* + αδ + βη)")
    fig.suptitle("filter-normalised directions, training loss in eval mode")
    return fig


def plot_rescaling(study):
    """The BN net and a rescaled copy computing the same function, under both normalisations."""
    grid, r = study["grid"], study["rescaling"]
    fig, axes = plotting.figure(2, 2, width=3.8, height=3.7)
    for row, normalize in enumerate(("filter", "global")):
        levels = surface_levels([r[normalize, "original"], r[normalize, "rescaled"]])
        for col, name in enumerate(("original", "rescaled")):
            label = "filter-normalised" if normalize == "filter" else "one global scale"
            _contours(axes[2 * row + col], grid, r[normalize, name], levels,
                      f"{name} BN net, {label}")
    fig.suptitle("the same function, two sets of filter sizes")
    return fig


# --------------------------------------------------------------------------- the lesson


def sizes(quick):
    """Steps, probe spacing, seeds, grid and sample counts for full or quick mode."""
    if quick:
        return {"steps": 150, "every": 25, "seeds": 3, "cnn_steps": 30, "cnn_every": 10,
                "cnn_seeds": 1, "cnn_train": 256, "hessian_steps": 60, "hessian_every": 30,
                "hessian_seeds": 2, "hessian_iters": 8, "surface_steps": 150, "grid": 9,
                "surface_samples": 500, "regimes": ("main", "torch_init")}
    return {"steps": 300, "every": 15, "seeds": 5, "cnn_steps": 200, "cnn_every": 20,
            "cnn_seeds": 3, "cnn_train": 3000, "hessian_steps": 300, "hessian_every": 30,
            "hessian_seeds": 3, "hessian_iters": 20, "surface_steps": 300, "grid": 21,
            "surface_samples": 1000, "regimes": tuple(REGIMES)}


def run(out_dir, quick=False, seed=0):
    """All experiments and figures of the lesson; returns the numbers it claims."""
    quick = lessons.is_quick(quick)
    n = sizes(quick)
    seeds = [seed + k for k in range(n["seeds"])]
    summary = {"regimes": {}}

    studies = {}
    for regime in n["regimes"]:
        studies[regime] = mlp_study(regime, seeds, n["steps"], n["every"])
        summary["regimes"][regime] = {**{k: v for k, v in REGIMES[regime].items()},
                                      **smoothness_summary(studies[regime], seeds)}
    plotting.save(plot_smoothness(studies["main"], "depth-6 ReLU MLP, " + REGIMES["main"]["title"]),
                  out_dir, "smoothness.png")
    plotting.save(plot_regimes(studies), out_dir, "regimes.png")

    cnn_seeds = seeds[:n["cnn_seeds"]]
    cnn = cnn_study(cnn_seeds, n["cnn_steps"], n["cnn_every"], n["cnn_train"])
    summary["cnn"] = {"lr": 0.1, **smoothness_summary(cnn, cnn_seeds)}
    plotting.save(plot_smoothness(cnn, "small VGG on cifar_like, He init, lr 0.1"), out_dir,
                  "smoothness_cnn.png")

    hessian_seeds = seeds[:n["hessian_seeds"]]
    curvature = curvature_study(hessian_seeds, n["hessian_steps"], n["hessian_every"],
                                n["hessian_iters"])
    summary["curvature"] = curvature_summary(curvature, hessian_seeds, 0.3)
    plotting.save(plot_curvature(curvature, 0.3), out_dir, "curvature.png")

    surfaces = surface_study(seed, n["surface_steps"], np.linspace(-1, 1, n["grid"]),
                             n["surface_samples"])
    summary["surfaces"] = surface_summary(surfaces)
    plotting.save(plot_surfaces(surfaces), out_dir, "surfaces.png")
    plotting.save(plot_rescaling(surfaces), out_dir, "rescaling.png")
    return summary
