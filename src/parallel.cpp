// MPI wrappers: RAII communicator, exact sums, broadcasts and agreement on failure.
#include "zeta/parallel.hpp"

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <limits>

#include "zeta/error.hpp"

namespace zeta {
namespace {

int Count(std::size_t n) {
  ZETA_CHECK(n <= static_cast<std::size_t>(std::numeric_limits<int>::max()),
             "an MPI message must have fewer than 2^31 elements");
  return static_cast<int>(n);
}

void Call(int code, const char* what) {
  if (code != MPI_SUCCESS) throw Error(std::string("MPI call failed: ") + what);
}

}  // namespace

MpiEnvironment::MpiEnvironment(int* argc, char*** argv) {
  int provided = 0;
  MPI_Init_thread(argc, argv, MPI_THREAD_FUNNELED, &provided);
}

MpiEnvironment::~MpiEnvironment() {
  int finalized = 0;
  MPI_Finalized(&finalized);
  if (!finalized) MPI_Finalize();
}

void MpiEnvironment::Abort(int exit_code) {
  MPI_Abort(MPI_COMM_WORLD, exit_code);
  std::_Exit(exit_code);
}

Range SplitEvenly(int64_t count, int parts, int part) {
  ZETA_CHECK(parts > 0 && part >= 0 && part < parts, "part must lie in [0, parts)");
  const int64_t base = count / parts;
  const int64_t extra = count % parts;
  const int64_t first = part * base + std::min<int64_t>(part, extra);
  return {first, first + base + (part < extra ? 1 : 0)};
}

Communicator::Communicator() {
  Call(MPI_Comm_dup(MPI_COMM_WORLD, &comm_), "MPI_Comm_dup");
  MPI_Comm_rank(comm_, &rank_);
  MPI_Comm_size(comm_, &size_);
}

Communicator::Communicator(const Communicator& parent, int color) {
  Call(MPI_Comm_split(parent.comm_, color, parent.rank_, &comm_), "MPI_Comm_split");
  MPI_Comm_rank(comm_, &rank_);
  MPI_Comm_size(comm_, &size_);
}

Communicator::~Communicator() {
  int finalized = 0;
  MPI_Finalized(&finalized);
  if (!finalized && comm_ != MPI_COMM_NULL) MPI_Comm_free(&comm_);
}

void Communicator::SumInPlace(std::span<int64_t> values) const {
  Call(
      MPI_Allreduce(MPI_IN_PLACE, values.data(), Count(values.size()), MPI_INT64_T, MPI_SUM, comm_),
      "MPI_Allreduce");
}

void Communicator::SumInPlace(std::span<int32_t> values) const {
  Call(
      MPI_Allreduce(MPI_IN_PLACE, values.data(), Count(values.size()), MPI_INT32_T, MPI_SUM, comm_),
      "MPI_Allreduce");
}

void Communicator::SumInPlace(std::span<double> values) const {
  Call(MPI_Allreduce(MPI_IN_PLACE, values.data(), Count(values.size()), MPI_DOUBLE, MPI_SUM, comm_),
       "MPI_Allreduce");
}

int64_t Communicator::Sum(int64_t value) const {
  SumInPlace(std::span<int64_t>(&value, 1));
  return value;
}

double Communicator::Max(double value) const {
  Call(MPI_Allreduce(MPI_IN_PLACE, &value, 1, MPI_DOUBLE, MPI_MAX, comm_), "MPI_Allreduce");
  return value;
}

double Communicator::Min(double value) const {
  Call(MPI_Allreduce(MPI_IN_PLACE, &value, 1, MPI_DOUBLE, MPI_MIN, comm_), "MPI_Allreduce");
  return value;
}

bool Communicator::AllTrue(bool value) const {
  int flag = value ? 1 : 0;
  Call(MPI_Allreduce(MPI_IN_PLACE, &flag, 1, MPI_INT, MPI_MIN, comm_), "MPI_Allreduce");
  return flag == 1;
}

void Communicator::Broadcast(std::span<float> values, int root) const {
  Call(MPI_Bcast(values.data(), Count(values.size()), MPI_FLOAT, root, comm_), "MPI_Bcast");
}

void Communicator::Broadcast(std::span<double> values, int root) const {
  Call(MPI_Bcast(values.data(), Count(values.size()), MPI_DOUBLE, root, comm_), "MPI_Bcast");
}

void Communicator::Broadcast(std::span<int64_t> values, int root) const {
  Call(MPI_Bcast(values.data(), Count(values.size()), MPI_INT64_T, root, comm_), "MPI_Bcast");
}

void Communicator::Broadcast(std::span<uint8_t> values, int root) const {
  Call(MPI_Bcast(values.data(), Count(values.size()), MPI_UINT8_T, root, comm_), "MPI_Bcast");
}

void Communicator::Broadcast(std::string* text, int root) const {
  int64_t length = static_cast<int64_t>(text->size());
  Broadcast(std::span<int64_t>(&length, 1), root);
  text->resize(static_cast<std::size_t>(length));
  Call(MPI_Bcast(text->data(), Count(text->size()), MPI_CHAR, root, comm_), "MPI_Bcast");
}

std::vector<double> Communicator::AllGather(std::span<const double> local) const {
  int mine = Count(local.size());
  std::vector<int> counts(static_cast<std::size_t>(size_));
  Call(MPI_Allgather(&mine, 1, MPI_INT, counts.data(), 1, MPI_INT, comm_), "MPI_Allgather");
  std::vector<int> offsets(counts.size(), 0);
  for (std::size_t r = 1; r < counts.size(); ++r) offsets[r] = offsets[r - 1] + counts[r - 1];
  std::vector<double> all(static_cast<std::size_t>(offsets.back() + counts.back()));
  Call(MPI_Allgatherv(local.data(), mine, MPI_DOUBLE, all.data(), counts.data(), offsets.data(),
                      MPI_DOUBLE, comm_),
       "MPI_Allgatherv");
  return all;
}

std::vector<uint8_t> Communicator::Gather(std::span<const uint8_t> local, int root) const {
  int mine = Count(local.size());
  std::vector<int> counts(static_cast<std::size_t>(size_));
  Call(MPI_Gather(&mine, 1, MPI_INT, counts.data(), 1, MPI_INT, root, comm_), "MPI_Gather");
  std::vector<int> offsets(counts.size(), 0);
  std::vector<uint8_t> all;
  if (rank_ == root) {
    for (std::size_t r = 1; r < counts.size(); ++r) offsets[r] = offsets[r - 1] + counts[r - 1];
    all.resize(static_cast<std::size_t>(offsets.back() + counts.back()));
  }
  Call(MPI_Gatherv(local.data(), mine, MPI_UINT8_T, all.data(), counts.data(), offsets.data(),
                   MPI_UINT8_T, root, comm_),
       "MPI_Gatherv");
  return all;
}

std::vector<std::string> Communicator::GatherStrings(const std::string& local, int root) const {
  const auto bytes = Gather(
      std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(local.data()), local.size()), root);
  int mine = Count(local.size());
  std::vector<int> counts(static_cast<std::size_t>(size_));
  Call(MPI_Gather(&mine, 1, MPI_INT, counts.data(), 1, MPI_INT, root, comm_), "MPI_Gather");
  std::vector<std::string> out;
  if (rank_ == root) {
    std::size_t at = 0;
    for (int n : counts) {
      out.emplace_back(reinterpret_cast<const char*>(bytes.data()) + at,
                       static_cast<std::size_t>(n));
      at += static_cast<std::size_t>(n);
    }
  }
  return out;
}

