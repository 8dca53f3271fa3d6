"""Lesson 09: BatchNorm makes weights scale-invariant, so weight decay becomes a step-size control.

A weight W followed by BatchNorm (affine=False, ε = 0) only matters through its direction:
BN(cWx) = BN(Wx) for every c > 0, so the loss obeys L(cW) = L(W). Differentiating that
identity gives the two facts everything below rests on (van Laarhoven 2017; Zhang, Wang, Xu,
Grosse 2019, §4):

    ∇L(cW) = ∇L(W) / c        (differentiate in W)
    ⟨∇L(W), W⟩ = 0            (differentiate in c at c = 1)

What follows from them, each tested below on bias-free Linear → BN(affine=False) nets:

1. Scale invariance exactly at ε = 0; with ε > 0, scaling W by c is the same as dividing ε
   by c², so ε matters through ε/σ² of the pre-BN activations (`scale_invariance`).
2. Without weight decay the gradient is orthogonal to W, so plain SGD only ever lengthens W:
   ‖W_{t+1}‖² = ‖W_t‖² + η²‖g_t‖² exactly, and the effective lr η/‖W‖² decays (`norm_growth_run`).
3. Li & Arora 2020 (Theorem 2.1, the plain-SGD case; derived in `li_arora_lr`): when every
   weight is scale-invariant, SGD with weight decay λ and lr η and SGD without weight decay at
   lr η(1 − ηλ)^(−2t−1) produce the same directions W_t/‖W_t‖ (`li_arora_run`).
4. Wan, Zhu, Zhang, Sun 2021 (spherical motion dynamics): with weight decay the norm settles
   where the angular update per step is arccos(1 − ηλ) ≈ √(2ηλ), after a time of order
   1/(ηλ) steps (`equilibrium_run`).
5. A practitioner's BN MLP (affine BN, ε = 1e-5, a plain Linear head) trained with and
   without weight decay (`practitioner_run`).
"""
import numpy as np

import lessons
import minigrad as mg
from minigrad import nn
from minigrad.analysis import WeightNormRecorder, angle_between
from minigrad.data import make_teacher_classification

from . import models, plotting
from .runs import Run, run_all

GALLERY = ("equilibrium.png", "With BN and weight decay, the angle each SGD step turns a layer's "
           "weights settles at √(2ηλ) (dashed; within 1% on 5/5 seeds) after 0.6-1.7 × 1/(ηλ) "
           "steps, the same for two (η, λ) pairs with one product; at ηλ = 5e-5 it has not "
           "settled in 3000 steps.")
WIDTH, DEPTH, BATCH = 64, 3, 128  # the net of experiments 1-4: 20 -> 64 -> 64 -> 10
EQUILIBRIUM_PAIRS = ((1.0, 5e-3), (0.2, 5e-3), (1.0, 1e-3), (0.1, 5e-4))  # (η, λ)
PRACTITIONER = ((0.2, 0.0), (0.2, 5e-3), (1.0, 1e-3))  # (η, λ): none, and two of ηλ = 1e-3
PAIR_COLORS = ("#d62728", "#1f77b4", "#2ca02c", "#9467bd")


# --------------------------------------------------------------------------- net, data, loop


def teacher_data(seed, n_train=4000, n_test=1000, dtype=np.float64):
    """The teacher task of lessons 04-08 (20 features, 10 classes), split into train/test."""
    X, y = make_teacher_classification(n_train + n_test, seed=seed)
    X = X.astype(dtype)
    return X[:n_train], y[:n_train], X[n_train:], y[n_train:]


def scale_invariant_net(seed, eps=0.0, invariant_head=True, width=WIDTH, depth=DEPTH):
    """`depth` bias-free Linear layers, each followed by BatchNorm1d(affine=False, eps), ReLU
    in between; He init, float64 (so identities hold to ~1e-15). With invariant_head=False
    the last BN is dropped: the head is a plain Linear, the one weight whose scale the loss
    sees."""
    mg.manual_seed(seed)
    sizes = [20] + [width] * (depth - 1) + [10]
    layers = []
    for k, (fan_in, fan_out) in enumerate(zip(sizes, sizes[1:])):
        last = k == depth - 1
        layers.append(nn.Linear(fan_in, fan_out, bias=False))
        if invariant_head or not last:
            layers.append(nn.BatchNorm1d(fan_out, affine=False, eps=eps))
        if not last:
            layers.append(nn.ReLU())
    return models.init_weights(nn.Sequential(*layers)).double()


def linear_weights(model):
    """The Linear weights, first to last."""
    return [m.weight for m in model.modules() if isinstance(m, nn.Linear)]


def batch_loss(model, X, y):
    return nn.functional.cross_entropy(model(mg.Tensor(X)), y)


def gradient_steps(model, X, y, steps, seed):
    """Yields (step, loss) after each minibatch's backward; the caller updates the weights.
    The batches depend on `seed` only, so two runs with one seed see the same batches."""
    rng = np.random.default_rng(seed)
    for step, index in enumerate(models.batches(len(X), BATCH, steps, rng)):
        model.zero_grad()
        # Around each step, not around the yield: a caller that stops early would otherwise
        # leave NumPy's warnings off for the rest of its program.
        with np.errstate(over="ignore", invalid="ignore"):
            loss = batch_loss(model, X[index], y[index])
            loss.backward()
        yield step, loss.item()


