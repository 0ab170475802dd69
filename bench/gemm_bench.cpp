// GEMM rates for the shapes of one CD step (batch × visible × hidden), through the dense
// path zeta_core uses (Eigen over the configured BLAS) or, built with ZETA_BENCH_EIGEN_ONLY,
// through Eigen's own kernel; and the sparse kernels that replace the products with a 0/1
// factor. Every benchmark reports FLOPS as the dense product's 2 m n k flops per second, so
// a sparse kernel above the dense rate beats the dense bound.
#include <benchmark/benchmark.h>

#include <Eigen/Core>
#include <cmath>
#include <cstdint>
#include <random>

#ifndef ZETA_BENCH_EIGEN_ONLY
#include "zeta/kernels.hpp"
#include "zeta/model.hpp"
#include "zeta/random.hpp"
#endif

namespace {

using Matrix = Eigen::Matrix<float, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;

// Arguments of every benchmark: batch rows, visible units, hidden units, threads, and the
// percentage of ones in 0/1 inputs (31: binarized Fashion-MNIST has 31.5 % ones).
struct Shape {
  Eigen::Index batch;
  Eigen::Index visible;
  Eigen::Index hidden;
  int threads;
  double ones;

  explicit Shape(const benchmark::State& state)
      : batch(state.range(0)),
        visible(state.range(1)),
        hidden(state.range(2)),
        threads(static_cast<int>(state.range(3))),
        ones(static_cast<double>(state.range(4)) / 100.0) {}

