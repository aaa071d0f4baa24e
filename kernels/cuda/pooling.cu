// Max pooling, forward and backward, without padding.
//
// Layouts (shared with the Numba kernels in kernels/cpu.py; see kernels/__init__.py):
//   x, dx        (N, C, H, W)
//   out, dout    (N, C, out_height, out_width), out_height = 1 + (H - pool_height) / stride, likewise out_width
//   argmax       (N, C, out_height, out_width) int: the flat index h * W + w, inside its (n, c) plane, of the first
//                maximum of the window in row-major order
//
// Each kernel is a grid-stride loop: thread t handles the flat indices t, t + (number of threads), ..., so any grid
// covers any size, and each element is computed from its flat index and the arguments alone. Flat indices are 64-bit;
// dimensions, and argmax (an index inside one plane), are int.

#ifndef __CUDACC__
#include "host_shim.h"
#endif

// One thread per output element: scan its window in row-major order, and move on only for a strictly larger value,
// so that among equal values the first one wins.
template <typename T>
__device__ void max_pool_forward(const T* x, T* out, int* argmax, int N, int C, int H, int W, int pool_height,
                                 int pool_width, int stride, int out_height, int out_width)
{
    const long long total = (long long)N * C * out_height * out_width;
    for (long long index = (long long)blockIdx.x * blockDim.x + threadIdx.x; index < total;
         index += (long long)blockDim.x * gridDim.x) {
        long long rest = index;
        const int ow = rest % out_width;
        rest /= out_width;
        const int oh = rest % out_height;
        const long long plane = rest / out_height;  // n * C + c
        const T* x_plane = x + plane * H * W;

        const int top = oh * stride;
        const int left = ow * stride;
        int best = top * W + left;
        for (int i = 0; i < pool_height; ++i) {
            for (int j = 0; j < pool_width; ++j) {
                const int candidate = (top + i) * W + left + j;
                if (x_plane[candidate] > x_plane[best]) {
                    best = candidate;
                }
            }
        }
        out[index] = x_plane[best];
        argmax[index] = best;
    }
}

// One thread per pixel of dx, gathering dout from every window that this pixel won. Pixel row h is row i of the
// window at oh = (h - i) / stride, when that division is exact and oh is a window row; likewise for columns. No
// atomics, and the same bits on every run.
template <typename T>
__device__ void max_pool_backward(const T* dout, const int* argmax, T* dx, int N, int C, int H, int W,
                                  int pool_height, int pool_width, int stride, int out_height, int out_width)
{
    const long long total = (long long)N * C * H * W;
    for (long long index = (long long)blockIdx.x * blockDim.x + threadIdx.x; index < total;
         index += (long long)blockDim.x * gridDim.x) {
        const int pixel = index % ((long long)H * W);  // h * W + w, the value argmax holds for this pixel
        const int h = pixel / W;
        const int w = pixel % W;
        const long long plane = index / ((long long)H * W);
        const T* dout_plane = dout + plane * out_height * out_width;
        const int* argmax_plane = argmax + plane * out_height * out_width;

        T sum = 0;
        for (int i = 0; i < pool_height; ++i) {
            const int row_offset = h - i;  // oh * stride for the window whose row i is row h
            if (row_offset < 0 || row_offset % stride != 0 || row_offset / stride >= out_height) {
                continue;
            }
            const int oh = row_offset / stride;
            for (int j = 0; j < pool_width; ++j) {
                const int column_offset = w - j;
                if (column_offset < 0 || column_offset % stride != 0 || column_offset / stride >= out_width) {
                    continue;
                }
                const int window = oh * out_width + column_offset / stride;
                if (argmax_plane[window] == pixel) {
                    sum += dout_plane[window];
                }
            }
        }
        dx[index] = sum;
    }
}

extern "C" __global__ void max_pool_forward_f32(const float* x, float* out, int* argmax, int N, int C, int H, int W,
                                                int pool_height, int pool_width, int stride, int out_height,
                                                int out_width)
{
    max_pool_forward<float>(x, out, argmax, N, C, H, W, pool_height, pool_width, stride, out_height, out_width);
}

extern "C" __global__ void max_pool_forward_f64(const double* x, double* out, int* argmax, int N, int C, int H, int W,
                                                int pool_height, int pool_width, int stride, int out_height,
                                                int out_width)
{
    max_pool_forward<double>(x, out, argmax, N, C, H, W, pool_height, pool_width, stride, out_height, out_width);
}

extern "C" __global__ void max_pool_backward_f32(const float* dout, const int* argmax, float* dx, int N, int C, int H,
                                                 int W, int pool_height, int pool_width, int stride, int out_height,
                                                 int out_width)
{
    max_pool_backward<float>(dout, argmax, dx, N, C, H, W, pool_height, pool_width, stride, out_height, out_width);
}

extern "C" __global__ void max_pool_backward_f64(const double* dout, const int* argmax, double* dx, int N, int C,
                                                 int H, int W, int pool_height, int pool_width, int stride,
                                                 int out_height, int out_width)
{
    max_pool_backward<double>(dout, argmax, dx, N, C, H, W, pool_height, pool_width, stride, out_height, out_width);
}
