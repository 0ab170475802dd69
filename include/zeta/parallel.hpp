// The only place that talks to MPI: the environment, a communicator, exact and ordered
// sums, and agreement on failures so that no rank is left waiting in a collective.
#pragma once

#include <mpi.h>

#include <cstdint>
#include <functional>
#include <span>
#include <string>
#include <vector>

namespace zeta {

// Initialises MPI for the life of the process and finalizes it on normal exit. Abort()
// ends every rank; it is called from main only, never from a destructor.
class MpiEnvironment {
 public:
  MpiEnvironment(int* argc, char*** argv);
  ~MpiEnvironment();
  MpiEnvironment(const MpiEnvironment&) = delete;
  MpiEnvironment& operator=(const MpiEnvironment&) = delete;

  [[noreturn]] static void Abort(int exit_code);
};

// Half-open range [first, last) of shard (or block) ids owned by one rank.
struct Range {
  int64_t first = 0;
  int64_t last = 0;
  [[nodiscard]] int64_t size() const { return last - first; }
};

// Splits `count` items into `parts` contiguous ranges whose sizes differ by at most one,
// and returns range `part`.
[[nodiscard]] Range SplitEvenly(int64_t count, int parts, int part);

// A duplicate of MPI_COMM_WORLD (or of another communicator), freed on destruction.
class Communicator {
 public:
  Communicator();  // duplicates MPI_COMM_WORLD
  // Collective over `parent`: the ranks passing the same `color` form one new communicator,
  // ranked as in the parent (for running a computation on fewer ranks, as tests do).
  Communicator(const Communicator& parent, int color);
  ~Communicator();
  Communicator(const Communicator&) = delete;
  Communicator& operator=(const Communicator&) = delete;

  [[nodiscard]] int rank() const { return rank_; }
  [[nodiscard]] int size() const { return size_; }
  [[nodiscard]] bool root() const { return rank_ == 0; }
  [[nodiscard]] MPI_Comm handle() const { return comm_; }

  // Element-wise sum over ranks, in place. Integer sums are exact, so the result does not
  // depend on how values were spread over ranks.
  void SumInPlace(std::span<int64_t> values) const;
  void SumInPlace(std::span<int32_t> values) const;  // half the bytes where sums fit
  void SumInPlace(std::span<double> values) const;   // not order-independent: diagnostics
  [[nodiscard]] int64_t Sum(int64_t value) const;
  [[nodiscard]] double Max(double value) const;
  [[nodiscard]] double Min(double value) const;
  [[nodiscard]] bool AllTrue(bool value) const;
  [[nodiscard]] bool AnyTrue(bool value) const { return !AllTrue(!value); }

  // Every rank receives root's values.
  void Broadcast(std::span<float> values, int root = 0) const;
  void Broadcast(std::span<double> values, int root = 0) const;
  void Broadcast(std::span<int64_t> values, int root = 0) const;
  void Broadcast(std::span<uint8_t> values, int root = 0) const;
  void Broadcast(std::string* text, int root = 0) const;

  // Gathers each rank's values, in rank order, on every rank (ranks may contribute
  // different counts). Used where a sum must be taken in one fixed global order.
  [[nodiscard]] std::vector<double> AllGather(std::span<const double> local) const;
  [[nodiscard]] std::vector<uint8_t> Gather(std::span<const uint8_t> local, int root = 0) const;
  [[nodiscard]] std::vector<std::string> GatherStrings(const std::string& local,
                                                       int root = 0) const;

  void Barrier() const;

  // Runs `work` on every rank and agrees on the outcome. If it throws a zeta::Error on
  // any rank, every rank throws one collective Error carrying the message and exit code
  // of the lowest failing rank, so all ranks leave together. Other exceptions are not
  // caught: they end in MPI_Abort from main.
  void Collectively(const std::function<void()>& work) const;

 private:
  MPI_Comm comm_ = MPI_COMM_NULL;
  int rank_ = 0;
  int size_ = 1;
};

// An exact int32 sum over the ranks of a communicator, of one fixed length, through memory
// the ranks of a node share (MPI-3 shared windows) instead of messages: each rank writes its
// addends into its own slot, each rank of a node adds up its block of the vector over the
// node's slots, the node leaders add their nodes' sums with one allreduce when there are
// several nodes, and every rank reads the whole result from the shared window. Integer sums
// are exact, so the result is the same as Communicator::SumInPlace's, at less than the cost
// of an allreduce's copies within a node.
class SharedSum {
 public:
  // Collective over `comm`. Ranks that share memory form a node; `node_color` >= 0 instead
  // groups the ranks passing the same color (they must still share memory), which lets the
  // tests emulate several nodes on one machine.
  SharedSum(const Communicator& comm, std::size_t count, int node_color = -1);
  ~SharedSum();
  SharedSum(const SharedSum&) = delete;
  SharedSum& operator=(const SharedSum&) = delete;

  // This rank's addends: fill them, then call Sum().
  [[nodiscard]] std::span<int32_t> addends() { return addends_; }
  // Collective: the element-wise sum over ranks of everyone's addends. The view stays valid
  // until the next call of Sum(); the addends may be rewritten as soon as it returns.
  [[nodiscard]] std::span<const int32_t> Sum();

 private:
  void Synchronize() const;  // memory barrier and barrier over the node

  std::size_t count_ = 0;
  int world_size_ = 1;
  MPI_Comm node_ = MPI_COMM_NULL;
  MPI_Comm leaders_ = MPI_COMM_NULL;  // node rank 0 of every node (MPI_COMM_NULL elsewhere)
  bool several_nodes_ = false;
  MPI_Win window_ = MPI_WIN_NULL;
  std::vector<const int32_t*> slots_;  // every node rank's addends
  int32_t* result_ = nullptr;
  Range block_;  // the part of the result this rank adds up
  std::span<int32_t> addends_;
  std::vector<int32_t> local_;  // addends and result on a single rank
};

// Converts reals to 2^-fraction_bits fixed point for exact sums over ranks. Returns false
// when a value is not finite or too large to represent with headroom for 2^16 addends.
[[nodiscard]] bool ToFixedPoint(std::span<const float> values, int fraction_bits,
                                std::span<int64_t> out);
[[nodiscard]] double FromFixedPoint(int64_t value, int fraction_bits);
// The same in 32 bits, for sums the caller knows stay below 2^31 in magnitude (the trainer's
// gradient grid keeps every global sum below 2^24): false when a value is not finite or
// reaches 2^30.
[[nodiscard]] bool ToFixedPoint(std::span<const float> values, int fraction_bits,
                                std::span<int32_t> out);

}  // namespace zeta