  [[nodiscard]] double flops() const { return 2.0 * batch * visible * hidden; }
};

Matrix Gaussian(Eigen::Index rows, Eigen::Index cols, float scale, uint32_t seed) {
  std::mt19937 engine(seed);
  std::normal_distribution<float> normal(0.0F, scale);
  Matrix m(rows, cols);
  for (Eigen::Index i = 0; i < m.size(); ++i) m.data()[i] = normal(engine);
  return m;
}

Matrix Bernoulli(Eigen::Index rows, Eigen::Index cols, double ones, uint32_t seed) {
  std::mt19937 engine(seed);
  std::bernoulli_distribution bit(ones);
  Matrix m(rows, cols);
  for (Eigen::Index i = 0; i < m.size(); ++i) m.data()[i] = bit(engine) ? 1.0F : 0.0F;
  return m;
}

// Probabilities rounded to the 2^-16 grid, as the trainer's gradient sees them.
Matrix GridProbabilities(Eigen::Index rows, Eigen::Index cols, uint32_t seed) {
  std::mt19937 engine(seed);
  std::uniform_real_distribution<float> uniform(0.0F, 1.0F);
  Matrix m(rows, cols);
  for (Eigen::Index i = 0; i < m.size(); ++i) {
    m.data()[i] = std::round(uniform(engine) * 65536.0F) / 65536.0F;
  }
  return m;
}

// Threads of the dense path (the BLAS, or Eigen's OpenMP products).
void SetThreads(int threads) {
#ifdef ZETA_BENCH_EIGEN_ONLY
  Eigen::setNbThreads(threads);
#else
  zeta::SetComputeThreads(threads);
#endif
}

#ifndef ZETA_BENCH_EIGEN_ONLY
// Threads of Zeta's kernels alone: OpenBLAS stays at one thread, as in the training loop,
// where it does not run, so that its idle workers do not spin on the cores the kernels use.
void SetKernelThreadsOnly(int threads) {
  zeta::SetComputeThreads(1);
  zeta::SetKernelThreads(threads);
}
#endif

void Finish(benchmark::State& state, const Shape& shape) {
  state.counters["FLOPS"] =
      benchmark::Counter(shape.flops(), benchmark::Counter::kIsIterationInvariantRate);
  state.counters["threads"] = shape.threads;
  SetThreads(1);
}

// p = v W: the hidden conditional, [batch, visible] × [visible, hidden].
void DenseHidden(benchmark::State& state) {
  const Shape shape(state);
  SetThreads(shape.threads);
  const Matrix v = Bernoulli(shape.batch, shape.visible, shape.ones, 1);
  const Matrix w = Gaussian(shape.visible, shape.hidden, 0.01F, 2);
  Matrix p(shape.batch, shape.hidden);
  for (auto _ : state) {
    p.noalias() = v * w;
    benchmark::DoNotOptimize(p.data());
  }
  Finish(state, shape);
}

// p = h Wᵀ: the visible conditional, [batch, hidden] × [hidden, visible].
void DenseVisible(benchmark::State& state) {
  const Shape shape(state);
  SetThreads(shape.threads);
  const Matrix h = Bernoulli(shape.batch, shape.hidden, shape.ones, 3);
  const Matrix w = Gaussian(shape.visible, shape.hidden, 0.01F, 4);
  Matrix p(shape.batch, shape.visible);
  for (auto _ : state) {
    p.noalias() = h * w.transpose();
    benchmark::DoNotOptimize(p.data());
  }
  Finish(state, shape);
}

// G = vᵀ q: one half of the weight statistics, [visible, batch] × [batch, hidden].
void DenseWeights(benchmark::State& state) {
  const Shape shape(state);
  SetThreads(shape.threads);
  const Matrix v = Bernoulli(shape.batch, shape.visible, shape.ones, 5);
  const Matrix q = GridProbabilities(shape.batch, shape.hidden, 6);
  Matrix g(shape.visible, shape.hidden);
  for (auto _ : state) {
    g.noalias() = v.transpose() * q;
    benchmark::DoNotOptimize(g.data());
  }
  Finish(state, shape);
}

#ifndef ZETA_BENCH_EIGEN_ONLY

// HiddenProbabilities on 0/1 rows: the sparse product with its fused sigmoid.
void SparseHidden(benchmark::State& state) {
  const Shape shape(state);
  SetKernelThreadsOnly(shape.threads);
  zeta::Rbm rbm(static_cast<int>(shape.visible), static_cast<int>(shape.hidden));
  rbm.weights() = Gaussian(shape.visible, shape.hidden, 0.01F, 2);
  const Matrix v = Bernoulli(shape.batch, shape.visible, shape.ones, 1);
  Matrix p;
  for (auto _ : state) {
    zeta::HiddenProbabilities(rbm, v, &p);
    benchmark::DoNotOptimize(p.data());
  }
  Finish(state, shape);
}

// VisibleProbabilities on 0/1 hidden rows: the sparse product with the transposed weights.
void SparseVisible(benchmark::State& state) {
  const Shape shape(state);
  SetKernelThreadsOnly(shape.threads);
  zeta::Rbm rbm(static_cast<int>(shape.visible), static_cast<int>(shape.hidden));
  rbm.weights() = Gaussian(shape.visible, shape.hidden, 0.01F, 4);
  const Matrix h = Bernoulli(shape.batch, shape.hidden, shape.ones, 3);
  Matrix p;
  for (auto _ : state) {
    zeta::VisibleProbabilities(rbm, h, &p);
    benchmark::DoNotOptimize(p.data());
  }
  Finish(state, shape);
}

// Both halves of the weight statistics, v0ᵀ q0 - vkᵀ qk, by the sparse kernel; FLOPS
// counts the two dense products it replaces.
void SparseWeights(benchmark::State& state) {
  const Shape shape(state);
  SetKernelThreadsOnly(shape.threads);
  const Matrix v0 = Bernoulli(shape.batch, shape.visible, shape.ones, 5);
  const Matrix vk = Bernoulli(shape.batch, shape.visible, shape.ones, 7);
  const Matrix q0 = GridProbabilities(shape.batch, shape.hidden, 6);
  const Matrix qk = GridProbabilities(shape.batch, shape.hidden, 8);
  Matrix g(shape.visible, shape.hidden);
  for (auto _ : state) {
    const bool binary = zeta::BinaryWeightStatistics(v0, q0, vk, qk, g);
    benchmark::DoNotOptimize(binary);
    benchmark::DoNotOptimize(g.data());
  }
  Finish(state, shape);
  state.counters["FLOPS"] =
      benchmark::Counter(2 * shape.flops(), benchmark::Counter::kIsIterationInvariantRate);
}

// Bernoulli samples of a batch of hidden probabilities (Philox in blocks of 16 counters).
void SampleHidden(benchmark::State& state) {
  const Shape shape(state);
  const Matrix p = GridProbabilities(shape.batch, shape.hidden, 9);
  Matrix h;
  uint64_t step = 0;
  for (auto _ : state) {
    zeta::SampleRows(p, 1, zeta::Stream::kHidden, 0, step++, 0, &h);
    benchmark::DoNotOptimize(h.data());
  }
  state.counters["samples"] = benchmark::Counter(static_cast<double>(p.size()),
                                                 benchmark::Counter::kIsIterationInvariantRate);
}

#endif

// The shapes of one CD step of the 784 × 500 model with batch 100, on 1 and 2 threads
// (other shapes: --benchmark_filter and a changed Args list).
void StepShapes(benchmark::internal::Benchmark* b, int ones) {
  for (int threads : {1, 2}) b->Args({100, 784, 500, threads, ones});
  b->ArgNames({"batch", "visible", "hidden", "threads", "ones"})->UseRealTime()->MinTime(0.3);
}

}  // namespace

BENCHMARK(DenseHidden)->Apply([](auto* b) { StepShapes(b, 31); });
BENCHMARK(DenseVisible)->Apply([](auto* b) { StepShapes(b, 50); });
BENCHMARK(DenseWeights)->Apply([](auto* b) { StepShapes(b, 31); });
#ifndef ZETA_BENCH_EIGEN_ONLY
BENCHMARK(SparseHidden)->Apply([](auto* b) { StepShapes(b, 31); });
BENCHMARK(SparseVisible)->Apply([](auto* b) { StepShapes(b, 50); });
BENCHMARK(SparseWeights)->Apply([](auto* b) { StepShapes(b, 31); });
BENCHMARK(SampleHidden)->Args({100, 784, 500, 1, 50})->UseRealTime()->MinTime(0.3);
#endif

BENCHMARK_MAIN();
