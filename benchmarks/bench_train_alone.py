"""Images per second of a training step, each contestant alone in a fresh process, and each step's share of the
machine's peak float32 FLOP rate.

    python benchmarks/bench_train_alone.py [--nets shallow deep vgg] [--batch 128] [--warmup 3] [--steps 8]
                                           [--rounds 3] [--contestants minicnn pytorch pytorch-channels-last]
                                           [--glibc-keeps] [--max-others 0.05] [--tries 3]

bench_train.py times the contestants in one process, taking turns. Here each runs as a user's training script
would: a Python process of its own, started afresh for every round with the environment this script was given,
that imports only its own library, builds the net, runs `--warmup` untimed steps, then times `--steps` consecutive
steps. A round runs every contestant on every net once; each round starts one contestant further on, so that a slow
spell of the shared machine lands on all of them. A run during which anything else took more than --max-others of
the CPUs (other processes, or on a virtual machine the hypervisor, as "steal" time; read from /proc/stat) is run
again, up to --tries runs, and the report says how often that happened. A step is the forward pass, the backward pass
and an Adam update, on random float32 images (N, 1, 48, 48), as in bench_train.py.

Contestants:
  minicnn                 minicnn.models.shallow_net() / deep_net() / vgg_net() through Solver.step
  pytorch                 the same layers in PyTorch (bench_train.torch_network) and torch.optim.Adam
  pytorch-channels-last   the same, network and batch in channels_last memory format, as PyTorch's CPU tuning
                          guides advise
--glibc-keeps runs each once more with glibc told to keep the memory it frees (MALLOC_MMAP_THRESHOLD_ and
MALLOC_TRIM_THRESHOLD_ below), which jemalloc or tcmalloc, the allocators those guides advise, do too; minicnn does it
itself (minicnn/allocator.py). PyTorch's processes read the net's shapes from minicnn, so they import it, but run as
installed: without minicnn's allocator settings (MINICNN_KEEP_FREED_MEMORY=0) and with its thread settings taken out
of the environment before torch loads.

A step's useful FLOPs are those a direct convolution needs: 2 * N * F * C * HH * WW * H' * W' multiply-adds for a
conv layer and 2 * N * D * M for an affine layer, for the forward pass, the weight gradient and the input gradient
(but the first layer's input gradient, which nothing needs). Batch norm, ReLU, pooling and Adam are left out: they
do under 1% of that arithmetic. The peak is the faster of a large float32 GEMM (--peak-size squared) run by numpy's
BLAS and by PyTorch, each alone in its process too. Where torch is not installed, minicnn runs alone and the peak is
numpy's. Prints a Markdown section for benchmarks/RESULTS.md.
"""
import argparse
import importlib.metadata
import importlib.util
import json
import os
import resource
import statistics
import subprocess
import sys
import time

USER_ENVIRONMENT = dict(os.environ)  # before `import minicnn` (through common) adds its thread settings to it

import numpy as np  # noqa: E402 (after the snapshot above, on purpose)

from common import command_line, machine_description, markdown_table, network_layers  # noqa: E402
from minicnn.allocator import OFF_SWITCH  # noqa: E402
from minicnn.machine import usable_cores  # noqa: E402
from minicnn.threads import SETTINGS  # noqa: E402

CONTESTANTS = ("minicnn", "pytorch", "pytorch-channels-last")
GLIBC_KEEPS = {"MALLOC_MMAP_THRESHOLD_": "4000000000", "MALLOC_TRIM_THRESHOLD_": "8000000000"}
GLIBC_SUFFIX = " + glibc keeps"
NETS = ("shallow", "deep", "vgg")
PEAK_GEMM_REPEATS = 5
SHOWN_VARIABLES = ("OPENBLAS_", "OMP_", "MKL_", "NUMBA_", "MALLOC_", "GLIBC_TUNABLES", "LD_PRELOAD")


# ------------------------------------------------------------------------------------------------ in the child
def build_net(net):
    """minicnn's preset `net` ('shallow', 'deep' or 'vgg') with seed 0."""
    from minicnn.models import deep_net, shallow_net, vgg_net
    return {"shallow": shallow_net, "deep": deep_net, "vgg": vgg_net}[net](seed=0)


def random_batch(architecture, batch):
    """The float32 images (batch, C, H, W) and labels that bench_train.py trains on."""
    rng = np.random.default_rng(0)
    images = rng.standard_normal((batch, *architecture.input_dim), dtype=np.float32)
    return images, rng.integers(0, architecture.num_classes, batch)


