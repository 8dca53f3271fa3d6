"""Lesson 11: gradient descent at the edge of stability (Cohen, Kaur, Li, Kolter, Talwalkar 2021).

Lesson 02: on a quadratic, gradient descent with step η is stable iff η < 2/λ_max. Lesson 06
measured λ_max of a net's loss. Cohen et al. ([C21], §3, Figures 1-2) watch it *during*
full-batch gradient descent: it rises ("progressive sharpening") until it reaches 2/η and
then hovers there while the loss keeps falling, non-monotonically ("edge of stability").

1. Sharpness and loss along full-batch GD for several η, with and without BatchNorm.
2. What "at the edge" means step by step: the gradient's component along the top eigenvector.
3. Mini-batch SGD: where the sharpness settles for smaller batches ([C21] §5 / Appendix).
4. Santurkar et al.'s smoothness metrics (lesson 06) along the same trajectories, and the
   largest stable η at init, 2/λ_max(0), against the η each net trains fastest with.

The net: 3 hidden tanh layers of 64 units ([C21] use tanh MLPs too), PyTorch's default init,
on 500 samples of the 10-class teacher task; the loss is [C21]'s square loss on one-hot
targets, ½‖f(x) − y‖² averaged over the samples. Every run below is a function of keyword
arguments that builds its data and model from its seed.
"""
import numpy as np

import minigrad as mg
from minigrad import nn
from minigrad.analysis import hessian_top_eigenpair, landscape_along_gradient
from minigrad.analysis.weights import dot, loss_and_gradient, scratch_weights
from minigrad.data import make_teacher_classification

from . import is_quick, models, plotting
from .runs import Run, run_all

GALLERY = ("sharpness.png", ("Edge of stability (Cohen et al. 2021) at toy scale: under "
                            "full-batch gradient descent the top Hessian eigenvalue rises until it "
                            "reaches 2/η (dashed) and hovers there, with and without BatchNorm; "
                            "3 × 64 tanh MLP, square loss, bands over seeds."))
NETS = ("standard", "bn")
N_TRAIN, WIDTH, DEPTH = 500, 64, 3
STEP_FACTORS = (0.5, 1.0, 2.0, 3.0, 4.0)   # S18's probe steps, × η (as in lesson 06)


# --------------------------------------------------------------------------- data, net, loss


def teacher_task(n=N_TRAIN, seed=100):
    """The teacher task's first n samples: inputs (n, 20) and one-hot targets (n, 10)."""
    X, y = make_teacher_classification(n=n, seed=seed)
    return X, np.eye(10, dtype=np.float32)[y]


def square_loss(output, targets):
    """[C21]'s square loss ½‖f(x) − y‖², averaged over samples (5 × mse_loss for 10 classes)."""
    targets = mg.Tensor(np.asarray(targets, dtype=output.data.dtype))
    return 0.5 * output.shape[1] * nn.functional.mse_loss(output, targets)


def make_mlp(net, seed, width=WIDTH):
    """3 hidden tanh layers, with (`net` = "bn") or without BatchNorm before each tanh."""
    mg.manual_seed(seed)
    norm = nn.BatchNorm1d if net == "bn" else None
    return models.mlp(20, 10, width, DEPTH, norm=norm, activation=nn.Tanh, init="torch")


# --------------------------------------------------------------------------- the instrument


class Sharpness:
    """λ_max of the full-batch loss Hessian, measured again and again along one trajectory.

    The first measurement runs power iteration from a random start until it settles; each
    later one starts from the previous eigenvector, so a few products suffice while the
    weights move little between measurements.
    """

    def __init__(self, data, first_iters=100, iters=20, tol=1e-3):
        self.data, self.first_iters, self.iters, self.tol = data, first_iters, iters, tol
        self.vector = None

    def __call__(self, model):
        iters = self.first_iters if self.vector is None else self.iters
        eigenvalue, self.vector = hessian_top_eigenpair(model, square_loss, self.data, iters,
                                                        start=self.vector, tol=self.tol)
        return eigenvalue


def measurement_steps(steps, every, early=0, early_every=5):
    """Steps at which to measure: every `every`, and every `early_every` before `early`."""
    return sorted(set(range(0, steps + 1, every)) | set(range(0, early, early_every)))


