"""What train_mlp.py and train_cnn.py share: arguments, data, the run, the checkpoint.

The two scripts differ only in the model they build, so everything else lives here.
"""
import argparse
import os
import time

import numpy as np

import minigrad
from minigrad import optim
from minigrad.allocator import reuse_freed_memory
from minigrad.data import CIFAR10, CIFARLike, DataLoader, Normalize
from minigrad.training import evaluate, fit


def parse_args(description, epochs, lr, n_train):
    """The shared command line; each script passes its own defaults."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--data-root", help="folder holding CIFAR-10 (cifar-10-batches-py/ or "
                        "cifar-10-python.tar.gz); without it, the synthetic cifar_like set")
    parser.add_argument("--bn", action=argparse.BooleanOptionalAction, default=True,
                        help="BatchNorm after every hidden layer (default: on)")
    parser.add_argument("--epochs", type=int, default=epochs)
    parser.add_argument("--lr", type=float, default=lr, help="SGD's learning rate")
    parser.add_argument("--seed", type=int, default=0, help="initialisation and batch order")
    parser.add_argument("--batch-size", type=int, default=128)
    parser.add_argument("--n-train", type=int, default=n_train,
                        help="training images (cifar_like: generated; CIFAR-10: the first ones)")
    parser.add_argument("--n-test", type=int, default=2000, help="test images")
    parser.add_argument("--checkpoint", help="where to save (default: checkpoints/<run>.npz)")
    parser.add_argument("--progress", action=argparse.BooleanOptionalAction, default=None,
                        help="progress bars (default: when the terminal shows them)")
    return parser.parse_args()


def load_data(args):
    """(train set, test set): cifar_like by default, the real CIFAR-10 with --data-root.

    Both are normalised per channel with the mean and std of (up to 5000) training images.
    """
    if args.data_root:
        train = CIFAR10(args.data_root, train=True)
        test = CIFAR10(args.data_root, train=False)
        for dataset, n in ((train, args.n_train), (test, args.n_test)):  # keep the first n
            dataset.data, dataset.targets = dataset.data[:n], dataset.targets[:n]
    else:  # fixed data seeds: --seed changes the model and batch order, not the task
        train = CIFARLike(args.n_train, seed=0)
        test = CIFARLike(args.n_test, seed=1)
    sample = train.images(np.arange(min(len(train), 5000)))  # float32 (B, 3, 32, 32)
    train.transform = test.transform = Normalize(sample.mean(axis=(0, 2, 3)),
                                                 sample.std(axis=(0, 2, 3)))
    return train, test


def run(name, build_model, args):
    """Train with SGD + momentum and a cosine schedule; print accuracies; save a checkpoint."""
    reuse_freed_memory()  # see minigrad/allocator.py: no page faults for each step's arrays
    minigrad.manual_seed(args.seed)
    train, test = load_data(args)
    model = build_model(args.bn)
    optimizer = optim.SGD(model.parameters(), lr=args.lr, momentum=0.9, weight_decay=5e-4)
    scheduler = optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=args.epochs)
    train_loader = DataLoader(train, batch_size=args.batch_size, shuffle=True)
    test_loader = DataLoader(test, batch_size=500)
    source = f"CIFAR-10 from {args.data_root}" if args.data_root else "cifar_like"
    print(f"{name} ({'with' if args.bn else 'without'} BatchNorm) on {source}: {len(train)} "
          f"training and {len(test)} test images, {args.epochs} epochs, lr {args.lr}, "
          f"seed {args.seed}")

    start, start_cpu = time.perf_counter(), time.process_time()
    history = fit(model, train_loader, minigrad.cross_entropy, optimizer, args.epochs,
                  val_loader=test_loader, scheduler=scheduler, progress=args.progress)
    wall, cpu = time.perf_counter() - start, time.process_time() - start_cpu
    _, train_accuracy = evaluate(model, DataLoader(train, batch_size=500), minigrad.cross_entropy)
    test_accuracy = history["val_accuracy"][-1] if history["val_accuracy"] else float("nan")
    print(f"final train accuracy {train_accuracy:.1%}, test accuracy {test_accuracy:.1%}")
    # CPU time too: on a shared machine wall time also counts other people's work.
    print(f"wall time {wall:.1f} s for {args.epochs} epochs ({wall / max(args.epochs, 1):.1f} s "
          f"per epoch incl. the test pass; CPU time {cpu:.1f} s)")

    path = args.checkpoint or os.path.join(
        "checkpoints", f"{name}_{'bn' if args.bn else 'nobn'}_seed{args.seed}.npz")
    os.makedirs(os.path.dirname(path) or ".", exist_ok=True)
    minigrad.save({"model": model.state_dict(), "optimizer": optimizer.state_dict(),
                   "scheduler": scheduler.state_dict(), "history": history, "args": vars(args)},
                  path)
    print(f"checkpoint saved to {path} (reload with minigrad.load)")