def import_torch_as_installed():
    """torch with the environment the user gave: `import minicnn` set its thread settings in this process's
    environment, where torch's OpenMP runtime would read them when it loads, so the ones it added go first."""
    for name in SETTINGS:
        if name not in USER_ENVIRONMENT:
            os.environ.pop(name, None)
    import torch
    return torch


def contestant_step(contestant, net, batch):
    """A function running one training step of `contestant` ('minicnn', 'pytorch' or 'pytorch-channels-last')."""
    architecture = build_net(net).architecture
    images, labels = random_batch(architecture, batch)
    if contestant == "minicnn":
        from bench_train import minicnn_step
        return minicnn_step(build_net(net), images, labels)
    torch = import_torch_as_installed()
    from bench_train import torch_step
    return torch_step(torch, architecture, images, labels, channels_last=contestant == "pytorch-channels-last")


def time_steps(step, warmup, steps):
    """Seconds of each of `steps` consecutive calls of step(), after `warmup` untimed ones."""
    for _ in range(warmup):
        step()
    times = []
    for _ in range(steps):
        start = time.perf_counter()
        step()
        times.append(time.perf_counter() - start)
    return times


def gemm_seconds(library, size):
    """The median seconds of a size x size float32 GEMM by numpy's BLAS ('numpy') or PyTorch ('pytorch'), after one
    untimed run."""
    rng = np.random.default_rng(0)
    a, b = (rng.standard_normal((size, size), dtype=np.float32) for _ in range(2))
    if library == "pytorch":
        torch = import_torch_as_installed()
        a, b = torch.from_numpy(a), torch.from_numpy(b)
        out = torch.empty_like(a)
        return statistics.median(time_steps(lambda: torch.mm(a, b, out=out), 1, PEAK_GEMM_REPEATS))
    out = np.empty_like(a)
    return statistics.median(time_steps(lambda: np.matmul(a, b, out=out), 1, PEAK_GEMM_REPEATS))


def run_child(arguments):
    """The child's work: one JSON line, the step times ('times') or the GEMM's ('gemm_seconds')."""
    if arguments.peak:
        print(json.dumps({"gemm_seconds": gemm_seconds(arguments.peak, arguments.peak_size)}))
        return
    step = contestant_step(arguments.child, arguments.child_net, arguments.batch)
    print(json.dumps({"times": time_steps(step, arguments.warmup, arguments.steps)}))


# ----------------------------------------------------------------------------------------------- in the parent
def child_result(child_arguments, environment):
    """Run this script as a child with child_arguments in `environment`; its JSON line as a dict, plus 'others': the
    share of the machine's CPU time that went to anything but the child while it ran (other processes, and the time
    the hypervisor of a virtual machine took, 'steal'), or None where /proc/stat is missing."""
    command = [sys.executable, os.path.abspath(__file__), *child_arguments]
    machine_before, child_before, start = machine_cpu_seconds(), children_cpu_seconds(), time.perf_counter()
    result = subprocess.run(command, env=environment, capture_output=True, text=True)
    machine_after, child_after, wall = machine_cpu_seconds(), children_cpu_seconds(), time.perf_counter() - start
    if result.returncode != 0:
        raise RuntimeError(f"{' '.join(child_arguments)} failed (exit status {result.returncode}):\n{result.stderr}")
    answer = json.loads(result.stdout.strip().splitlines()[-1])
    others = None
    if machine_before is not None:
        others = (machine_after - machine_before - (child_after - child_before)) / (wall * usable_cores())
    return {**answer, "others": others}


def machine_cpu_seconds():
    """The seconds all CPUs have spent busy since boot, steal included (Linux's /proc/stat), or None."""
    try:
        with open("/proc/stat", encoding="ascii") as stat:
            fields = [int(value) for value in stat.readline().split()[1:]]
    except OSError:
        return None
    user, nice, system, _idle, _iowait, irq, softirq, steal = fields[:8]
    return (user + nice + system + irq + softirq + steal) / os.sysconf("SC_CLK_TCK")


