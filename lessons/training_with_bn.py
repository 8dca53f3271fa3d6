"""Lesson 04: training with BatchNorm, [IS15] Figure 1 and [S18] Figure 1.

Three experiments, each repeated over several seeds (seed s draws the data and the weights):

1. [IS15] Fig. 1: a 3 x 100 sigmoid MLP (weights N(0, 0.1²): [IS15] say only "small random
   Gaussian values"; batch 60, plain SGD) on a synthetic MNIST-like task, with and without BN:
   test accuracy over training, and the 15th/50th/85th percentiles of one last-hidden-layer
   unit's input (what its sigmoid sees) on a fixed probe set, plus one number for how much that
   distribution wandered (`drift`). In two regimes: learning rates at which both nets learn (as
   in [IS15], where the baseline reaches high accuracy too), and lr 0.1, where only BN learns.
2. [S18] Fig. 1: a small VGG-style CNN on `cifar_like` with and without BN at a normal and a
   large learning rate: training and test accuracy, and histograms of one layer's
   activations in both nets.
3. A learning-rate sweep on a ReLU MLP (He init): final training loss vs lr, with and
   without BN (a pilot of ours, not an [S18] experiment).

Each network's training (and what is measured on it) is one `Run` (`is15_run`, `vgg_run`,
`sweep_run`: each builds its data and seeds everything from its arguments), executed by
`run_all` (lessons/runs.py: parallel, cached).
"""
import numpy as np

import lessons
import minigrad as mg
from minigrad import nn
from minigrad.analysis import ActivationRecorder, drift
from minigrad.data import cifar_like, make_mnist_like, make_teacher_classification

from . import models, plotting
from .claims import claim
from .runs import Run, run_all

GALLERY = ("is15_figure1.png", "IS15 Fig. 1 at toy scale, one row per regime: where both "
           "sigmoid nets learn (lr 1.0, 2.0; 0.5 for 2000 steps) and at lr 0.1, where only the BN "
           "net does, the BN net's last-layer unit input drifts less (every seed; the probe goes "
           "through the training network).")
METHODS = ("standard", "bn")


def norm_layer(method):
    """The layer factory `models.mlp` puts after each Linear: BN or nothing."""
    return nn.BatchNorm1d if method == "bn" else None


# --------------------------------------------------------------------------- 1. IS15 Figure 1


