// IDX and CSV import, binarization and the data-file layout, on real files.
#include "zeta/data.hpp"

#include <gtest/gtest.h>
#include <zlib.h>

#include <filesystem>
#include <fstream>

#include "zeta/error.hpp"
#include "zeta/hdf5.hpp"

namespace zeta {
namespace {

namespace fs = std::filesystem;

std::string Scratch(const std::string& name) {
  const auto dir = fs::temp_directory_path() / "zeta_data_test";
  fs::create_directories(dir);
  return (dir / name).string();
}

std::vector<uint8_t> IdxImages(uint32_t count, uint32_t rows, uint32_t cols, uint32_t magic) {
  std::vector<uint8_t> bytes;
  for (uint32_t word : {magic, count, rows, cols}) {
    for (int shift = 24; shift >= 0; shift -= 8) bytes.push_back((word >> shift) & 0xFF);
  }
  for (uint32_t i = 0; i < count * rows * cols; ++i) bytes.push_back(static_cast<uint8_t>(i * 37));
  return bytes;
}

// An IDX file: the magic number, the dimensions (the item count first), then `payload`
// bytes, however many the header claims.
std::vector<uint8_t> IdxBytes(uint32_t magic, const std::vector<uint32_t>& dims,
                              std::size_t payload) {
  std::vector<uint8_t> bytes;
  std::vector<uint32_t> words = {magic};
  words.insert(words.end(), dims.begin(), dims.end());
  for (uint32_t word : words) {
    for (int shift = 24; shift >= 0; shift -= 8) bytes.push_back((word >> shift) & 0xFF);
  }
  for (std::size_t i = 0; i < payload; ++i) bytes.push_back(static_cast<uint8_t>(i * 11));
  return bytes;
}

void WritePlain(const std::string& path, const std::vector<uint8_t>& bytes) {
  std::ofstream(path, std::ios::binary)
      .write(reinterpret_cast<const char*>(bytes.data()),
             static_cast<std::streamsize>(bytes.size()));
}

void WriteGzip(const std::string& path, const std::vector<uint8_t>& bytes) {
  gzFile f = gzopen(path.c_str(), "wb");
  gzwrite(f, bytes.data(), static_cast<unsigned>(bytes.size()));
  gzclose(f);
}

std::string ErrorOf(const std::function<void()>& f) {
  try {
    f();
  } catch (const Error& e) {
    return e.what();
  }
  return "no error";
}

TEST(Idx, ReadsPlainAndGzippedFilesAlike) {
  const auto bytes = IdxImages(5, 3, 4, 0x00000803);
  WritePlain(Scratch("a.idx"), bytes);
  WriteGzip(Scratch("a.idx.gz"), bytes);
  const auto plain = ReadIdxImages(Scratch("a.idx"));
  const auto gz = ReadIdxImages(Scratch("a.idx.gz"));
  EXPECT_EQ(plain.rows, 5);
  EXPECT_EQ(plain.cols, 12);
  EXPECT_EQ(plain.height, 3);
  EXPECT_EQ(plain.pixels, gz.pixels);
  EXPECT_EQ(plain.pixels[13], static_cast<uint8_t>(13 * 37));
  EXPECT_EQ(ReadIdxImages(Scratch("a.idx"), 2).rows, 2);
}

TEST(Idx, WrongMagicAndTruncationNameTheFileAndOffset) {
  WritePlain(Scratch("magic.idx"), IdxImages(2, 2, 2, 0x00000801));
  const auto magic = ErrorOf([] { (void)ReadIdxImages(Scratch("magic.idx")); });
  EXPECT_NE(magic.find("magic.idx"), std::string::npos) << magic;
  EXPECT_NE(magic.find("0x00000803"), std::string::npos) << magic;

  auto bytes = IdxImages(10, 4, 4, 0x00000803);
  bytes.resize(bytes.size() - 5);
  WriteGzip(Scratch("short.idx.gz"), bytes);
  const auto truncated = ErrorOf([] { (void)ReadIdxImages(Scratch("short.idx.gz")); });
  EXPECT_NE(truncated.find("truncated at offset 171"), std::string::npos) << truncated;
}

// Writes `bytes` as name.idx and name.idx.gz and returns both paths.
std::vector<std::string> WriteBoth(const std::string& name, const std::vector<uint8_t>& bytes) {
  WritePlain(Scratch(name + ".idx"), bytes);
  WriteGzip(Scratch(name + ".idx.gz"), bytes);
  return {Scratch(name + ".idx"), Scratch(name + ".idx.gz")};
}

TEST(Idx, HeaderClaimingMoreThanTheFileHoldsIsTruncationNotAnAllocation) {
  // 0xFFFFFFFF images of 28x28 would be 3.4 TB; the file holds 3 images (2352 bytes).
  for (const auto& path : WriteBoth("huge", IdxBytes(0x00000803, {0xFFFFFFFF, 28, 28}, 2352))) {
    const auto message = ErrorOf([&] { (void)ReadIdxImages(path); });
    EXPECT_EQ(message, path +
                           ": truncated at offset 2368: its header claims 4294967295 images of "
                           "28x28 (3367254359280 bytes of pixels), the file holds 2352 bytes of "
                           "pixels (3 whole images)");
  }
  for (const auto& path : WriteBoth("huge_labels", IdxBytes(0x00000801, {0xFFFFFFFF}, 3))) {
    const auto message = ErrorOf([&] { (void)ReadIdxLabels(path); });
    EXPECT_EQ(message, path +
                           ": truncated at offset 11: its header claims 4294967295 labels, the "
                           "file holds 3 labels");
  }
  // A limit within the data reads it; one beyond is truncation as well.
  const auto paths = WriteBoth("huge", IdxBytes(0x00000803, {0xFFFFFFFF, 28, 28}, 2352));
  EXPECT_EQ(ReadIdxImages(paths[1], 3).pixels, ReadIdxImages(paths[0], 3).pixels);
  EXPECT_NE(ErrorOf([&] { (void)ReadIdxImages(paths[1], 4); }).find("(3 whole images)"),
            std::string::npos);
}

TEST(Idx, RefusesImageSizesWhosePixelCountOverflows) {
  for (const auto& path : WriteBoth("overflow", IdxBytes(0x00000803, {1, 65536, 65536}, 100))) {
    const auto message = ErrorOf([&] { (void)ReadIdxImages(path); });
    EXPECT_EQ(message, path +
                           ": image size 65536x65536 in the header is 4294967296 pixels, "
                           "expected at most 2147483647 pixels per image");
  }
}

TEST(Idx, RefusesAFileWithNoImages) {
  for (const auto& path : WriteBoth("empty", IdxBytes(0x00000803, {0, 28, 28}, 0))) {
    const auto message = ErrorOf([&] { (void)ReadIdxImages(path); });
    EXPECT_EQ(message,
              path + ": holds no images (its header's image count is 0), expected at least 1");
  }
}

TEST(Idx, SplitComparesTheFullCountsOfImagesAndLabelsBeforeTheLimit) {
  const auto images = WriteBoth("five", IdxImages(5, 2, 2, 0x00000803));
  const auto three = WriteBoth("three_labels", IdxBytes(0x00000801, {3}, 3));
  for (int64_t limit : {-1, 2, 3, 10}) {
    const auto message = ErrorOf([&] { (void)ReadIdxSplit(images[1], three[0], limit); });
    EXPECT_EQ(message, three[0] + ": holds 3 labels, " + images[1] +
                           " holds 5 images; expected one label per image")
        << "limit " << limit;
  }
  const auto five = WriteBoth("five_labels", IdxBytes(0x00000801, {5}, 5));
  const auto split = ReadIdxSplit(images[0], five[1], 2);
  EXPECT_EQ(split.rows, 2);
  EXPECT_EQ(split.pixels, ReadIdxImages(images[1], 2).pixels);
  EXPECT_EQ(split.labels, (std::vector<uint8_t>{0, 11}));
  EXPECT_EQ(ReadIdxSplit(images[0], "", 4).labels, std::vector<uint8_t>{});
}

TEST(Csv, ParsesLabelsAndRefusesBadRows) {
  std::ofstream(Scratch("ok.csv")) << "label,p1,p2,p3,p4\n3,0,255,128,10\n7,255,0,0,0\n";
  const auto images =
      ReadCsvImages(Scratch("ok.csv"), {.max_value = 255, .label_first = true, .header = true});
  EXPECT_EQ(images.rows, 2);
  EXPECT_EQ(images.cols, 4);
  EXPECT_EQ(images.height, 2);
  EXPECT_EQ(images.labels, (std::vector<uint8_t>{3, 7}));

  std::ofstream(Scratch("nan.csv")) << "0,1,2\n0,nan,2\n";
  EXPECT_NE(ErrorOf([] { (void)ReadCsvImages(Scratch("nan.csv"), {}); }).find("line 2, column 2"),
            std::string::npos);
  std::ofstream(Scratch("ragged.csv")) << "0,1,2\n0,1\n";
  EXPECT_NE(ErrorOf([] {
              (void)ReadCsvImages(Scratch("ragged.csv"), {});
            }).find("line 2 has 2 pixel values, earlier lines have 3"),
            std::string::npos);
  std::ofstream(Scratch("range.csv")) << "0,1,300\n";
  EXPECT_NE(ErrorOf([] { (void)ReadCsvImages(Scratch("range.csv"), {}); }).find("outside [0, 255"),
            std::string::npos);
}

TEST(Csv, IgnoresSpacesAndTabsAroundNumbersButNotInside) {
  std::ofstream(Scratch("blanks.csv")) << "3 ,0, 255 ,1\n\t7\t,\t128, 0 ,  51\t\n";
  const auto images = ReadCsvImages(Scratch("blanks.csv"), {.label_first = true});
  EXPECT_EQ(images.rows, 2);
  EXPECT_EQ(images.cols, 3);
  EXPECT_EQ(images.labels, (std::vector<uint8_t>{3, 7}));
  EXPECT_EQ(images.pixels, (std::vector<uint8_t>{0, 255, 1, 128, 0, 51}));

  std::ofstream(Scratch("inner.csv")) << "0,1,2\n0,2 5,1\n";
  const auto inner = ErrorOf([] { (void)ReadCsvImages(Scratch("inner.csv"), {}); });
  EXPECT_NE(inner.find("inner.csv: line 2, column 2: '2 5' is not a finite number"),
            std::string::npos)
      << inner;
  std::ofstream(Scratch("blank.csv")) << "0,1,2\n0, \t,1\n";
  const auto blank = ErrorOf([] { (void)ReadCsvImages(Scratch("blank.csv"), {}); });
  EXPECT_NE(blank.find("blank.csv: line 2, column 2"), std::string::npos) << blank;
}

TEST(Binarize, ThresholdAndSeededStochastic) {
  RawImages images;
  images.rows = 1000;
  images.cols = 2;
  for (int i = 0; i < 1000; ++i) {
    images.pixels.push_back(128);  // 128/255 > 0.5
    images.pixels.push_back(51);   // p = 0.2
  }
  const auto threshold = Binarize(images, {}, 0);
  EXPECT_EQ(threshold[0], 1);
  EXPECT_EQ(threshold[1], 0);
  const Binarization stochastic{
      .kind = Binarization::Kind::kStochastic, .threshold = 0.5, .seed = 3};
  const auto a = Binarize(images, stochastic, 0);
  EXPECT_EQ(a, Binarize(images, stochastic, 0));
  EXPECT_NE(a, Binarize(images, stochastic, 1));
  double ones = 0;
  for (std::size_t i = 1; i < a.size(); i += 2) ones += a[i];
  // 1000 Bernoulli(0.2) draws: standard deviation 12.6.
  EXPECT_NEAR(ones, 200, 65);
}

TEST(DataFile, RoundTripsSplitsLabelsAndChecksum) {
  RawImages images;
  images.rows = 3;
  images.cols = 4;
  images.pixels = {0, 255, 0, 255, 255, 255, 0, 0, 10, 200, 30, 250};
  images.labels = {1, 2, 3};
  const auto path = Scratch("d.h5");
  WriteDataFile(path, {{"train", images}}, {}, "test");
  const auto info = ReadSplitInfo(path, "train");
  EXPECT_EQ(info.rows, 3);
  EXPECT_EQ(info.cols, 4);
  EXPECT_TRUE(info.has_labels);
  EXPECT_EQ(info.checksum.size(), 16U);
  EXPECT_EQ(ReadVisibleRows(info, 1, 2), (std::vector<uint8_t>{1, 1, 0, 0, 0, 1, 0, 1}));
  EXPECT_EQ(ReadLabelRows(info, 2, 1), (std::vector<uint8_t>{3}));
  EXPECT_NE(ErrorOf([&] { (void)ReadSplitInfo(path, "test"); }).find("no split 'test'"),
            std::string::npos);
  EXPECT_FALSE(HasSplit(path, "test"));
}

TEST(DataFile, RefusesVisibleValuesThatAreNotBytes) {
  const auto path = Scratch("float.h5");
  {
    auto file = h5::File::Create(path);
    const std::vector<float> values(8, 0.7F);
    file.Write<float>("/train/visible", values, {2, 4});
  }
  const auto message = ErrorOf([&] { (void)ReadSplitInfo(path, "train"); });
  EXPECT_NE(message.find("/train/visible does not hold uint8 values"), std::string::npos)
      << message;
}

}  // namespace
}  // namespace zeta
