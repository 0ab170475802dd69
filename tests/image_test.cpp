// PNG files decoded back with libpng, tile grids, bars, the bitmap font, line plots, and the
// pictures Zeta draws during training.
#include "zeta/image.hpp"

#include <gtest/gtest.h>
#include <unistd.h>

#include <cmath>
#include <filesystem>
#include <fstream>

#include "zeta/data.hpp"
#include "zeta/error.hpp"
#include "zeta/pictures.hpp"

namespace zeta {
namespace {

namespace fs = std::filesystem;

// A fresh folder per test, removed afterwards.
class ImageFiles : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() /
           ("zeta_image_test_" + std::to_string(::getpid()) + "_" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }
  [[nodiscard]] std::string Path(const std::string& name) const { return (dir_ / name).string(); }

  fs::path dir_;
};

Image Gradient(int width, int height, int channels) {
  Image image = Image::Filled(width, height, channels, {});
  for (int y = 0; y < height; ++y) {
    for (int x = 0; x < width; ++x) {
      image.Set(x, y,
                {static_cast<uint8_t>(x * 37 + y), static_cast<uint8_t>(y * 51),
                 static_cast<uint8_t>(255 - x)});
    }
  }
  return image;
}

TEST_F(ImageFiles, GrayPngDecodesToTheSamePixels) {
  const Image written = Gradient(7, 5, 1);
  WritePng(Path("gray.png"), written);
  const Image read = ReadPng(Path("gray.png"));
  EXPECT_EQ(read.width, 7);
  EXPECT_EQ(read.height, 5);
  EXPECT_EQ(read.channels, 1);
  EXPECT_EQ(read.pixels, written.pixels);
  EXPECT_EQ(read.at(3, 2)[0], 3 * 37 + 2);
}

TEST_F(ImageFiles, RgbPngDecodesToTheSamePixels) {
  const Image written = Gradient(9, 4, 3);
  WritePng(Path("rgb.png"), written);
  const Image read = ReadPng(Path("rgb.png"));
  ASSERT_EQ(read.channels, 3);
  EXPECT_EQ(read.width, 9);
  EXPECT_EQ(read.height, 4);
  EXPECT_EQ(read.pixels, written.pixels);
  EXPECT_EQ(read.at(8, 3)[1], 3 * 51);
  EXPECT_EQ(read.at(8, 3)[2], 255 - 8);
}

TEST_F(ImageFiles, WritingReplacesTheFileAndLeavesNoTemporary) {
  WritePng(Path("p.png"), Gradient(3, 3, 1));
  WritePng(Path("p.png"), Gradient(11, 2, 3));
  const Image read = ReadPng(Path("p.png"));
  EXPECT_EQ(read.width, 11);
  EXPECT_EQ(read.height, 2);
  int files = 0;
  for (const auto& entry : fs::directory_iterator(dir_)) {
    ++files;
    EXPECT_EQ(entry.path().filename(), "p.png");
  }
  EXPECT_EQ(files, 1);
}

TEST_F(ImageFiles, BadPathsAndNonPngFilesGiveErrorsNamingThem) {
  try {
    WritePng(Path("missing/p.png"), Gradient(2, 2, 1));
    FAIL() << "writing into a missing folder must fail";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("missing/p.png"), std::string::npos) << e.what();
  }
  std::ofstream(Path("text.png")) << "not a picture\n";
  try {
    (void)ReadPng(Path("text.png"));
    FAIL() << "a text file must not decode";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("text.png: not a readable PNG"), std::string::npos)
        << e.what();
  }
  EXPECT_THROW((void)ReadPng(Path("absent.png")), Error);
}

TEST(GrayTile, MapsTheScaleToBlackAndWhiteAndClamps) {
  const std::vector<float> values = {-1.0F, 0.0F, 0.5F, 1.0F, 2.0F, NAN};
  const Image tile = GrayTile(values, 2, 3, {0.0F, 1.0F}, 2);
  EXPECT_EQ(tile.width, 6);
  EXPECT_EQ(tile.height, 4);
  EXPECT_EQ(tile.at(0, 0)[0], 0);    // below low: black
  EXPECT_EQ(tile.at(2, 1)[0], 0);    // low
  EXPECT_EQ(tile.at(5, 1)[0], 128);  // 0.5 -> round(127.5)
  EXPECT_EQ(tile.at(0, 2)[0], 255);  // high
  EXPECT_EQ(tile.at(3, 3)[0], 255);  // above high: white
  EXPECT_EQ(tile.at(5, 3)[0], 128);  // NaN: mid gray
}

