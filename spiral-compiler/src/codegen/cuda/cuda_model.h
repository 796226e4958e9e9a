/* A model of the CUDA execution model on the CPU, in C++17, for testing generated CUDA kernels
   without a GPU: include it before a generated .cu file
   (c++ -std=c++17 -pthread -include cuda_model.h -x c++ kernels.cu).

   - Qualifiers (__global__, __device__, __host__, __forceinline__) are empty; __shared__ is
     `static`, which is per block because blocks run one after another.
   - threadIdx, blockIdx, blockDim and gridDim are thread-local dim3 values.
   - spi_model_launch(kernel, grid, block, args...) runs the grid's blocks one after another and
     each block's threads as concurrent std::threads, so the threads of a block really interleave
     (atomics matter, plain races are real races) and __syncthreads() is a barrier across them.
   - atomicAdd/atomicSub/atomicCAS/atomicExch/atomicMin/atomicMax on int, unsigned int,
     unsigned long long (and atomicAdd on float and double) are GCC/Clang __atomic builtins
     (relaxed, like CUDA's), returning the old value.

   Not modelled: warps and warp intrinsics, memory spaces and transfers (device pointers are
   host pointers), y/z-dimension scheduling order, streams. Used only by tests. */
#ifndef SPI_CUDA_MODEL_H
#define SPI_CUDA_MODEL_H
#ifndef __cplusplus
#error "cuda_model.h is C++17"
#endif
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <mutex>
#include <thread>
#include <vector>

#define __global__
#define __device__
#define __host__
#define __forceinline__ inline
#define __shared__ static

struct dim3 {
    unsigned int x, y, z;
    constexpr dim3(unsigned int x_ = 1, unsigned int y_ = 1, unsigned int z_ = 1) : x(x_), y(y_), z(z_) {}
};

inline thread_local dim3 threadIdx{0, 0, 0};
inline thread_local dim3 blockIdx{0, 0, 0};
inline thread_local dim3 blockDim{1, 1, 1};
inline thread_local dim3 gridDim{1, 1, 1};

namespace spi_model {
/* A reusable barrier for the threads of one block (std::barrier is C++20). */
class Barrier {
  public:
    explicit Barrier(std::size_t n) : count_(n), waiting_(0), generation_(0) {}
    void arrive_and_wait() {
        std::unique_lock<std::mutex> lock(m_);
        std::size_t gen = generation_;
        if (++waiting_ == count_) {
            waiting_ = 0;
            ++generation_;
            cv_.notify_all();
        } else {
            cv_.wait(lock, [&] { return gen != generation_; });
        }
    }

  private:
    std::mutex m_;
    std::condition_variable cv_;
    std::size_t count_, waiting_, generation_;
};
inline thread_local Barrier *block_barrier = nullptr;
} // namespace spi_model

/* A barrier across the threads of the calling thread's block. */
inline void __syncthreads() {
    if (spi_model::block_barrier != nullptr) {
        spi_model::block_barrier->arrive_and_wait();
    }
}

