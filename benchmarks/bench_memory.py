"""Peak memory of minicnn training steps: the most resident memory (max RSS) a process reaches while it trains.

    python benchmarks/bench_memory.py [--nets shallow deep] [--batch 128] [--steps 3]

Each net runs in a fresh Python process of its own, so that one net's arrays (and the allocator's free lists they
leave) cannot raise the other's peak. The child builds the net, a Solver with Adam and one random float32 batch,
notes its resident memory, runs the steps, and reports its peak (the kernel's ru_maxrss). "before" is the memory of
the interpreter, the libraries, the model and the batch; "peak - before" is what the training steps themselves
needed on top: activations, caches, gradients, Adam's moments, temporaries. Timing does not matter here, so this
can run beside other jobs.
"""
import argparse
import json
import resource
import subprocess
import sys

import numpy as np

from common import command_line, machine_description, markdown_table

NETS = ("shallow", "deep")
MEGABYTE = 2 ** 20


def resident_bytes():
    """The process's resident memory now, from /proc/self/statm (pages)."""
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * resource.getpagesize()


def peak_resident_bytes():
    """The most resident memory the process has held so far (Linux reports ru_maxrss in kilobytes)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


def run_child(net, batch, steps):
    """The child's work: print one JSON line with the resident memory before the steps and the peak."""
    from bench_train import NETS as MAKE_NET, minicnn_step
    model = MAKE_NET[net](seed=0)
    rng = np.random.default_rng(0)
    images = rng.standard_normal((batch, *model.architecture.input_dim), dtype=np.float32)
    labels = rng.integers(0, model.architecture.num_classes, batch)
    step = minicnn_step(model, images, labels)
    before = resident_bytes()
    for _ in range(steps):
        step()
    print(json.dumps({"before": before, "peak": peak_resident_bytes()}))


def measure_in_child(net, batch, steps):
    """Run run_child in a fresh interpreter; returns its {'before', 'peak'} in bytes."""
    command = [sys.executable, __file__, "--child", net, "--batch", str(batch), "--steps", str(steps)]
    result = subprocess.run(command, capture_output=True, text=True, check=True)
    return json.loads(result.stdout.strip().splitlines()[-1])


def parse_arguments():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--nets", nargs="+", choices=NETS, default=list(NETS), help="nets to measure (default: both)")
    parser.add_argument("--batch", type=int, default=128, help="images per step (default 128)")
    parser.add_argument("--steps", type=int, default=3, help="training steps per net (default 3)")
    parser.add_argument("--child", choices=NETS, help=argparse.SUPPRESS)
    arguments = parser.parse_args()
    if arguments.batch < 1 or arguments.steps < 1:
        parser.error("--batch and --steps must be at least 1")
    return arguments


def main():
    arguments = parse_arguments()
    if arguments.child:
        run_child(arguments.child, arguments.batch, arguments.steps)
        return
    rows = []
    for net in arguments.nets:
        memory = measure_in_child(net, arguments.batch, arguments.steps)
        rows.append([net, f"{memory['before'] / MEGABYTE:.0f}", f"{memory['peak'] / MEGABYTE:.0f}",
                     f"{(memory['peak'] - memory['before']) / MEGABYTE:.0f}"])
    print(f"Machine: {machine_description()}")
    print(f"Command: `{command_line()}`\n")
    print(markdown_table(["net", "before MB", "peak MB", "peak - before MB"], rows))


if __name__ == "__main__":
    main()
