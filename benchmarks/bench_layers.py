"""Forward and backward time of every conv and pool layer of the paper's deep network, minicnn against PyTorch.

    python benchmarks/bench_layers.py [--device cpu|gpu] [--batch 128] [--repeats 10] [--layers conv1 pool1 ...]
                                      [--no-torch] [--algorithm auto|im2col|winograd]

Each layer runs at its place in the deep net (conv 64 3x3 on 1x48x48, conv 128 5x5 on 64x24x24, conv 512 3x3 on
128x12x12, conv 512 3x3 on 512x6x6, each followed by 2x2 max pooling), in float32. minicnn and PyTorch take turns in
one process; a conv's GFLOP/s is set against the BLAS running the same three GEMMs alone, the most an im2col
convolution on this BLAS could reach (Winograd does fewer flops, so it can pass 100%). --algorithm picks minicnn's
convolution algorithm (conv_param['algorithm']; default auto, minicnn's own choice by shape), which the table names.
Prints a Markdown section for benchmarks/RESULTS.md.

--device gpu runs minicnn on CuPy arrays and PyTorch on 'cuda' with cuDNN in float32 with TF32 off (the arithmetic
minicnn does), and sets the convs against cuBLAS.
"""
import argparse

import numpy as np

from common import (add_device_argument, array_module, check_device, forward_backward_gemms, import_torch,
                    markdown_table, median_times, network_layers, print_report, set_tf32, torch_device)
from minicnn import layers
from minicnn.models import deep_net

POOL_PARAM = {"pool_height": 2, "pool_width": 2, "stride": 2}


def minicnn_functions(forward, backward, inputs, dout):
    """Timed calls of a minicnn forward/backward pair on `inputs`; the backward reuses one forward's cache, as
    training does."""
    _, cache = forward(*inputs)
    return {"minicnn forward": lambda: forward(*inputs), "minicnn backward": lambda: backward(dout, cache)}


def torch_functions(torch, forward, inputs, dout, device="cpu"):
    """Timed calls of a PyTorch function on the same arrays: the forward records the autograd graph (the inputs
    require gradients, as in training), and the backward is that graph's alone, given the upstream gradient dout.
    retain_graph keeps the one graph for every run. inputs and dout are numpy arrays, copied to `device` here."""
    target = torch_device(device)
    if target == "cuda":
        set_tf32(torch, False)
    tensors = [torch.from_numpy(array).to(target).requires_grad_() for array in inputs]
    out, upstream = forward(*tensors), torch.from_numpy(dout).to(target)
    return {"torch forward": lambda: forward(*tensors),
            "torch backward": lambda: torch.autograd.grad(out, tensors, upstream, retain_graph=True)}


def benchmark_conv(layer, torch, repeats, rng, device="cpu", algorithm="auto"):
    """Median seconds of the conv layer's forward and backward in minicnn (and PyTorch), and of its three GEMMs run
    by the BLAS alone; also the GEMMs' flops and the algorithm minicnn ran."""
    xp = array_module(device)
    filters, channels, size = layer.output_shape[1], layer.input_shape[1], layer.spec.size
    x = rng.standard_normal(layer.input_shape, dtype=np.float32)
    w = rng.standard_normal((filters, channels, size, size), dtype=np.float32)
    b = rng.standard_normal(filters, dtype=np.float32)
    dout = rng.standard_normal(layer.output_shape, dtype=np.float32)
    conv_param = {"stride": layer.spec.stride, "pad": layer.pad, "algorithm": algorithm}
    inputs = tuple(map(xp.asarray, (x, w, b)))
    functions = minicnn_functions(lambda *inputs: layers.conv_forward(*inputs, conv_param), layers.conv_backward,
                                  inputs, xp.asarray(dout))
    if torch is not None:
        def conv2d(*inputs):
            return torch.nn.functional.conv2d(*inputs, stride=conv_param["stride"], padding=conv_param["pad"])
        functions.update(torch_functions(torch, conv2d, (x, w, b), dout, device))
    functions["BLAS GEMMs"], flops = forward_backward_gemms(*layer.gemm_shape, rng, xp)
    return median_times(functions, repeats), flops, layers.conv_algorithm(*inputs[:2], conv_param)


def benchmark_pool(layer, torch, repeats, rng, device="cpu", algorithm=None):
    """Median seconds of the 2x2 stride-2 max pooling's forward and backward in minicnn (and PyTorch)."""
    xp = array_module(device)
    x = rng.standard_normal(layer.input_shape, dtype=np.float32)
    dout = rng.standard_normal(layer.output_shape, dtype=np.float32)
    functions = minicnn_functions(lambda x: layers.max_pool_forward(x, POOL_PARAM), layers.max_pool_backward,
                                  (xp.asarray(x),), xp.asarray(dout))
    if torch is not None:
        functions.update(torch_functions(torch, lambda x: torch.nn.functional.max_pool2d(x, 2, 2), (x,), dout,
                                         device))
    return median_times(functions, repeats), None, "-"