def gd_step(model, optimizer, X, Y):
    """One step on (X, Y); returns the loss before it (nan, without stepping, if not finite)."""
    loss = square_loss(model(mg.Tensor(X)), Y)
    if not np.isfinite(loss.item()) or loss.item() > 1e6:
        return float("nan")
    optimizer.zero_grad()
    loss.backward()
    optimizer.step()
    return loss.item()


# --------------------------------------------------------------------------- the runs


def trajectory(net, lr, steps, every, seed, batch_size=None, early=0, smoothness=False,
               n=N_TRAIN, width=WIDTH):
    """Train with step size `lr` (full batch, or mini-batches of `batch_size`); measure the
    full-batch sharpness (and, with `smoothness`, S18's metrics along the full-batch gradient
    at probe steps STEP_FACTORS × lr) at `measurement_steps(steps, every, early)`.

    Returns per-step training loss `loss` (the full-batch loss for GD, the mini-batch loss for
    SGD), and at the measurement steps `step`, `sharpness`, `full_loss` and the metrics. A run
    whose loss becomes nan or inf stops; the rest is nan.
    """
    X, Y = teacher_task(n)
    model = make_mlp(net, seed, width)
    optimizer = mg.optim.SGD(model.parameters(), lr=lr)
    sharpness = Sharpness((X, Y))
    rng = np.random.default_rng(seed)
    order = iter(models.batches(n, batch_size or n, steps, rng))
    when = measurement_steps(steps, every, early)
    record = {key: np.full(len(when), np.nan) for key in
              ("sharpness", "full_loss", "beta_smoothness", "gradient_predictiveness",
               "loss_variation")}
    losses = np.full(steps, np.nan)
    measured = 0
    for step in range(steps + 1):
        if step == when[measured]:
            record["sharpness"][measured] = sharpness(model)
            if smoothness:
                probe = landscape_along_gradient(model, square_loss, (X, Y),
                                                 lr * np.array(STEP_FACTORS))
                for key in ("beta_smoothness", "gradient_predictiveness", "loss_variation"):
                    record[key][measured] = probe[key]
                record["full_loss"][measured] = probe["loss"]
            else:
                record["full_loss"][measured] = full_batch_loss(model, X, Y)
            measured += 1
        if step == steps:
            break
        index = next(order) if batch_size else slice(None)
        losses[step] = gd_step(model, optimizer, X[index], Y[index])
        if not np.isfinite(losses[step]):
            break
    return {"step": np.array(when), "loss": losses, **record,
            "config": {"net": net, "lr": lr, "steps": steps, "seed": seed,
                       "batch_size": batch_size or n}}


def full_batch_loss(model, X, Y):
    with mg.no_grad():
        return square_loss(model(mg.Tensor(X)), Y).item()


def edge_window(net, lr, seed, start, length, n=N_TRAIN, width=WIDTH):
    """Full-batch GD for `start` steps, then for `length` steps measure at every step the
    top eigenpair (λ_t, v_t) and the gradient's component along it, c_t = ⟨∇L(w_t), v_t⟩.

    On a quadratic, c_{t+1} = (1 − ηλ) c_t exactly (lesson 02): |1 − ηλ| > 1 diverges. The run
    returns c, λ and the loss so the lesson can compare c_{t+1}/c_t with 1 − ηλ_t.
    """
    X, Y = teacher_task(n)
    model = make_mlp(net, seed, width)
    optimizer = mg.optim.SGD(model.parameters(), lr=lr)
    sharpness = Sharpness((X, Y), iters=20, tol=1e-4)
    for step in range(start):
        if step % 50 == 0:
            sharpness(model)  # keeps the warm start close to the moving eigenvector
        gd_step(model, optimizer, X, Y)
    component, eigenvalue, loss = [], [], []
    for _ in range(length):
        eigenvalue.append(sharpness(model))
        # the gradient in float64, at the same weights as the eigenvector
        with scratch_weights(model, dtype=np.float64):
            _, gradient = loss_and_gradient(model, square_loss, (X, Y))
            component.append(dot(gradient, sharpness.vector))
        loss.append(gd_step(model, optimizer, X, Y))
    return {"step": np.arange(start, start + length), "component": np.array(component),
            "sharpness": np.array(eigenvalue), "loss": np.array(loss),
            "config": {"net": net, "lr": lr, "seed": seed, "start": start}}


