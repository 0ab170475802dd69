// main() of every test binary: MPI up, GoogleTest output from rank 0 only, and the exit
// code agreed over ranks so that a failure on any rank fails the test.
#include <gtest/gtest.h>
#include <mpi.h>

#include "zeta/hdf5.hpp"
#include "zeta/log.hpp"

int main(int argc, char** argv) {
  MPI_Init(&argc, &argv);
  int rank = 0;
  int size = 1;
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  MPI_Comm_size(MPI_COMM_WORLD, &size);
  zeta::h5::SilenceLibraryErrors();
  zeta::log::Init(rank, size, "warn");
  ::testing::InitGoogleTest(&argc, argv);
  if (rank != 0) {
    auto& listeners = ::testing::UnitTest::GetInstance()->listeners();
    delete listeners.Release(listeners.default_result_printer());
  }
  int failed = RUN_ALL_TESTS() != 0 ? 1 : 0;
  MPI_Allreduce(MPI_IN_PLACE, &failed, 1, MPI_INT, MPI_MAX, MPI_COMM_WORLD);
  MPI_Finalize();
  return failed;
}
