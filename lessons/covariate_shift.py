"""Lesson 05: does BatchNorm work by reducing internal covariate shift? [S18] Figures 2 and 3.

[IS15] explained BN's success by "internal covariate shift" (ICS): layers train badly because
the distribution of their inputs keeps changing as the layers below learn, and BN fixes the
distribution. [S18] tests that explanation twice, and both tests are repeated here over seeds:

1. Fig. 2, noisy BN: add random, step-to-step changing scale and shift right after every BN
   layer (`NonStationaryNoise`), so the next layer's input distribution is made *less* stable
   than without BN. If stability were the point, this net should train badly.
2. Fig. 3, ICS measured: [S18] define ICS as the change of a layer's gradient caused by the
   update of the layers below it (`internal_covariate_shift`). Measured on a small CNN and on
   a 25-layer deep linear network (DLN), with and without BN.

Each network's training (and what is measured on it) is one `Run` (`noisy_run`, `dln_run`,
`cnn_ics_run`: each builds its data and seeds everything from its arguments), executed by
`run_all` (lessons/runs.py: parallel, cached).
"""
import numpy as np

import lessons
import minigrad as mg
from minigrad import nn
from minigrad.analysis import ActivationRecorder, NonStationaryNoise, drift, internal_covariate_shift
from minigrad.data import cifar_like, make_teacher_classification

from . import models, plotting
from .claims import claim
from .runs import Run, run_all

GALLERY = ("ics_dln.png", "S18 Fig. 3 on a 25-layer deep linear net: with BN the loss falls "
           "faster, yet a layer's gradient changes far more when the layers below step "
           "(larger ‖G − G'‖, lower cosine): BN does not reduce ICS here (every seed).")
NOISY_METHODS = ("standard", "bn", "bn_noisy", "standard_noisy")
NOISY_LRS = (0.1, 1.0)  # a normal and a large step: the comparison with noise differs
LABELS = dict(plotting.LABELS, standard_noisy="Standard + noise")
COLORS = dict(plotting.COLORS, standard_noisy="#d62728")


def norm_layer(method):
    """What `models.mlp` puts after each Linear for each method."""
    return {"standard": None,
            "bn": nn.BatchNorm1d,
            "bn_noisy": lambda width: nn.Sequential(nn.BatchNorm1d(width), NonStationaryNoise()),
            "standard_noisy": lambda width: NonStationaryNoise()}[method]


def eval_loss(model, X, y):
    """The evaluated net's loss: eval mode (BN's running statistics; each noise layer applies its
    expectation, E[s]·a + E[m] = 1.125·a, as dropout's eval mode does), no graph."""
    model.eval()
    with mg.no_grad():
        loss = nn.functional.cross_entropy(model(mg.Tensor(X)), y).item()
    model.train()
    return loss


def train_mode_loss(model, X, y, batch_size=128):
    """The loss the optimiser sees: train mode (noise drawn, BN's batch statistics) over all of X
    in batches of `batch_size`, without an update; BN's running statistics are left as they were."""
    total = 0.0
    with models.buffers_kept(model), mg.no_grad():
        for start in range(0, len(X), batch_size):
            batch = slice(start, start + batch_size)
            loss = nn.functional.cross_entropy(model(mg.Tensor(X[batch])), y[batch]).item()
            total += loss * len(y[batch])
    return total / len(X)


# --------------------------------------------------------------------------- 1. noisy BN


