"""Images per second of one training step of the paper's shallow and deep nets, minicnn against PyTorch.

    python benchmarks/bench_train.py [--device cpu|gpu] [--batch 128] [--steps 10] [--nets shallow deep]
                                     [--consecutive 1] [--no-torch] [--profile]

A step is the forward pass, the backward pass and an Adam update of every parameter, on random float32 images
(N, 1, 48, 48) with labels 0..6. minicnn trains `minicnn.models.shallow_net()` / `deep_net()` through Solver.step;
PyTorch trains the same layers (built below from the same architecture) with torch.optim.Adam. The "GEMM-only
bound" is the time the BLAS needs for just the matrix products of an im2col implementation of that net's forward and
backward passes, the speed minicnn would reach if everything else took no time. Prints a Markdown section for
benchmarks/RESULTS.md; --profile adds the functions that take the most time in a few minicnn steps.

The contestants take turns. By default each turn is one step, so every step follows another contestant's; with
--consecutive K each turn is K steps in a row with the first untimed, as training runs them. minicnn loses more
than PyTorch to the switch (measured on the shallow net: 95 against 117 img/s, PyTorch 57 against 59), so
benchmarks/RESULTS.md gives both.

--device gpu runs minicnn on CuPy arrays (its CUDA kernels and cuBLAS, in float32) and PyTorch on 'cuda' with cuDNN,
twice: in plain float32 (TF32 off, the same arithmetic as minicnn) and with TF32 on; the bound is then cuBLAS's.
"""
import argparse
import cProfile
import pstats

import numpy as np

from common import (add_device_argument, array_module, check_device, forward_backward_gemms, import_torch,
                    markdown_table, median_times, network_layers, print_report, set_tf32, torch_device)
from minicnn.models import deep_net, shallow_net
from minicnn.solver.solver import Solver

NETS = {"shallow": shallow_net, "deep": deep_net}
LEARNING_RATE = 1e-3
PROFILED_STEPS = 3
PROFILED_FUNCTIONS = 15


def minicnn_step(model, images, labels, device="cpu"):
    """One minicnn training step (Solver.step: loss, gradients, Adam on every parameter) as a function; the Solver
    puts the model and the batch on `device` once, before the first step."""
    data = {"X_train": images, "y_train": labels, "X_val": images, "y_val": labels}
    solver = Solver(model, data, update_rule="adam", optim_config={"learning_rate": LEARNING_RATE},
                    batch_size=len(images), verbose=False, progress=False, device=device)
    return lambda: solver.step(solver.X_train, solver.y_train)


def torch_block(nn, layer):
    """The PyTorch modules of one minicnn layer: Conv-(BN)-ReLU-(Dropout), MaxPool, Linear-(BN)-ReLU-(Dropout), or
    the bare Linear of the scores layer. Dropout probabilities are drop probabilities in both libraries."""
    if layer.kind == "pool":
        return [nn.MaxPool2d(2, 2)]
    spec, in_size, out_size = layer.spec, layer.input_shape[1], layer.output_shape[1]
    if layer.kind == "conv":
        modules, batchnorm = [nn.Conv2d(in_size, out_size, spec.size, spec.stride, layer.pad)], nn.BatchNorm2d
    else:
        modules, batchnorm = [nn.Linear(in_size, out_size)], nn.BatchNorm1d
    if spec is None:
        return modules
    if spec.batchnorm:
        modules.append(batchnorm(out_size))
    modules.append(nn.ReLU())
    if spec.dropout:
        modules.append(nn.Dropout(spec.dropout))
    return modules


def torch_network(torch, architecture):
    """The minicnn architecture as an nn.Sequential: the conv part, a flatten, the affine part."""
    layers = network_layers(architecture, batch=1)
    conv_part = [module for layer in layers if layer.kind != "affine" for module in torch_block(torch.nn, layer)]
    affine_part = [module for layer in layers if layer.kind == "affine" for module in torch_block(torch.nn, layer)]
    return torch.nn.Sequential(*conv_part, torch.nn.Flatten(), *affine_part)


def torch_step(torch, architecture, images, labels, device="cpu", tf32=False, channels_last=False):
    """One PyTorch training step (forward, cross-entropy, backward, Adam) of the same network, as a function.

    device: minicnn's name, 'cpu' or 'gpu' ('cuda' for PyTorch). tf32: whether the step may use TF32 on the GPU; it
    is set at the start of every step, since the setting is global and the contestants take turns. channels_last:
    the network's weights and the images in PyTorch's channels_last memory format (N, H, W, C in memory), which its
    CPU convolutions (oneDNN) run faster.
    """
    target = torch_device(device)
    memory_format = torch.channels_last if channels_last else torch.contiguous_format
    network = torch_network(torch, architecture).to(target, memory_format=memory_format).train()
    optimizer = torch.optim.Adam(network.parameters(), lr=LEARNING_RATE)
    images = torch.from_numpy(images).to(target).contiguous(memory_format=memory_format)
    labels = torch.from_numpy(labels).to(target)

    def step():
        if target == "cuda":
            set_tf32(torch, tf32)
        optimizer.zero_grad()
        loss = torch.nn.functional.cross_entropy(network(images), labels)
        loss.backward()
        optimizer.step()
        return loss.item()

    return step


def gemm_bound(architecture, batch, rng, xp=np):
    """A function running the three GEMMs of every conv and affine layer of the net, as an im2col network needs
    them for one forward and backward pass; xp: numpy (the BLAS) or cupy (cuBLAS)."""
    runs = [forward_backward_gemms(*layer.gemm_shape, rng, xp)[0]
            for layer in network_layers(architecture, batch) if layer.kind != "pool"]

    def run_all():
        for run in runs:
            run()

    return run_all