TEST(BarsTile, SignedBarsGrowFromZeroToTheEdges) {
  const std::vector<float> values = {1.0F, -1.0F, 0.0F};
  const Image bars = BarsTile(values, {-1.0F, 1.0F}, 2, 21);
  EXPECT_EQ(bars.width, 6);
  EXPECT_EQ(bars.height, 21);
  const uint8_t ink = 230;
  EXPECT_EQ(bars.at(0, 0)[0], ink);  // +max reaches the top row
  EXPECT_NE(bars.at(0, 20)[0], ink);
  EXPECT_EQ(bars.at(2, 20)[0], ink);  // -max reaches the bottom row
  EXPECT_NE(bars.at(2, 0)[0], ink);
  EXPECT_NE(bars.at(4, 0)[0], ink);  // zero: no bar above or below the middle line
  EXPECT_NE(bars.at(4, 20)[0], ink);
}

TEST(TileGrid, SizeFollowsColumnsAndPadding) {
  std::vector<Image> tiles;
  for (int i = 0; i < 10; ++i)
    tiles.push_back(Image::Filled(28, 28, 1, {static_cast<uint8_t>(20 * i), 0, 0}));
  // ceil(sqrt(10)) = 4 columns, 3 rows, 1 pixel of padding around every tile.
  const Image grid = TileGrid(tiles, {});
  EXPECT_EQ(grid.width, 4 * 28 + 5);
  EXPECT_EQ(grid.height, 3 * 28 + 4);
  EXPECT_EQ(grid.at(1 + 29, 1 + 29)[0], 100);                  // tile 5: row 1, column 1
  EXPECT_EQ(grid.at(1 + 29 + 27, 1 + 29 + 27)[0], 100);        // its last pixel
  EXPECT_EQ(grid.at(29, 29)[0], 64);                           // padding: the background
  EXPECT_EQ(grid.at(grid.width - 2, grid.height - 2)[0], 64);  // no tile 12
  const Image wide = TileGrid(tiles, {.columns = 10, .padding = 2, .background = {}});
  EXPECT_EQ(wide.width, 10 * 28 + 11 * 2);
  EXPECT_EQ(wide.height, 28 + 2 * 2);
}

TEST(Font, DrawsGlyphsOnTheirGrid) {
  Image image = Image::Filled(20, 12, 1, {});
  const int width = DrawText(&image, 1, 1, "10", {255, 255, 255}, 2);
  EXPECT_EQ(width, TextWidth("10", 2));
  EXPECT_EQ(width, (2 * 4 - 1) * 2);
  EXPECT_EQ(TextHeight(2), 10);
  // '1' is ".#. ##. .#. .#. ###": its top-left font pixel is empty, the one right of it inked.
  EXPECT_EQ(image.at(1, 1)[0], 0);
  EXPECT_EQ(image.at(3, 1)[0], 255);
  EXPECT_EQ(image.at(4, 2)[0], 255);
  // '0' starts 4 font pixels (8 image pixels) further; its middle is hollow.
  EXPECT_EQ(image.at(9, 1)[0], 255);
  EXPECT_EQ(image.at(11, 5)[0], 0);
}

TEST(NiceTicks, AreRoundAndInsideTheRange) {
  const auto unit = NiceTicks(0.0, 1.0);
  ASSERT_EQ(unit.size(), 6U);
  EXPECT_DOUBLE_EQ(unit[1], 0.2);
  EXPECT_DOUBLE_EQ(unit.back(), 1.0);
  const auto pll = NiceTicks(-391.7, -284.1);
  ASSERT_GE(pll.size(), 2U);
  const double step = pll[1] - pll[0];
  EXPECT_DOUBLE_EQ(step, 50.0);  // 107.6 / 5 = 21.5 rounds up to the 1-2-5 step 50
  for (double t : pll) {
    EXPECT_GE(t, -391.7);
    EXPECT_LE(t, -284.1);
    EXPECT_DOUBLE_EQ(std::fmod(t, 50.0), 0.0);
  }
}

TEST(PlotLines, HasTheAskedSizeAndDrawsEverySeries) {
  const Series blue{"a", {0, 1, 2, 3}, {0.2, 0.1, 0.15, 0.05}, {31, 119, 180}};
  const Series orange{"b", {0, 1, 2, 3}, {0.3, NAN, 0.2, 0.1}, {255, 127, 14}};
  const Series empty{"c", {0, 1}, {NAN, NAN}, {0, 200, 0}};
  const Image plot = PlotLines({blue, orange, empty},
                               {.width = 320, .height = 200, .title = "error", .x_label = "epoch"});
  EXPECT_EQ(plot.width, 320);
  EXPECT_EQ(plot.height, 200);
  EXPECT_EQ(plot.channels, 3);
  auto count = [&](Rgb c) {
    int n = 0;
    for (int y = 0; y < plot.height; ++y) {
      for (int x = 0; x < plot.width; ++x) {
        const uint8_t* p = plot.at(x, y);
        n += p[0] == c.r && p[1] == c.g && p[2] == c.b ? 1 : 0;
      }
    }
    return n;
  };
  // Lines and markers of several hundred pixels each; the legend alone gives under 200.
  EXPECT_GT(count(blue.color), 300);
  EXPECT_GT(count(orange.color), 250);
  EXPECT_EQ(plot.at(plot.width - 1, plot.height - 1)[0], 255);  // white background
}

