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

   - __shfl_down_sync and __shfl_up_sync over warps of 32 consecutive threads: a barrier per warp and slots the
     lanes exchange values through; the mask is not modelled (every lane of the warp must call
     it, as the library's warp reductions do).
   - A thread that returns leaves its block's and warp's barriers, as exited GPU threads do.

   Not modelled: warp lockstep (lanes run as independent threads between shuffles), the
   other warp intrinsics, memory spaces and transfers (device pointers are
   host pointers), y/z-dimension scheduling order, streams. Used only by tests. */
#ifndef SPI_CUDA_MODEL_H
#define SPI_CUDA_MODEL_H
#ifndef __cplusplus
#error "cuda_model.h is C++17"
#endif
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
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
/* A reusable barrier for a group of threads (a block, or a warp for the shuffles): the
   count, waiters and generation under a mutex; waiters spin on the generation, yielding
   (a block's threads outnumber the cores, and a condition variable's wake-ups cost ten times
   more). A thread that returns from the kernel leaves its barriers (arrive_and_drop), as an
   exited thread stops counting on a GPU, so an early failure never deadlocks the rest. */
class Barrier {
  public:
    explicit Barrier(std::size_t n) : count_(n), waiting_(0), generation_(0) {}
    void arrive_and_wait() {
        std::size_t gen;
        {
            std::lock_guard<std::mutex> lock(m_);
            gen = generation_.load();
            if (++waiting_ == count_) {
                waiting_ = 0;
                generation_.fetch_add(1);
                return;
            }
        }
        for (unsigned spins = 0; generation_.load() == gen; spins++) {
            if (spins > 64) {
                std::this_thread::yield();
            }
        }
    }
    void arrive_and_drop() {
        std::lock_guard<std::mutex> lock(m_);
        if (count_ > 0 && --count_ > 0 && waiting_ == count_) {
            waiting_ = 0;
            generation_.fetch_add(1);
        }
    }

  private:
    std::mutex m_;
    std::size_t count_, waiting_;
    std::atomic<std::size_t> generation_;
};
/* One warp of a block: its barrier and the slots its lanes exchange shuffled values through. */
struct Warp {
    explicit Warp(std::size_t lanes) : barrier(lanes), lanes(lanes) {}
    Barrier barrier;
    std::size_t lanes;
    unsigned long long slots[32] = {};
};
inline thread_local Barrier *block_barrier = nullptr;
inline thread_local Warp *warp = nullptr;
inline thread_local unsigned lane = 0;
} // namespace spi_model

/* A barrier across the threads of the calling thread's block. */
inline void __syncthreads() {
    if (spi_model::block_barrier != nullptr) {
        spi_model::block_barrier->arrive_and_wait();
    }
}

/* The exchange both shuffles share (the mask is not modelled: every lane of the warp must
   call it): each lane stores its value, the warp meets at a barrier, each lane reads the lane
   `src(lane)` names (-1: its own value), and the warp meets again before the slots are reused. */
template <typename T, typename Src> inline T spi_model_shuffle(T v, Src src) {
    static_assert(sizeof(T) <= sizeof(unsigned long long), "shuffles move at most 8 bytes");
    spi_model::Warp *w = spi_model::warp;
    if (w == nullptr) {
        return v;
    }
    const unsigned lane = spi_model::lane;
    unsigned long long bits = 0;
    std::memcpy(&bits, &v, sizeof(T));
    w->slots[lane] = bits;
    w->barrier.arrive_and_wait();
    T r = v;
    const long from = src(lane);
    if (from >= 0 && (std::size_t)from < w->lanes) {
        std::memcpy(&r, &w->slots[from], sizeof(T));
    }
    w->barrier.arrive_and_wait();
    return r;
}

/* The value `v` of the lane `delta` below the caller's in its `width`-lane segment, or the
   caller's own `v` below the segment's first lane (every lane of the warp must call it). */
template <typename T> inline T __shfl_up_sync(unsigned int mask, T v, unsigned int delta, int width = 32) {
    (void)mask;
    const unsigned seg = (unsigned)width;
    return spi_model_shuffle(v, [=](unsigned lane) { return (lane % seg) >= delta ? (long)(lane - delta) : -1L; });
}

/* The value `v` of the lane `delta` above the caller's in its `width`-lane segment, or the
   caller's own `v` past the segment's end (every lane of the warp must call it). */
template <typename T> inline T __shfl_down_sync(unsigned int mask, T v, unsigned int delta, int width = 32) {
    (void)mask;
    const unsigned seg = (unsigned)width;
    return spi_model_shuffle(v, [=](unsigned lane) { return (lane % seg) + delta < seg ? (long)(lane + delta) : -1L; });
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
                /* Warps of 32 consecutive linear thread indices (the last one may be partial). */
                std::vector<std::unique_ptr<spi_model::Warp>> warps;
                for (std::size_t first = 0; first < threads; first += 32) {
                    warps.push_back(std::make_unique<spi_model::Warp>(threads - first < 32 ? threads - first : 32));
                }
                std::vector<std::thread> pool;
                pool.reserve(threads);
                for (unsigned int tz = 0; tz < block.z; tz++) {
                    for (unsigned int ty = 0; ty < block.y; ty++) {
                        for (unsigned int tx = 0; tx < block.x; tx++) {
                            const std::size_t linear = ((std::size_t)tz * block.y + ty) * block.x + tx;
                            spi_model::Warp *warp = warps[linear / 32].get();
                            pool.emplace_back([=, &barrier] {
                                threadIdx = dim3(tx, ty, tz);
                                blockIdx = dim3(bx, by, bz);
                                blockDim = block;
                                gridDim = grid;
                                spi_model::block_barrier = &barrier;
                                spi_model::warp = warp;
                                spi_model::lane = (unsigned)(linear % 32);
                                kernel(args...);
                                barrier.arrive_and_drop();
                                warp->barrier.arrive_and_drop();
                                spi_model::block_barrier = nullptr;
                                spi_model::warp = nullptr;
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
