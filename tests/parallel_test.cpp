// Communicator on real ranks: exact sums, ordered gathers, broadcasts and agreement on
// failure (run under mpirun with 1, 2 and 3 ranks).
#include "zeta/parallel.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <numeric>

#include "zeta/error.hpp"

namespace zeta {
namespace {

TEST(SplitEvenly, CoversEverythingOnceWithSizesWithinOne) {
  for (int parts = 1; parts <= 7; ++parts) {
    int64_t next = 0;
    for (int p = 0; p < parts; ++p) {
      const Range r = SplitEvenly(23, parts, p);
      EXPECT_EQ(r.first, next);
      EXPECT_TRUE(r.size() == 23 / parts || r.size() == 23 / parts + 1);
      next = r.last;
    }
    EXPECT_EQ(next, 23);
  }
}

TEST(FixedPoint, RoundTripsGridValuesAndFlagsNonFinite) {
  const std::vector<float> values = {0.25F, -3.5F, 1024.0F + 0.125F};
  std::vector<int64_t> fixed(3);
  ASSERT_TRUE(ToFixedPoint(values, 16, fixed));
  for (std::size_t i = 0; i < values.size(); ++i) {
    EXPECT_EQ(FromFixedPoint(fixed[i], 16), values[i]);
  }
  const std::vector<float> bad = {1.0F, std::nanf(""), 0.0F};
  EXPECT_FALSE(ToFixedPoint(bad, 16, fixed));
  const std::vector<float> huge = {1e30F};
  std::vector<int64_t> one(1);
  EXPECT_FALSE(ToFixedPoint(huge, 16, one));
}

TEST(Communicator, IntegerSumsAreExactOnAnyRankCount) {
  const Communicator comm;
  std::vector<int64_t> values = {comm.rank() + 1, int64_t{1} << 50, -comm.rank()};
  comm.SumInPlace(values);
  const int64_t n = comm.size();
  EXPECT_EQ(values[0], n * (n + 1) / 2);
  EXPECT_EQ(values[1], n << 50);
  EXPECT_EQ(values[2], -n * (n - 1) / 2);
  EXPECT_EQ(comm.Sum(2), 2 * n);
  EXPECT_EQ(comm.Max(comm.rank()), n - 1);
  EXPECT_TRUE(comm.AllTrue(true));
  EXPECT_FALSE(comm.AllTrue(comm.rank() != n - 1));
  EXPECT_TRUE(comm.AnyTrue(comm.rank() == 0));
}

// The shared-memory sum against the allreduce, on lengths around its 16-value blocks, for
// one node and for every rank on its own emulated node (the leaders' allreduce path), over
// repeated sums that rewrite the addends while the previous result is still being read.
TEST(SharedSum, EqualsTheAllreduceOnAnyNodeLayout) {
  const Communicator comm;
  for (const int color : {-1, comm.rank(), comm.rank() % 2}) {
    for (const std::size_t count :
         {std::size_t{1}, std::size_t{15}, std::size_t{33}, std::size_t{1000}}) {
      SharedSum shared(comm, count, color);
      for (int round = 0; round < 3; ++round) {
        std::vector<int32_t> expected(count);
        for (std::size_t i = 0; i < count; ++i) {
          const auto value =
              static_cast<int32_t>((i * 7919 + 13 * comm.rank() + round) % 2001) - 1000;
          shared.addends()[i] = value;
          expected[i] = value;
        }
        comm.SumInPlace(std::span<int32_t>(expected));
        const auto sums = shared.Sum();
        ASSERT_EQ(sums.size(), count);
        const auto mismatches = std::count_if(sums.begin(), sums.end(), [&](const int32_t& x) {
          return x != expected[static_cast<std::size_t>(&x - sums.data())];
        });
        EXPECT_EQ(mismatches, 0) << "count " << count << ", color " << color << ", round " << round;
      }
    }
  }
}

TEST(FixedPoint, ThirtyTwoBitSumsAreExactAndFlagOverflow) {
  const Communicator comm;
  // Grid values of the trainer's kind: multiples of 2^-16 below 2^7 in magnitude.
  const std::vector<float> values = {0.25F + comm.rank(), -3.5F, 100.0F + 0x1p-16F};
  std::vector<int32_t> fixed(3);
  ASSERT_TRUE(ToFixedPoint(values, 16, fixed));
  comm.SumInPlace(fixed);
  const int n = comm.size();
  EXPECT_EQ(FromFixedPoint(fixed[0], 16), 0.25 * n + n * (n - 1) / 2.0);
  EXPECT_EQ(FromFixedPoint(fixed[1], 16), -3.5 * n);
  EXPECT_EQ(FromFixedPoint(fixed[2], 16), (100.0 + 0x1p-16) * n);
  const std::vector<float> huge = {16384.0F};  // 2^14 · 2^16 = 2^30: no headroom left
  std::vector<int32_t> one(1);
  EXPECT_FALSE(ToFixedPoint(huge, 16, one));
  const std::vector<float> bad = {std::nanf("")};
  EXPECT_FALSE(ToFixedPoint(bad, 16, one));
}

TEST(Communicator, AllGatherKeepsRankOrderWithUnequalCounts) {
  const Communicator comm;
  std::vector<double> mine(static_cast<std::size_t>(comm.rank() + 1), comm.rank());
  const auto all = comm.AllGather(mine);
  std::vector<double> expected;
  for (int r = 0; r < comm.size(); ++r) expected.insert(expected.end(), r + 1, r);
  EXPECT_EQ(all, expected);
}

TEST(Communicator, BroadcastsTextAndGathersStrings) {
  const Communicator comm;
  std::string text = comm.root() ? "from rank 0" : "";
  comm.Broadcast(&text);
  EXPECT_EQ(text, "from rank 0");
  const auto names = comm.GatherStrings("r" + std::to_string(comm.rank()));
  if (comm.root()) {
    ASSERT_EQ(static_cast<int>(names.size()), comm.size());
    EXPECT_EQ(names.back(), "r" + std::to_string(comm.size() - 1));
  }
}

TEST(Communicator, FailureOnOneRankIsRaisedOnEveryRank) {
  const Communicator comm;
  const int failing = comm.size() - 1;
  try {
    comm.Collectively([&] {
      if (comm.rank() == failing) throw UsageError("bad option on the last rank");
    });
    FAIL() << "no error was raised on rank " << comm.rank();
  } catch (const Error& e) {
    EXPECT_TRUE(e.collective());
    EXPECT_EQ(e.exit_code(), kExitUsage);
    EXPECT_STREQ(e.what(), "bad option on the last rank");
  }
  // The ranks are still in step: a further collective completes.
  EXPECT_EQ(comm.Sum(1), comm.size());
  EXPECT_NO_THROW(comm.Collectively([] {}));
}

}  // namespace
}  // namespace zeta