def children_cpu_seconds():
    """The CPU seconds of this process's finished children."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def contestant_runs(contestants, glibc_keeps):
    """(name, contestant, environment) for each run asked for: the user's environment, and with --glibc-keeps the
    same plus GLIBC_KEEPS. PyTorch's children import minicnn too (for the net's shapes): OFF_SWITCH keeps minicnn's
    allocator settings out of them."""
    def environment(contestant, extra):
        off = {OFF_SWITCH: "0"} if contestant != "minicnn" else {}
        return {**USER_ENVIRONMENT, **off, **extra}

    runs = [(name, name, environment(name, {})) for name in contestants]
    if glibc_keeps:
        runs += [(name + GLIBC_SUFFIX, name, environment(name, GLIBC_KEEPS)) for name in contestants]
    return runs


def quiet_child_result(child_arguments, environment, max_others, tries):
    """child_result, run again (at most `tries` times in all) while anything else took more than max_others of the
    CPUs during it: such a time measures the machine's other work too. -> (the last result, the runs it took)."""
    for attempt in range(1, tries + 1):
        result = child_result(child_arguments, environment)
        if result["others"] is None or result["others"] <= max_others:
            break
    return result, attempt


def step_medians(runs, nets, arguments):
    """{(net, name): [the median step of each round]}, the runs taking turns as the module's docstring says, and the
    share of the CPUs that other work took during each run kept, and how many runs were repeated for it."""
    medians = {(net, name): [] for net in nets for name, _, _ in runs}
    others, repeated = [], 0
    for round_index in range(arguments.rounds):
        shift = round_index % len(runs)
        for net in nets:
            for name, contestant, environment in runs[shift:] + runs[:shift]:
                result, attempts = quiet_child_result(
                    ["--child", contestant, "--child-net", net, "--batch", str(arguments.batch), "--warmup",
                     str(arguments.warmup), "--steps", str(arguments.steps)],
                    environment, arguments.max_others, arguments.tries)
                medians[net, name].append(statistics.median(result["times"]))
                others.append(result["others"])
                repeated += attempts - 1
                print(f"round {round_index + 1}, {net}, {name}: {arguments.batch / medians[net, name][-1]:.1f} img/s, "
                      f"others {others_text([result['others']])}, runs {attempts}", file=sys.stderr, flush=True)
    return medians, others, repeated


def others_text(others):
    """The largest share of the CPUs that anything else took during one of the runs, as text."""
    known = [share for share in others if share is not None]
    return f"{max(known):.1%}" if known else "unknown (no /proc/stat)"


def peak_flop_rates(libraries, size):
    """{library: FLOP/s} of a size x size float32 GEMM for each of libraries ('numpy', 'pytorch'), each alone in a
    child process."""
    environment = {**USER_ENVIRONMENT, OFF_SWITCH: "0"}
    return {library: 2 * size ** 3 / child_result(["--peak", library, "--peak-size", str(size)],
                                                  environment)["gemm_seconds"]
            for library in libraries}


def useful_flops(net, batch):
    """The FLOPs of one step of `net` as a direct convolution does them (the module's docstring)."""
    gemms = [2 * int(np.prod(layer.gemm_shape))
             for layer in network_layers(build_net(net).architecture, batch) if layer.kind != "pool"]
    return 3 * sum(gemms) - gemms[0]                      # the first layer's input gradient is not needed


def rate_text(batch, seconds):
    """'median (slowest-fastest)' images per second of round medians."""
    rates = sorted(batch / second for second in seconds)
    return f"{statistics.median(rates):.1f} ({rates[0]:.1f}-{rates[-1]:.1f})"


def speed_table(medians, runs, nets, batch, flops, peak):
    """Rows: each run, its img/s on each net (median of the rounds and their range), and the share of the peak."""
    headers = ["contestant"]
    for net in nets:
        headers += [f"{net} img/s", f"{net} % of peak"]
    rows = []
    for name, _, _ in runs:
        row = [name]
        for net in nets:
            seconds = statistics.median(medians[net, name])
            row += [rate_text(batch, medians[net, name]), f"{flops[net] / seconds / peak:.1%}"]
        rows.append(row)
    return markdown_table(headers, rows)


def ratio_table(medians, runs, nets):
    """Rows: minicnn's speed over each other run's, round by round (same round, same net), median and range."""
    headers = ["minicnn / contestant"] + [f"{net}, median (range)" for net in nets]
    rows = []
    for name, _, _ in runs:
        if name == "minicnn":
            continue
        row = [name]
        for net in nets:
            ratios = sorted(other / ours for ours, other in zip(medians[net, "minicnn"], medians[net, name]))
            row.append(f"{statistics.median(ratios):.2f} ({ratios[0]:.2f}-{ratios[-1]:.2f})")
        rows.append(row)
    return markdown_table(headers, rows)


def user_variables():
    """The variables the user set that steer the BLAS, OpenMP, Numba or the allocator, as 'NAME=value' text."""
    shown = [f"{name}={value}" for name, value in sorted(USER_ENVIRONMENT.items()) if name.startswith(SHOWN_VARIABLES)]
    return ", ".join(shown) or "none"