void Communicator::Barrier() const { Call(MPI_Barrier(comm_), "MPI_Barrier"); }

void Communicator::Collectively(const std::function<void()>& work) const {
  std::string message;
  int exit_code = kExitOk;
  try {
    work();
  } catch (const Error& e) {
    message = e.what();
    exit_code = e.exit_code();
  }
  // The lowest failing rank speaks for all.
  int first_failed = exit_code == kExitOk ? size_ : rank_;
  Call(MPI_Allreduce(MPI_IN_PLACE, &first_failed, 1, MPI_INT, MPI_MIN, comm_), "MPI_Allreduce");
  if (first_failed == size_) return;
  int64_t code = exit_code;
  Broadcast(std::span<int64_t>(&code, 1), first_failed);
  Broadcast(&message, first_failed);
  throw Error(message, static_cast<int>(code), /*collective=*/true);
}

SharedSum::SharedSum(const Communicator& comm, std::size_t count, int node_color)
    : count_(count), world_size_(comm.size()) {
  if (world_size_ == 1) {
    local_.assign(count, 0);
    addends_ = local_;
    return;
  }
  if (node_color < 0) {
    Call(MPI_Comm_split_type(comm.handle(), MPI_COMM_TYPE_SHARED, comm.rank(), MPI_INFO_NULL,
                             &node_),
         "MPI_Comm_split_type");
  } else {
    Call(MPI_Comm_split(comm.handle(), node_color, comm.rank(), &node_), "MPI_Comm_split");
  }
  int node_rank = 0;
  int node_size = 1;
  MPI_Comm_rank(node_, &node_rank);
  MPI_Comm_size(node_, &node_size);
  Call(MPI_Comm_split(comm.handle(), node_rank == 0 ? 0 : MPI_UNDEFINED, comm.rank(), &leaders_),
       "MPI_Comm_split");
  int nodes = node_rank == 0 ? 1 : 0;
  Call(MPI_Allreduce(MPI_IN_PLACE, &nodes, 1, MPI_INT, MPI_SUM, comm.handle()), "MPI_Allreduce");
  several_nodes_ = nodes > 1;

  // Each rank's slot lives in its own part of the window (placed by its own first touch);
  // node rank 0's part also holds the result.
  const std::size_t mine = count + (node_rank == 0 ? count : 0);
  void* base = nullptr;
  Call(MPI_Win_allocate_shared(static_cast<MPI_Aint>(mine * sizeof(int32_t)), sizeof(int32_t),
                               MPI_INFO_NULL, node_, &base, &window_),
       "MPI_Win_allocate_shared");
  Call(MPI_Win_lock_all(MPI_MODE_NOCHECK, window_), "MPI_Win_lock_all");
  for (int r = 0; r < node_size; ++r) {
    MPI_Aint size = 0;
    int unit = 0;
    void* slot = nullptr;
    Call(MPI_Win_shared_query(window_, r, &size, &unit, &slot), "MPI_Win_shared_query");
    slots_.push_back(static_cast<const int32_t*>(slot));
    if (r == 0) result_ = static_cast<int32_t*>(slot) + count;
  }
  addends_ = {static_cast<int32_t*>(base), count};
  std::fill(addends_.begin(), addends_.end(), 0);
  // Blocks of 16 values (a 64-byte cache line), so that no two ranks write one line.
  const Range units = SplitEvenly((static_cast<int64_t>(count) + 15) / 16, node_size, node_rank);
  block_ = {std::min<int64_t>(units.first * 16, static_cast<int64_t>(count)),
            std::min<int64_t>(units.last * 16, static_cast<int64_t>(count))};
  Synchronize();
}