# --------------------------------------------------------------------------- 1. scale invariance


def recorded_sgd(model, optimizer, recorder, X, y, steps, seed):
    """`steps` SGD updates, the recorder called after each; the per-step losses."""
    losses = []
    for _, loss in gradient_steps(model, X, y, steps, seed):
        optimizer.step()
        recorder()
        losses.append(loss)
    return np.array(losses)


def loss_and_grads(model, X, y):
    model.zero_grad()
    loss = batch_loss(model, X, y)
    loss.backward()
    return loss.item(), [w.grad.data.copy() for w in linear_weights(model)]


def scale_invariance(seed=0, eps=0.0, scales=(1e-3, 1e-2, 0.1, 3.0, 10.0)):
    """Scale W₁ by c on one batch of 128: how far L, c·∇L(cW₁) and ε's role move.

    Per c: the relative change of the loss, the relative error of c·∇_{W₁}L(cW₁) against
    ∇_{W₁}L(W₁), the median ε/(c²σ²) over BN₁'s channels (σ²: the batch variance of W₁x),
    and how far L_ε(cW₁) is from L(W₁) with BN₁'s ε replaced by ε/c² (zero if scaling by c
    is the same as dividing ε by c²). Also, at c = 1, |cos(∇L, W)| for every layer.
    """
    X, y, _, _ = teacher_data(seed, n_train=BATCH, n_test=0)
    model = scale_invariant_net(seed, eps)
    first, bn_first = linear_weights(model)[0], model[1]
    variance = (X @ first.data.T).var(axis=0)
    loss, grads = loss_and_grads(model, X, y)
    orthogonality = [abs(np.sum(g * w.data)) / (np.linalg.norm(g) * np.linalg.norm(w.data))
                     for g, w in zip(grads, linear_weights(model))]
    original = first.data
    rows = []
    for c in scales:
        first.data = c * original
        scaled_loss, scaled_grads = loss_and_grads(model, X, y)
        first.data, bn_first.eps = original, eps / c ** 2
        moved_eps_loss = batch_loss(model, X, y).item()
        bn_first.eps = eps
        rows.append({"scale": c, "loss_change": abs(scaled_loss - loss) / loss,
                     "grad_error": float(np.linalg.norm(c * scaled_grads[0] - grads[0])
                                         / np.linalg.norm(grads[0])),
                     "eps_over_var": float(np.median(eps / (c ** 2 * variance))),
                     "eps_identity_error": abs(scaled_loss - moved_eps_loss) / loss})
    return {"eps": eps, "seed": seed, "loss": loss, "orthogonality": orthogonality, "rows": rows}


# --------------------------------------------------------------------------- 2. norm growth


def norm_growth_run(seed=0, lr=0.5, steps=1000, eps=0.0, n_train=4000):
    """Plain SGD without weight decay; per step and layer ‖W_t‖, η²‖g_t‖², angle, η/‖W_t‖²."""
    X, y, _, _ = teacher_data(seed, n_train=n_train, n_test=0)
    model = scale_invariant_net(seed, eps)
    weights = linear_weights(model)
    optimizer = mg.optim.SGD(weights, lr=lr)
    recorder = WeightNormRecorder(model, optimizer=optimizer)
    step_sq, losses = [], []
    for _, loss in gradient_steps(model, X, y, steps, seed):
        step_sq.append([lr ** 2 * np.sum(w.grad.data ** 2) for w in weights])
        optimizer.step()
        recorder()
        losses.append(loss)
    return {"seed": seed, "lr": lr, "eps": eps, "norm": recorder.norm,
            "step_sq": np.array(step_sq), "angle": recorder.angle,
            "effective_lr": recorder.effective_lr, "loss": np.array(losses)}


def norm_growth_experiment(seeds=(0, 1, 2), steps=1000, lr=0.5):
    """`norm_growth_run` per seed at ε = 0 and at ε = 1e-5: {eps: [run per seed]}."""
    epsilons = (0.0, 1e-5)
    results = iter(run_all([Run(norm_growth_run, seed=s, lr=lr, steps=steps, eps=eps)
                            for eps in epsilons for s in seeds], desc="norm growth"))
    return {eps: [next(results) for _ in seeds] for eps in epsilons}


def norm_identity_error(run):
    """max over steps and layers of |‖W_{t+1}‖² − ‖W_t‖² − η²‖g_t‖²| / ‖W_{t+1}‖²."""
    sq = run["norm"] ** 2
    return float(np.max(np.abs(sq[1:] - sq[:-1] - run["step_sq"]) / sq[1:]))


# --------------------------------------------------------------------------- 3. Li & Arora


def li_arora_lr(lr, weight_decay, step):
    """The lr that makes SGD without weight decay follow SGD with it, in direction.

    With decay, W_{t+1} = (1 − ηλ)W_t − η∇L(W_t). Put V_t = W_t/(1 − ηλ)^t (same direction).
    Then V_{t+1} = V_t − η(1 − ηλ)^(−t−1) ∇L(W_t), and scale invariance gives
    ∇L(W_t) = ∇L((1 − ηλ)^t V_t) = (1 − ηλ)^(−t) ∇L(V_t), so
    V_{t+1} = V_t − η(1 − ηλ)^(−2t−1) ∇L(V_t): plain SGD on V with this lr at step t.
    """
    return lr * (1 - lr * weight_decay) ** (-2 * step - 1)


