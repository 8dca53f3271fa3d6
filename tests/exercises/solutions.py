"""Correct solutions of the exercise notebooks (lessons/exercises/), kept out of the notebooks.

Each is named as the stub it replaces: tests/exercises/test_notebooks.py swaps every stub
cell for the source of the same-named function or class here and runs the notebook.
The notebooks have already imported numpy as np and minigrad as mg.
"""
import numpy as np

import minigrad as mg


def batch_norm_backward_staged(dy, x, gamma, eps):
    m = x.shape[0]
    mean = x.mean(axis=0)
    centred = x - mean
    var = (centred ** 2).mean(axis=0)
    std = np.sqrt(var + eps)
    x_hat = centred / std
    dx_hat = dy * gamma
    dvar = np.sum(dx_hat * centred, axis=0) * -0.5 * (var + eps) ** -1.5
    dmean = -np.sum(dx_hat, axis=0) / std + dvar * np.sum(-2 * centred, axis=0) / m
    dx = dx_hat / std + dvar * 2 * centred / m + dmean / m
    dgamma = np.sum(dy * x_hat, axis=0)
    dbeta = np.sum(dy, axis=0)
    return dx, dgamma, dbeta


def batch_norm_backward_compact(dy, x, gamma, eps):
    std = np.sqrt(x.var(axis=0) + eps)
    x_hat = (x - x.mean(axis=0)) / std
    dx_hat = dy * gamma
    dx = (dx_hat - dx_hat.mean(axis=0) - x_hat * (dx_hat * x_hat).mean(axis=0)) / std
    return dx, np.sum(dy * x_hat, axis=0), np.sum(dy, axis=0)


class SoftmaxCrossEntropy(mg.Function):
    def forward(ctx, logits, target):
        shifted = logits - logits.max(axis=1, keepdims=True)
        log_probs = shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))
        ctx.save(np.exp(log_probs), target)
        return -log_probs[np.arange(len(target)), target].mean()

    def backward(ctx, grad):
        probs, target = ctx.saved
        dlogits = probs.copy()
        dlogits[np.arange(len(target)), target] -= 1
        return dlogits * (grad / len(target)), None


class MyLayerNorm(mg.Function):
    def forward(ctx, x, gamma, beta, eps=1e-5):
        mean = x.mean(axis=1, keepdims=True)
        std = np.sqrt(x.var(axis=1, keepdims=True) + eps)
        x_hat = (x - mean) / std
        ctx.save(x_hat, std, gamma)
        return gamma * x_hat + beta

    def backward(ctx, dy):
        x_hat, std, gamma = ctx.saved
        dx_hat = dy * gamma
        dx = (dx_hat - dx_hat.mean(axis=1, keepdims=True)
              - x_hat * (dx_hat * x_hat).mean(axis=1, keepdims=True)) / std
        return dx, np.sum(dy * x_hat, axis=0), np.sum(dy, axis=0)
