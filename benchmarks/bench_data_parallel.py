"""Data-parallel training on one machine, K processes of 1 thread against 1 process of K threads, and what a step
would cost on N machines linked by a network.

    NUMBA_NUM_THREADS=2 OMP_NUM_THREADS=2 OPENBLAS_NUM_THREADS=2 \
        python benchmarks/bench_data_parallel.py --out one_process.json
    NUMBA_NUM_THREADS=1 OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1 \
        mpiexec -n 2 python benchmarks/bench_data_parallel.py --data-parallel --out two_processes.json
    python benchmarks/bench_data_parallel.py --project one_process.json two_processes.json

A step is Solver.step of the paper's deep net on random float32 images (--batch of them in all, shared out among the
processes by solver/data_parallel.py): forward, backward, the allreduce of the gradients (with --data-parallel) and
Adam. --steps steps are timed one by one after --warmup untimed ones; with --data-parallel the allreduce of a buffer
the size of the gradient is also timed alone, --allreduce-repeats times, each after a barrier. The JSON written holds
the medians, minima and maxima.

--project reads the two files and prints a Markdown table: the step on N machines, each of the kind measured with
one process, the batch shared out among them (the compute time divided by N), plus a ring allreduce of the gradient
over a network of 10 and 100 Gbit/s: each machine sends and receives 2 (N - 1) / N times the gradient's bytes.
"""
import argparse
import json
import statistics
import time

import numpy as np

from common import machine_description
from minicnn.models import deep_net
from minicnn.solver import Solver, data_parallel

LINKS_GBIT = (10, 100)
MACHINES = (1, 2, 4, 8, 16, 32, 64)


def parse_arguments(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--batch", type=int, default=128, help="images per step, all processes together "
                                                               "(default: %(default)s)")
    parser.add_argument("--steps", type=int, default=8, help="timed steps (default: %(default)s)")
    parser.add_argument("--warmup", type=int, default=2, help="untimed steps first (default: %(default)s)")
    parser.add_argument("--allreduce-repeats", type=int, default=30, help="default: %(default)s")
    parser.add_argument("--data-parallel", action="store_true", help="one of the processes mpiexec started")
    parser.add_argument("--out", help="write the measurements to this JSON file (process 0)")
    parser.add_argument("--project", nargs=2, metavar=("ONE_PROCESS", "DATA_PARALLEL"),
                        help="print the table of N machines from two files written by --out")
    parser.add_argument("--compute-ms", type=float,
                        help="with --project: one machine's step in ms, instead of ONE_PROCESS's median (a step "
                             "measured on a quiet machine, when this one was busy)")
    return parser.parse_args(argv)


def spread(values):
    """The median, minimum and maximum of values, in milliseconds."""
    return {"median_ms": 1e3 * statistics.median(values), "min_ms": 1e3 * min(values), "max_ms": 1e3 * max(values),
            "count": len(values)}


def time_steps(parallel, batch, steps, warmup):
    """Seconds of each timed Solver.step of the deep net on a random batch (the whole batch on every process)."""
    rng = np.random.default_rng(0)
    images = rng.standard_normal((batch, 1, 48, 48)).astype(np.float32)
    labels = rng.integers(0, 7, batch)
    data = {"X_train": images, "y_train": labels, "X_val": images[:1], "y_val": labels[:1]}
    solver = Solver(deep_net(seed=0), data, update_rule="adam", optim_config={"learning_rate": 1e-4}, verbose=False,
                    data_parallel=parallel)
    seconds = []
    for step in range(warmup + steps):
        started = time.perf_counter()
        solver.step(images, labels)
        if step >= warmup:
            seconds.append(time.perf_counter() - started)
    return seconds, sum(w.size for w in solver.model.params.values())


def time_allreduce(comm, length, repeats):
    """Seconds of each MPI allreduce (sum) of `length` float32 numbers, each started after a barrier."""
    send, received = np.ones(length, np.float32), np.empty(length, np.float32)
    seconds = []
    for _ in range(repeats + 1):      # the first one sets up the connection and is not kept
        comm.Barrier()
        started = time.perf_counter()
        comm.Allreduce(send, received)
        seconds.append(time.perf_counter() - started)
    return seconds[1:]


def measure(arguments):
    """The measurements of this run as a dict (process 0 writes it)."""
    import numba
    parallel = data_parallel.world() if arguments.data_parallel else None
    steps, parameters = time_steps(parallel, arguments.batch, arguments.steps, arguments.warmup)
    result = {"machine": machine_description(), "processes": 1 if parallel is None else parallel.size,
              "numba_threads": numba.get_num_threads(), "batch": arguments.batch, "parameters": parameters,
              "gradient_bytes": 4 * (parameters + 2), "step": spread(steps)}
    if parallel is not None:
        result["allreduce"] = spread(time_allreduce(parallel.comm, parameters + 2, arguments.allreduce_repeats))
    return result, parallel is None or parallel.is_root


def ring_allreduce_seconds(gradient_bytes, machines, gbit_per_s):
    """A ring allreduce's time on a link of gbit_per_s, bandwidth alone: each machine sends and receives
    2 (N - 1) / N times the gradient's bytes (latency and the adds are left out)."""
    return 2 * (machines - 1) / machines * gradient_bytes * 8 / (gbit_per_s * 1e9)


def projection_table(compute_ms, parallel):
    """Markdown: the step of the deep net on N machines that each take compute_ms for a whole step alone (divided by
    N), plus the ring allreduce of its gradient (parallel's gradient_bytes) over each link in LINKS_GBIT, and the
    speed-up over one machine."""
    compute = compute_ms / 1e3
    gradient_bytes = parallel["gradient_bytes"]
    header = ["machines N", "compute / N (ms)"]
    for link in LINKS_GBIT:
        header += [f"allreduce, {link} Gbit/s (ms)", f"step, {link} Gbit/s (ms)", f"speed-up, {link} Gbit/s"]
    rows = []
    for machines in MACHINES:
        row = [str(machines), f"{1e3 * compute / machines:.0f}"]
        for link in LINKS_GBIT:
            communication = ring_allreduce_seconds(gradient_bytes, machines, link) if machines > 1 else 0.0
            step = compute / machines + communication
            row += [f"{1e3 * communication:.1f}", f"{1e3 * step:.0f}", f"{compute / step:.1f}x"]
        rows.append(row)
    lines = ["| " + " | ".join(header) + " |", "|" + "---:|" * len(header)]
    return "\n".join(lines + ["| " + " | ".join(row) + " |" for row in rows])


def main(argv=None):
    arguments = parse_arguments(argv)
    if arguments.project:
        one_process, parallel = (json.loads(open(path, encoding="utf-8").read()) for path in arguments.project)
        print(projection_table(arguments.compute_ms or one_process["step"]["median_ms"], parallel))
        return 0
    result, is_root = measure(arguments)
    if is_root:
        print(json.dumps(result, indent=1))
        if arguments.out:
            with open(arguments.out, "w", encoding="utf-8") as file:
                json.dump(result, file, indent=1)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