def li_arora_run(seed=0, lr=0.5, weight_decay=5e-3, steps=300, eps=0.0, invariant_head=True,
                 n_train=4000):
    """Two copies of one net on the same batches: (a) SGD with weight decay, (b) SGD without,
    lr from `li_arora_lr`. Per step and layer: the angle between the two weights, and
    ‖W_b‖(1 − ηλ)^t/‖W_a‖ − 1 (both zero if the theorem holds)."""
    X, y, _, _ = teacher_data(seed, n_train=n_train, n_test=0)
    decayed, scheduled = (scale_invariant_net(seed, eps, invariant_head) for _ in range(2))
    w_a, w_b = linear_weights(decayed), linear_weights(scheduled)
    opt_a = mg.optim.SGD(w_a, lr=lr, weight_decay=weight_decay)
    opt_b = mg.optim.SGD(w_b, lr=lr)
    angles, norm_errors, lrs, loss_a, loss_b = [], [], [], [], []
    steps_b = gradient_steps(scheduled, X, y, steps, seed)
    for (step, la), (_, lb) in zip(gradient_steps(decayed, X, y, steps, seed), steps_b):
        opt_b.param_groups[0]["lr"] = li_arora_lr(lr, weight_decay, step)
        opt_a.step()
        opt_b.step()
        shrink = (1 - lr * weight_decay) ** (step + 1)
        angles.append([angle_between(a.data, b.data) for a, b in zip(w_a, w_b)])
        norm_errors.append([np.linalg.norm(b.data) * shrink / np.linalg.norm(a.data) - 1
                            for a, b in zip(w_a, w_b)])
        lrs.append(opt_b.param_groups[0]["lr"])
        loss_a.append(la)
        loss_b.append(lb)
    return {"seed": seed, "eps": eps, "invariant_head": invariant_head, "angle": np.array(angles),
            "norm_error": np.array(norm_errors), "lr": np.array(lrs),
            "loss_decayed": np.array(loss_a), "loss_scheduled": np.array(loss_b)}


LI_ARORA_VARIANTS = {"every weight invariant, ε = 0": dict(eps=0.0, invariant_head=True),
                     "every weight invariant, ε = 1e-5": dict(eps=1e-5, invariant_head=True),
                     "plain Linear head, ε = 0": dict(eps=0.0, invariant_head=False)}


def li_arora_experiment(seeds=(0, 1, 2), lr=0.5, weight_decay=5e-3, steps=300):
    """`li_arora_run` for each variant and seed."""
    results = iter(run_all([Run(li_arora_run, seed=s, lr=lr, weight_decay=weight_decay,
                                steps=steps, **options)
                            for options in LI_ARORA_VARIANTS.values() for s in seeds],
                           desc="Li & Arora"))
    runs = {name: [next(results) for _ in seeds] for name in LI_ARORA_VARIANTS}
    return {"seeds": list(seeds), "lr": lr, "weight_decay": weight_decay, "steps": steps,
            "runs": runs}


# --------------------------------------------------------------------------- 4. equilibrium


def equilibrium_angle(lr, weight_decay):
    """The angular update once ‖W‖ stops changing. With g ⊥ W,
    cos∠(W_t, W_{t+1}) = ⟨W_t, W_{t+1}⟩/(‖W_t‖‖W_{t+1}‖) = (1 − ηλ)‖W_t‖/‖W_{t+1}‖,
    which is 1 − ηλ when ‖W_{t+1}‖ = ‖W_t‖; arccos(1 − ηλ) = √(2ηλ)(1 + ηλ/12 + ...)."""
    return float(np.arccos(1 - lr * weight_decay))


def equilibrium_run(seed=0, lr=0.5, weight_decay=5e-3, steps=3000, n_train=4000):
    """SGD with weight decay on the invariant net; per step and layer the angle and ‖W‖."""
    X, y, _, _ = teacher_data(seed, n_train=n_train, n_test=0)
    model = scale_invariant_net(seed)
    optimizer = mg.optim.SGD(linear_weights(model), lr=lr, weight_decay=weight_decay)
    recorder = WeightNormRecorder(model, optimizer=optimizer)
    losses = recorded_sgd(model, optimizer, recorder, X, y, steps, seed)
    return {"seed": seed, "lr": lr, "weight_decay": weight_decay, "angle": recorder.angle,
            "norm": recorder.norm, "loss": losses}


def running_mean(values, window):
    """Mean over the last `window` steps at each step (the first window - 1 steps: fewer)."""
    sums = np.cumsum(np.asarray(values, dtype=float), axis=0)
    sums[window:] = sums[window:] - sums[:-window]
    counts = np.minimum(np.arange(1, len(values) + 1), window)
    return sums / (counts[:, None] if sums.ndim > 1 else counts)


def settle_step(angle, target, window=100, tolerance=0.1):
    """First step after which the running-mean angle (mean over layers) stays within
    `tolerance` of `target` until the end; None if it never does."""
    smooth = running_mean(angle.mean(axis=1), window)
    outside = np.flatnonzero(np.abs(smooth / target - 1) > tolerance)
    if len(outside) == 0:
        return 0
    return None if outside[-1] == len(smooth) - 1 else int(outside[-1] + 1)


