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
