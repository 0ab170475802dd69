// Proxies and scores that need no partition function: reconstruction error,
// pseudo-log-likelihood and free energies of a batch.
#pragma once

#include <cstdint>

#include "zeta/model.hpp"

namespace zeta {

// Mean squared error per pixel of the mean-field reconstruction p(v | p(h | v)).
[[nodiscard]] double ReconstructionError(const Rbm& rbm, const MatrixRef& v);

// Stochastic pseudo-log-likelihood per sample: for sample n one bit i_n (fixed by the seed
// and the sample's global index first_index + n) is flipped to give ṽ, and
// PLL(v) ≈ nv · log sigmoid(F(ṽ) - F(v)). Returns the mean over the rows of v.
[[nodiscard]] double PseudoLogLikelihood(const Rbm& rbm, const MatrixRef& v, uint64_t seed,
                                         uint64_t first_index = 0);

// Mean free energy of the rows of v.
[[nodiscard]] double MeanFreeEnergy(const Rbm& rbm, const MatrixRef& v);

}  // namespace zeta