def equilibrium_experiment(seeds=(0, 1, 2, 3, 4), pairs=EQUILIBRIUM_PAIRS, steps=3000, last=1000):
    """For each (η, λ) and seed: the mean angle over the last `last` steps (per layer) and
    the step where it settles, against arccos(1 − ηλ) and 1/(ηλ)."""
    results = iter(run_all([Run(equilibrium_run, seed=s, lr=lr, weight_decay=wd, steps=steps)
                            for lr, wd in pairs for s in seeds], desc="equilibrium"))
    data = {"seeds": list(seeds), "steps": steps, "last": last, "pairs": {}}
    for lr, wd in pairs:
        runs = [next(results) for _ in seeds]
        target = equilibrium_angle(lr, wd)
        data["pairs"][(lr, wd)] = {
            "runs": runs, "target": target, "sqrt_2_eta_lambda": float(np.sqrt(2 * lr * wd)),
            "final_angle": np.array([r["angle"][-last:].mean(axis=0) for r in runs]),
            "settle_step": [settle_step(r["angle"], target) for r in runs]}
    return data


# --------------------------------------------------------------------------- 5. practitioner


def practitioner_run(seed=0, lr=0.1, weight_decay=0.0, steps=3000, n_train=4000, last=500):
    """The lessons' usual BN MLP (3 × 64, affine BN with ε = 1e-5, biases, a Linear head;
    float32), SGD with weight decay on every parameter, as a practitioner writes it."""
    X, y, X_test, y_test = teacher_data(seed, n_train=n_train, dtype=np.float32)
    mg.manual_seed(seed)
    model = models.mlp(20, 10, WIDTH, DEPTH, norm=nn.BatchNorm1d)
    hidden = {f"layer {k + 1}": w for k, w in enumerate(linear_weights(model)[:-1])}
    optimizer = mg.optim.SGD(model.parameters(), lr=lr, weight_decay=weight_decay)
    recorder = WeightNormRecorder(hidden, optimizer=optimizer)
    losses = recorded_sgd(model, optimizer, recorder, X, y, steps, seed)
    model.eval()
    with mg.no_grad():
        train_loss = batch_loss(model, X, y).item()
    return {"seed": seed, "lr": lr, "weight_decay": weight_decay, "loss": losses,
            "angle": recorder.angle, "effective_lr": recorder.effective_lr, "norm": recorder.norm,
            "final_angle": recorder.angle[-last:].mean(), "train_loss": train_loss,
            "final_effective_lr": recorder.effective_lr[-last:].mean(),
            "test_accuracy": models.accuracy(model, X_test, y_test),
            "head_norm": float(np.linalg.norm(linear_weights(model)[-1].data))}


def practitioner_experiment(seeds=(0, 1, 2, 3, 4), settings=PRACTITIONER, steps=3000):
    results = iter(run_all([Run(practitioner_run, seed=s, lr=lr, weight_decay=wd, steps=steps)
                            for lr, wd in settings for s in seeds], desc="practitioner"))
    return {"seeds": list(seeds), "steps": steps,
            "settings": {setting: [next(results) for _ in seeds] for setting in settings}}


# --------------------------------------------------------------------------- figures


def plot_scale_invariance(checks):
    """(a) loss change and (b) gradient error when W₁ is scaled by c; (c) the error against
    ε/(c²σ²): ε matters through that ratio alone."""
    fig, axes = plotting.figure(3, 1, width=4.0)
    floor = 1e-18  # exact zeros drawn on the axis floor of a log plot
    for eps, color in ((0.0, plotting.COLORS["bn"]), (1e-5, plotting.COLORS["standard"])):
        for check in checks[eps]:
            rows = check["rows"]
            scales = [r["scale"] for r in rows]
            label = f"ε = {eps:g}" if check is checks[eps][0] else None
            axes[0].plot(scales, [max(r["loss_change"], floor) for r in rows], "o-", color=color,
                         label=label, alpha=0.7)
            axes[1].plot(scales, [max(r["grad_error"], floor) for r in rows], "o-", color=color,
                         label=label, alpha=0.7)
            if eps:
                axes[2].plot([r["eps_over_var"] for r in rows], [r["grad_error"] for r in rows],
                             "o", color=color, alpha=0.7)
    axes[0].set(title="(a) |L(cW₁) − L(W₁)| / L (exact 0 drawn at 1e-18)",
                xlabel="scale c of W₁")
    axes[1].set(title="(b) ‖c∇L(cW₁) − ∇L(W₁)‖ / ‖∇L(W₁)‖", xlabel="scale c of W₁")
    axes[2].set(title="(c) ε = 1e-5: gradient error vs ε/(c²σ²)",
                xlabel="median ε/(c²σ²) over BN₁'s channels", ylabel="gradient error")
    for ax in axes:
        ax.set(xscale="log", yscale="log")
    axes[0].legend()
    return fig