# --------------------------------------------------------------------------- the experiments


def sharpness_study(lrs, seeds, steps, every, early=50):
    """Experiments 1 and 4: full-batch GD at every η in `lrs`, per net and seed, with S18's
    metrics along the way. {(net, lr): [trajectory per seed]}."""
    keys = [(net, lr) for net in NETS for lr in lrs]
    results = run_all([Run(trajectory, net=net, lr=lr, steps=steps, every=every, seed=seed,
                           early=early, smoothness=True) for net, lr in keys for seed in seeds],
                      desc="full-batch GD")
    return {key: results[k * len(seeds):(k + 1) * len(seeds)] for k, key in enumerate(keys)}


def sgd_study(lr, batch_sizes, seeds, steps, every):
    """Experiment 3: mini-batch SGD at one η, the plain net. {batch_size: [trajectory per seed]}."""
    results = run_all([Run(trajectory, net="standard", lr=lr, steps=steps, every=every, seed=seed,
                           batch_size=b) for b in batch_sizes for seed in seeds], desc="SGD")
    return {b: results[k * len(seeds):(k + 1) * len(seeds)] for k, b in enumerate(batch_sizes)}


def window_study(nets, lr, seeds, start, length):
    """Experiment 2: {net: [edge_window per seed]}, η = lr, measured at every step."""
    results = run_all([Run(edge_window, net=net, lr=lr, seed=seed, start=start, length=length)
                       for net in nets for seed in seeds], desc="step by step")
    return {net: results[k * len(seeds):(k + 1) * len(seeds)] for k, net in enumerate(nets)}


# --------------------------------------------------------------------------- reading the runs


def late(values, fraction=0.25):
    """The last `fraction` of a sequence (at least one value)."""
    values = np.asarray(values)
    return values[-max(1, round(len(values) * fraction)):]


def diverged(run):
    return not np.all(np.isfinite(run["loss"]))


def edge_reached_at(run, lr):
    """The first measurement step with λ ≥ 2/η (None if never)."""
    reached = np.nonzero(run["sharpness"] >= 2 / lr)[0]
    return int(run["step"][reached[0]]) if len(reached) else None


