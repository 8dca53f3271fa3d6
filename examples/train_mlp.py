"""Train an MLP on CIFAR-like images (or the real CIFAR-10), with or without BatchNorm.

    python examples/train_mlp.py                 # cifar_like, BatchNorm on
    python examples/train_mlp.py --no-bn --lr 0.01
    python examples/train_mlp.py --data-root ~/data --n-train 50000 --epochs 20

An MLP sees an image as 3072 unrelated numbers, so it cannot reuse what it learns at one
position at another; compare its test accuracy with train_cnn.py's on the same data.

Measured with the defaults (cifar_like, 10 epochs, seed 0, one BLAS thread; ~25 s of CPU time):
with BatchNorm 84% train / 57% test accuracy, without 73% / 51%. It overfits: 10,000 images
are few for 1.7M weights.
"""
from minigrad import nn

from common import parse_args, run


def build_mlp(bn, widths=(3 * 32 * 32, 512, 256), num_classes=10):
    """Flatten, then per hidden layer Linear -> [BatchNorm1d] -> ReLU, then a Linear classifier."""
    layers = [nn.Flatten()]
    for fan_in, fan_out in zip(widths, widths[1:]):
        layers += [nn.Linear(fan_in, fan_out)] + ([nn.BatchNorm1d(fan_out)] if bn else [])
        layers.append(nn.ReLU())
    layers.append(nn.Linear(widths[-1], num_classes))
    return nn.Sequential(*layers)


if __name__ == "__main__":
    run("mlp", build_mlp, parse_args(__doc__.splitlines()[0], epochs=10, lr=0.05, n_train=10000))