def plot_norm_growth(runs, runs_eps):
    """(a) ‖W‖ per layer over training without weight decay, (b) η/‖W‖², (c) the identity's
    residual per step at ε = 0 and ε = 1e-5."""
    fig, axes = plotting.figure(3, 1, width=4.0)
    steps = np.arange(runs[0]["norm"].shape[0])
    for k, color in enumerate(PAIR_COLORS[:runs[0]["norm"].shape[1]]):
        plotting.band(axes[0], steps, [r["norm"][:, k] for r in runs], label=f"layer {k + 1}",
                      color=color)
        plotting.band(axes[1], steps, [r["effective_lr"][:, k] for r in runs],
                      label=f"layer {k + 1}", color=color, log=True)
    for group, eps, color in ((runs, 0.0, plotting.COLORS["bn"]),
                              (runs_eps, 1e-5, plotting.COLORS["standard"])):
        residual = [np.abs(np.diff(r["norm"] ** 2, axis=0) - r["step_sq"]).max(axis=1)
                    / (r["norm"][1:] ** 2).max(axis=1) for r in group]
        plotting.band(axes[2], steps[1:], np.maximum(residual, 1e-18), label=f"ε = {eps:g}",
                      color=color, log=True)
    axes[0].set(title=f"(a) ‖W‖, SGD η = {runs[0]['lr']} without weight decay", xlabel="step")
    axes[1].set(title="(b) effective lr η/‖W‖²", xlabel="step")
    axes[2].set(title="(c) |‖W_{t+1}‖² − ‖W_t‖² − η²‖g_t‖²| / ‖W_{t+1}‖²", xlabel="step")
    axes[0].legend()
    axes[2].legend()
    return fig


def plot_li_arora(data):
    """(a) the growing lr of the run without weight decay, (b) the angle between the two
    runs' weights (largest layer), (c) both runs' loss when the head is a plain Linear."""
    fig, axes = plotting.figure(3, 1, width=4.0)
    runs = data["runs"]
    steps = np.arange(1, data["steps"] + 1)
    axes[0].plot(steps, runs[next(iter(runs))][0]["lr"], color="k")
    axes[0].axhline(data["lr"], color="k", ls="--", lw=0.8)
    axes[0].set(title=f"(a) lr η(1 − ηλ)^(−2t−1), η = {data['lr']}, λ = {data['weight_decay']}",
                xlabel="step t", ylabel="lr of the run without weight decay")
    for name, color in zip(runs, PAIR_COLORS):
        plotting.band(axes[1], steps, [np.maximum(r["angle"].max(axis=1), 1e-17)
                                       for r in runs[name]], label=name, color=color, log=True)
    axes[1].set(title="(b) angle between the two runs' weights", xlabel="step",
                ylabel="radians (largest layer)")
    axes[1].legend(fontsize=8)
    plain = runs["plain Linear head, ε = 0"]
    for key, label, color in (("loss_decayed", "with weight decay", PAIR_COLORS[0]),
                              ("loss_scheduled", "without, growing lr", PAIR_COLORS[1])):
        plotting.band(axes[2], steps, [running_mean(r[key], 20) for r in plain], label=label,
                      color=color)
    axes[2].set(title="(c) plain Linear head: minibatch loss (mean of 20)", xlabel="step")
    axes[2].legend()
    return fig


def plot_equilibrium(data, window=100):
    """(a) angular update per step (mean over layers and `window` steps) against √(2ηλ);
    (b) the same, angle / arccos(1 − ηλ) against steps × ηλ."""
    fig, axes = plotting.figure(2, 1, width=5.0)
    for ((lr, wd), pair), color in zip(data["pairs"].items(), PAIR_COLORS):
        smooth = [running_mean(r["angle"].mean(axis=1), window) for r in pair["runs"]]
        steps = np.arange(1, len(smooth[0]) + 1)
        label = f"η = {lr:g}, λ = {wd:g} (ηλ = {lr * wd:.2g})"
        plotting.band(axes[0], steps, smooth, label=label, color=color, log=True)
        axes[0].axhline(pair["sqrt_2_eta_lambda"], color=color, ls="--", lw=1)
        plotting.band(axes[1], steps * lr * wd, np.array(smooth) / pair["target"], label=label,
                      color=color)
    axes[0].set(title=f"(a) angular update per step (mean of {window}); dashed: √(2ηλ)",
                xlabel="step", ylabel="radians")
    axes[1].axhline(1, color="k", ls="--", lw=1)
    axes[1].set(title="(b) angle / arccos(1 − ηλ) against step × ηλ", xlabel="step × ηλ",
                ylabel="ratio", xscale="log", ylim=(0, 3))
    axes[0].legend(fontsize=8)
    return fig


