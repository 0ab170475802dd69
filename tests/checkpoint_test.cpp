// Checkpoints round-trip exactly, and every kind of bad file is refused with its reason.
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <fstream>

#include "zeta/checkpoint.hpp"
#include "zeta/error.hpp"
#include "zeta/hdf5.hpp"

namespace zeta {
namespace {

namespace fs = std::filesystem;

std::string Scratch(const std::string& name) {
  const auto dir = fs::temp_directory_path() / "zeta_checkpoint_test";
  fs::create_directories(dir);
  return (dir / name).string();
}

TrainState SampleState() {
  TrainState state;
  state.rbm = Rbm(6, 3);
  for (std::size_t i = 0; i < state.rbm.parameters().size(); ++i) {
    state.rbm.parameters()[i] = 0.25F * static_cast<float>(i) - 1.0F;
  }
  state.velocity.assign(state.rbm.parameters().size(), 0.5F);
  state.chains = {0, 1, 0, 1, 1, 1, 1, 0, 0, 0, 0, 1};
  state.step = 40;
  state.epoch = 2;
  state.position = 0;
  state.seed = 99;
  state.config = "hidden = 3\n";
  state.result_config = "hidden = 3\n";
  state.data_checksum = "0123456789abcdef";
  return state;
}

std::string ReadError(const std::string& path) {
  try {
    (void)ReadCheckpoint(path);
  } catch (const Error& e) {
    return e.what();
  }
  return "accepted";
}

TEST(Checkpoint, RoundTripsEveryField) {
  const auto path = Scratch("good.h5");
  const auto state = SampleState();
  WriteCheckpoint(path, state);
  const auto back = ReadCheckpoint(path);
  EXPECT_TRUE(std::equal(back.rbm.parameters().begin(), back.rbm.parameters().end(),
                         state.rbm.parameters().begin()));
  EXPECT_EQ(back.velocity, state.velocity);
  EXPECT_EQ(back.chains, state.chains);
  EXPECT_EQ(back.step, 40);
  EXPECT_EQ(back.epoch, 2);
  EXPECT_EQ(back.seed, 99U);
  EXPECT_EQ(back.config, state.config);
  EXPECT_EQ(back.data_checksum, state.data_checksum);
  EXPECT_EQ(ReadModel(path).hidden(), 3);
  // No temporary file is left next to it.
  for (const auto& entry : fs::directory_iterator(fs::path(path).parent_path())) {
    EXPECT_EQ(entry.path().filename().string().find(".tmp"), std::string::npos);
  }
}

TEST(Checkpoint, WrongFormatVersionIsRefused) {
  const auto path = Scratch("version.h5");
  WriteCheckpoint(path, SampleState());
  h5::File::OpenWrite(path).SetAttribute("/", "format_version", int64_t{7});
  EXPECT_NE(ReadError(path).find("format_version 7"), std::string::npos) << ReadError(path);
}

TEST(Checkpoint, MissingDatasetIsRefused) {
  const auto path = Scratch("missing.h5");
  WriteCheckpoint(path, SampleState());
  {
    auto file = h5::File::OpenWrite(path);
    H5Ldelete(file.id(), "/train/velocity/hidden_bias", H5P_DEFAULT);
  }
  EXPECT_NE(ReadError(path).find("missing dataset /train/velocity/hidden_bias"), std::string::npos)
      << ReadError(path);
}

TEST(Checkpoint, WrongShapeIsRefused) {
  const auto path = Scratch("shape.h5");
  WriteCheckpoint(path, SampleState());
  {
    auto file = h5::File::OpenWrite(path);
    H5Ldelete(file.id(), "/model/hidden_bias", H5P_DEFAULT);
    const std::vector<float> four(4, 0.0F);
    file.Write<float>("/model/hidden_bias", four, {4});
  }
  EXPECT_NE(ReadError(path).find("/model/hidden_bias: has shape [4], expected [3]"),
            std::string::npos)
      << ReadError(path);
}

TEST(Checkpoint, NonFiniteValuesAreRefused) {
  const auto path = Scratch("nan.h5");
  auto state = SampleState();
  state.rbm.parameters()[5] = std::nanf("");
  WriteCheckpoint(path, state);
  EXPECT_NE(ReadError(path).find("/model/weights holds a non-finite value at element 5"),
            std::string::npos)
      << ReadError(path);
}

TEST(Checkpoint, TruncatedAndCorruptedFilesAreRefused) {
  const auto good = Scratch("whole.h5");
  WriteCheckpoint(good, SampleState());
  const auto size = fs::file_size(good);

  const auto truncated = Scratch("truncated.h5");
  fs::copy_file(good, truncated, fs::copy_options::overwrite_existing);
  fs::resize_file(truncated, size / 2);
  EXPECT_NE(ReadError(truncated).find(truncated), std::string::npos);
  EXPECT_NE(ReadError(truncated), "accepted");

  // Zero the bytes of the middle of the file: object headers and data go missing.
  const auto corrupted = Scratch("corrupted.h5");
  fs::copy_file(good, corrupted, fs::copy_options::overwrite_existing);
  {
    std::fstream f(corrupted, std::ios::in | std::ios::out | std::ios::binary);
    f.seekp(static_cast<std::streamoff>(size / 4));
    const std::string zeros(size / 2, '\0');
    f.write(zeros.data(), static_cast<std::streamsize>(zeros.size()));
  }
  EXPECT_NE(ReadError(corrupted).find(corrupted), std::string::npos);
  EXPECT_NE(ReadError(corrupted), "accepted");

  std::ofstream(Scratch("text.h5")) << "not hdf5";
  EXPECT_NE(ReadError(Scratch("text.h5")).find("not an HDF5 file"), std::string::npos);
  EXPECT_NE(ReadError(Scratch("absent.h5")).find("no such file"), std::string::npos);
}

TEST(Checkpoint, ListingIsNewestFirstAndPruningKeepsTheNewest) {
  const auto dir = Scratch("list");
  fs::remove_all(dir);
  fs::create_directories(dir);
  for (int64_t step : {5, 100, 20}) WriteCheckpoint(dir + "/" + CheckpointName(step), SampleState());
  std::ofstream(dir + "/.ckpt-0000000200.h5.tmp.1") << "partial";
  const auto found = ListCheckpoints(dir);
  ASSERT_EQ(found.size(), 3U);
  EXPECT_NE(found[0].find("ckpt-0000000100.h5"), std::string::npos);
  PruneCheckpoints(dir, 2);
  EXPECT_EQ(ListCheckpoints(dir).size(), 2U);
  EXPECT_FALSE(fs::exists(dir + "/" + CheckpointName(5)));
}

}  // namespace
}  // namespace zeta
