"""Train a tiny two-layer MLP on two interleaved moons with nothing but the engine.

No layers, no optimizer: four Parameters, `@`, `relu`, `cross_entropy`, `backward()`, and a
plain SGD step under `no_grad()`. Prints the loss as it falls, the final accuracy, and a
gradient check (float64 finite differences) of the loss with respect to every parameter.

    python examples/train_tiny.py
"""
import numpy as np

import minigrad as mg
import minigrad.nn.functional as F
from minigrad.nn import Parameter


def two_moons(n, noise, rng):
    """n points on two interleaved half circles, labels 0 and 1, float32 features."""
    angle = rng.uniform(0, np.pi, n)
    label = rng.integers(0, 2, n)
    upper = np.stack([np.cos(angle), np.sin(angle)], axis=1)
    lower = np.stack([1 - np.cos(angle), 0.5 - np.sin(angle)], axis=1)
    points = np.where(label[:, None] == 0, upper, lower) + noise * rng.standard_normal((n, 2))
    return (points - points.mean(axis=0)).astype(np.float32), label.astype(np.int64)


def init_params(n_in, hidden, n_out):
    """Weights drawn with variance 2/fan_in before the ReLU and 1/fan_in after it; zero biases."""
    return [Parameter(mg.randn(n_in, hidden) * np.float32(np.sqrt(2 / n_in))),
            Parameter(mg.zeros(hidden)),
            Parameter(mg.randn(hidden, n_out) * np.float32(np.sqrt(1 / hidden))),
            Parameter(mg.zeros(n_out))]


def forward(x, w1, b1, w2, b2):
    """Logits of the two-layer MLP: relu(x W1 + b1) W2 + b2."""
    return (x @ w1 + b1).relu() @ w2 + b2


def main(steps=600, lr=0.2, hidden=32, seed=0):
    mg.manual_seed(seed)
    x_train, y_train = two_moons(512, 0.1, np.random.default_rng(seed))
    x = mg.tensor(x_train)
    params = init_params(2, hidden, 2)

    for step in range(steps + 1):
        loss = F.cross_entropy(forward(x, *params), y_train)
        for p in params:
            p.grad = None
        loss.backward()
        with mg.no_grad():
            for p in params:
                p.data -= lr * p.grad.data
        if step % 100 == 0:
            print(f"step {step:4d}  loss {loss.item():.4f}")

    with mg.no_grad():
        x_test, y_test = two_moons(512, 0.1, np.random.default_rng(seed + 1))
        predicted = forward(mg.tensor(x_test), *params).argmax(axis=1).numpy()
    print(f"test accuracy {np.mean(predicted == y_test):.3f} on {len(y_test)} fresh points")

    # The gradient check runs in float64 on a few points: finite differences need the precision.
    # It raises, naming the parameter and element, if backward and finite differences disagree.
    doubles = [mg.tensor(p.data.astype(np.float64), requires_grad=True) for p in params]
    few_x = mg.tensor(x_train[:16].astype(np.float64))
    mg.gradcheck(lambda *ps: F.cross_entropy(forward(few_x, *ps), y_train[:16]), doubles)
    print(f"gradcheck of the loss w.r.t. all {sum(p.numel() for p in params)} parameters "
          "(float64, central differences): passed")


if __name__ == "__main__":
    main()