def plot_practitioner(data, window=100):
    """The usual BN MLP with and without weight decay: effective lr, angle, loss, test accuracy."""
    fig, axes = plotting.figure(4, 1, width=3.8)
    settings = data["settings"]
    for (setting, runs), color in zip(settings.items(), PAIR_COLORS):
        lr, wd = setting
        label = f"η = {lr:g}, λ = {wd:g}"
        steps = np.arange(1, data["steps"] + 1)
        plotting.band(axes[0], np.arange(data["steps"] + 1),
                      [r["effective_lr"].mean(axis=1) for r in runs], label=label, color=color,
                      log=True)
        plotting.band(axes[1], steps, [running_mean(r["angle"].mean(axis=1), window) for r in runs],
                      label=label, color=color, log=True)
        plotting.band(axes[2], steps, [running_mean(r["loss"], window) for r in runs], label=label,
                      color=color, log=True)
        if wd:
            axes[1].axhline(np.sqrt(2 * lr * wd), color=color, ls="--", lw=1)
        k = list(settings).index(setting)
        axes[3].scatter(np.full(len(runs), k), [r["test_accuracy"] for r in runs], color=color)
    axes[0].set(title="(a) effective lr η/‖W‖² (hidden layers)", xlabel="step")
    axes[1].set(title="(b) angular update (dashed: √(2ηλ))", xlabel="step")
    axes[2].set(title=f"(c) minibatch loss (mean of {window})", xlabel="step")
    axes[3].set(title="(d) test accuracy, one dot per seed", xticks=range(len(settings)),
                xticklabels=[f"η {lr:g}\nλ {wd:g}" for lr, wd in settings])
    axes[0].legend(fontsize=8)
    return fig


# --------------------------------------------------------------------------- the lesson


def sizes(quick, seed=0):
    """Keyword arguments of each experiment; quick mode keeps every code path. Seeds are
    consecutive from `seed`."""
    def seeds(count):
        return tuple(range(seed, seed + count))
    if quick:
        return {"scale": dict(seeds=seeds(2)), "growth": dict(seeds=seeds(1), steps=100),
                "li_arora": dict(seeds=seeds(1), steps=100),
                "equilibrium": dict(seeds=seeds(1), steps=300, last=100),
                "practitioner": dict(seeds=seeds(1), steps=200)}
    return {"scale": dict(seeds=seeds(5)), "growth": dict(seeds=seeds(3), steps=1000),
            "li_arora": dict(seeds=seeds(3), steps=300),
            "equilibrium": dict(seeds=seeds(5), steps=3000, last=1000),
            "practitioner": dict(seeds=seeds(5), steps=2000)}


def run(out_dir, quick=False, seed=0):
    """All experiments and figures of the lesson; returns the numbers it claims, per seed."""
    size = sizes(lessons.is_quick(quick), seed)
    scale = {eps: [scale_invariance(seed=s, eps=eps) for s in size["scale"]["seeds"]]
             for eps in (0.0, 1e-5)}  # one batch each: milliseconds
    plotting.save(plot_scale_invariance(scale), out_dir, "scale_invariance.png")
    growth = norm_growth_experiment(**size["growth"])
    plotting.save(plot_norm_growth(growth[0.0], growth[1e-5]), out_dir, "norm_growth.png")
    li_arora = li_arora_experiment(**size["li_arora"])
    plotting.save(plot_li_arora(li_arora), out_dir, "li_arora.png")
    equilibrium = equilibrium_experiment(**size["equilibrium"])
    plotting.save(plot_equilibrium(equilibrium), out_dir, "equilibrium.png")
    practitioner = practitioner_experiment(**size["practitioner"])
    plotting.save(plot_practitioner(practitioner), out_dir, "practitioner.png")
    return summarize(scale, growth, li_arora, equilibrium, practitioner)


# --------------------------------------------------------------------------- the numbers


def sig(value, digits=3):
    """A float to `digits` significant digits (None stays None)."""
    return None if value is None else float(f"{float(value):.{digits}g}")


def sigs(values, digits=3):
    return [sig(v, digits) for v in values]


def regime():
    return {"data": "teacher task (lessons 04-08): 20 Gaussian features, 10 classes; 4000 train, "
                    "1000 test samples, generated from the seed",
            "nets 1-4": f"{DEPTH} × [Linear(bias=False) -> BatchNorm1d(affine=False, eps=0)], ReLU "
                        f"between, widths 20-{WIDTH}-{WIDTH}-10, He init, float64",
            "net 5": f"models.mlp: {DEPTH} × [Linear -> BatchNorm1d (affine, eps 1e-5) -> ReLU], "
                     f"width {WIDTH}, Linear head, He init, float32; weight decay on every "
                     "parameter",
            "optimizer": "plain SGD (momentum 0), PyTorch's weight-decay rule g + λW",
            "batch": BATCH, "loss": "cross-entropy"}