SharedSum::~SharedSum() {
  int finalized = 0;
  MPI_Finalized(&finalized);
  if (finalized) return;
  if (window_ != MPI_WIN_NULL) {
    MPI_Win_unlock_all(window_);
    MPI_Win_free(&window_);
  }
  if (leaders_ != MPI_COMM_NULL) MPI_Comm_free(&leaders_);
  if (node_ != MPI_COMM_NULL) MPI_Comm_free(&node_);
}

void SharedSum::Synchronize() const {
  Call(MPI_Win_sync(window_), "MPI_Win_sync");
  Call(MPI_Barrier(node_), "MPI_Barrier");
  Call(MPI_Win_sync(window_), "MPI_Win_sync");
}

std::span<const int32_t> SharedSum::Sum() {
  if (world_size_ == 1) return local_;
  // Every rank has written its addends, and has finished reading the previous result.
  Synchronize();
  const auto first = static_cast<std::size_t>(block_.first);
  const auto last = static_cast<std::size_t>(block_.last);
  int32_t* __restrict out = result_ + first;
  const std::size_t n = last - first;
  std::copy(slots_[0] + first, slots_[0] + last, out);
  for (std::size_t r = 1; r < slots_.size(); ++r) {
    const int32_t* __restrict slot = slots_[r] + first;
    for (std::size_t i = 0; i < n; ++i) out[i] += slot[i];
  }
  Synchronize();
  if (several_nodes_) {
    if (leaders_ != MPI_COMM_NULL) {
      Call(MPI_Allreduce(MPI_IN_PLACE, result_, Count(count_), MPI_INT32_T, MPI_SUM, leaders_),
           "MPI_Allreduce");
    }
    Synchronize();
  }
  return {result_, count_};
}

namespace {

// 2^-fraction_bits fixed point of every value into out, rounding half away from zero like
// llround in a form that vectorises: a float times a power of two below 2^46, plus or minus
// 1/2, is exact in double (under 53 significant bits), and the conversion truncates toward
// zero. False when a value is not finite or reaches 2^limit_bits once scaled (stored as 0).
template <typename Int>
bool ToFixedPointBelow(std::span<const float> values, int fraction_bits, int limit_bits,
                       std::span<Int> out) {
  ZETA_CHECK(values.size() == out.size(), "fixed-point output must match the input size");
  const double scale = std::ldexp(1.0, fraction_bits);
  const double limit = std::ldexp(1.0, limit_bits);
  int bad = 0;
  for (std::size_t i = 0; i < values.size(); ++i) {
    const double scaled = static_cast<double>(values[i]) * scale;
    const bool fits = std::abs(scaled) < limit;  // false for NaN
    bad |= fits ? 0 : 1;
    out[i] = static_cast<Int>(fits ? scaled + std::copysign(0.5, scaled) : 0.0);
  }
  return bad == 0;
}

}  // namespace

bool ToFixedPoint(std::span<const float> values, int fraction_bits, std::span<int64_t> out) {
  // Headroom: 2^16 addends of magnitude below 2^46 stay below 2^62.
  return ToFixedPointBelow(values, fraction_bits, 46, out);
}

bool ToFixedPoint(std::span<const float> values, int fraction_bits, std::span<int32_t> out) {
  return ToFixedPointBelow(values, fraction_bits, 30, out);
}

double FromFixedPoint(int64_t value, int fraction_bits) {
  return std::ldexp(static_cast<double>(value), -fraction_bits);
}

}  // namespace zeta