def table_row(layer, times, flops, algorithm, with_torch):
    """One row: times in ms, PyTorch / minicnn ratios (forward, backward, both), and for a conv its GFLOP/s against
    the BLAS's GEMMs."""
    row = [layer.name, "x".join(map(str, layer.input_shape[1:])), algorithm]
    for direction in ("forward", "backward"):
        row.append(f"{1e3 * times[f'minicnn {direction}']:.2f}")
        if with_torch:
            row += [f"{1e3 * times[f'torch {direction}']:.2f}",
                    f"{times[f'torch {direction}'] / times[f'minicnn {direction}']:.2f}"]
    if with_torch:
        both = {name: times[f"{name} forward"] + times[f"{name} backward"] for name in ("minicnn", "torch")}
        row.append(f"{both['torch'] / both['minicnn']:.2f}")
    if flops is None:
        return row + ["-"] * 3
    minicnn_rate = flops / (times["minicnn forward"] + times["minicnn backward"]) / 1e9
    gemm_rate = flops / times["BLAS GEMMs"] / 1e9
    return row + [f"{minicnn_rate:.1f}", f"{gemm_rate:.1f}", f"{minicnn_rate / gemm_rate:.0%}"]


def table_headers(with_torch, device="cpu"):
    headers = ["layer", "input C x H x W", "algorithm"]
    for direction in ("fwd", "bwd"):
        headers.append(f"minicnn {direction} ms")
        if with_torch:
            headers += [f"PyTorch {direction} ms", f"{direction} ratio"]
    if with_torch:
        headers.append("fwd+bwd ratio")
    blas = "cuBLAS" if device == "gpu" else "numpy"
    return headers + ["minicnn GFLOP/s", f"{blas} GEMM GFLOP/s", "minicnn / GEMM"]


def parse_arguments(layer_names):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--batch", type=int, default=128, help="images per batch (default 128)")
    parser.add_argument("--repeats", type=int, default=10, help="timed runs per function, after warm-up (default 10)")
    parser.add_argument("--layers", nargs="+", default=layer_names, metavar="LAYER",
                        help=f"a subset of {' '.join(layer_names)} (default: all)")
    parser.add_argument("--no-torch", action="store_true", help="time minicnn alone, even when torch is installed")
    parser.add_argument("--algorithm", choices=layers.CONV_ALGORITHMS, default="auto",
                        help="minicnn's convolution algorithm (default: auto, its own choice by shape)")
    add_device_argument(parser)
    arguments = parser.parse_args()
    unknown = sorted(set(arguments.layers) - set(layer_names))
    if unknown:
        parser.error(f"unknown layers {' '.join(unknown)}; choose from {' '.join(layer_names)}")
    if arguments.batch < 1 or arguments.repeats < 1:
        parser.error("--batch and --repeats must be at least 1")
    check_device(parser, arguments.device)
    return arguments


def main():
    architecture = deep_net().architecture
    arguments = parse_arguments([layer.name for layer in network_layers(architecture, 1) if layer.kind != "affine"])
    device = arguments.device
    torch = import_torch(enabled=not arguments.no_torch, device=device)
    rng = np.random.default_rng(0)
    benchmark = {"conv": benchmark_conv, "pool": benchmark_pool}
    rows = []
    for layer in network_layers(architecture, arguments.batch):
        if layer.name in arguments.layers:
            times, flops, algorithm = benchmark[layer.kind](layer, torch, arguments.repeats, rng, device,
                                                            arguments.algorithm)
            rows.append(table_row(layer, times, flops, algorithm, torch is not None))
    blas = "cuBLAS (through CuPy)" if device == "gpu" else "numpy"
    notes = [(f"Batch {arguments.batch}, float32, on the {device.upper()}. Each time is the median of "
              f"{arguments.repeats} runs after warm-up; the contestants take turns in one process."),
             ("A conv's forward + backward is 3 GEMMs of 2 * F * C*HH*WW * N*H'*W' flops; minicnn GFLOP/s is those "
              f"flops over its forward + backward time, GEMM GFLOP/s the same three GEMMs run alone by {blas}.")]
    if torch is not None:
        notes.insert(1, "ratio = PyTorch time / minicnn time: above 1 minicnn is faster.")
        if device == "gpu":
            notes.insert(2, "PyTorch runs on 'cuda' with cuDNN (benchmark mode on), float32 with TF32 off.")
    print_report("Layers of the deep network", notes, markdown_table(table_headers(torch is not None, device), rows),
                 torch, device)


if __name__ == "__main__":
    main()