def torch_contestants(device):
    """The PyTorch columns: (name, tf32) pairs; on the GPU plain float32 first, then TF32."""
    return [("PyTorch", False), ("PyTorch TF32", True)] if device == "gpu" else [("PyTorch", False)]


def benchmark_net(make_net, torch, batch, steps, rng, device="cpu", consecutive=1):
    """Median seconds per training step of minicnn, PyTorch (when given) and the GEMM-only bound, and the minicnn
    step itself (for --profile)."""
    model = make_net(seed=0)
    images = rng.standard_normal((batch, *model.architecture.input_dim), dtype=np.float32)
    labels = rng.integers(0, model.architecture.num_classes, batch)
    functions = {"minicnn": minicnn_step(model, images, labels, device),
                 "GEMM-only bound": gemm_bound(model.architecture, batch, rng, array_module(device))}
    if torch is not None:
        for name, tf32 in torch_contestants(device):
            functions[name] = torch_step(torch, model.architecture, images, labels, device, tf32)
    return median_times(functions, steps, consecutive=consecutive), functions["minicnn"]


def table_row(name, times, batch, torch_names):
    """One row: images per second of each contestant, minicnn / PyTorch for each PyTorch column, and minicnn's
    share of the bound."""
    minicnn_rate, bound_rate = batch / times["minicnn"], batch / times["GEMM-only bound"]
    row = [name, f"{minicnn_rate:.1f}"]
    for torch_name in torch_names:
        torch_rate = batch / times[torch_name]
        row += [f"{torch_rate:.1f}", f"{minicnn_rate / torch_rate:.2f}"]
    return row + [f"{bound_rate:.1f}", f"{minicnn_rate / bound_rate:.0%}"]


def table_headers(torch_names):
    headers = ["net", "minicnn img/s"]
    for torch_name in torch_names:
        headers += [f"{torch_name} img/s", f"minicnn / {torch_name}"]
    return headers + ["GEMM-only bound img/s", "minicnn / bound"]


def print_profile(name, step):
    """Run a few minicnn steps under cProfile and print the functions with the largest cumulative time."""
    profiler = cProfile.Profile()
    for _ in range(PROFILED_STEPS):
        profiler.runcall(step)
    print(f"\n### cProfile: {name} net, {PROFILED_STEPS} minicnn steps, top {PROFILED_FUNCTIONS} by cumulative time\n")
    print("```")
    pstats.Stats(profiler).sort_stats("cumulative").print_stats(PROFILED_FUNCTIONS)
    print("```")


def parse_arguments():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--batch", type=int, default=128, help="images per step (default 128)")
    parser.add_argument("--steps", type=int, default=10,
                        help="turns per contestant after warm-up (default 10); each turn times one step, or K - 1 "
                             "with --consecutive K")
    parser.add_argument("--nets", nargs="+", choices=list(NETS), default=list(NETS),
                        help="nets to time (default: both)")
    parser.add_argument("--consecutive", type=int, default=1,
                        help="steps each contestant runs in a row per turn, all but the first timed, as in training "
                             "(default 1: one step per turn, every step follows another contestant's)")
    parser.add_argument("--no-torch", action="store_true", help="time minicnn alone, even when torch is installed")
    add_device_argument(parser)
    parser.add_argument("--profile", action="store_true",
                        help=f"also print the top {PROFILED_FUNCTIONS} functions of {PROFILED_STEPS} minicnn steps")
    arguments = parser.parse_args()
    if arguments.batch < 1 or arguments.steps < 1 or arguments.consecutive < 1:
        parser.error("--batch, --steps and --consecutive must be at least 1")
    check_device(parser, arguments.device)
    return arguments


def _turn(consecutive):
    """How a turn went, for the report."""
    if consecutive == 1:
        return "one step each per turn, so every step follows another contestant's"
    return f"{consecutive} steps in a row each per turn, the first untimed, as in training"


def main():
    arguments = parse_arguments()
    device = arguments.device
    torch = import_torch(enabled=not arguments.no_torch, device=device)
    torch_names = [name for name, _ in torch_contestants(device)] if torch is not None else []
    rng = np.random.default_rng(0)
    rows, steps_to_profile = [], {}
    for name in arguments.nets:
        times, steps_to_profile[name] = benchmark_net(NETS[name], torch, arguments.batch, arguments.steps, rng,
                                                      device, arguments.consecutive)
        rows.append(table_row(name, times, arguments.batch, torch_names))
    blas = "cuBLAS (through CuPy)" if device == "gpu" else "numpy"
    notes = [(f"One training step (forward, backward, Adam on every parameter), batch {arguments.batch}, float32, "
              f"on the {device.upper()}. Rates are the batch over the median of the timed steps after warm-up; the "
              f"contestants take turns in one process, {_turn(arguments.consecutive)}."),
             (f"GEMM-only bound: {blas} running only the matrix products of an im2col forward + backward pass (three "
              "per conv and affine layer), as images per second.")]
    if torch is not None:
        notes.insert(1, "minicnn / PyTorch: above 1 minicnn is faster.")
        if device == "gpu":
            notes.insert(2, ("PyTorch runs on 'cuda' with cuDNN (torch.backends.cudnn.benchmark on): the PyTorch "
                             "column in float32 with TF32 off, as minicnn computes; the PyTorch TF32 column with "
                             "TF32 on for matrix products and convolutions."))
    print_report("Training step", notes, markdown_table(table_headers(torch_names), rows), torch, device)
    if arguments.profile:
        for name, step in steps_to_profile.items():
            print_profile(name, step)


if __name__ == "__main__":
    main()