TEST(VisibleShape, PrefersTheHintThenASquare) {
  EXPECT_EQ(VisibleShape(784).height, 28);
  EXPECT_EQ(VisibleShape(784, 14, 56).width, 56);
  EXPECT_EQ(VisibleShape(784, 10, 10).width, 28);  // a hint that does not fit is ignored
  EXPECT_FALSE(VisibleShape(50).image());
  EXPECT_FALSE(VisibleShape(1).image());
}

TEST(FilterPicture, OneTilePerHiddenUnit) {
  Rbm rbm(784, 10);
  for (int j = 0; j < 10; ++j) rbm.weights()(0, j) = static_cast<float>(j + 1);
  rbm.weights()(1, 3) = -4.0F;
  const Image picture = FilterPicture(rbm, VisibleShape(784));
  EXPECT_EQ(picture.width, 4 * 28 + 5);
  EXPECT_EQ(picture.height, 3 * 28 + 4);
  // Filter 3 (row 0, column 3): W(0,3) = +max -> white, W(1,3) = -max -> black, 0 -> gray.
  const int left = 1 + 3 * 29;
  EXPECT_EQ(picture.at(left, 1)[0], 255);
  EXPECT_EQ(picture.at(left + 1, 1)[0], 0);
  EXPECT_EQ(picture.at(left + 2, 1)[0], 128);
  // A layer that is not an image: 50 bars of 5 pixels each.
  const Image bars = FilterPicture(Rbm(50, 4), VisibleShape(50));
  EXPECT_EQ(bars.width, 2 * 250 + 3);
  EXPECT_EQ(bars.height, 2 * 48 + 3);
}

TEST(SamplePicture, StripsForLayersThatAreNotImages) {
  Matrix means = Matrix::Constant(3, 50, 1.0F);
  const Image strips = SamplePicture(means, VisibleShape(50));
  EXPECT_EQ(strips.width, 50 * 5 + 2);  // cells of 256 / 50 = 5 pixels
  EXPECT_EQ(strips.height, 3 * 5 + 4);
  EXPECT_EQ(strips.at(1, 1)[0], 255);
  const std::vector<Matrix> snapshots(4, Matrix::Zero(2, 784));
  const Image grid = SnapshotPicture(snapshots, VisibleShape(784));
  EXPECT_EQ(grid.width, 4 * 28 + 5);
  EXPECT_EQ(grid.height, 2 * 28 + 3);
}

TEST_F(ImageFiles, TrainingPicturesHaveTheirSizes) {
  // A real data file gives the image shape; a metrics file gives the curves.
  RawImages images;
  images.rows = 2;
  images.cols = 784;
  images.height = images.width = 28;
  images.pixels.assign(2 * 784, 0);
  WriteDataFile(Path("d.h5"), {{"train", images}}, {}, "test");
  std::ofstream(Path("metrics.csv"))
      << "epoch,step,seconds,samples_per_second,reconstruction_error,pseudo_log_likelihood,"
         "free_energy_train,free_energy_heldout\n"
         "0,0,0,0,0.16,-390,-5,-4\n1,10,1,100,0.14,-350,-30,-28\n2,20,1,100,0.12,-300,-80,-75\n";
  TrainConfig config;
  config.data = Path("d.h5");
  config.run_dir = dir_.string();
  config.epochs = 4;
  config.filters_every = 2;
  Rbm rbm(784, 6);
  WriteTrainingPictures(config, rbm, 1);
  EXPECT_TRUE(fs::exists(Path("learning_curve.png")));
  EXPECT_FALSE(fs::exists(Path("filters.png")));  // epoch 1 is neither due nor the last
  WriteTrainingPictures(config, rbm, 2);
  const Image filters = ReadPng(Path("filters/epoch-0002.png"));
  EXPECT_EQ(filters.width, 3 * 28 + 4);
  EXPECT_EQ(filters.height, 2 * 28 + 3);
  EXPECT_EQ(ReadPng(Path("filters.png")).pixels, filters.pixels);
  const Image curve = ReadPng(Path("learning_curve.png"));
  EXPECT_EQ(curve.width, 2 * 480 + 3 * 4);
  EXPECT_EQ(curve.height, 2 * 300 + 3 * 4);
  EXPECT_EQ(curve.channels, 3);
  // A missing data file is a warning, not an error: training must go on.
  config.data = Path("absent.h5");
  EXPECT_NO_THROW(WriteTrainingPictures(config, rbm, 4));
}

}  // namespace
}  // namespace zeta
