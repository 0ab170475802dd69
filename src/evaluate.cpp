// Reconstruction error, pseudo-log-likelihood and mean free energy.
#include "zeta/evaluate.hpp"

#include "zeta/random.hpp"

namespace zeta {

double ReconstructionError(const Rbm& rbm, const MatrixRef& v) {
  if (v.rows() == 0) return 0.0;
  Matrix ph;
  Matrix pv;
  HiddenProbabilities(rbm, v, &ph);
  VisibleProbabilities(rbm, ph, &pv);
  return (pv - v).cast<double>().squaredNorm() / static_cast<double>(v.size());
}

double PseudoLogLikelihood(const Rbm& rbm, const MatrixRef& v, uint64_t seed,
                           uint64_t first_index) {
  if (v.rows() == 0) return 0.0;
  Matrix flipped = v;
  for (Eigen::Index n = 0; n < v.rows(); ++n) {
    uint32_t word = 0;
    FillBits({.seed = seed,
              .stream = Stream::kPseudoLikelihood,
              .index = first_index + static_cast<uint64_t>(n)},
             std::span<uint32_t>(&word, 1));
    const auto bit = static_cast<Eigen::Index>(BoundedInt(word, static_cast<uint32_t>(v.cols())));
    flipped(n, bit) = 1.0F - flipped(n, bit);
  }
  const Eigen::VectorXd f = FreeEnergy(rbm, v);
  const Eigen::VectorXd f_flipped = FreeEnergy(rbm, flipped);
  double total = 0.0;
  for (Eigen::Index n = 0; n < v.rows(); ++n) total += LogSigmoid(f_flipped[n] - f[n]);
  return static_cast<double>(v.cols()) * total / static_cast<double>(v.rows());
}

double MeanFreeEnergy(const Rbm& rbm, const MatrixRef& v) {
  if (v.rows() == 0) return 0.0;
  return FreeEnergy(rbm, v).mean();
}

}  // namespace zeta