def noisy_run(*, method, seed, steps, lr, depth, width, layer, eval_every, n_train, n_test):
    """One ReLU MLP on the teacher task drawn from `seed`; records what its `layer`-th ReLU
    receives (unit 0) at every training step."""
    X, y = make_teacher_classification(n_train + n_test, seed=seed)
    X, y, X_test, y_test = X[:n_train], y[:n_train], X[n_train:], y[n_train:]
    mg.manual_seed(seed)
    model = models.mlp(X.shape[1], 10, width, depth, norm=norm_layer(method))
    relu = [m for m in model.modules() if isinstance(m, nn.ReLU)][layer]
    recorder = ActivationRecorder({"unit": relu}, what="input", unit=0, training_only=True)
    accuracies = [models.accuracy(model, X_test, y_test)]

    def measure(step, model):
        if (step + 1) % eval_every == 0:
            accuracies.append(models.accuracy(model, X_test, y_test))

    with recorder:
        out = models.train(model, X, y, steps, lr, batch_size=128, seed=seed, on_step=measure)
    completed = int(np.isfinite(out["loss"]).sum())  # steps before a divergence, if any
    diverged = completed < steps
    percentiles = recorder.percentiles("unit")[:completed]
    return {"loss": out["loss"], "test_accuracy": models.pad(accuracies, steps // eval_every + 1),
            "eval_loss": np.nan if diverged else eval_loss(model, X, y),
            "train_mode_loss": np.nan if diverged else train_mode_loss(model, X, y),
            "percentiles": percentiles, "diverged": diverged,
            "jitter": drift(percentiles) / (len(percentiles) - 1) if not diverged else np.nan}


def noisy_bn_experiment(seeds=(0, 1, 2), steps=1000, lr=0.1, depth=6, width=64, layer=2,
                        n_train=4000, n_test=1000, eval_every=50):
    """[S18] Fig. 2: standard, BN, BN + noise (and standard + noise) for every seed."""
    results = iter(run_all([Run(noisy_run, method=method, seed=seed, steps=steps, lr=lr,
                                depth=depth, width=width, layer=layer, eval_every=eval_every,
                                n_train=n_train, n_test=n_test)
                            for method in NOISY_METHODS for seed in seeds],
                           desc=f"noisy BN, lr {lr}"))
    runs = {method: [next(results) for _ in seeds] for method in NOISY_METHODS}
    return {"seeds": list(seeds), "lr": lr, "depth": depth, "layer": layer, "runs": runs,
            "eval_steps": np.arange(0, steps + 1, eval_every)}


def plot_noisy_bn(data):
    """(a) test accuracy; (b) final training loss, eval and train mode, and (c) jitter per seed;
    (d–f) percentiles."""
    runs = data["runs"]
    fig, axes = plotting.figure(3, 2, width=4.3)
    for method in NOISY_METHODS:
        finished = [r["test_accuracy"] for r in runs[method] if not r["diverged"]]
        diverged = len(runs[method]) - len(finished)
        label = LABELS[method] + (f" ({diverged}/{len(runs[method])} diverged)" if diverged else "")
        if finished:
            plotting.band(axes[0], data["eval_steps"], finished, color=COLORS[method], label=label)
        else:
            axes[0].plot([], [], color=COLORS[method], label=label)  # keep it in the legend
    axes[0].set(title=f"(a) test accuracy, MLP depth {data['depth']}, lr {data['lr']}",
                xlabel="training step", ylabel="accuracy")
    axes[0].legend(fontsize=8)
    for k, method in enumerate(NOISY_METHODS):
        for key, offset, face in (("eval_loss", -0.12, COLORS[method]), ("train_mode_loss", 0.12,
                                                                         "none")):
            values = [r[key] for r in runs[method]]
            axes[1].scatter(np.full(len(values), k + offset), values, color=COLORS[method],
                            facecolors=face, zorder=3)
        jitter = [r["jitter"] for r in runs[method]]
        axes[2].scatter(np.full(len(jitter), k), jitter, color=COLORS[method], zorder=3)
    axes[1].set(title="(b) final training loss: eval mode (●), train mode (○)")
    axes[2].set(title="(c) jitter: mean step-to-step move / spread")
    for panel in axes[1:3]:
        panel.set(xticks=range(len(NOISY_METHODS)),
                  xticklabels=[LABELS[m].replace(" + ", "\n+ ") for m in NOISY_METHODS],
                  ylabel="one dot per seed (none if diverged)")
    axes[2].set_yscale("log")
    for ax, method in zip(axes[3:], ("standard", "bn", "bn_noisy")):
        percentiles = runs[method][0]["percentiles"]  # first seed; the others are in (c)
        steps = np.arange(1, len(percentiles) + 1)
        ax.fill_between(steps, percentiles[:, 0], percentiles[:, 2], color=COLORS[method],
                        alpha=0.3, lw=0, label="15-85th pct")
        ax.plot(steps, percentiles[:, 1], color=COLORS[method], lw=0.8, label="median")
        ax.set(title=f"{LABELS[method]}: layer {data['layer'] + 1} unit input (seed "
                     f"{data['seeds'][0]})", xlabel="training step", ylabel="value")
        ax.legend(fontsize=8, loc="upper right")
    return fig


# --------------------------------------------------------------------------- 2. ICS measured


def deep_linear_network(bn, depth=25, width=10):
    """`depth` Linear(width, width) without bias or activation, W ~ N(0, 1/width);
    with `bn`, a BatchNorm1d after every layer but the last (the [S18] DLN)."""
    layers = []
    for k in range(depth):
        linear = nn.Linear(width, width, bias=False)
        linear.weight.data[...] = (mg.default_generator().standard_normal((width, width))
                                   / np.sqrt(width))
        layers.append(linear)
        if bn and k < depth - 1:
            layers.append(nn.BatchNorm1d(width))
    return nn.Sequential(*layers)


def squared_error(output, target):
    """L = (1/n) Σ ‖f(x) − Ax‖²: the DLN's regression loss."""
    return ((output - target) ** 2).sum(axis=1).mean()


def dln_run(*, bn, seed, steps, lr, measure_every, layers, n=1000, width=10, depth=25):
    """Full-batch GD on x ↦ Ax (A, x Gaussian); ICS of `layers` every `measure_every` steps."""
    rng = np.random.default_rng(seed)
    A = rng.standard_normal((width, width)).astype(np.float32)
    X = mg.Tensor(rng.standard_normal((n, width)).astype(np.float32))
    target = mg.Tensor(X.data @ A.T)
    mg.manual_seed(seed)
    model = deep_linear_network(bn, depth, width)
    linears = [m for m in model if isinstance(m, nn.Linear)]
    watched = [linears[i] for i in layers]
    optimizer = mg.optim.SGD(model.parameters(), lr=lr)
    losses, measured = np.full(steps, np.nan), []
    with np.errstate(over="ignore", invalid="ignore"):
        for step in range(steps):
            if step % measure_every == 0:
                measured.append(internal_covariate_shift(model, squared_error, (X, target), lr,
                                                         watched))
            loss = squared_error(model(X), target)
            if not np.isfinite(loss.item()):
                break
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            losses[step] = loss.item()
    return ics_record(losses, measured, measure_every)


def ics_record(losses, measured, measure_every):
    """Stack the per-measurement dicts into (measurements, layers) arrays."""
    def stack(key):
        return np.array([m[key] for m in measured])
    return {"loss": losses, "steps": np.arange(len(measured)) * measure_every,
            "distance": stack("distance"), "cosine": stack("cosine"),
            "grad_norm": stack("grad_norm")}


def dln_experiment(seeds=(0, 1, 2), steps=1000, lr=1e-4, measure_every=25, layers=(4, 12, 20)):
    """[S18] Fig. 3 (DLN): loss and ICS of three layers, with and without BN, per seed."""
    methods = ("standard", "bn")
    results = iter(run_all([Run(dln_run, bn=method == "bn", seed=seed, steps=steps, lr=lr,
                                measure_every=measure_every, layers=tuple(layers))
                            for method in methods for seed in seeds], desc="ICS, DLN"))
    runs = {method: [next(results) for _ in seeds] for method in methods}
    return {"seeds": list(seeds), "lr": lr, "layers": [i + 1 for i in layers], "runs": runs,
            "name": "25-layer deep linear net"}


def cnn_ics_run(*, bn, seed, steps, lr, measure_every, batch_size, channels, n_train):
    """A small VGG trained with SGD on `cifar_like` drawn from `seed`; now and then, the ICS of
    its layers on a fresh batch."""
    X, y = cifar_like(n_train, seed=seed)
    mg.manual_seed(seed)
    model = models.vgg_like(channels=channels, bn=bn)
    watched = [m for m in model.modules() if isinstance(m, (nn.Conv2d, nn.Linear))]
    rng = np.random.default_rng(seed + 1)
    measured = []

    def measure(step, model):
        if step % measure_every == 0:
            index = rng.choice(len(X), batch_size, replace=False)
            measured.append(internal_covariate_shift(model, nn.functional.cross_entropy,
                                                     (X[index], y[index]), lr, watched[1:]))

    measure(0, model)
    out = models.train(model, X, y, steps, lr, batch_size=batch_size, seed=seed,
                       on_step=lambda step, m: measure(step + 1, m))
    return ics_record(out["loss"], measured, measure_every)


def cnn_ics_experiment(seeds=(0, 1, 2), steps=200, lr=0.1, measure_every=20, n_train=2000,
                       batch_size=64, channels=(8, 16, 32)):
    """[S18] Fig. 3 (CNN): ICS of conv layers 2–3 and the head, with and without BN."""
    methods = ("standard", "bn")
    results = iter(run_all([Run(cnn_ics_run, bn=method == "bn", seed=seed, steps=steps, lr=lr,
                                measure_every=measure_every, batch_size=batch_size,
                                channels=channels, n_train=n_train)
                            for method in methods for seed in seeds], desc="ICS, CNN"))
    runs = {method: [next(results) for _ in seeds] for method in methods}
    return {"seeds": list(seeds), "lr": lr, "layers": ["conv 2", "conv 3", "head"],
            "runs": runs, "name": "small VGG on cifar_like"}


def plot_ics(data):
    """Loss (smoothed), then ‖G − G'‖ and cos(G, G') over training for each watched layer."""
    runs, layers = data["runs"], data["layers"]
    fig, axes = plotting.figure(1 + len(layers), 2, width=3.6, height=3.0)
    top, bottom = axes[:1 + len(layers)], axes[1 + len(layers):]
    for method in ("standard", "bn"):
        losses = np.array([smooth(r["loss"]) for r in runs[method]])
        plotting.band(top[0], np.arange(1, losses.shape[1] + 1), losses, method, log=True)
        for k, layer in enumerate(layers):
            steps = runs[method][0]["steps"]
            plotting.band(top[k + 1], steps, [r["distance"][:, k] for r in runs[method]], method,
                          log=True)
            plotting.band(bottom[k + 1], steps, [r["cosine"][:, k] for r in runs[method]],
                          method)
    top[0].set(title=f"{data['name']}: training loss", xlabel="step", ylabel="loss")
    top[0].legend()
    for k, layer in enumerate(layers):
        name = f"layer {layer}" if isinstance(layer, int) else layer
        top[k + 1].set(title=f"{name}: ‖G − G'‖", xlabel="step")
        bottom[k + 1].set(title=f"{name}: cos(G, G')", xlabel="step", ylim=(-1.05, 1.05))
    bottom[0].axis("off")
    bottom[0].text(0, 0.5, "Ideal (no ICS):\n‖G − G'‖ = 0, cos = 1\n\nlines: median over seeds"
                   "\nbands: min..max", fontsize=10, va="center")
    return fig


def smooth(values, window=10):
    """Running mean (a minibatch loss is noisy); nan after a divergence stays nan."""
    kernel = np.ones(window) / window
    return np.convolve(values, kernel, mode="valid") if len(values) >= window else values


# --------------------------------------------------------------------------- the lesson


def sizes(quick, seed=0):
    """Keyword arguments of each experiment: full mode reproduces at toy scale, quick mode keeps
    every code path. The seeds are consecutive from `seed`."""
    def seeds(count):
        return tuple(range(seed, seed + count))
    if quick:
        return {"noisy": dict(seeds=seeds(2), steps=150, eval_every=50, n_train=2000),
                "dln": dict(seeds=seeds(2), steps=250, measure_every=50),
                "cnn": dict(seeds=seeds(1), steps=20, measure_every=10, n_train=256)}
    return {"noisy": dict(seeds=seeds(5), steps=1000, eval_every=50),
            "dln": dict(seeds=seeds(3), steps=1000, measure_every=25),
            "cnn": dict(seeds=seeds(3), steps=200, measure_every=20, n_train=2000)}


def run(out_dir, quick=False, seed=0):
    """All experiments and figures of the lesson; returns the numbers it claims, per seed."""
    size = sizes(lessons.is_quick(quick), seed)
    noisy = {lr: noisy_bn_experiment(lr=lr, **size["noisy"]) for lr in NOISY_LRS}
    for lr, data in noisy.items():
        plotting.save(plot_noisy_bn(data), out_dir, f"noisy_bn_lr{lr}.png")
    dln = dln_experiment(**size["dln"])
    plotting.save(plot_ics(dln), out_dir, "ics_dln.png", palette=64)
    cnn = cnn_ics_experiment(**size["cnn"])
    plotting.save(plot_ics(cnn), out_dir, "ics_cnn.png")
    return summarize(noisy, dln, cnn)


def summarize(noisy, dln, cnn):
    """The claims table and per-seed numbers: noisy-BN losses and jitter per lr (nan: diverged);
    ICS medians over training per layer."""
    def rounded(values):
        return [round(float(v), 4) for v in values]
    summary = {"claims": claim_table(noisy, dln, cnn)}
    for lr, data in noisy.items():
        summary[f"noisy_bn_lr{lr}"] = {"seeds": data["seeds"]}
        for method, runs in data["runs"].items():
            summary[f"noisy_bn_lr{lr}"][method] = {
                "eval_loss": rounded(r["eval_loss"] for r in runs),
                "train_mode_loss": rounded(r["train_mode_loss"] for r in runs),
                "final_test_accuracy": rounded(r["test_accuracy"][-1] for r in runs),
                "jitter": rounded(r["jitter"] for r in runs),
                "diverged": [r["diverged"] for r in runs]}
    for key, data in (("ics_dln", dln), ("ics_cnn", cnn)):
        summary[key] = {"seeds": data["seeds"], "lr": data["lr"], "layers": data["layers"]}
        for method, runs in data["runs"].items():
            summary[key][method] = {
                "final_loss": rounded(np.nanmean(r["loss"][-10:]) for r in runs),
                "median_distance": [rounded(np.median(r["distance"], axis=0)) for r in runs],
                "median_cosine": [rounded(np.median(r["cosine"], axis=0)) for r in runs]}
    return summary


def per_seed(runs, key):
    """One number per seed; a diverged run counts as +inf (the worst loss or jitter)."""
    return np.array([np.inf if np.isnan(r[key]) else r[key] for r in runs])


def claim_table(noisy, dln, cnn):
    """Each claim scored per seed, in each regime where the lesson tests it."""
    rows = []
    for lr, data in noisy.items():
        runs, n = data["runs"], len(data["seeds"])
        regime = f"ReLU MLP depth {data['depth']}, lr {lr}"
        jitter = {m: per_seed(runs[m], "jitter") for m in NOISY_METHODS}
        rows.append(claim("[S18] Fig. 2 set-up: BN + noise has the least stable layer inputs "
                          "(jitter BN + noise > standard > BN)", regime,
                          int(((jitter["bn_noisy"] > jitter["standard"])
                               & (jitter["standard"] > jitter["bn"])).sum()), n,
                          {m: np.round(jitter[m], 4).tolist() for m in ("bn_noisy", "standard",
                                                                         "bn")}))
        for key, how in (("eval_loss", "eval mode"), ("train_mode_loss", "train mode")):
            loss = {m: per_seed(runs[m], key) for m in NOISY_METHODS}
            numbers = {m: np.round(loss[m], 4).tolist() for m in NOISY_METHODS}
            rows.append(claim(f"[S18] Fig. 2: BN + noise still trains better than the standard net "
                              f"(final training loss, {how})", regime,
                              int((loss["bn_noisy"] < loss["standard"]).sum()), n, numbers))
            rows.append(claim(f"this lesson's own comparison, not [S18]'s: the same noise hurts "
                              f"less with BN (BN + noise below standard + noise, {how})", regime,
                              int((loss["bn_noisy"] < loss["standard_noisy"]).sum()), n, numbers))
    for data in (dln, cnn):
        medians = {m: np.array([np.median(r["cosine"], axis=0) for r in data["runs"][m]])
                   for m in ("standard", "bn")}  # (seeds, layers): median over training
        for k, layer in enumerate(data["layers"]):
            cosine = {m: medians[m][:, k] for m in ("standard", "bn")}
            rows.append(claim("[S18] Fig. 3: BN does not reduce ICS (BN's median cos(G, G') not "
                              "above the standard net's)", f"{data['name']}, layer {layer}",
                              int((cosine["bn"] <= cosine["standard"]).sum()),
                              len(data["seeds"]),
                              {m: np.round(c, 4).tolist() for m, c in cosine.items()}))
        loss = {m: np.array([np.nanmean(r["loss"][-10:]) for r in data["runs"][m]])
                for m in ("standard", "bn")}
        rows.append(claim("[S18] Fig. 3: BN trains better (lower final loss)", data["name"],
                          int((loss["bn"] < loss["standard"]).sum()), len(data["seeds"]),
                          {m: np.round(v, 4).tolist() for m, v in loss.items()}))
    return rows