def summarize(scale, growth, li_arora, equilibrium, practitioner):
    """Per-seed numbers of every experiment, the regime, and the claims table."""
    summary = {"regime": regime()}
    summary["scale_invariance"] = {
        f"eps={eps:g}": {"seeds": [c["seed"] for c in checks],
                         "scales": [r["scale"] for r in checks[0]["rows"]],
                         **{key: [sigs(r[key] for r in c["rows"]) for c in checks]
                            for key in ("loss_change", "grad_error", "eps_over_var",
                                        "eps_identity_error")},
                         "orthogonality_per_layer": [sigs(c["orthogonality"]) for c in checks]}
        for eps, checks in scale.items()}
    summary["norm_growth"] = {
        f"eps={eps:g}": {"seeds": [r["seed"] for r in runs], "lr": runs[0]["lr"],
                         "identity_error": sigs(norm_identity_error(r) for r in runs),
                         "norm_first_last_per_layer": [[sigs(r["norm"][0]), sigs(r["norm"][-1])]
                                                       for r in runs],
                         "effective_lr_first_last_per_layer": [
                             [sigs(r["effective_lr"][0]), sigs(r["effective_lr"][-1])]
                             for r in runs]}
        for eps, runs in growth.items()}
    summary["li_arora"] = {
        "lr": li_arora["lr"], "weight_decay": li_arora["weight_decay"], "steps": li_arora["steps"],
        "seeds": li_arora["seeds"], "final_lr_without_decay": sig(li_arora_lr(
            li_arora["lr"], li_arora["weight_decay"], li_arora["steps"] - 1)),
        **{name: {"max_angle_per_layer": [sigs(r["angle"].max(axis=0)) for r in runs],
                  "max_norm_error": sigs(np.abs(r["norm_error"]).max() for r in runs),
                  "final_loss_decayed_scheduled": [sigs([r["loss_decayed"][-20:].mean(),
                                                         r["loss_scheduled"][-20:].mean()])
                                                   for r in runs]}
           for name, runs in li_arora["runs"].items()}}
    summary["equilibrium"] = {"seeds": equilibrium["seeds"], "steps": equilibrium["steps"],
                              "angle averaged over the last": equilibrium["last"]}
    for (lr, wd), pair in equilibrium["pairs"].items():
        summary["equilibrium"][f"lr={lr:g}, wd={wd:g}"] = {
            "arccos(1 - lr wd)": sig(pair["target"], 4),
            "sqrt(2 lr wd)": sig(pair["sqrt_2_eta_lambda"], 4), "1/(lr wd)": sig(1 / (lr * wd)),
            "final_angle_mean_over_layers": sigs(pair["final_angle"].mean(axis=1), 4),
            "final_angle_per_layer": [sigs(a, 4) for a in pair["final_angle"]],
            "final_norm_per_layer": [sigs(r["norm"][-1]) for r in pair["runs"]],
            "settle_step": pair["settle_step"],
            "settle_step_times_lr_wd": [None if s is None else sig(s * lr * wd)
                                        for s in pair["settle_step"]]}
    summary["practitioner"] = {"seeds": practitioner["seeds"], "steps": practitioner["steps"]}
    for (lr, wd), runs in practitioner["settings"].items():
        summary["practitioner"][f"lr={lr:g}, wd={wd:g}"] = {
            key: sigs(r[key] for r in runs)
            for key in ("final_effective_lr", "final_angle", "train_loss", "test_accuracy",
                        "head_norm")}
    summary["claims"] = claim_table(scale, growth, li_arora, equilibrium, practitioner)
    return summary


def claim_table(scale, growth, li_arora, equilibrium, practitioner, tolerance=0.05):
    """Each claim with the numbers that decide it and the verdict at this scale."""
    def verdict(ok):
        return "held" if ok else "did not hold"
    exact = max(max(r[key] for r in c["rows"]) for c in scale[0.0]
                for key in ("loss_change", "grad_error"))
    orthogonal = max(max(c["orthogonality"]) for c in scale[0.0])
    moved_eps = max(r["eps_identity_error"] for c in scale[1e-5] for r in c["rows"])
    eps_rows = [r for c in scale[1e-5] for r in c["rows"]]
    small = max(r["grad_error"] for r in eps_rows if r["eps_over_var"] < 1e-6)
    large = min(r["grad_error"] for r in eps_rows if r["eps_over_var"] > 1e-2)
    identity = max(norm_identity_error(r) for r in growth[0.0])
    decays = all((r["effective_lr"][-1] < r["effective_lr"][0]).all() for r in growth[0.0])
    angle = {name: max(r["angle"].max() for r in runs) for name, runs in li_arora["runs"].items()}
    exact_name, *broken = LI_ARORA_VARIANTS
    claims = [
        {"claim": "BN (affine=False, ε = 0) makes a weight scale-invariant: L(cW) = L(W), "
                  "c∇L(cW) = ∇L(W), ⟨∇L, W⟩ = 0",
         "experiment": "scale W₁ by c ∈ [1e-3, 10], one batch per seed",
         "measured": f"largest relative change {exact:.1e}; largest |cos(∇L, W)| {orthogonal:.1e}",
         "verdict": verdict(exact < 1e-12 and orthogonal < 1e-12)},
        {"claim": "with ε > 0, scaling W₁ by c is dividing BN₁'s ε by c², so ε matters through "
                  "ε/(c²σ²)",
         "experiment": "L_ε(cW₁) against L(W₁) with ε/c²; gradient error vs ε/(c²σ²), ε = 1e-5",
         "measured": f"identity error {moved_eps:.1e}; gradient error ≤ {small:.1e} where "
                     f"ε/(c²σ²) < 1e-6, ≥ {large:.1e} where it is > 1e-2",
         "verdict": verdict(moved_eps < 1e-12 and large > 100 * small)},
        {"claim": "without weight decay ‖W_{t+1}‖² = ‖W_t‖² + η²‖g_t‖², so η/‖W‖² decays",
         "experiment": f"plain SGD η = {growth[0.0][0]['lr']}, "
                       f"{len(growth[0.0][0]['loss'])} steps, ε = 0",
         "measured": f"largest relative residual {identity:.1e}; effective lr fell in every "
                     f"layer and seed: {decays}",
         "verdict": verdict(identity < 1e-12 and decays)},
        {"claim": "Li & Arora: SGD with weight decay λ and SGD without it at lr "
                  "η(1 − ηλ)^(−2t−1) give the same directions (every weight invariant)",
         "experiment": f"η = {li_arora['lr']}, λ = {li_arora['weight_decay']}, "
                       f"{li_arora['steps']} steps, same batches",
         "measured": f"largest angle between the runs {angle[exact_name]:.1e} rad; "
                     + "; ".join(f"{name}: {angle[name]:.2g} rad" for name in broken),
         "verdict": verdict(angle[exact_name] < 1e-10)},
    ]
    for (lr, wd), pair in equilibrium["pairs"].items():
        final = pair["final_angle"].mean(axis=1)
        ratio = final / pair["target"]
        settled = [s for s in pair["settle_step"] if s is not None]
        claims.append({
            "claim": f"angular update settles at √(2ηλ) = {pair['sqrt_2_eta_lambda']:.4f} "
                     f"(η = {lr:g}, λ = {wd:g})",
            "experiment": f"mean angle over the last {equilibrium['last']} of "
                          f"{equilibrium['steps']} steps; 1/(ηλ) = {1 / (lr * wd):.0f} steps",
            "measured": f"angle / arccos(1 − ηλ) {ratio.min():.3f}..{ratio.max():.3f} over "
                        f"{len(ratio)} seeds; settled (within 10%) on {len(settled)}/{len(ratio)} "
                        "seeds" + (f", after {min(settled)}..{max(settled)} steps = "
                                   f"{min(settled) * lr * wd:.2g}..{max(settled) * lr * wd:.2g}"
                                   " × 1/(ηλ)" if settled else ""),
            "verdict": verdict(np.all(np.abs(ratio - 1) < tolerance))})
    claims.append(settling_claim(equilibrium))
    claims += practitioner_claims(practitioner, tolerance)
    return claims


