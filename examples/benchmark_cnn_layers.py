"""Where benchmark.py's CNN step spends its time: each op of it, forward + backward, against
PyTorch CPU.

    env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE python examples/benchmark_cnn_layers.py [--repeats 20]

The ops are those of the step (3 × Conv3×3 → BatchNorm2d → ReLU → MaxPool2d(2), batch 128),
each timed alone on inputs of the sizes and memory layouts it meets there: minigrad's
activations and their gradients are channels-last from the first convolution on (see
minigrad/ops/conv.py), PyTorch's are NCHW, its default. The first convolution needs no input
gradient. Timing as in benchmark.py: interleaved calls, each after --warm-for seconds of
untimed ones, medians; the sum of a column is close to, not equal to, a whole step's time.
"""
import argparse

import numpy as np

import minigrad as mg
from minigrad.allocator import reuse_freed_memory
from minigrad.nn import functional as F

from benchmark import BATCH, CNN_CHANNELS
from benchmark_overhead import numpy_threads
from timing import header, interleaved_times, machine_info

try:
    import torch
except ImportError:
    torch = None


def channels_last(a):
    """The same (N, C, H, W) values laid out as (N, H, W, C), as minigrad's conv outputs are."""
    return np.ascontiguousarray(a.transpose(0, 2, 3, 1)).transpose(0, 3, 1, 2)


def minigrad_step(op, x, upstream, input_grad, *params):
    """op(x, *params) forward, then backward with `upstream`, in minigrad."""
    return backward_step(op, mg.tensor(x, requires_grad=input_grad),
                         [mg.tensor(p, requires_grad=True) for p in params], upstream)


def torch_step(op, x, upstream, input_grad, *params):
    """The same in PyTorch (NCHW contiguous inputs, its default)."""
    return backward_step(op, torch.from_numpy(np.ascontiguousarray(x)).requires_grad_(input_grad),
                         [torch.from_numpy(p).requires_grad_() for p in params],
                         torch.from_numpy(np.ascontiguousarray(upstream)))


def backward_step(op, x, params, upstream):
    """A step function: op(x, *params), then backward with `upstream`; gradients reset each call."""
    def step():
        x.grad = None
        for p in params:
            p.grad = None
        op(x, *params).backward(upstream)

    return step


def stage_ops(c_in, c_out, side, rng):
    """(name, minigrad op, torch op, input, output gradient shape, needs input grad, params)."""
    def conv(lib_conv):
        return lambda x, w, b: lib_conv(x, w, b, padding=1)

    def batch_norm(lib_batch_norm):
        return lambda x, w, b: lib_batch_norm(x, None, None, w, b, training=True)

    conv_x = rng.standard_normal((BATCH, c_in, side, side), dtype=np.float32)
    activation = rng.standard_normal((BATCH, c_out, side, side), dtype=np.float32)
    weight = rng.standard_normal((c_out, c_in, 3, 3), dtype=np.float32) / (9 * c_in) ** 0.5
    bias, gamma, beta = (rng.standard_normal(c_out, dtype=np.float32) for _ in range(3))
    torch_f = torch.nn.functional if torch is not None else None
    return [
        (f"Conv2d {c_in}->{c_out}", conv(F.conv2d), torch_f and conv(torch_f.conv2d),
         conv_x if c_in == CNN_CHANNELS[0] else channels_last(conv_x), activation.shape,
         c_in != CNN_CHANNELS[0], (weight, bias)),
        (f"BatchNorm2d {c_out}", batch_norm(F.batch_norm), torch_f and batch_norm(torch_f.batch_norm),
         channels_last(activation), activation.shape, True, (gamma, beta)),
        ("ReLU", F.relu, torch_f and torch_f.relu, channels_last(activation), activation.shape,
         True, ()),
        ("MaxPool2d(2)", lambda x: F.max_pool2d(x, 2), torch_f and (lambda x: torch_f.max_pool2d(x, 2)),
         channels_last(activation), (BATCH, c_out, side // 2, side // 2), True, ()),
    ]


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeats", type=int, default=20)
    parser.add_argument("--warm-for", type=float, default=0.1)
    args = parser.parse_args(argv)
    threads = numpy_threads()
    mg.set_num_threads(threads)
    if torch is not None:
        torch.set_num_threads(threads)
    reuse_freed_memory()
    print(header(machine_info(), threads, torch) + "\n")
    print(f"{'op':<20}{'input':<20}{'minigrad ms':>12}{'torch ms':>10}{'ratio':>7}")
    rng, totals, side = np.random.default_rng(0), np.zeros(2), 32
    for c_in, c_out in zip(CNN_CHANNELS, CNN_CHANNELS[1:]):
        for name, ours, theirs, x, out_shape, input_grad, params in stage_ops(c_in, c_out, side, rng):
            upstream = channels_last(rng.standard_normal(out_shape, dtype=np.float32))
            steps = [minigrad_step(ours, x, upstream, input_grad, *params)]
            if torch is not None:
                steps.append(torch_step(theirs, x, upstream, input_grad, *params))
            times = [t["wall"] for t in interleaved_times(steps, args.repeats, warm_for=args.warm_for)]
            totals[:len(times)] += times
            line = f"{name:<20}{str(x.shape):<20}{1e3 * times[0]:>12.2f}"
            if len(times) > 1:
                line += f"{1e3 * times[1]:>10.2f}{times[0] / times[1]:>7.2f}"
            print(line, flush=True)
        side //= 2
    line = f"{'sum':<40}{1e3 * totals[0]:>12.2f}"
    if torch is not None:
        line += f"{1e3 * totals[1]:>10.2f}{totals[0] / totals[1]:>7.2f}"
    print(line)


if __name__ == "__main__":
    main()
