// Exact log Z by enumeration, forward and reverse AIS, and the results file of zeta logz.
#include "zeta/partition.hpp"

#include <algorithm>
#include <bit>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <limits>

#include "zeta/error.hpp"
#include "zeta/hdf5.hpp"
#include "zeta/kernels.hpp"
#include "zeta/random.hpp"
#include "zeta/run.hpp"
#include "zeta/version.hpp"

namespace zeta {
namespace {

using Clock = std::chrono::steady_clock;
constexpr double kInf = std::numeric_limits<double>::infinity();

double SecondsSince(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

// Σ_i softplus(z_i) in double with one exp per term: softplus(z) = max(z, 0) +
// log(1 + e^{-|z|}), where the logs of a block of factors 1 + e^{-|z|} (each in (1, 2]) are
// taken as one log of their product. A block of 1000 factors stays below 2^1000 < DBL_MAX
// and its product carries a relative error below 1000 ε, so the sum is exact to about 1e-13
// absolute, while costing a tenth of a scalar log1p per term.
constexpr Eigen::Index kProductBlock = 1000;

double SoftplusSum(const Eigen::ArrayXd& z) {
  double total = 0.0;
  for (Eigen::Index at = 0; at < z.size(); at += kProductBlock) {
    const auto block = z.segment(at, std::min(kProductBlock, z.size() - at));
    total += block.max(0.0).sum() + std::log((1.0 + (-block.abs()).exp()).prod());
  }
  return total;
}

// ---- Exact enumeration -------------------------------------------------------------------

// The low bits of a state are enumerated inside a block of 2^kLowBits states whose partial
// sums are precomputed; the high bits select the block.
constexpr int kLowBits = 6;
// The 2^(k - kLowBits) blocks are cut into at most this many segments, whatever the number
// of ranks, so that the order of every sum is fixed.
constexpr int64_t kExactSegments = 4096;
// Softplus terms per second of one rank, measured on a 2-core AMD EPYC (AVX-512) with the
// loop below; only used to tell a user what an exact computation would cost.
constexpr double kTermsPerSecond = 6e8;

std::string FormatDuration(double seconds) {
  char text[64];
  if (seconds < 1.5) {
    std::snprintf(text, sizeof text, "a second");
  } else if (seconds < 120) {
    std::snprintf(text, sizeof text, "%.0f seconds", seconds);
  } else if (seconds < 7200) {
    std::snprintf(text, sizeof text, "%.0f minutes", seconds / 60);
  } else if (seconds < 3 * 86400) {
    std::snprintf(text, sizeof text, "%.0f hours", seconds / 3600);
  } else if (seconds < 2 * 365.25 * 86400) {
    std::snprintf(text, sizeof text, "%.0f days", seconds / 86400);
  } else {
    std::snprintf(text, sizeof text, "%.2g years", seconds / (365.25 * 86400));
  }
  return text;
}

// ---- AIS transitions --------------------------------------------------------------------

namespace ei = Eigen::internal;
using Packet = ei::packet_traits<float>::type;
constexpr int kLanes = ei::packet_traits<float>::size;
#ifdef EIGEN_VECTORIZE_AVX512
constexpr int kWidePackets = 4;  // 4 rows x 4 packets of accumulators fit 32 vector registers
#else
constexpr int kWidePackets = 2;
#endif

Eigen::Index PaddedWidth(Eigen::Index n) { return (n + kLanes - 1) / kLanes * kLanes; }

// out[r, j] = bias[j] + Σ_i s[r, i] w[i, j] for Rows consecutive rows and Packets packets of
// columns, with one multiply-add per i in increasing i. Row strides: depth for s, width for
// w and out.
template <int Rows, int Packets>
void ProductTile(const float* s, Eigen::Index depth, const float* w, Eigen::Index width,
                 const float* bias, float* out) {
  Packet acc[Rows][Packets];
  for (int p = 0; p < Packets; ++p) {
    const Packet b = ei::ploadu<Packet>(bias + p * kLanes);
    for (int r = 0; r < Rows; ++r) acc[r][p] = b;
  }
  for (Eigen::Index i = 0; i < depth; ++i) {
    const float* row = w + i * width;
    Packet wp[Packets];
    for (int p = 0; p < Packets; ++p) wp[p] = ei::ploadu<Packet>(row + p * kLanes);
    for (int r = 0; r < Rows; ++r) {
      const Packet sv = ei::pset1<Packet>(s[r * depth + i]);
      for (int p = 0; p < Packets; ++p) acc[r][p] = ei::pmadd(sv, wp[p], acc[r][p]);
    }
  }
  for (int r = 0; r < Rows; ++r) {
    for (int p = 0; p < Packets; ++p) ei::pstoreu(out + r * width + p * kLanes, acc[r][p]);
  }
}

template <int Packets>
void ProductColumns(const Matrix& s, const Matrix& w, const Eigen::VectorXf& bias, Eigen::Index j0,
                    Matrix* out) {
  const Eigen::Index rows = s.rows();
  const Eigen::Index depth = s.cols();
  const Eigen::Index width = w.cols();
  Eigen::Index r = 0;
  for (; r + 4 <= rows; r += 4) {
    ProductTile<4, Packets>(s.data() + r * depth, depth, w.data() + j0, width, bias.data() + j0,
                            out->data() + r * width + j0);
  }
  for (; r < rows; ++r) {
    ProductTile<1, Packets>(s.data() + r * depth, depth, w.data() + j0, width, bias.data() + j0,
                            out->data() + r * width + j0);
  }
}

// *out = bias + s w, row by row, where w and out have a whole number of packets of columns
// (padded with zeros). Every entry is the same sequence of multiply-adds whatever the
// number of rows and whichever tile holds it, so a chain's values do not depend on which
// other chains share the call. OpenBLAS's GEMM does not give that: its blocking changes
// the order of the sums with the row count, which would make AIS depend on how chains are
// spread over ranks.
// Shortcoming: the inputs are 0/1, yet every term is multiplied in; skipping the zeros (as
// kernels.hpp's sparse products do) would save about half the work, but those return only
// sigmoids, and AIS needs the pre-activations for its weights.
void Product(const Matrix& s, const Matrix& w, const Eigen::VectorXf& bias, Matrix* out) {
  const Eigen::Index width = w.cols();
  ZETA_CHECK(w.rows() == s.cols() && width % kLanes == 0 && bias.size() == width &&
                 out->rows() == s.rows() && out->cols() == width,
             "product operands must match and be padded to whole packets");
  Eigen::Index j0 = 0;
  for (; j0 + kWidePackets * kLanes <= width; j0 += kWidePackets * kLanes) {
    ProductColumns<kWidePackets>(s, w, bias, j0, out);
  }
  for (; j0 < width; j0 += kLanes) ProductColumns<1>(s, w, bias, j0, out);
}

// Chains of one rank moving along a ladder of inverse temperatures, with their log
// weights. All buffers are sized once; the temperature loop allocates nothing.
class Annealer {
 public:
  Annealer(const Rbm& rbm, const Eigen::VectorXf& base_bias, Range chains, uint64_t seed,
           uint32_t direction)
      : nv_(rbm.visible()),
        nh_(rbm.hidden()),
        chains_(chains),
        seed_(seed),
        direction_(direction),
        rows_(chains.size()),
        w_(Matrix::Zero(nv_, PaddedWidth(nh_))),
        wt_(Matrix::Zero(nh_, PaddedWidth(nv_))),
        c_(Eigen::VectorXf::Zero(PaddedWidth(nh_))),
        zero_(Eigen::VectorXf::Zero(PaddedWidth(nv_))),
        base_(base_bias.array()),
        b_(rbm.visible_bias().array()),
        d_((rbm.visible_bias() - base_bias).cast<double>().array()),
        v_(rows_, nv_),
        h_(rows_, nh_),
        x_(rows_, PaddedWidth(nh_)),
        y_(rows_, PaddedWidth(nv_)),
        p_(std::max(nv_, nh_)),
        xd_(nh_),
        z_(nh_),
        log_w_(static_cast<std::size_t>(rows_), 0.0) {
    w_.leftCols(nh_) = rbm.weights();
    wt_.leftCols(nv_) = rbm.weights().transpose();
    c_.head(nh_) = rbm.hidden_bias();
  }

  Matrix* visible() { return &v_; }
  [[nodiscard]] const std::vector<double>& log_weights() const { return log_w_; }

  // v ~ Bernoulli(sigmoid(b_A)): exact samples of the base-rate model.
  void SampleBaseRate() {
    p_.head(nv_) = (1.0F + (-base_).exp()).inverse();
    for (Eigen::Index r = 0; r < rows_; ++r) {
      SampleBernoulli(Key(Stream::kAisStart, r, 0), Span(p_, nv_), RowSpan(&v_, r));
    }
  }

  // Moves the chains along gammas[0] -> gammas[K], adding to each log weight
  //   Σ_t [log p*_{γ_t}(v_t) - log p*_{γ_{t-1}}(v_t)],
  // with one Gibbs transition at γ_t between the terms.
  void Run(const std::vector<double>& gammas, Progress* progress) {
    const auto steps = static_cast<int64_t>(gammas.size()) - 1;
    for (int64_t t = 1; t <= steps; ++t) {
      const auto k = static_cast<std::size_t>(t);
      // x = c + vW; 0/1 states take the sparse kernel (rows independent of each other too).
      if (!BinaryProduct(v_, w_, c_, 1.0F, Epilogue::kLinear, &x_)) Product(v_, w_, c_, &x_);
      AddLogRatio(gammas[k - 1], gammas[k]);
      if (t < steps) Transition(gammas[k], static_cast<uint64_t>(t));
      progress->Update(t);
    }
  }

 private:
  StreamKey Key(Stream stream, Eigen::Index row, uint64_t step) const {
    return {.seed = seed_,
            .stream = stream,
            .index = static_cast<uint64_t>(chains_.first + row),
            .step = step,
            .sub = direction_};
  }
  static std::span<const float> Span(const Eigen::ArrayXf& a, Eigen::Index n) {
    return {a.data(), static_cast<std::size_t>(n)};
  }
  static std::span<float> RowSpan(Matrix* m, Eigen::Index r) {
    return {m->data() + r * m->cols(), static_cast<std::size_t>(m->cols())};
  }

  // log p*_to(v) - log p*_from(v) = (to - from) (b - b_A)·v
  //                                + Σ_j [softplus(to x_j) - softplus(from x_j)],
  // with x = c + vW of the current states, in double.
  void AddLogRatio(double from, double to) {
    for (Eigen::Index r = 0; r < rows_; ++r) {
      const Eigen::Map<const Eigen::ArrayXf> x(x_.data() + r * x_.cols(), nh_);
      const Eigen::Map<const Eigen::ArrayXf> v(v_.data() + r * nv_, nv_);
      xd_ = x.cast<double>();
      z_ = to * xd_;
      double ratio = SoftplusSum(z_);
      z_ = from * xd_;
      ratio -= SoftplusSum(z_);
      ratio += (to - from) * (v.cast<double>() * d_).sum();
      log_w_[static_cast<std::size_t>(r)] += ratio;
    }
  }

  // One Gibbs transition that leaves p_β invariant: h ~ sigmoid(β x), then
  // v ~ sigmoid((1-β) b_A + β (b + h Wᵀ)).
  void Transition(double beta, uint64_t step) {
    const auto bf = static_cast<float>(beta);
    const auto rest = static_cast<float>(1.0 - beta);
    for (Eigen::Index r = 0; r < rows_; ++r) {
      const Eigen::Map<const Eigen::ArrayXf> x(x_.data() + r * x_.cols(), nh_);
      p_.head(nh_) = (1.0F + (-bf * x).exp()).inverse();
      SampleBernoulli(Key(Stream::kAisHidden, r, step), Span(p_, nh_), RowSpan(&h_, r));
    }
    if (!BinaryProduct(h_, wt_, zero_, 1.0F, Epilogue::kLinear, &y_)) {
      Product(h_, wt_, zero_, &y_);  // y = h Wᵀ
    }
    for (Eigen::Index r = 0; r < rows_; ++r) {
      const Eigen::Map<const Eigen::ArrayXf> y(y_.data() + r * y_.cols(), nv_);
      p_.head(nv_) = (1.0F + (-(rest * base_ + bf * (b_ + y))).exp()).inverse();
      SampleBernoulli(Key(Stream::kAisVisible, r, step), Span(p_, nv_), RowSpan(&v_, r));
    }
  }

  int nv_;
  int nh_;
  Range chains_;
  uint64_t seed_;
  uint32_t direction_;
  Eigen::Index rows_;
  Matrix w_;              // W, columns padded to whole packets
  Matrix wt_;             // Wᵀ, padded
  Eigen::VectorXf c_;     // hidden biases, padded
  Eigen::VectorXf zero_;  // zeros, padded like the visible layer
  Eigen::ArrayXf base_;   // b_A
  Eigen::ArrayXf b_;      // b
  Eigen::ArrayXd d_;      // b - b_A
  Matrix v_, h_, x_, y_;
  Eigen::ArrayXf p_;
  Eigen::ArrayXd xd_, z_;
  std::vector<double> log_w_;
};

// Gathers the log weights in chain order and fills in the estimate. Forward weights
// estimate Z / Z_A, reverse weights Z_A / Z.
AisResult Finish(const Communicator& comm, const Rbm& rbm, const Eigen::VectorXf& base_bias,
                 const Annealer& annealer, const AisOptions& options, bool reverse,
                 Clock::time_point start) {
  AisResult result;
  result.reverse = reverse;
  result.log_weights = comm.AllGather(annealer.log_weights());
  const WeightSummary summary = SummarizeLogWeights(result.log_weights);
  result.log_z0 = BaseRateLogPartition(rbm, base_bias);
  if (reverse) {
    result.log_z = result.log_z0 - summary.log_mean;
    result.log_z_low = result.log_z0 - summary.log_high;
    result.log_z_high = result.log_z0 - summary.log_low;
  } else {
    result.log_z = result.log_z0 + summary.log_mean;
    result.log_z_low = result.log_z0 + summary.log_low;
    result.log_z_high = result.log_z0 + summary.log_high;
  }
  result.log_z_sd = summary.relative_sd;
  result.ess = summary.ess;
  result.chains = options.chains;
  result.steps = options.steps == 0 ? kClassicLadderSteps : options.steps;
  result.seed = options.seed;
  result.seconds = comm.Max(SecondsSince(start));
  return result;
}

void RequireAisInputs(const Rbm& rbm, const Eigen::VectorXf& base_bias, const AisOptions& options) {
  ZETA_CHECK(base_bias.size() == rbm.visible(), "base-rate biases must cover the visible units");
  ZETA_CHECK(base_bias.allFinite(), "base-rate biases must be finite");
  ZETA_CHECK(options.chains >= 1 && options.steps >= 0, "AIS needs chains and steps");
}

// ---- Results file -----------------------------------------------------------------------

constexpr int64_t kLogzFormatVersion = 1;

void WriteAisGroup(h5::File* file, const std::string& group, const AisResult& ais,
                   const LogPartitionReport& report) {
  file->CreateGroups(group);
  file->SetAttribute(group, "log_z", ais.log_z);
  file->SetAttribute(group, "log_z_low", ais.log_z_low);
  file->SetAttribute(group, "log_z_high", ais.log_z_high);
  file->SetAttribute(group, "log_z_sd", ais.log_z_sd);
  file->SetAttribute(group, "log_z0", ais.log_z0);
  file->SetAttribute(group, "ess", ais.ess);
  file->SetAttribute(group, "chains", ais.chains);
  file->SetAttribute(group, "steps", ais.steps);
  file->SetAttribute(group, "seed", std::to_string(ais.seed));
  file->SetAttribute(group, "base_rate", report.base_rate);
  file->SetAttribute(group, "seconds", ais.seconds);
  if (ais.reverse) file->SetAttribute(group, "heldout", report.heldout);
  const auto nv = static_cast<hsize_t>(report.base_bias.size());
  file->Write<float>(group + "/base_visible_bias",
                     std::span<const float>(report.base_bias.data(), nv), {nv});
  if (report.save_weights) {
    file->Write<double>(group + "/log_weights", ais.log_weights,
                        {static_cast<hsize_t>(ais.log_weights.size())});
    const auto betas = InverseTemperatures(ais.steps == kClassicLadderSteps ? 0 : ais.steps);
    file->Write<double>(group + "/inverse_temperatures", betas,
                        {static_cast<hsize_t>(betas.size())});
  }
}

AisResult ReadAisGroup(const h5::File& file, const std::string& group, bool reverse) {
  AisResult ais;
  ais.reverse = reverse;
  ais.log_z = file.DoubleAttribute(group, "log_z");
  ais.log_z_low = file.DoubleAttribute(group, "log_z_low");
  ais.log_z_high = file.DoubleAttribute(group, "log_z_high");
  ais.log_z_sd = file.DoubleAttribute(group, "log_z_sd");
  ais.log_z0 = file.DoubleAttribute(group, "log_z0");
  ais.ess = file.DoubleAttribute(group, "ess");
  ais.chains = file.IntAttribute(group, "chains");
  ais.steps = file.IntAttribute(group, "steps");
  ais.seed = std::stoull(file.StringAttribute(group, "seed"));
  ais.seconds = file.DoubleAttribute(group, "seconds");
  return ais;
}

}  // namespace

// ---- Exact ------------------------------------------------------------------------------

double ExactPlan::terms() const { return std::ldexp(1.0, units) * other_units; }

ExactPlan PlanExact(const Rbm& rbm) {
  const bool hidden = rbm.hidden() <= rbm.visible();
  return {.hidden = hidden,
          .units = hidden ? rbm.hidden() : rbm.visible(),
          .other_units = hidden ? rbm.visible() : rbm.hidden()};
}

std::string DescribeExactCost(const ExactPlan& plan, int ranks) {
  char text[256];
  std::snprintf(text, sizeof text,
                "2^%d = %.3g states of the %s layer, each summing %d softplus terms of the "
                "%s layer: %.3g terms, about %s on %d rank%s",
                plan.units, std::ldexp(1.0, plan.units), plan.hidden ? "hidden" : "visible",
                plan.other_units, plan.hidden ? "visible" : "hidden", plan.terms(),
                FormatDuration(plan.terms() / kTermsPerSecond / std::max(ranks, 1)).c_str(), ranks,
                ranks == 1 ? "" : "s");
  return text;
}

ExactResult ExactLogPartition(const Communicator& comm, const Rbm& rbm, int max_units,
                              bool progress) {
  const auto start = Clock::now();
  ExactResult result;
  result.plan = PlanExact(rbm);
  const ExactPlan& plan = result.plan;
  if (plan.units > max_units) {
    // Every rank reaches the same verdict, so the error is collective.
    throw Error("exact log Z of a " + std::to_string(rbm.visible()) + "x" +
                    std::to_string(rbm.hidden()) + " model would enumerate " +
                    DescribeExactCost(plan, comm.size()) + "; the limit is " +
                    std::to_string(max_units) +
                    " units (--max-exact-units); use AIS (--method ais) instead",
                kExitUsage, /*collective=*/true);
  }
  const int k = plan.units;
  const int n = plan.other_units;

  // Row j of u: the couplings of enumerated unit j to the other layer; e and g the biases
  // of the enumerated and the other layer. A state s then contributes
  //   e·s + Σ_i softplus(g_i + (uᵀ s)_i).
  const MatrixD w = rbm.weights().cast<double>();
  MatrixD u = plan.hidden ? MatrixD(w.transpose()) : w;
  const Eigen::VectorXd e = (plan.hidden ? rbm.hidden_bias() : rbm.visible_bias()).cast<double>();
  const Eigen::ArrayXd g =
      (plan.hidden ? rbm.visible_bias() : rbm.hidden_bias()).cast<double>().array();

  // Partial sums of the low bits: row r of low_u is Σ_{bits j of r} u.row(j), built from the
  // row without r's top bit.
  const int low = std::min(k, kLowBits);
  const Eigen::Index block = Eigen::Index{1} << low;
  MatrixD low_u = MatrixD::Zero(block, n);
  Eigen::ArrayXd low_e = Eigen::ArrayXd::Zero(block);
  for (Eigen::Index r = 1; r < block; ++r) {
    const int top = std::bit_width(static_cast<uint64_t>(r)) - 1;
    const Eigen::Index rest = r ^ (Eigen::Index{1} << top);
    low_u.row(r) = low_u.row(rest) + u.row(top);
    low_e[r] = low_e[rest] + e[top];
  }

  const int64_t highs = int64_t{1} << (k - low);
  const int64_t segments = std::min(highs, kExactSegments);
  const Range mine = SplitEvenly(segments, comm.size(), comm.rank());
  std::vector<double> partial;  // (max, Σ exp(term - max)) per segment of this rank
  partial.reserve(static_cast<std::size_t>(2 * mine.size()));
  Eigen::ArrayXd base(n);
  Eigen::ArrayXd z(n);
  Eigen::ArrayXd terms(block);
  Progress bar("exact log Z", mine.size(), progress && comm.root());
  for (int64_t segment = mine.first; segment < mine.last; ++segment) {
    const Range states = SplitEvenly(highs, static_cast<int>(segments), static_cast<int>(segment));
    double top = -kInf;
    double sum = 0.0;
    for (int64_t high = states.first; high < states.last; ++high) {
      base = g;
      double base_e = 0.0;
      for (int j = 0; j < k - low; ++j) {
        if (((high >> j) & 1) == 0) continue;
        base += u.row(low + j).transpose().array();
        base_e += e[low + j];
      }
      for (Eigen::Index r = 0; r < block; ++r) {
        z = low_u.row(r).transpose().array() + base;
        terms[r] = low_e[r] + base_e + SoftplusSum(z);
      }
      const double m = terms.maxCoeff();
      const double s = (terms - m).exp().sum();
      if (m > top) {
        sum = sum * std::exp(top - m) + s;
        top = m;
      } else {
        sum += s * std::exp(m - top);
      }
    }
    partial.push_back(top);
    partial.push_back(sum);
    bar.Update(segment - mine.first + 1);
  }
  bar.Finish();

  // Every rank combines all segments in segment order.
  const std::vector<double> all = comm.AllGather(partial);
  double top = -kInf;
  for (std::size_t i = 0; i < all.size(); i += 2) top = std::max(top, all[i]);
  double total = 0.0;
  for (std::size_t i = 0; i < all.size(); i += 2) total += all[i + 1] * std::exp(all[i] - top);
  result.log_z = top + std::log(total);
  result.seconds = comm.Max(SecondsSince(start));
  return result;
}

// ---- AIS --------------------------------------------------------------------------------

std::vector<double> InverseTemperatures(int64_t steps) {
  ZETA_CHECK(steps >= 0, "the number of temperature steps cannot be negative");
  std::vector<double> betas;
  if (steps == 0) {
    betas.reserve(static_cast<std::size_t>(kClassicLadderSteps + 1));
    for (int i = 0; i <= 500; ++i) betas.push_back(i / 1000.0);
    for (int i = 1; i <= 4000; ++i) betas.push_back(0.5 + i / 10000.0);
    for (int i = 1; i <= 10000; ++i) betas.push_back(0.9 + i / 100000.0);
  } else {
    betas.reserve(static_cast<std::size_t>(steps + 1));
    for (int64_t k = 0; k <= steps; ++k) {
      betas.push_back(static_cast<double>(k) / static_cast<double>(steps));
    }
  }
  betas.back() = 1.0;
  return betas;
}

double BaseRateLogPartition(const Rbm& rbm, const Eigen::VectorXf& base_bias) {
  double log_z = rbm.hidden() * std::log(2.0);
  for (Eigen::Index i = 0; i < base_bias.size(); ++i) log_z += Softplus(base_bias[i]);
  return log_z;
}

WeightSummary SummarizeLogWeights(std::span<const double> log_weights) {
  ZETA_CHECK(!log_weights.empty(), "at least one importance weight is needed");
  const auto m = static_cast<double>(log_weights.size());
  double top = -kInf;
  for (double lw : log_weights) {
    ZETA_CHECK(std::isfinite(lw), "AIS log weights must be finite");
    top = std::max(top, lw);
  }
  // Weights scaled by e^-top, so the largest is 1; sums in chain order.
  double sum = 0.0;
  double sum_squares = 0.0;
  for (double lw : log_weights) {
    const double w = std::exp(lw - top);
    sum += w;
    sum_squares += w * w;
  }
  const double mean = sum / m;
  double deviations = 0.0;
  for (double lw : log_weights) {
    const double d = std::exp(lw - top) - mean;
    deviations += d * d;
  }
  const double sigma = log_weights.size() > 1 ? std::sqrt(deviations / (m - 1) / m) : kInf;
  WeightSummary summary;
  summary.log_mean = top + std::log(mean);
  summary.log_high = top + std::log(mean + 3 * sigma);
  summary.log_low = mean - 3 * sigma > 0 ? top + std::log(mean - 3 * sigma) : -kInf;
  summary.relative_sd = sigma / mean;
  summary.ess = sum * sum / sum_squares;
  return summary;
}

Range ChainsOfRank(const Communicator& comm, int64_t chains) {
  return SplitEvenly(chains, comm.size(), comm.rank());
}

AisResult ForwardAis(const Communicator& comm, const Rbm& rbm, const Eigen::VectorXf& base_bias,
                     const AisOptions& options) {
  RequireAisInputs(rbm, base_bias, options);
  const auto start = Clock::now();
  Annealer annealer(rbm, base_bias, ChainsOfRank(comm, options.chains), options.seed, 0);
  annealer.SampleBaseRate();
  const auto betas = InverseTemperatures(options.steps);
  Progress progress("AIS", static_cast<int64_t>(betas.size()) - 1, options.progress && comm.root());
  annealer.Run(betas, &progress);
  progress.Finish();
  return Finish(comm, rbm, base_bias, annealer, options, /*reverse=*/false, start);
}

AisResult ReverseAis(const Communicator& comm, const Rbm& rbm, const Eigen::VectorXf& base_bias,
                     const Matrix& start_states, const AisOptions& options) {
  RequireAisInputs(rbm, base_bias, options);
  const auto start = Clock::now();
  const Range mine = ChainsOfRank(comm, options.chains);
  ZETA_CHECK(start_states.rows() == mine.size() && start_states.cols() == rbm.visible(),
             "reverse AIS needs this rank's start states, one row per chain");
  ZETA_CHECK(((start_states.array() == 0.0F) || (start_states.array() == 1.0F)).all(),
             "reverse AIS start states must be 0/1");
  Annealer annealer(rbm, base_bias, mine, options.seed, 1);
  *annealer.visible() = start_states;
  auto gammas = InverseTemperatures(options.steps);
  std::reverse(gammas.begin(), gammas.end());
  Progress progress("reverse AIS", static_cast<int64_t>(gammas.size()) - 1,
                    options.progress && comm.root());
  annealer.Run(gammas, &progress);
  progress.Finish();
  return Finish(comm, rbm, base_bias, annealer, options, /*reverse=*/true, start);
}

Eigen::VectorXf BaseRateFromSplit(const Communicator& comm, const SplitInfo& split,
                                  int64_t chunk_rows) {
  ZETA_CHECK(chunk_rows > 0, "chunks must hold rows");
  std::vector<int64_t> ones(static_cast<std::size_t>(split.cols), 0);
  const Range rows = SplitEvenly(split.rows, comm.size(), comm.rank());
  comm.Collectively([&] {
    for (int64_t first = rows.first; first < rows.last; first += chunk_rows) {
      const int64_t count = std::min(chunk_rows, rows.last - first);
      const auto bytes = ReadVisibleRows(split, first, count);
      for (std::size_t i = 0; i < bytes.size(); ++i) ones[i % ones.size()] += bytes[i];
    }
  });
  comm.SumInPlace(ones);
  return BaseRateBias(ones, split.rows);
}

// ---- Results file -----------------------------------------------------------------------

std::string ModelChecksum(const Rbm& rbm) {
  const int32_t shape[2] = {rbm.visible(), rbm.hidden()};
  uint64_t hash = Fnv1a(reinterpret_cast<const uint8_t*>(shape), sizeof shape);
  const auto params = rbm.parameters();
  hash = Fnv1a(reinterpret_cast<const uint8_t*>(params.data()), params.size_bytes(), hash);
  char text[24];
  std::snprintf(text, sizeof text, "%016llx", static_cast<unsigned long long>(hash));
  return text;
}

std::optional<double> LogPartitionReport::gap() const {
  if (!ais || !reverse) return std::nullopt;
  return reverse->log_z - ais->log_z;
}

std::string ResultsPathNextTo(const std::string& model, const std::string& kind) {
  std::filesystem::path path(model);
  if (path.extension() == ".h5") path.replace_extension();
  path += "." + kind + ".h5";
  return path.string();
}

void WriteLogPartitionFile(const std::string& path, const LogPartitionReport& report) {
  h5::AtomicOutput output(path);
  {
    auto file = h5::File::Create(output.temp_path());
    file.SetAttribute("/", "format", std::string("zeta-logz"));
    file.SetAttribute("/", "format_version", kLogzFormatVersion);
    file.SetAttribute("/", "zeta_version", std::string(kVersion));
    file.SetAttribute("/", "git_commit", std::string(kGitCommit));
    file.SetAttribute("/", "created", UtcNow());
    file.SetAttribute("/", "model", report.model);
    file.SetAttribute("/", "model_checksum", report.model_checksum);
    file.SetAttribute("/", "visible", int64_t{report.visible});
    file.SetAttribute("/", "hidden", int64_t{report.hidden});
    file.SetAttribute("/", "ranks", int64_t{report.ranks});
    if (const auto gap = report.gap()) file.SetAttribute("/", "gap", *gap);
    if (report.exact) {
      file.CreateGroups("/exact");
      file.SetAttribute("/exact", "log_z", report.exact->log_z);
      file.SetAttribute("/exact", "enumerated_layer",
                        std::string(report.exact->plan.hidden ? "hidden" : "visible"));
      file.SetAttribute("/exact", "units", int64_t{report.exact->plan.units});
      file.SetAttribute("/exact", "seconds", report.exact->seconds);
    }
    if (report.ais) WriteAisGroup(&file, "/ais", *report.ais, report);
    if (report.reverse) WriteAisGroup(&file, "/reverse_ais", *report.reverse, report);
    file.Flush();
  }
  output.Commit();
}

LogPartitionReport ReadLogPartitionFile(const std::string& path) {
  const auto file = h5::File::OpenRead(path);
  if (!file.HasAttribute("/", "format") || file.StringAttribute("/", "format") != "zeta-logz") {
    throw Error(path + ": not a results file of 'zeta logz' (no attribute format = zeta-logz)");
  }
  const auto version = file.IntAttribute("/", "format_version");
  if (version != kLogzFormatVersion) {
    throw Error(path + ": format_version " + std::to_string(version) + ", this Zeta reads " +
                std::to_string(kLogzFormatVersion));
  }
  LogPartitionReport report;
  report.model = file.StringAttribute("/", "model");
  report.model_checksum = file.StringAttribute("/", "model_checksum");
  report.visible = static_cast<int>(file.IntAttribute("/", "visible"));
  report.hidden = static_cast<int>(file.IntAttribute("/", "hidden"));
  report.ranks = static_cast<int>(file.IntAttribute("/", "ranks"));
  if (file.Exists("/exact")) {
    ExactResult exact;
    exact.log_z = file.DoubleAttribute("/exact", "log_z");
    exact.plan.hidden = file.StringAttribute("/exact", "enumerated_layer") == "hidden";
    exact.plan.units = static_cast<int>(file.IntAttribute("/exact", "units"));
    exact.plan.other_units = exact.plan.hidden ? report.visible : report.hidden;
    exact.seconds = file.DoubleAttribute("/exact", "seconds");
    report.exact = exact;
  }
  if (file.Exists("/ais")) {
    report.ais = ReadAisGroup(file, "/ais", false);
    report.base_rate = file.StringAttribute("/ais", "base_rate");
  }
  if (file.Exists("/reverse_ais")) {
    report.reverse = ReadAisGroup(file, "/reverse_ais", true);
    report.base_rate = file.StringAttribute("/reverse_ais", "base_rate");
    report.heldout = file.StringAttribute("/reverse_ais", "heldout");
  }
  if (!report.exact && !report.ais && !report.reverse) {
    throw Error(path + ": holds no estimate (expected a group /exact, /ais or /reverse_ais)");
  }
  return report;
}

}  // namespace zeta