def describe(run, lr):
    """The numbers the lesson reads off one full-batch run.

    "late" is the last quarter of the measurements; a run is `at_edge` when it reached 2/η
    before that quarter began, so its late numbers are all taken at the edge.
    """
    if diverged(run):
        return {"diverged": True, "sharpness_at_init": float(run["sharpness"][0])}
    reached = edge_reached_at(run, lr)
    loss, steps = run["loss"], len(run["loss"])
    after = loss[reached:] if reached is not None else loss[steps // 2:]
    late_sharpness = np.median(late(run["sharpness"]))
    return {
        "diverged": False,
        "sharpness_at_init": float(run["sharpness"][0]),
        "sharpness_max": float(np.max(run["sharpness"])),
        "sharpness_late": float(late_sharpness),
        "late_over_edge": float(late_sharpness * lr / 2),
        "edge_reached_at_step": reached,
        "at_edge": reached is not None and reached <= 0.75 * steps,
        # non-monotone: the share of steps that raised the loss, from the edge on (or, never
        # at the edge, in the second half)
        "loss_rises": float(np.mean(np.diff(after) > 0)),
        "final_loss": float(np.mean(loss[-10:])),
        "loss_when_edge_reached": None if reached is None else float(loss[min(reached, steps - 1)]),
        "beta_at_init": float(run["beta_smoothness"][0]),
        "beta_late": float(np.median(late(run["beta_smoothness"]))),
        "beta_over_sharpness_late": float(np.median(late(run["beta_smoothness"] /
                                                         run["sharpness"]))),
    }


def sharpness_summary(study, seeds):
    """{net: {lr: [describe per seed]}} plus 2/λ_max(0) and the fastest η per seed."""
    per_run = {net: {lr: [describe(r, lr) for r in study[net, lr]]
                     for (n, lr) in study if n == net} for net in NETS}
    fastest = {}
    for net in NETS:
        rows = []
        for k, seed in enumerate(seeds):
            finals = {lr: d[k]["final_loss"] for lr, d in per_run[net].items()
                      if not d[k]["diverged"]}
            best = min(finals, key=finals.get)
            init = per_run[net][best][k]["sharpness_at_init"]
            rows.append({"seed": seed, "sharpness_at_init": init, "largest_stable_lr_at_init":
                         2 / init, "fastest_lr": best, "fastest_final_loss": finals[best],
                         "diverged_lrs": [lr for lr, d in per_run[net].items() if d[k]["diverged"]]})
        fastest[net] = rows
    return {"per_run": per_run, "fastest": fastest}


def catapult(study, net, lr, seeds, until=50):
    """Per seed: λ at init, the lowest λ measured in the first `until` steps, and the peak loss
    there (the catapult of Lewkowycz et al. 2020 is a sharpness that falls while the loss spikes)."""
    rows = []
    for k, seed in enumerate(seeds):
        run = study[net, lr][k]
        early = run["step"] <= until
        rows.append({"seed": seed, "lr": lr, "two_over_lr": 2 / lr,
                     "sharpness_at_init": float(run["sharpness"][0]),
                     "lowest_early_sharpness": float(np.min(run["sharpness"][early])),
                     "loss_at_init": float(run["full_loss"][0]),
                     "peak_early_loss": float(np.nanmax(run["loss"][:until]))})
    return rows


def window_summary(study, lr):
    """Per net and seed: how often c_t changed sign, and c_{t+1}/c_t against 1 − ηλ_t."""
    out = {}
    for net, runs in study.items():
        rows = []
        for r in runs:
            c, lam = r["component"], r["sharpness"]
            ratio = c[1:] / c[:-1]
            rows.append({"seed": r["config"]["seed"], "sign_flips": float(np.mean(ratio < 0)),
                         "median_ratio": float(np.median(ratio)),
                         "median_one_minus_lr_sharpness": float(np.median(1 - lr * lam[:-1])),
                         "sharpness_over_edge": float(np.median(lam) * lr / 2),
                         "component_spread": float(np.abs(c).max() / np.abs(c).min()),
                         "loss_rises": float(np.mean(np.diff(r["loss"]) > 0))})
        out[net] = rows
    return out


def sgd_summary(study, lr):
    """Per batch size and seed: the median full-batch sharpness over the last quarter / (2/η)."""
    return {b: [{"seed": r["config"]["seed"], "sharpness_late": float(np.median(late(r["sharpness"]))),
                 "late_over_edge": float(np.median(late(r["sharpness"])) * lr / 2),
                 "final_full_loss": float(r["full_loss"][-1])} for r in runs]
            for b, runs in study.items()}


# --------------------------------------------------------------------------- the claims


def span(values, digits=2):
    """'a-b' (or 'a') for a list of numbers, rounded: how the claims table quotes a range."""
    low, high = round(float(np.min(values)), digits), round(float(np.max(values)), digits)
    return f"{low:g}" if low == high else f"{low:g}-{high:g}"


def claims(sharp, window, sgd, lr_sgd, lr_window):
    """Each claim with the measurement, its numbers and the verdict at this scale."""
    runs = [(net, lr, d) for net in NETS for lr, ds in sharp["per_run"][net].items() for d in ds
            if not d["diverged"]]
    below = [(net, lr, d) for net, lr, d in runs if d["sharpness_at_init"] < 2 / lr]
    rise = [d["sharpness_max"] / d["sharpness_at_init"] for _, _, d in below]
    at_edge = [(net, lr, d) for net, lr, d in runs if d["at_edge"]]
    sharpening = [(net, lr, d) for net, lr, d in runs if d["edge_reached_at_step"] is None]
    arrived_late = len(runs) - len(at_edge) - len(sharpening)
    ratio = [d["late_over_edge"] for _, _, d in at_edge]
    edge_rises = [d["loss_rises"] for _, _, d in at_edge]
    edge_falls = [d["final_loss"] / d["loss_when_edge_reached"] for _, _, d in at_edge]
    calm_rises = [d["loss_rises"] for _, _, d in sharpening]
    flips = [r["sign_flips"] for rows in window.values() for r in rows]
    ratios = [r["median_ratio"] for rows in window.values() for r in rows]
    predicted = [r["median_one_minus_lr_sharpness"] for rows in window.values() for r in rows]
    batches = sorted(sgd)
    sgd_late = np.array([[row["late_over_edge"] for row in sgd[b]] for b in batches])
    ordered = bool(np.all(np.diff(sgd_late, axis=0) > 0))
    init = {net: [row["sharpness_at_init"] for row in sharp["fastest"][net]] for net in NETS}
    fastest = {net: [(row["fastest_lr"], row["largest_stable_lr_at_init"])
                     for row in sharp["fastest"][net]] for net in NETS}
    above = {net: sum(best > stable for best, stable in pairs) for net, pairs in fastest.items()}
    beta = [d["beta_over_sharpness_late"] for _, _, d in at_edge]
    calm_beta = [d["beta_over_sharpness_late"] for _, _, d in sharpening]
    matched = [(sharp["per_run"]["bn"][lr][k]["final_loss"], d["final_loss"])
               for lr, ds in sharp["per_run"]["standard"].items() for k, d in enumerate(ds)
               if not d["diverged"] and not sharp["per_run"]["bn"][lr][k]["diverged"]]
    seeds = len(sharp["fastest"]["bn"])

    def verdict(held):
        return "held" if held else "did not hold"

    return [
        {"claim": "progressive sharpening: started below 2/η, λ_max rises",
         "measured": f"max λ / λ(0) = {span(rise)} over the {len(rise)} runs started below 2/η",
         "verdict": verdict(len(rise) > 0 and min(rise) > 1.2)},
        {"claim": "edge of stability: once λ_max reaches 2/η it hovers there",
         "measured": f"{len(at_edge)} runs at 2/η for the last quarter: its median λ / (2/η) = "
                     f"{span(ratio)} ({len(sharpening)} runs never reached 2/η, {arrived_late} "
                     "reached it later)",
         "verdict": verdict(len(ratio) > 0 and 0.8 <= min(ratio) and max(ratio) <= 1.25)},
        {"claim": "at the edge the loss keeps falling, non-monotonically",
         "measured": f"at the edge: {span(edge_rises)} of steps raise the loss, final / loss at "
                     f"arrival = {span(edge_falls)}; still sharpening ({len(sharpening)} runs): "
                     f"{span(calm_rises) if calm_rises else 'none'} of steps raise it",
         "verdict": verdict(len(at_edge) > 0 and min(edge_rises) > 0.05 and max(edge_falls) < 1
                            and (not calm_rises or max(calm_rises) < min(edge_rises)))},
        {"claim": "at the edge the gradient's component along the top eigenvector flips sign "
                  "every step without growing (lesson 02's factor 1 − ηλ ≈ −1)",
         "measured": f"η = {lr_window}: sign flips in {span(flips)} of steps; median c(t+1)/c(t) = "
                     f"{span(ratios)} vs 1 − ηλ = {span(predicted)}",
         "verdict": verdict(min(flips) >= 0.9 and max(ratios) < -0.5)},
        {"claim": "with mini-batches the sharpness ends below 2/η, the lower the smaller the batch",
         "measured": f"η = {lr_sgd}: late λ / (2/η) for batch " + ", ".join(
             f"{b}: {span(row)}" for b, row in zip(batches, sgd_late)),
         "verdict": verdict(ordered and sgd_late[:-1].max() < 1)},
        {"claim": "BN makes the landscape flatter at init (smaller λ_max) [S18]",
         "measured": f"λ(0): standard {span(init['standard'])}, BN {span(init['bn'])}",
         "verdict": verdict(max(init["bn"]) < min(init["standard"]))},
        {"claim": "a net can train fastest above its initial stable step 2/λ_max(0) (its sharpness "
                  "falls early)",
         "measured": "; ".join(f"{net}: fastest η {span([p[0] for p in fastest[net]])} vs "
                               f"2/λ(0) = {span([p[1] for p in fastest[net]])}, above on "
                               f"{above[net]}/{seeds} seeds" for net in NETS),
         "verdict": verdict(any(count == seeds for count in above.values()))},
        {"claim": "at the edge S18's β-smoothness along the gradient is set by η: β_eff ≈ λ_max "
                  "≈ 2/η, with or without BN",
         "measured": f"late β_eff / λ_max = {span(beta)} over the {len(at_edge)} runs at the edge; "
                     f"{span(calm_beta, 3) if calm_beta else 'none'} in the runs still sharpening",
         "verdict": verdict(len(beta) > 0 and min(beta) > 0.7 and max(beta) <= 1.05)},
        {"claim": "at the same η, BN reaches a lower training loss",
         "measured": f"BN / standard final loss = {span([b / s for b, s in matched])} over "
                     f"{len(matched)} (η, seed) pairs",
         "verdict": verdict(all(b < s for b, s in matched))},
    ]


# --------------------------------------------------------------------------- plots


def plain_numbers(axis):
    """Ticks of a log axis at 1, 2, 5 × 10^k, labelled as plain numbers (5, 10, 20)."""
    from matplotlib.ticker import FuncFormatter, LogLocator, NullFormatter

    axis.set_major_locator(LogLocator(subs=(1.0, 2.0, 5.0)))
    axis.set_major_formatter(FuncFormatter(lambda value, _: f"{value:g}"))
    axis.set_minor_formatter(NullFormatter())


def sequential_colors(keys, cmap="viridis"):
    """One colour per key (η or batch size), dark to light, as hex strings."""
    from matplotlib.colors import to_hex

    colors = plotting.plt.get_cmap(cmap)(np.linspace(0, 0.85, len(keys)))
    return {key: to_hex(color) for key, color in zip(keys, colors)}


def plot_sharpness(study, lrs):
    """Per net: λ_max against the step with 2/η dashed (left), the full-batch loss (right)."""
    fig, axes = plotting.figure(2, 2, width=4.6, height=3.3)
    colors = sequential_colors(lrs)
    for row, net in enumerate(NETS):
        sharp_ax, loss_ax = axes[2 * row], axes[2 * row + 1]
        for lr in lrs:
            runs = [r for r in study[net, lr] if not diverged(r)]
            if not runs:
                continue
            plotting.band(sharp_ax, runs[0]["step"], [r["sharpness"] for r in runs],
                          label=f"η = {lr:g}", color=colors[lr])
            sharp_ax.axhline(2 / lr, color=colors[lr], ls="--", lw=1)
            steps = np.arange(len(runs[0]["loss"]))
            plotting.band(loss_ax, steps, [r["loss"] for r in runs], label=f"η = {lr:g}",
                          color=colors[lr])
        sharp_ax.set(yscale="log", xlabel="step", ylabel="λ_max (full batch)",
                     title=f"{plotting.LABELS[net]}: sharpness (dashed: 2/η)")
        loss_ax.set(yscale="log", xlabel="step", ylabel="training loss",
                    title=f"{plotting.LABELS[net]}: full-batch loss")
        plain_numbers(sharp_ax.yaxis)
    axes[0].legend(fontsize=8)
    return fig


def plot_window(study, lr):
    """c_t = ⟨∇L, v⟩ step by step at the edge, against lesson 02's quadratic at ηλ = 1.9, 2.1."""
    fig, axes = plotting.figure(3, width=4.2, height=3.3)
    first = next(iter(study.values()))[0]
    c0 = first["component"][0]
    steps = np.arange(len(first["component"]))
    for net, runs in study.items():
        for k, r in enumerate(runs):
            label = plotting.LABELS[net] if k == 0 else None
            axes[0].plot(r["step"], r["component"], "o-", ms=2.5, lw=0.8, label=label,
                         color=plotting.COLORS[net], alpha=0.8)
            axes[1].plot(r["step"][:-1], r["component"][1:] / r["component"][:-1], ".",
                         color=plotting.COLORS[net], label=label)
            axes[1].plot(r["step"][:-1], 1 - lr * r["sharpness"][:-1], "-", lw=0.8,
                         color=plotting.COLORS[net])
    for product, style in ((1.9, ":"), (2.1, "--")):
        axes[2].plot(steps, c0 * (1 - product) ** steps, style, marker="o", ms=2.5, lw=0.8,
                     color=plotting.COLORS["theory"], label=f"quadratic, ηλ = {product}")
    axes[2].plot(steps, first["component"], "o-", ms=2.5, lw=0.8,
                 color=plotting.COLORS[first["config"]["net"]], label="the net (first seed)")
    axes[0].set(xlabel="step", ylabel="⟨∇L, v⟩", title=f"gradient along the top eigenvector, η = {lr:g}")
    axes[1].set(xlabel="step", ylabel="c(t+1) / c(t)", ylim=(-3, 1),
                title="measured ratio (dots) vs 1 − ηλ(t) (lines)")
    axes[2].set(xlabel="steps into the window", ylabel="⟨∇L, v⟩",
                title="lesson 02's bowl: 1 − ηλ per step")
    for ax in axes:
        ax.legend(fontsize=8)
    return fig


def plot_sgd(study, lr):
    """Full-batch λ_max along SGD for each batch size, 2/η dashed; the full-batch loss."""
    fig, (ax, loss_ax) = plotting.figure(2, width=4.6, height=3.4)
    batch_sizes = sorted(study)
    colors = sequential_colors(batch_sizes, "plasma")
    for b in batch_sizes:
        runs = study[b]
        plotting.band(ax, runs[0]["step"], [r["sharpness"] for r in runs], label=f"batch {b}",
                      color=colors[b])
        plotting.band(loss_ax, runs[0]["step"], [r["full_loss"] for r in runs],
                      label=f"batch {b}", color=colors[b])
    ax.axhline(2 / lr, color=plotting.COLORS["theory"], ls="--", lw=1, label=f"2/η = {2 / lr:g}")
    ax.set(xlabel="step", ylabel="λ_max (full batch)", title=f"SGD, η = {lr:g}: sharpness")
    loss_ax.set(xlabel="step", ylabel="full-batch loss", yscale="log", title="training loss")
    ax.legend(fontsize=8)
    return fig


def plot_smoothness(study, lrs):
    """Per η: λ_max (solid) and S18's β_eff along the gradient (dotted), both nets, 2/η dashed."""
    fig, axes = plotting.figure(len(lrs), width=4.0, height=3.3)
    for ax, lr in zip(axes, lrs):
        for net in NETS:
            runs = [r for r in study[net, lr] if not diverged(r)]
            if not runs:
                continue
            plotting.band(ax, runs[0]["step"], [r["sharpness"] for r in runs], net,
                          label=f"{plotting.LABELS[net]} λ_max")
            median = np.median([r["beta_smoothness"] for r in runs], axis=0)
            ax.plot(runs[0]["step"], median, ":", color=plotting.COLORS[net], lw=1.6,
                    label=f"{plotting.LABELS[net]} β_eff")
        ax.axhline(2 / lr, color=plotting.COLORS["theory"], ls="--", lw=1)
        ax.set(yscale="log", xlabel="step", title=f"η = {lr:g} (dashed: 2/η)")
        plain_numbers(ax.yaxis)
    axes[0].legend(fontsize=8)
    return fig


def plot_fastest(study, summary, lrs, catapult_lr, until=100):
    """Left: final loss against η, 2/λ(0) per net dotted. Right: the BN net's first steps at an η
    above its 2/λ(0): sharpness and loss."""
    fig, (ax, early_ax) = plotting.figure(2, width=4.6, height=3.4)
    for net in NETS:
        finals = np.array([[np.mean(r["loss"][-10:]) if not diverged(r) else np.nan
                            for r in study[net, lr]] for lr in lrs]).T
        for k, row in enumerate(finals):
            ax.plot(lrs, row, "o-", color=plotting.COLORS[net], alpha=0.7, ms=3,
                    label=plotting.LABELS[net] if k == 0 else None)
        edge = np.median([r["largest_stable_lr_at_init"] for r in summary["fastest"][net]])
        ax.axvline(edge, color=plotting.COLORS[net], ls=":", lw=1.2,
                   label=f"2/λ(0), {plotting.LABELS[net]}")
    ax.set(xscale="log", yscale="log", xlabel="η", ylabel="final training loss",
           title="final loss per η (missing: diverged)")
    ax.set_xticks(lrs, [f"{lr:g}" for lr in lrs])
    ax.xaxis.set_minor_formatter(plotting.plt.NullFormatter())
    ax.legend(fontsize=8)
    twin = early_ax.twinx()
    for r in study["bn", catapult_lr]:
        shown = r["step"] <= until
        early_ax.plot(r["step"][shown], r["sharpness"][shown], "o-", ms=2.5, lw=1,
                      color=plotting.COLORS["bn"])
        twin.plot(np.arange(until), r["loss"][:until], color="grey", lw=0.8)
    early_ax.axhline(2 / catapult_lr, color=plotting.COLORS["theory"], ls="--", lw=1)
    early_ax.set(xlabel="step", ylabel="λ_max (orange)",
                 title=f"BatchNorm, η = {catapult_lr:g}: the first {until} steps")
    twin.set_ylabel("training loss (grey)")
    twin.grid(False)
    return fig


# --------------------------------------------------------------------------- the lesson


def sizes(quick, seed=0):
    """Seeds, η grids and step counts for full or quick mode (same code path)."""
    def seeds(k):
        return [seed + i for i in range(k)]

    if quick:
        return {"lrs": (0.1, 0.4), "seeds": seeds(1), "steps": 150, "every": 25,
                "sgd_lr": 0.4, "batch_sizes": (25, 500), "sgd_seeds": seeds(1),
                "window_nets": ("bn",), "window_lr": 0.4, "window_start": 60,
                "window_length": 10, "window_seeds": seeds(1), "catapult_lr": 0.4}
    return {"lrs": (0.05, 0.1, 0.2, 0.4, 0.8, 1.6), "seeds": seeds(3), "steps": 1200,
            "every": 50, "sgd_lr": 0.2, "batch_sizes": (25, 100, 500), "sgd_seeds": seeds(3),
            "window_nets": NETS, "window_lr": 0.4, "window_start": 1000, "window_length": 30,
            "window_seeds": seeds(2), "catapult_lr": 0.4}


REGIME = ("3 hidden tanh layers of 64 units (PyTorch's default init), with or without BatchNorm "
          "before each tanh; 500 samples of the 10-class teacher task (20 inputs); square loss "
          "½‖f(x) − y‖² on one-hot targets, averaged over samples; plain gradient descent on the "
          "full batch (SGD in experiment 3); λ_max of the full-batch Hessian by power iteration "
          "on float64 finite-difference Hessian-vector products, warm-started from the previous "
          "eigenvector (at most 20 products, stop at 1e-3 relative change; 100 at init)")


def run(out_dir, quick=False, seed=0):
    """The four experiments and their figures; returns the claims table and per-seed numbers."""
    n = sizes(is_quick(quick), seed)
    sharp = sharpness_study(n["lrs"], n["seeds"], n["steps"], n["every"])
    summary = sharpness_summary(sharp, n["seeds"])
    shown = [lr for lr in n["lrs"] if any(not diverged(r) for r in sharp["standard", lr])]
    plotting.save(plot_sharpness(sharp, shown), out_dir, "sharpness.png")
    window = window_study(n["window_nets"], n["window_lr"], n["window_seeds"], n["window_start"],
                          n["window_length"])
    plotting.save(plot_window(window, n["window_lr"]), out_dir, "step_by_step.png")
    sgd = sgd_study(n["sgd_lr"], n["batch_sizes"], n["sgd_seeds"], n["steps"], n["every"])
    plotting.save(plot_sgd(sgd, n["sgd_lr"]), out_dir, "sgd.png")
    plotting.save(plot_smoothness(sharp, [lr for lr in (0.2, 0.4) if lr in n["lrs"]] or
                                  n["lrs"][-2:]), out_dir, "smoothness.png")
    plotting.save(plot_fastest(sharp, summary, n["lrs"], n["catapult_lr"]), out_dir,
                  "fastest_lr.png")
    windows = window_summary(window, n["window_lr"])
    sgds = sgd_summary(sgd, n["sgd_lr"])
    return {"regime": REGIME, "sizes": n,
            "claims": claims(summary, windows, sgds, n["sgd_lr"], n["window_lr"]),
            "full_batch_per_seed": summary["per_run"], "fastest_lr_per_seed": summary["fastest"],
            "catapult_per_seed": catapult(sharp, "bn", n["catapult_lr"], n["seeds"]),
            "step_by_step_per_seed": windows, "sgd_per_seed": sgds}
