// host_shim.h: lets the CUDA kernels in this folder compile as plain C++, so they can be tested without a GPU.
//
// Every kernel here is a grid-stride loop over flat indices:
//     for (index = blockIdx.x * blockDim.x + threadIdx.x; index < total; index += blockDim.x * gridDim.x)
// With a grid of one block of one thread (blockIdx.x = threadIdx.x = 0, blockDim.x = gridDim.x = 1) that loop
// visits every index in turn, so calling a kernel as an ordinary C function computes its whole output. CUDA's
// function qualifiers become nothing; extern "C" stays, so ctypes finds the kernels by their plain names.
//
// Only a host compiler reads this file: the .cu sources include it under #ifndef __CUDACC__, and nvcc and NVRTC
// (which cupy.RawModule uses) both define __CUDACC__.
#ifndef MINICNN_HOST_SHIM_H
#define MINICNN_HOST_SHIM_H

#ifdef __CUDACC__
#error "host_shim.h is for host compilers only; nvcc and NVRTC provide the real CUDA built-ins"
#endif

#define __global__
#define __device__

struct HostShimDim3 {
    unsigned int x, y, z;
};

static const HostShimDim3 threadIdx = {0, 0, 0};
static const HostShimDim3 blockIdx = {0, 0, 0};
static const HostShimDim3 blockDim = {1, 1, 1};
static const HostShimDim3 gridDim = {1, 1, 1};

#endif  // MINICNN_HOST_SHIM_H
