// What a training step's exchange of the 784x500 model's 393,286 statistics costs, three
// ways: zeta::SharedSum through node-shared memory, which the trainer uses (timed with the
// copy of the addends into their slot, which the trainer's kernels write in place); the
// int32 allreduce it replaced; and the exchange of a sharded update (a reduce-scatter, each
// rank updating its block, an allgather of the float parameters). Run under mpirun; rank 0
// prints one JSON object of microseconds per exchange (the best of several repetitions, each
// the mean over many exchanges).
#include <mpi.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "zeta/parallel.hpp"

namespace {

template <typename Exchange>
double MicrosecondsPer(const Exchange& exchange, int repetitions, int count) {
  double best = 1e30;
  for (int r = 0; r < repetitions; ++r) {
    MPI_Barrier(MPI_COMM_WORLD);
    const double start = MPI_Wtime();
    for (int i = 0; i < count; ++i) exchange();
    double seconds = MPI_Wtime() - start;
    MPI_Allreduce(MPI_IN_PLACE, &seconds, 1, MPI_DOUBLE, MPI_MAX, MPI_COMM_WORLD);
    best = std::min(best, seconds / count * 1e6);
  }
  return best;
}

}  // namespace

int main(int argc, char** argv) {
  MPI_Init(&argc, &argv);
  int rank = 0;
  int size = 1;
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  MPI_Comm_size(MPI_COMM_WORLD, &size);
  // nv*nh + nv + nh for 784x500, and 2 flags.
  const int values = argc > 1 ? std::atoi(argv[1]) : 784 * 500 + 784 + 500 + 2;
  std::vector<int32_t> statistics(static_cast<std::size_t>(values), 1);
  std::vector<int32_t> block(static_cast<std::size_t>(values));
  std::vector<float> parameters(static_cast<std::size_t>(values), 0.0F);
  std::vector<int> counts(static_cast<std::size_t>(size));
  std::vector<int> offsets(static_cast<std::size_t>(size));
  for (int r = 0; r < size; ++r) {
    offsets[r] = static_cast<int>(static_cast<long long>(values) * r / size);
    const int next = static_cast<int>(static_cast<long long>(values) * (r + 1) / size);
    counts[r] = next - offsets[r];
  }

  const double allreduce = MicrosecondsPer(
      [&] {
        MPI_Allreduce(statistics.data(), block.data(), values, MPI_INT32_T, MPI_SUM,
                      MPI_COMM_WORLD);
      },
      5, 300);
  const double sharded = MicrosecondsPer(
      [&] {
        MPI_Reduce_scatter(statistics.data(), block.data(), counts.data(), MPI_INT32_T, MPI_SUM,
                           MPI_COMM_WORLD);
        MPI_Allgatherv(MPI_IN_PLACE, 0, MPI_DATATYPE_NULL, parameters.data(), counts.data(),
                       offsets.data(), MPI_FLOAT, MPI_COMM_WORLD);
      },
      5, 300);
  double through_shared = 0;
  {  // freed before MPI_Finalize
    const zeta::Communicator comm;
    zeta::SharedSum shared(comm, static_cast<std::size_t>(values));
    through_shared = MicrosecondsPer(
        [&] {
          std::copy(statistics.begin(), statistics.end(), shared.addends().begin());
          (void)shared.Sum();
        },
        5, 300);
  }
  if (rank == 0) {
    std::printf(
        "{\"ranks\": %d, \"values\": %d, \"allreduce_us\": %.1f, "
        "\"reduce_scatter_allgather_us\": %.1f, \"shared_sum_us\": %.1f}\n",
        size, values, allreduce, sharded, through_shared);
  }
  MPI_Finalize();
  return 0;
}
