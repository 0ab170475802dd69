// Checkpoints round-trip exactly, and every kind of bad file is refused with its reason.
#include "zeta/checkpoint.hpp"

#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <limits>
#include <span>

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

std::string ModelError(const std::string& path) {
  try {
    (void)ReadModel(path);
  } catch (const Error& e) {
    return e.what();
  }
  return "accepted";
}

// The error a read of a damaged checksummed dataset must give.
std::string DamageMessage(const std::string& path, const std::string& dataset) {
  return path + ": " + dataset +
         ": the stored Fletcher32 checksum does not match the data: the data is damaged";
}

bool SameBits(std::span<const float> a, std::span<const float> b) {
  return a.size() == b.size() && std::memcmp(a.data(), b.data(), a.size_bytes()) == 0;
}

std::string FileBytes(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

// The stored bytes of a dataset: where they begin in the file and how many there are. For a
// contiguous dataset the whole block; for a chunked one the chunk with index `chunk` (its
// data, then the 4-byte Fletcher32 checksum).
struct StoredBlock {
  haddr_t offset = HADDR_UNDEF;
  hsize_t bytes = 0;
};

StoredBlock Stored(const std::string& path, const std::string& dataset, hsize_t chunk = 0) {
  const auto file = h5::File::OpenRead(path);
  h5::Handle set(H5Dopen2(file.id(), dataset.c_str(), H5P_DEFAULT), H5Dclose);
  h5::Handle props(H5Dget_create_plist(set.id()), H5Pclose);
  StoredBlock block;
  if (H5Pget_layout(props.id()) == H5D_CONTIGUOUS) {
    block.offset = H5Dget_offset(set.id());
    block.bytes = H5Dget_storage_size(set.id());
    return block;
  }
  h5::Handle space(H5Dget_space(set.id()), H5Sclose);
  hsize_t corner[2] = {0, 0};
  unsigned filter_mask = 0;
  EXPECT_GE(H5Dget_chunk_info(set.id(), space.id(), chunk, corner, &filter_mask, &block.offset,
                              &block.bytes),
            0);
  return block;
}

// Flips the lowest bit of the byte at `offset` with plain file I/O, as a disk might.
void FlipBit(const std::string& path, haddr_t offset) {
  std::fstream f(path, std::ios::in | std::ios::out | std::ios::binary);
  char byte = 0;
  f.seekg(static_cast<std::streamoff>(offset));
  f.read(&byte, 1);
  byte = static_cast<char>(byte ^ 1);
  f.seekp(static_cast<std::streamoff>(offset));
  f.write(&byte, 1);
  ASSERT_TRUE(f.good()) << path;
}

// Chunk dimensions and whether Fletcher32 is on; empty dimensions for a contiguous dataset.
std::pair<h5::Shape, bool> ChunkingOf(const std::string& path, const std::string& dataset) {
  const auto file = h5::File::OpenRead(path);
  h5::Handle set(H5Dopen2(file.id(), dataset.c_str(), H5P_DEFAULT), H5Dclose);
  h5::Handle props(H5Dget_create_plist(set.id()), H5Pclose);
  if (H5Pget_layout(props.id()) != H5D_CHUNKED) return {{}, false};
  h5::Shape chunk(2, 0);
  chunk.resize(static_cast<std::size_t>(H5Pget_chunk(props.id(), 2, chunk.data())));
  bool fletcher32 = false;
  for (int i = 0; i < H5Pget_nfilters(props.id()); ++i) {
    unsigned flags = 0;
    std::size_t values = 0;
    fletcher32 |= H5Pget_filter2(props.id(), static_cast<unsigned>(i), &flags, &values, nullptr, 0,
                                 nullptr, nullptr) == H5Z_FILTER_FLETCHER32;
  }
  return {chunk, fletcher32};
}

// Rewrites the numeric datasets of a checkpoint contiguous and without checksums, as Zeta
// wrote them before checksums came in (same names, shapes, types and attributes).
void MakeContiguous(const std::string& path) {
  auto file = h5::File::OpenWrite(path);
  const std::string layout = file.StringAttribute("/model/weights", "layout");
  for (const char* name :
       {"/model/weights", "/model/visible_bias", "/model/hidden_bias", "/train/velocity/weights",
        "/train/velocity/visible_bias", "/train/velocity/hidden_bias"}) {
    const auto shape = file.ShapeOf(name);
    const auto values = file.Read<float>(name);
    H5Ldelete(file.id(), name, H5P_DEFAULT);
    file.Write<float>(name, values, shape);
  }
  const auto chain_shape = file.ShapeOf("/train/chains");
  const auto chains = file.Read<uint8_t>("/train/chains");
  H5Ldelete(file.id(), "/train/chains", H5P_DEFAULT);
  file.Write<uint8_t>("/train/chains", chains, chain_shape);
  file.SetAttribute("/model/weights", "layout", layout);
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

TEST(Checkpoint, UntouchedFileRoundTripsBitExactly) {
  // Values whose bits a careless path would change: -0, the smallest subnormal, the largest
  // float, the smallest normal, and finite values with varied exponents and mantissas.
  auto state = SampleState();
  auto p = state.rbm.parameters();
  p[0] = -0.0F;
  p[1] = std::numeric_limits<float>::denorm_min();
  p[2] = std::numeric_limits<float>::max();
  p[3] = -std::numeric_limits<float>::min();
  for (std::size_t i = 4; i < p.size(); ++i) {
    p[i] = std::ldexp(1.0F + 0.1F * static_cast<float>(i), -static_cast<int>(i));
  }
  state.velocity[0] = -0.0F;
  state.velocity[1] = 1e-40F;
  const auto path = Scratch("bits.h5");
  WriteCheckpoint(path, state);
  const auto back = ReadCheckpoint(path);
  EXPECT_TRUE(SameBits(back.rbm.parameters(), state.rbm.parameters()));
  EXPECT_TRUE(SameBits(back.velocity, state.velocity));
  EXPECT_EQ(back.chains, state.chains);

  const auto model = Scratch("bits_model.h5");
  WriteModel(model, state.rbm, "hidden = 3\n");
  EXPECT_TRUE(SameBits(ReadModel(model).parameters(), state.rbm.parameters()));
}

TEST(Checkpoint, NumbersAreStoredInChecksummedChunksOfWholeRows) {
  // A 784 x 500 model: a weight row is 500 * 4 = 2000 bytes, so a 1 MiB chunk holds at most
  // floor(1048576 / 2000) = 524 rows; the matrix takes two chunks, of 784 / 2 = 392 rows
  // each (even chunks: HDF5 stores a short last chunk at full size). Biases are one chunk.
  Rbm rbm(784, 500);
  for (std::size_t i = 0; i < rbm.parameters().size(); ++i) {
    rbm.parameters()[i] = static_cast<float>(i % 97) * 0.01F - 0.5F;
  }
  const auto path = Scratch("chunks.h5");
  WriteModel(path, rbm);
  EXPECT_EQ(ChunkingOf(path, "/model/weights"), std::make_pair(h5::Shape{392, 500}, true));
  EXPECT_EQ(ChunkingOf(path, "/model/visible_bias"), std::make_pair(h5::Shape{784}, true));
  EXPECT_EQ(ChunkingOf(path, "/model/hidden_bias"), std::make_pair(h5::Shape{500}, true));
  EXPECT_TRUE(SameBits(ReadModel(path).parameters(), rbm.parameters()));

  // A damaged byte in the second chunk is found too.
  const auto second = Stored(path, "/model/weights", 1);
  EXPECT_EQ(second.bytes, 392U * 2000U + 4U);  // rows 392..783 and the checksum
  FlipBit(path, second.offset + 1000);
  EXPECT_EQ(ModelError(path), DamageMessage(path, "/model/weights"));

  // The numeric datasets of a checkpoint are checksummed too; an empty one (no chains) has
  // no data to check and is stored plainly.
  const auto checkpoint = Scratch("chunks_checkpoint.h5");
  WriteCheckpoint(checkpoint, SampleState());
  EXPECT_EQ(ChunkingOf(checkpoint, "/train/velocity/weights"),
            std::make_pair(h5::Shape{6, 3}, true));
  EXPECT_EQ(ChunkingOf(checkpoint, "/train/chains"), std::make_pair(h5::Shape{2, 6}, true));
  auto no_chains = SampleState();
  no_chains.chains.clear();
  WriteCheckpoint(checkpoint, no_chains);
  EXPECT_TRUE(ReadCheckpoint(checkpoint).chains.empty());
}

TEST(Checkpoint, FlippedByteInTheWeightsIsRefusedAsDamaged) {
  const auto path = Scratch("flipped.h5");
  const auto state = SampleState();
  WriteCheckpoint(path, state);
  // The first chunk holds all 6 x 3 weights, then the checksum; check that the offset found
  // points at them before damaging them.
  const auto block = Stored(path, "/model/weights");
  const auto weights = state.rbm.parameters().subspan(0, 18);
  ASSERT_EQ(block.bytes, weights.size_bytes() + 4);
  ASSERT_EQ(FileBytes(path).substr(block.offset, weights.size_bytes()),
            std::string(reinterpret_cast<const char*>(weights.data()), weights.size_bytes()));

  // The lowest bit of weight 7 (its least significant mantissa byte, little-endian): the value
  // stays finite and near the old one, so only the checksum can tell.
  FlipBit(path, block.offset + 7 * sizeof(float));
  const std::string before = FileBytes(path);
  EXPECT_EQ(ReadError(path), DamageMessage(path, "/model/weights"));
  EXPECT_EQ(ModelError(path), DamageMessage(path, "/model/weights"));
  EXPECT_EQ(FileBytes(path), before) << "a refused read changed the file";
}

TEST(Checkpoint, FlippedByteInAnyNumericDatasetIsRefusedAsDamaged) {
  // Chains hold 0/1 bytes and a flip of the lowest bit keeps them 0/1: only the checksum
  // catches it. The same holds for the finite velocities and biases.
  for (const char* name :
       {"/model/visible_bias", "/model/hidden_bias", "/train/velocity/weights",
        "/train/velocity/visible_bias", "/train/velocity/hidden_bias", "/train/chains"}) {
    const auto path = Scratch("flipped_any.h5");
    WriteCheckpoint(path, SampleState());
    FlipBit(path, Stored(path, name).offset + 1);
    EXPECT_EQ(ReadError(path), DamageMessage(path, name));
  }
  // A flip in the stored checksum itself is damage as well.
  const auto path = Scratch("flipped_sum.h5");
  WriteCheckpoint(path, SampleState());
  const auto block = Stored(path, "/model/weights");
  FlipBit(path, block.offset + block.bytes - 1);
  EXPECT_EQ(ReadError(path), DamageMessage(path, "/model/weights"));
}

TEST(Checkpoint, ContiguousFilesWithoutChecksumsAreStillRead) {
  const auto path = Scratch("contiguous.h5");
  const auto state = SampleState();
  WriteCheckpoint(path, state);
  MakeContiguous(path);
  ASSERT_EQ(ChunkingOf(path, "/model/weights"), std::make_pair(h5::Shape{}, false));
  const auto back = ReadCheckpoint(path);
  EXPECT_TRUE(SameBits(back.rbm.parameters(), state.rbm.parameters()));
  EXPECT_TRUE(SameBits(back.velocity, state.velocity));
  EXPECT_EQ(back.chains, state.chains);

  // Without checksums a flip goes unnoticed: exactly the flipped bit of weight 7 changes.
  // (This is what the checksums exist for, and it checks the offset of a contiguous block.)
  FlipBit(path, Stored(path, "/model/weights").offset + 7 * sizeof(float));
  const auto flipped = ReadModel(path);
  uint32_t was = 0;
  uint32_t now = 0;
  std::memcpy(&was, &state.rbm.parameters()[7], sizeof was);
  std::memcpy(&now, &flipped.parameters()[7], sizeof now);
  EXPECT_EQ(was ^ now, 1U);
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
  for (int64_t step : {5, 100, 20})
    WriteCheckpoint(dir + "/" + CheckpointName(step), SampleState());
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
