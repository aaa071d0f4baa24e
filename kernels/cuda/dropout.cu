// Fused inverted dropout: draw the mask, scale it, and apply it in one pass.
//
// Element i (the flat index in C order) is dropped when uniform(seed, i) < p, and kept, scaled by 1 / (1 - p),
// otherwise, so that the expected output equals the input. The draw is a counter-based hash rather than a random
// stream: element i needs nothing but (seed, i), every thread draws on its own, and the Numba kernel in
// kernels/cpu.py draws the same mask for the same seed.
//
// The kernel is a grid-stride loop: thread t handles the flat indices t, t + (number of threads), ...; indices are
// 64-bit. Unsigned 64-bit arithmetic wraps modulo 2^64, as splitmix64 requires; the type is spelled
// unsigned long long because NVRTC cannot include <stdint.h>.

#ifndef __CUDACC__
#include "host_shim.h"
#endif

// The output function of splitmix64 (Steele, Lea and Flood, 2014): 64 well-mixed bits from a 64-bit counter.
__device__ unsigned long long splitmix64(unsigned long long z)
{
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
    return z ^ (z >> 31);
}

// A uniform draw from [0, 1) for element i: the top 24 bits of the hash times 2^-24, exact in float and in double.
// Counters are spaced by the golden-ratio constant per seed, as splitmix64 spaces its states.
__device__ double uniform(unsigned long long seed, unsigned long long i)
{
    const unsigned long long z = splitmix64(seed * 0x9E3779B97F4A7C15ULL + i + 1);
    return (double)(z >> 40) * (1.0 / 16777216.0);
}

// One thread per element. p is compared in double whatever T is, so float32 and float64 inputs drop the same
// elements. out is computed as x * mask, exactly as the CPU kernel does, so both give the same bits.
template <typename T>
__device__ void dropout_forward(const T* x, T* out, T* mask, long long size, double p, unsigned long long seed)
{
    const T scale = (T)(1.0 / (1.0 - p));
    for (long long index = (long long)blockIdx.x * blockDim.x + threadIdx.x; index < size;
         index += (long long)blockDim.x * gridDim.x) {
        const bool keep = uniform(seed, index) >= p;
        mask[index] = keep ? scale : T(0);
        out[index] = x[index] * mask[index];
    }
}

extern "C" __global__ void dropout_forward_f32(const float* x, float* out, float* mask, long long size, double p,
                                               unsigned long long seed)
{
    dropout_forward<float>(x, out, mask, size, p, seed);
}

extern "C" __global__ void dropout_forward_f64(const double* x, double* out, double* mask, long long size, double p,
                                               unsigned long long seed)
{
    dropout_forward<double>(x, out, mask, size, p, seed);
}
