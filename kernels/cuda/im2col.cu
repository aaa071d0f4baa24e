// im2col and col2im: unfold the patches of an image into the columns of a matrix, so that a convolution is one
// GEMM, and fold such columns back onto the image (the gradient of im2col).
//
// Layouts (shared with the Numba kernels in kernels/cpu.py; see kernels/__init__.py):
//   x, dx  (N, C, H, W)
//   cols   (C * kernel_height * kernel_width, N * out_height * out_width): row (c * kernel_height + i) * kernel_width
//          + j, column (n * out_height + oh) * out_width + ow holds x[n, c, oh * stride + i - pad, ow * stride + j - pad],
//          or 0 where that position lies in the zero padding.
//
// Each kernel is a grid-stride loop: thread t handles the flat indices t, t + (number of threads), ..., so any grid
// covers any size, and each element is computed from its flat index and the arguments alone. Flat indices are 64-bit
// (a batch of cols easily passes 2^31 entries); dimensions are int.

#ifndef __CUDACC__
#include "host_shim.h"
#endif

// One thread per entry of cols. Read as an array of shape (C, kernel_height, kernel_width, N, out_height, out_width),
// cols is in row-major order, so the six indices come off the flat index from the fastest-varying one.
template <typename T>
__device__ void im2col(const T* x, T* cols, int N, int C, int H, int W, int kernel_height, int kernel_width, int pad,
                       int stride, int out_height, int out_width)
{
    const long long total = (long long)C * kernel_height * kernel_width * N * out_height * out_width;
    for (long long index = (long long)blockIdx.x * blockDim.x + threadIdx.x; index < total;
         index += (long long)blockDim.x * gridDim.x) {
        long long rest = index;
        const int ow = rest % out_width;
        rest /= out_width;
        const int oh = rest % out_height;
        rest /= out_height;
        const int n = rest % N;
        rest /= N;
        const int j = rest % kernel_width;
        rest /= kernel_width;
        const int i = rest % kernel_height;
        const int c = rest / kernel_height;

        const int h = oh * stride + i - pad;
        const int w = ow * stride + j - pad;
        const bool inside = 0 <= h && h < H && 0 <= w && w < W;
        cols[index] = inside ? x[(((long long)n * C + c) * H + h) * W + w] : T(0);
    }
}

// One thread per pixel of dx, gathering every entry of cols that im2col copied from that pixel. Tap (i, j) of the
// window at (oh, ow) reads padded row oh * stride + i, so pixel row h was read by tap i of window row
// oh = (h + pad - i) / stride, when that division is exact and oh is a window row; likewise for columns. Each pixel
// sums its own entries in a fixed order: no atomics, and the same bits on every run.
template <typename T>
__device__ void col2im(const T* cols, T* dx, int N, int C, int H, int W, int kernel_height, int kernel_width, int pad,
                       int stride, int out_height, int out_width)
{
    const long long columns = (long long)N * out_height * out_width;
    const long long total = (long long)N * C * H * W;
    for (long long index = (long long)blockIdx.x * blockDim.x + threadIdx.x; index < total;
         index += (long long)blockDim.x * gridDim.x) {
        long long rest = index;
        const int w = rest % W;
        rest /= W;
        const int h = rest % H;
        rest /= H;
        const int c = rest % C;
        const int n = rest / C;

        T sum = 0;
        for (int i = 0; i < kernel_height; ++i) {
            const int row_offset = h + pad - i;  // oh * stride for the window whose tap i lands on row h
            if (row_offset < 0 || row_offset % stride != 0 || row_offset / stride >= out_height) {
                continue;
            }
            const int oh = row_offset / stride;
            for (int j = 0; j < kernel_width; ++j) {
                const int column_offset = w + pad - j;
                if (column_offset < 0 || column_offset % stride != 0 || column_offset / stride >= out_width) {
                    continue;
                }
                const int ow = column_offset / stride;
                const long long row = ((long long)c * kernel_height + i) * kernel_width + j;
                const long long column = ((long long)n * out_height + oh) * out_width + ow;
                sum += cols[row * columns + column];
            }
        }
        dx[index] = sum;
    }
}

extern "C" __global__ void im2col_f32(const float* x, float* cols, int N, int C, int H, int W, int kernel_height,
                                      int kernel_width, int pad, int stride, int out_height, int out_width)
{
    im2col<float>(x, cols, N, C, H, W, kernel_height, kernel_width, pad, stride, out_height, out_width);
}

extern "C" __global__ void im2col_f64(const double* x, double* cols, int N, int C, int H, int W, int kernel_height,
                                      int kernel_width, int pad, int stride, int out_height, int out_width)
{
    im2col<double>(x, cols, N, C, H, W, kernel_height, kernel_width, pad, stride, out_height, out_width);
}

extern "C" __global__ void col2im_f32(const float* cols, float* dx, int N, int C, int H, int W, int kernel_height,
                                      int kernel_width, int pad, int stride, int out_height, int out_width)
{
    col2im<float>(cols, dx, N, C, H, W, kernel_height, kernel_width, pad, stride, out_height, out_width);
}

extern "C" __global__ void col2im_f64(const double* cols, double* dx, int N, int C, int H, int W, int kernel_height,
                                      int kernel_width, int pad, int stride, int out_height, int out_width)
{
    col2im<double>(cols, dx, N, C, H, W, kernel_height, kernel_width, pad, stride, out_height, out_width);
}
