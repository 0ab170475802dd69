// Thread control of the GEMM backend chosen at configure time (ZETA_BLAS).
#include <Eigen/Core>

#include "zeta/kernels.hpp"
#include "zeta/model.hpp"

#ifdef ZETA_USE_OPENBLAS
extern "C" void openblas_set_num_threads(int threads);
#endif

namespace zeta {

void SetComputeThreads(int threads) {
#ifdef ZETA_USE_OPENBLAS
  openblas_set_num_threads(threads);
#endif
  Eigen::setNbThreads(threads);
  SetKernelThreads(threads);
}

}  // namespace zeta
