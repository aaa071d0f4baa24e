// host_shim.h: lets the CUDA kernels in this folder compile as plain C++, so they can be run without a GPU.
//
// CUDA's function qualifiers become nothing; extern "C" stays, so ctypes finds the kernels by their plain names.
// threadIdx, blockIdx, blockDim and gridDim are ordinary variables. host_shim_launch sets them for each thread of a
// launch in turn and runs the kernel once per thread, so a kernel runs exactly the threads that a GPU launch with the
// same grid and block runs, one after another (the CuPy stand-in, tests/fake_cupy, launches kernels this way).
// Called outside a launch, a kernel sees a grid of one block of one thread (blockIdx = threadIdx = 0,
// blockDim = gridDim = 1), so a grid-stride loop visits every index in turn.
//
// Running threads one after another gives the GPU's result only when no thread reads what another thread of the
// launch writes, as in every kernel here (each writes its own outputs from inputs nobody writes). Threads that
// cooperate need to run side by side, so __shared__ and __syncthreads are left undefined: a kernel that uses them
// does not compile here.
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

// thread_local: two host threads may each run a launch at the same time (ctypes lets go of Python's lock).
static thread_local HostShimDim3 threadIdx = {0, 0, 0};
static thread_local HostShimDim3 blockIdx = {0, 0, 0};
static thread_local HostShimDim3 blockDim = {1, 1, 1};
static thread_local HostShimDim3 gridDim = {1, 1, 1};

// One launch of grid = {x, y, z} blocks of block = {x, y, z} threads: run_thread() runs once for every thread, block
// after block and thread after thread (x varying fastest), with the built-ins set as a GPU sets them for that thread.
// The single-thread values come back afterwards.
template <typename RunThread>
void host_shim_launch(const unsigned int grid[3], const unsigned int block[3], RunThread run_thread)
{
    gridDim = {grid[0], grid[1], grid[2]};
    blockDim = {block[0], block[1], block[2]};
    for (blockIdx.z = 0; blockIdx.z < gridDim.z; ++blockIdx.z) {
        for (blockIdx.y = 0; blockIdx.y < gridDim.y; ++blockIdx.y) {
            for (blockIdx.x = 0; blockIdx.x < gridDim.x; ++blockIdx.x) {
                for (threadIdx.z = 0; threadIdx.z < blockDim.z; ++threadIdx.z) {
                    for (threadIdx.y = 0; threadIdx.y < blockDim.y; ++threadIdx.y) {
                        for (threadIdx.x = 0; threadIdx.x < blockDim.x; ++threadIdx.x) {
                            run_thread();
                        }
                    }
                }
            }
        }
    }
    threadIdx = blockIdx = {0, 0, 0};
    blockDim = gridDim = {1, 1, 1};
}

#endif  // MINICNN_HOST_SHIM_H