def is15_run(*, method, seed, steps, lr, n_train, n_test, record_every, eval_every,
             probe_mode="train"):
    """One sigmoid net: test accuracy every `eval_every` steps, percentiles every `record_every`.

    The task is drawn from `seed` (`n_train` + `n_test` samples, then split), the same task for
    both methods.
    The unit watched is unit 0 of the last hidden layer; its input is recorded on a fixed probe
    set (the test images), so the percentiles move only because the weights do. `probe_mode`
    "train" sends the probe through the training network, as [IS15] look at it: BN normalises
    with the probe's own statistics (its running statistics are restored afterwards, so probing
    changes nothing). "eval" uses BN's running statistics instead, which lag the weights.
    """
    X, y = make_mnist_like(n_train + n_test, seed=seed)
    X, y, X_test, y_test = X[:n_train], y[:n_train], X[n_train:], y[n_train:]
    mg.manual_seed(seed)
    # N(0, 0.1²) ([IS15]: "small random Gaussian values"): "scaled" draws N(0, c/fan_in), and
    # every fan_in here is 100.
    model = models.mlp(X.shape[1], 10, width=100, depth=3, norm=norm_layer(method),
                       activation=nn.Sigmoid, init="scaled", gain_c=1.0)
    last_sigmoid = [m for m in model.modules() if isinstance(m, nn.Sigmoid)][-1]
    recorder = ActivationRecorder({"unit": last_sigmoid}, what="input", unit=0)
    probe = mg.Tensor(X_test)
    accuracies = []

    def measure(step, model):
        if step % record_every == 0:
            model.train(probe_mode == "train")
            with recorder, models.buffers_kept(model), mg.no_grad():
                model(probe)
            model.train()
        if step % eval_every == 0:
            accuracies.append(models.accuracy(model, X_test, y_test))

    measure(0, model)
    out = models.train(model, X, y, steps, lr, batch_size=60, seed=seed,
                       on_step=lambda step, m: measure(step + 1, m))
    percentiles = recorder.percentiles("unit")
    return {"loss": out["loss"], "test_accuracy": models.pad(accuracies, steps // eval_every + 1),
            "percentiles": percentiles, "drift": drift(percentiles)}


def is15_experiment(seeds=(0, 1, 2), steps=500, lr=1.0, n_train=10000, n_test=1000,
                    record_every=10, eval_every=25, probe_mode="train"):
    """[IS15] Fig. 1 with and without BN for every seed at one lr; per-seed runs per method."""
    results = iter(run_all([Run(is15_run, method=method, seed=seed, steps=steps, lr=lr,
                                n_train=n_train, n_test=n_test, record_every=record_every,
                                eval_every=eval_every, probe_mode=probe_mode)
                            for method in METHODS for seed in seeds],
                           desc=f"IS15 Fig. 1, lr {lr}"))
    runs = {method: [next(results) for _ in seeds] for method in METHODS}
    return {"seeds": list(seeds), "lr": lr, "steps": steps, "runs": runs,
            "record_steps": np.arange(0, steps + 1, record_every),
            "eval_steps": np.arange(0, steps + 1, eval_every)}


def plot_is15(regimes):
    """One row per learning rate: (a) test accuracy; (b, c) the unit's percentiles without and
    with BN; (d) drift per seed."""
    fig, axes = plotting.figure(4, len(regimes), width=4.0)
    for row, data in zip(axes.reshape(len(regimes), 4), regimes.values()):
        plot_is15_regime(row, data)
    return fig


def plot_is15_regime(axes, data):
    """One row of `plot_is15` for one regime (learning rate and steps)."""
    runs, lr = data["runs"], data["lr"]
    for method in METHODS:
        plotting.band(axes[0], data["eval_steps"],
                      [r["test_accuracy"] for r in runs[method]], method)
    axes[0].set(title=f"(a) lr {lr}, {data['steps']} steps: test accuracy", xlabel="training step",
                ylabel="accuracy", ylim=(0, 1.02))
    axes[0].legend()
    for ax, method, letter in ((axes[1], "standard", "b"), (axes[2], "bn", "c")):
        for k, run in enumerate(runs[method]):  # every seed: first bold, others faint
            for column, style in zip(run["percentiles"].T, (":", "-", ":")):
                ax.plot(data["record_steps"], column, style, color=plotting.COLORS[method],
                        alpha=1.0 if k == 0 else 0.3, lw=1.4 if k == 0 else 0.8)
        ax.set(title=f"({letter}) lr {lr}, {plotting.LABELS[method]}: 15/50/85th pct",
               xlabel="training step", ylabel="sigmoid input")
    for k, method in enumerate(METHODS):
        drifts = [r["drift"] for r in runs[method]]
        axes[3].scatter(np.full(len(drifts), k), drifts, color=plotting.COLORS[method], zorder=3)
    axes[3].set(title=f"(d) lr {lr}: drift (path / final spread)", xticks=range(len(METHODS)),
                xticklabels=[plotting.LABELS[m] for m in METHODS], yscale="log",
                xlim=(-0.5, len(METHODS) - 0.5), ylabel="drift, one dot per seed")


# --------------------------------------------------------------------------- 2. S18 Figure 1


def vgg_run(*, bn, lr, seed, steps, n_train, n_test, batch_size, eval_every, channels, bins):
    """One small VGG: accuracies over training and a histogram of its last stage's activations.

    Training set: `cifar_like` drawn with `seed`; test set: drawn with seed + 100. `bins`:
    (low, high, count) of the histogram's edges."""
    X, y = cifar_like(n_train, seed=seed)
    X_test, y_test = cifar_like(n_test, seed=seed + 100)
    bins = np.linspace(*bins)
    mg.manual_seed(seed)
    model = models.vgg_like(channels=channels, bn=bn)
    last_relu = [m for m in model.modules() if isinstance(m, nn.ReLU)][-1]
    recorder = ActivationRecorder({"layer": last_relu}, what="input", bins=bins)
    X_eval, y_eval = X[:len(X_test)], y[:len(X_test)]
    evals = []

    def measure(step, model):
        if step % eval_every == 0:
            evals.append((step, models.accuracy(model, X_eval, y_eval, batch_size=250),
                          models.accuracy(model, X_test, y_test, batch_size=250)))

    measure(0, model)
    out = models.train(model, X, y, steps, lr, batch_size=batch_size, seed=seed,
                       on_step=lambda step, m: measure(step + 1, m))
    model.eval()
    with recorder, mg.no_grad():
        model(mg.Tensor(X_test))
    evals = np.array(evals)
    count = steps // eval_every + 1  # a diverged run stopped early: nan after that
    return {"loss": out["loss"], "eval_steps": np.arange(count) * eval_every,
            "train_accuracy": models.pad(evals[:, 1], count),
            "test_accuracy": models.pad(evals[:, 2], count),
            "histogram": recorder.histograms("layer")[0],
            "diverged": bool(np.isnan(out["loss"]).any())}


def vgg_experiment(seeds=(0, 1, 2), steps=300, lrs=(0.1, 0.5), n_train=2000, n_test=500,
                   batch_size=64, eval_every=25, channels=(8, 16, 32), bins=(-4.0, 4.0, 81)):
    """[S18] Fig. 1: VGG with and without BN at each lr (train set: seed s; test set: s + 100).
    `bins`: (low, high, count) of the activation histogram's edges."""
    keys = [(method, lr) for lr in lrs for method in METHODS]
    results = iter(run_all([Run(vgg_run, bn=method == "bn", lr=lr, seed=seed, steps=steps,
                                n_train=n_train, n_test=n_test, batch_size=batch_size,
                                eval_every=eval_every, channels=channels, bins=bins)
                            for method, lr in keys for seed in seeds], desc="S18 Fig. 1, VGG"))
    runs = {key: [next(results) for _ in seeds] for key in keys}
    return {"seeds": list(seeds), "lrs": list(lrs), "runs": runs, "bins": np.linspace(*bins)}


def plot_vgg(data):
    """Per lr: training and test accuracy; last panel: the activation histograms at lr[0]."""
    lrs = data["lrs"]
    fig, axes = plotting.figure(len(lrs) + 1, width=4.2)
    for ax, lr in zip(axes, lrs):
        for method in METHODS:
            runs = data["runs"][(method, lr)]
            steps = runs[0]["eval_steps"]
            plotting.band(ax, steps, [r["train_accuracy"] for r in runs], method,
                          label=f"{plotting.LABELS[method]} train")
            test = np.median([r["test_accuracy"] for r in runs], axis=0)
            ax.plot(steps, test, "--", color=plotting.COLORS[method],
                    label=f"{plotting.LABELS[method]} test (median)")
        ax.set(title=f"small VGG on cifar_like, lr {lr}", xlabel="training step",
               ylabel="accuracy", ylim=(0, 1.02))
        ax.legend(fontsize=8)
    ax, bins = axes[-1], data["bins"]
    centres = (bins[:-1] + bins[1:]) / 2
    for method in METHODS:
        for k, run in enumerate(data["runs"][(method, lrs[0])]):
            density = run["histogram"] / run["histogram"].sum() / np.diff(bins)
            ax.plot(centres, density, color=plotting.COLORS[method], alpha=1 if k == 0 else 0.35,
                    label=plotting.LABELS[method] if k == 0 else None)
    ax.set(title=f"last conv stage, pre-ReLU values (lr {lrs[0]}, end)", xlabel="activation",
           ylabel="density")
    ax.legend()
    return fig


# --------------------------------------------------------------------------- 3. lr sweep


def sweep_run(*, method, seed, lr, steps, depth, width, n, batch_size):
    """One ReLU MLP (He init) on the teacher task drawn from `seed`: its final training loss."""
    X, y = make_teacher_classification(n, seed=seed)
    mg.manual_seed(seed)
    model = models.mlp(X.shape[1], 10, width, depth, norm=norm_layer(method))
    out = models.train(model, X, y, steps, lr, batch_size=batch_size, seed=seed)
    return float(out["loss"][-max(steps // 10, 1):].mean())


def lr_sweep(seeds=(0, 1, 2, 3, 4), lrs=(0.05, 0.1, 0.2, 0.5), steps=300, depth=6, width=64,
             n=4000, batch_size=128):
    """Final training loss (mean of the last 10% of steps; nan if it diverged) per seed and lr."""
    losses = run_all([Run(sweep_run, method=method, seed=seed, lr=lr, steps=steps, depth=depth,
                          width=width, n=n, batch_size=batch_size)
                      for method in METHODS for seed in seeds for lr in lrs], desc="lr sweep")
    final = dict(zip(METHODS, np.reshape(losses, (len(METHODS), len(seeds), len(lrs)))))
    return {"seeds": list(seeds), "lrs": list(lrs), "depth": depth, "final_loss": final}


def plot_lr_sweep(data):
    fig, axes = plotting.figure(1)
    ax = axes[0]
    for method in METHODS:
        losses = data["final_loss"][method]
        for k, row in enumerate(losses):
            ax.plot(data["lrs"], row, "o-", color=plotting.COLORS[method], alpha=0.35, lw=0.8,
                    label=None)
        ax.plot(data["lrs"], np.median(losses, axis=0), "o-", color=plotting.COLORS[method],
                lw=2, label=f"{plotting.LABELS[method]} (median; thin: each seed)")
    ax.set(xscale="log", title=f"ReLU MLP depth {data['depth']}, He init", xlabel="learning rate",
           ylabel="final training loss")
    ax.set_xticks(data["lrs"], [str(lr) for lr in data["lrs"]])
    ax.minorticks_off()
    ax.legend(fontsize=8)
    return fig


# --------------------------------------------------------------------------- the lesson


def sizes(quick, seed=0):
    """Keyword arguments of each experiment: full mode reproduces at toy scale, quick mode keeps
    every code path. The seeds are consecutive from `seed`."""
    def seeds(count):
        return tuple(range(seed, seed + count))
    if quick:
        return {"is15": dict(seeds=seeds(3), n_train=3000, n_test=500),
                "is15_regimes": ((1.0, 200), (2.0, 200), (0.5, 400), (0.1, 200)),
                "vgg": dict(seeds=seeds(1), steps=20, n_train=256, n_test=128, eval_every=10),
                "sweep": dict(seeds=seeds(3), lrs=(0.05, 0.5), steps=100)}
    return {"is15": dict(seeds=seeds(6), n_train=10000, n_test=1000),
            # (lr, steps): both nets learn in the first three; at lr 0.1 only the BN net does
            "is15_regimes": ((1.0, 500), (2.0, 500), (0.5, 2000), (0.1, 500)),
            "vgg": dict(seeds=seeds(3), steps=300, n_train=2000, n_test=500, eval_every=25),
            "sweep": dict(seeds=seeds(5), lrs=(0.05, 0.1, 0.2, 0.5), steps=300)}


def run(out_dir, quick=False, seed=0):
    """All experiments and figures of the lesson; returns the numbers it claims, per seed."""
    size = sizes(lessons.is_quick(quick), seed)
    is15 = {regime: is15_experiment(lr=regime[0], steps=regime[1], **size["is15"])
            for regime in size["is15_regimes"]}
    plotting.save(plot_is15(is15), out_dir, "is15_figure1.png", palette=64)
    vgg = vgg_experiment(**size["vgg"])
    plotting.save(plot_vgg(vgg), out_dir, "s18_figure1_vgg.png")
    sweep = lr_sweep(**size["sweep"])
    plotting.save(plot_lr_sweep(sweep), out_dir, "lr_sweep.png")
    return summarize(is15, vgg, sweep)


def summarize(is15, vgg, sweep):
    """The lesson's claims table and per-seed numbers (JSON-ready); `is15` maps (lr, steps) to
    its experiment."""
    def per_seed(runs, key):
        return [round(float(r[key][-1] if np.ndim(r[key]) else r[key]), 4) for r in runs]
    summary = {"claims": claim_table(is15, vgg, sweep)}
    for (lr, steps), data in is15.items():
        summary[f"is15_lr{lr}_steps{steps}"] = {
            "seeds": data["seeds"], "lr": lr, "steps": steps,
            **{f"final_test_accuracy_{m}": per_seed(data["runs"][m], "test_accuracy")
               for m in METHODS},
            **{f"drift_{m}": per_seed(data["runs"][m], "drift") for m in METHODS}}
    summary["vgg"] = {"seeds": vgg["seeds"],
                      **{f"{m}_lr{lr}": {"final_train_accuracy": per_seed(runs, "train_accuracy"),
                                         "final_test_accuracy": per_seed(runs, "test_accuracy"),
                                         "diverged": [r["diverged"] for r in runs]}
                         for (m, lr), runs in vgg["runs"].items()}}
    summary["lr_sweep"] = {"seeds": sweep["seeds"], "lrs": sweep["lrs"],
                           **{f"final_loss_{m}": np.round(sweep["final_loss"][m], 4).tolist()
                              for m in METHODS}}
    return summary


def claim_table(is15, vgg, sweep):
    """Each claim scored per seed, in each regime where the lesson tests it."""
    rows = []
    for (lr, steps), data in is15.items():
        drifts = {m: np.array([r["drift"] for r in data["runs"][m]]) for m in METHODS}
        accuracy = {m: [round(float(r["test_accuracy"][-1]), 3) for r in data["runs"][m]]
                    for m in METHODS}
        rows.append(claim("[IS15] Fig. 1: with BN the unit's input distribution drifts less",
                          f"3x100 sigmoid MLP, lr {lr}, {steps} steps",
                          int((drifts["bn"] < drifts["standard"]).sum()), len(drifts["bn"]),
                          {"drift": {m: np.round(d, 3).tolist() for m, d in drifts.items()},
                           "final_test_accuracy": accuracy}))
    def final(m, lr):
        return np.array([r["train_accuracy"][-1] for r in vgg["runs"][(m, lr)]])
    for lr in vgg["lrs"]:
        rows.append(claim("[S18] Fig. 1: BN reaches a higher training accuracy", f"small VGG, lr "
                          f"{lr}", int((final("bn", lr) > final("standard", lr)).sum()),
                          len(vgg["seeds"]), {m: np.round(final(m, lr), 3).tolist()
                                              for m in METHODS}))
    low, high = vgg["lrs"][0], vgg["lrs"][-1]
    if high != low:
        rows.append(claim("[S18] Fig. 1: without BN the large lr is worse than the normal one",
                          f"small VGG, lr {high} vs {low}",
                          int((final("standard", high) < final("standard", low)).sum()),
                          len(vgg["seeds"]), {f"lr {lr}": np.round(final("standard", lr), 3).tolist()
                                              for lr in (low, high)}))
    loss = sweep["final_loss"]
    for j, lr in enumerate(sweep["lrs"]):
        rows.append(claim("pilot, not an [S18] experiment: BN reaches a lower training loss",
                          f"ReLU MLP depth {sweep['depth']}, lr {lr}",
                          int((loss["bn"][:, j] < loss["standard"][:, j]).sum()),
                          len(sweep["seeds"]), {m: np.round(loss[m][:, j], 4).tolist()
                                                for m in METHODS}))
    return rows