def settling_claim(equilibrium, within=(0.2, 5.0)):
    """Time to equilibrium of order 1/(ηλ): settle step × ηλ inside `within` for every seed
    of every pair that settled; pairs that did not are named with their 1/(ηλ)."""
    times, unsettled = [], []
    for (lr, wd), pair in equilibrium["pairs"].items():
        steps = pair["settle_step"]
        if None in steps:
            unsettled.append(f"η {lr:g}, λ {wd:g}: {steps.count(None)}/{len(steps)} seeds not "
                             f"settled in {equilibrium['steps']} steps (1/(ηλ) = "
                             f"{1 / (lr * wd):.0f})")
        times += [s * lr * wd for s in steps if s is not None]
    measured = (f"settle step × ηλ {min(times):.2f}..{max(times):.2f} over {len(times)} settled "
                "runs" if times else "no run settled")
    return {"claim": "the angle settles after a time of order 1/(ηλ) steps",
            "experiment": "first step after which the 100-step mean angle stays within 10% of "
                          "arccos(1 − ηλ)",
            "measured": "; ".join([measured] + unsettled),
            "verdict": "held" if times and within[0] <= min(times) and max(times) <= within[1]
            else "did not hold"}


def practitioner_claims(practitioner, tolerance):
    """Weight decay keeps the effective lr up; pairs of equal ηλ alike at equilibrium."""
    def verdict(ok):
        return "held" if ok else "did not hold"
    settings = practitioner["settings"]
    (none, runs_none), (first, runs_a), (second, runs_b) = settings.items()
    def get(runs, key):
        return np.array([r[key] for r in runs])
    lift = get(runs_a, "final_effective_lr") / get(runs_none, "final_effective_lr")
    angles = get(runs_a, "final_angle") / get(runs_b, "final_angle")
    to_target = {s: get(settings[s], "final_angle") / equilibrium_angle(*s)
                 for s in (first, second)}
    test = {s: get(runs, "test_accuracy") for s, runs in settings.items()}
    def name(s):
        return f"η {s[0]:g}, λ {s[1]:g}"
    return [
        {"claim": "in a practitioner's BN MLP weight decay keeps the effective lr higher",
         "experiment": f"{name(first)} vs {name(none)}, {practitioner['steps']} steps, mean of "
                       "the last 500",
         "measured": f"ratio of η/‖W‖² (hidden layers) {lift.min():.2f}..{lift.max():.2f} over "
                     f"{len(lift)} seeds",
         "verdict": verdict(np.all(lift > 1))},
        {"claim": "η and λ act through ηλ: equal products turn the weights by the same angle",
         "experiment": f"{name(first)} vs {name(second)} (ηλ = {first[0] * first[1]:g})",
         "measured": f"angle ratio {angles.min():.3f}..{angles.max():.3f} (angle / "
                     "arccos(1 − ηλ): " + ", ".join(f"{name(s)} {r.min():.3f}..{r.max():.3f}"
                                                    for s, r in to_target.items())
                     + "); test accuracy "
                     + ", ".join(f"{name(s)}: {np.median(t):.3f}" for s, t in test.items())
                     + " (median)",
         "verdict": verdict(np.all(np.abs(angles - 1) < tolerance))},
        {"claim": "weight decay improves test accuracy here",
         "experiment": f"{name(first)} vs {name(none)}, same seeds",
         "measured": f"differences {sigs(test[first] - test[none])}",
         "verdict": verdict(np.all(test[first] > test[none]))},
    ]