/* Atomics: relaxed read-modify-writes that return the old value, as in CUDA. */
template <typename T> inline T spi_model_atomic_add(T *p, T v) {
    return __atomic_fetch_add(p, v, __ATOMIC_RELAXED);
}
template <typename T> inline T spi_model_atomic_cas(T *p, T compare, T val) {
    T expected = compare;
    __atomic_compare_exchange_n(p, &expected, val, false, __ATOMIC_RELAXED, __ATOMIC_RELAXED);
    return expected;
}
template <typename T, typename F> inline T spi_model_atomic_update(T *p, F f) {
    T old;
    __atomic_load(p, &old, __ATOMIC_RELAXED);
    T next = f(old);
    while (!__atomic_compare_exchange(p, &old, &next, true, __ATOMIC_RELAXED, __ATOMIC_RELAXED)) {
        next = f(old);
    }
    return old;
}
inline int atomicAdd(int *p, int v) { return (int)spi_model_atomic_add((unsigned int *)p, (unsigned int)v); }
inline unsigned int atomicAdd(unsigned int *p, unsigned int v) { return spi_model_atomic_add(p, v); }
inline unsigned long long atomicAdd(unsigned long long *p, unsigned long long v) { return spi_model_atomic_add(p, v); }
inline float atomicAdd(float *p, float v) {
    return spi_model_atomic_update(p, [v](float x) { return x + v; });
}
inline double atomicAdd(double *p, double v) {
    return spi_model_atomic_update(p, [v](double x) { return x + v; });
}
inline int atomicSub(int *p, int v) { return (int)__atomic_fetch_sub((unsigned int *)p, (unsigned int)v, __ATOMIC_RELAXED); }
inline unsigned int atomicSub(unsigned int *p, unsigned int v) { return __atomic_fetch_sub(p, v, __ATOMIC_RELAXED); }
inline int atomicCAS(int *p, int compare, int val) { return spi_model_atomic_cas(p, compare, val); }
inline unsigned int atomicCAS(unsigned int *p, unsigned int compare, unsigned int val) { return spi_model_atomic_cas(p, compare, val); }
inline unsigned long long atomicCAS(unsigned long long *p, unsigned long long compare, unsigned long long val) {
    return spi_model_atomic_cas(p, compare, val);
}
inline int atomicExch(int *p, int v) { return __atomic_exchange_n(p, v, __ATOMIC_RELAXED); }
inline unsigned int atomicExch(unsigned int *p, unsigned int v) { return __atomic_exchange_n(p, v, __ATOMIC_RELAXED); }
inline unsigned long long atomicExch(unsigned long long *p, unsigned long long v) { return __atomic_exchange_n(p, v, __ATOMIC_RELAXED); }
#define SPI_MODEL_MINMAX(T)                                                                                        \
    inline T atomicMin(T *p, T v) {                                                                                \
        return spi_model_atomic_update(p, [v](T x) { return v < x ? v : x; });                                      \
    }                                                                                                              \
    inline T atomicMax(T *p, T v) {                                                                                \
        return spi_model_atomic_update(p, [v](T x) { return v > x ? v : x; });                                      \
    }
SPI_MODEL_MINMAX(int)
SPI_MODEL_MINMAX(unsigned int)
SPI_MODEL_MINMAX(unsigned long long)
SPI_MODEL_MINMAX(long long)
#undef SPI_MODEL_MINMAX

/* Runs `kernel(args...)` on a grid of `grid` blocks of `block` threads: the blocks one after
   another, the threads of a block concurrently (one std::thread each). */
template <typename... Params, typename... Args>
void spi_model_launch(void (*kernel)(Params...), dim3 grid, dim3 block, Args... args) {
    const std::size_t threads = (std::size_t)block.x * block.y * block.z;
    for (unsigned int bz = 0; bz < grid.z; bz++) {
        for (unsigned int by = 0; by < grid.y; by++) {
            for (unsigned int bx = 0; bx < grid.x; bx++) {
                spi_model::Barrier barrier(threads);
                std::vector<std::thread> pool;
                pool.reserve(threads);
                for (unsigned int tz = 0; tz < block.z; tz++) {
                    for (unsigned int ty = 0; ty < block.y; ty++) {
                        for (unsigned int tx = 0; tx < block.x; tx++) {
                            pool.emplace_back([=, &barrier] {
                                threadIdx = dim3(tx, ty, tz);
                                blockIdx = dim3(bx, by, bz);
                                blockDim = block;
                                gridDim = grid;
                                spi_model::block_barrier = &barrier;
                                kernel(args...);
                                spi_model::block_barrier = nullptr;
                            });
                        }
                    }
                }
                for (std::thread &t : pool) {
                    t.join();
                }
            }
        }
    }
}
#endif