def parse_arguments():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--nets", nargs="+", choices=NETS, default=["shallow", "deep"],
                        help="nets to time (default: shallow deep)")
    parser.add_argument("--batch", type=int, default=128, help="images per step (default 128)")
    parser.add_argument("--warmup", type=int, default=3, help="untimed steps in each process first (default 3)")
    parser.add_argument("--steps", type=int, default=8, help="timed consecutive steps per process (default 8)")
    parser.add_argument("--rounds", type=int, default=3, help="processes per contestant and net (default 3)")
    parser.add_argument("--contestants", nargs="+", choices=CONTESTANTS, default=list(CONTESTANTS),
                        help="default: all (minicnn is always run: the ratios are against it)")
    parser.add_argument("--max-others", type=float, default=0.05,
                        help="repeat a run during which anything else took more than this share of the CPUs "
                             "(default 0.05)")
    parser.add_argument("--tries", type=int, default=3, help="runs at most per contestant, net and round (default 3)")
    parser.add_argument("--glibc-keeps", action="store_true",
                        help="also run each contestant with glibc told to keep freed memory")
    parser.add_argument("--peak-size", type=int, default=4096,
                        help="rows and columns of the GEMM that measures the peak FLOP rate (default 4096)")
    parser.add_argument("--child", choices=CONTESTANTS, help=argparse.SUPPRESS)
    parser.add_argument("--child-net", choices=NETS, help=argparse.SUPPRESS)
    parser.add_argument("--peak", choices=("numpy", "pytorch"), help=argparse.SUPPRESS)
    arguments = parser.parse_args()
    if min(arguments.batch, arguments.steps, arguments.rounds, arguments.tries, arguments.peak_size) < 1 \
            or arguments.warmup < 0:
        parser.error("--batch, --steps, --rounds, --tries and --peak-size must be at least 1, --warmup at least 0")
    return arguments


def main():
    arguments = parse_arguments()
    if arguments.child or arguments.peak:
        run_child(arguments)
        return
    with_torch = importlib.util.find_spec("torch") is not None
    contestants = ["minicnn"] + [name for name in arguments.contestants if name != "minicnn" and with_torch]
    runs = contestant_runs(contestants, arguments.glibc_keeps)
    load_before = os.getloadavg()[0]
    peaks = peak_flop_rates(("numpy", "pytorch") if with_torch else ("numpy",), arguments.peak_size)
    medians, others, repeated = step_medians(runs, arguments.nets, arguments)
    load_after = os.getloadavg()[0]
    flops = {net: useful_flops(net, arguments.batch) for net in arguments.nets}
    peak = max(peaks.values())
    peaks_text = ", ".join(f"{'PyTorch' if library == 'pytorch' else 'numpy'} {rate / 1e9:.0f} GFLOP/s"
                           for library, rate in peaks.items())
    print("## Training step, each contestant alone in its process\n")
    print(f"One training step (forward, backward, Adam), batch {arguments.batch}, float32, on the CPU. Each contestant "
          f"runs in a fresh process per round: {arguments.warmup} untimed steps, then the median of "
          f"{arguments.steps} consecutive steps; img/s is the median of the {arguments.rounds} rounds' medians, with "
          f"the slowest and fastest round in brackets. minicnn / contestant: above 1 minicnn is faster, taken round "
          f"by round.")
    print("Useful GFLOP per step (as a direct convolution): "
          + ", ".join(f"{net} {flops[net] / 1e9:.1f}" for net in arguments.nets)
          + f". Peak: a {arguments.peak_size}-square float32 GEMM, {peaks_text}; % of peak is against the "
          f"fastest, and passes 100% where a library multiplies less than a direct convolution does (Winograd)."
          + (f" PyTorch {importlib.metadata.version('torch')}." if with_torch
             else " PyTorch: not installed, so minicnn ran alone."))
    print(f"Set by the user: {user_variables()}. Load average (1 min) before and after: {load_before:.2f}, "
          f"{load_after:.2f} on {usable_cores()} cores. The most CPU time anything else took (other processes, a "
          f"hypervisor's steal) while one contestant's kept run ran: {others_text(others)} of the machine's; "
          f"{repeated} runs were repeated because it passed {arguments.max_others:.0%}.\n")
    print(f"Machine: {machine_description()}  ")
    print(f"Command: `{command_line()}`\n")
    print(speed_table(medians, runs, arguments.nets, arguments.batch, flops, peak))
    if len(runs) > 1:
        print()
        print(ratio_table(medians, runs, arguments.nets))


if __name__ == "__main__":
    main()
