"""Seconds per epoch of training the paper's deep net on FER2013 with the Solver, on the CPU or the GPU.

    python benchmarks/bench_epoch.py [--device cpu|gpu] [--data PATH] [--epochs 2] [--batch 128] [--net deep]
                                     [--subset N] [--val-subset N]

An epoch is what Solver.train runs for each epoch: a shuffled pass over the Training split in minibatches of 128
(forward, backward, Adam on every parameter, random left-right flips), then the train accuracy on 1000 random training
images and the validation accuracy on all of PublicTest. The data set is read, and copied to the device, before the
clock starts. The first epoch also pays for one-time costs (CUDA kernels compiling, cuBLAS starting, the memory pools
filling), so the epochs after it give the steady rate. images/s is the epoch's training images over its seconds.

The data comes from --data, else $MINICNN_DATA, else data/fer2013.csv; any form minicnn.data reads will do, the
Training + PublicTest file fer2013_train_public.npz.xz included. The learning rate is Adam's 1e-3, which trains
either net without diverging: this measures speed, not the paper's recipe.
"""
import argparse
import statistics
import sys
import time


from common import add_device_argument, check_device, command_line, machine_description, markdown_table, synchronize
from minicnn import data
from minicnn.models import deep_net, shallow_net
from minicnn.preprocessing import random_flip
from minicnn.solver import Solver, TrainingDiverged

NETS = {"deep": deep_net, "shallow": shallow_net}
LEARNING_RATE = 1e-3


class EpochClock:
    """An on_epoch_end callback that notes the wall-clock seconds of every epoch, the GPU's queued work included."""

    def __init__(self):
        self.seconds, self.val_acc = [], []
        self._last = None

    def start(self):
        synchronize()
        self._last = time.perf_counter()

    def __call__(self, solver):
        synchronize()
        now = time.perf_counter()
        self.seconds.append(now - self._last)
        self.val_acc.append(solver.val_acc_history[-1])
        self._last = now


def load_data(arguments):
    """The Training split (or its first --subset images) and PublicTest (or its first --val-subset images)."""
    splits = data.load_splits(data.find_data_path(arguments.data), subset=arguments.subset)
    val = slice(None, arguments.val_subset)
    return {"X_train": splits["X_train"], "y_train": splits["y_train"],
            "X_val": splits["X_val"][val], "y_val": splits["y_val"][val]}


def parse_arguments():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data", help="a FER2013 file or folder (default: $MINICNN_DATA, else data/fer2013.csv)")
    parser.add_argument("--net", choices=list(NETS), default="deep", help="default: %(default)s")
    parser.add_argument("--epochs", type=int, default=2, help="epochs to time, the first one included (default 2)")
    parser.add_argument("--batch", type=int, default=128, help="images per training step (default 128)")
    parser.add_argument("--subset", type=int, help="train on the first N Training images only (quick tries)")
    parser.add_argument("--val-subset", type=int, help="validate on the first N PublicTest images only")
    add_device_argument(parser)
    arguments = parser.parse_args()
    if arguments.epochs < 1 or arguments.batch < 1:
        parser.error("--epochs and --batch must be at least 1")
    check_device(parser, arguments.device)
    return arguments


def main():
    arguments = parse_arguments()
    started = time.perf_counter()
    try:
        splits = load_data(arguments)
    except data.DataNotFoundError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    load_seconds = time.perf_counter() - started
    model, clock = NETS[arguments.net](seed=0), EpochClock()
    started = time.perf_counter()
    solver = Solver(model, splits, update_rule="adam",
                    optim_config={"learning_rate": LEARNING_RATE}, batch_size=arguments.batch,
                    num_epochs=arguments.epochs, augment=random_flip, device=arguments.device, seed=0, verbose=False,
                    progress=False, on_epoch_end=clock)
    synchronize()
    copy_seconds = time.perf_counter() - started
    clock.start()
    try:
        solver.train()
    except TrainingDiverged as error:
        print(f"error: {error}", file=sys.stderr)
        return 1

    count = len(splits["y_train"])
    rows = [[str(epoch), f"{seconds:.2f}", f"{count / seconds:.1f}", f"{val_acc:.3f}"]
            for epoch, (seconds, val_acc) in enumerate(zip(clock.seconds, clock.val_acc), start=1)]
    steady = statistics.median(clock.seconds[1:] or clock.seconds)
    print(f"## One training epoch of the {arguments.net} net on FER2013, {arguments.device.upper()}\n")
    print(f"{count} training images in minibatches of {arguments.batch} (Adam, random flips), then the accuracy on "
          f"{min(count, solver.num_train_samples)} training and {len(splits['y_val'])} PublicTest images, as "
          "Solver.train runs an epoch. Reading the "
          f"data took {load_seconds:.1f} s and moving it and the model to the device {copy_seconds:.1f} s, both "
          "before the clock started; epoch 1 includes the one-time start-up costs.")
    print(f"\nMachine: {machine_description(None, arguments.device)}  ")
    print(f"Command: `{command_line()}`\n")
    print(markdown_table(["epoch", "seconds", "images/s", "val acc"], rows))
    which = "median of epochs 2 on" if len(clock.seconds) > 1 else "epoch 1"
    print(f"\nSteady epoch ({which}): {steady:.2f} s per epoch, {count / steady:.1f} images/s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
