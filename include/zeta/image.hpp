// Raster pictures: 8-bit grayscale or RGB images, PNG files (libpng), grids of tiles, bar
// and strip drawings of vectors, a tiny bitmap font and line plots for learning curves.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <vector>

namespace zeta {

struct Rgb {
  uint8_t r = 0;
  uint8_t g = 0;
  uint8_t b = 0;
};

// An 8-bit image, rows top to bottom, `channels` bytes per pixel (1: gray, 3: RGB).
struct Image {
  int width = 0;
  int height = 0;
  int channels = 1;
  std::vector<uint8_t> pixels;  // height * width * channels

  // A width x height image filled with `fill` (gray images take its red byte).
  [[nodiscard]] static Image Filled(int width, int height, int channels, Rgb fill);

  [[nodiscard]] uint8_t* at(int x, int y) {
    return pixels.data() + (static_cast<std::size_t>(y) * width + x) * channels;
  }
  [[nodiscard]] const uint8_t* at(int x, int y) const {
    return pixels.data() + (static_cast<std::size_t>(y) * width + x) * channels;
  }
  // Sets pixel (x, y) when it lies inside the image; gray images take the color's red byte.
  void Set(int x, int y, Rgb color);
};

// Writes `image` as a PNG file atomically (temporary file, fsync, rename): a failure leaves
// any older file at `path` untouched. Throws an Error naming the file.
void WritePng(const std::string& path, const Image& image);

// Reads a PNG file into a gray image (gray files) or an RGB image (all others; alpha is
// composited on black). Throws an Error naming the file when it is missing or not a PNG.
[[nodiscard]] Image ReadPng(const std::string& path);

// How a vector of values becomes gray levels: `low` maps to black, `high` to white, and
// values outside [low, high] are clamped.
struct GrayScale {
  float low = 0.0F;
  float high = 1.0F;
};

// A height x width gray image of `values` (row-major, size height * width), each value one
// block of `zoom` x `zoom` pixels.
[[nodiscard]] Image GrayTile(std::span<const float> values, int height, int width,
                             const GrayScale& scale, int zoom = 1);

// A bar chart of `values`: one bar `bar_width` pixels wide per value on a gray background,
// drawn up from the middle line for values above (low + high) / 2 and down for values
// below, so signed weights show their sign. The image is `height` pixels tall.
[[nodiscard]] Image BarsTile(std::span<const float> values, const GrayScale& scale, int bar_width,
                             int height);

// Tiles of one size laid out in a grid, row by row, with `padding` pixels of `background`
// between and around them. `columns` 0 picks ceil(sqrt(tiles)). Tiles must share size and
// channel count.
struct GridLayout {
  int columns = 0;
  int padding = 1;
  Rgb background = {64, 64, 64};
};
[[nodiscard]] Image TileGrid(const std::vector<Image>& tiles, const GridLayout& layout);

// Pastes `source` into `*target` with its top-left corner at (x, y), converting gray to RGB
// when the target is RGB; pixels outside the target are dropped.
void Paste(const Image& source, int x, int y, Image* target);

// Draws `text` in a 3x5-pixel bitmap font (digits, A-Z, a little punctuation; lower case
// is drawn as upper case, anything else as '?'), each font pixel a `scale` x `scale`
// block, with the top-left corner at (x, y). Returns the width drawn in pixels.
int DrawText(Image* image, int x, int y, const std::string& text, Rgb color, int scale = 1);
[[nodiscard]] int TextWidth(const std::string& text, int scale = 1);
[[nodiscard]] int TextHeight(int scale = 1);

// A line through (x0, y0) and (x1, y1), `thickness` pixels wide.
void DrawLine(Image* image, double x0, double y0, double x1, double y1, Rgb color,
              int thickness = 1);

// One line of a plot. Points whose x or y is not finite are left out (and break the line).
struct Series {
  std::string name;
  std::vector<double> x;
  std::vector<double> y;
  Rgb color = {31, 119, 180};
};

struct PlotOptions {
  int width = 480;
  int height = 300;
  std::string title;
  std::string x_label;
};

// An RGB line plot: white background, axes with round-numbered ticks and labels, one line
// with point markers per series, and a legend of the series' names in their colors. The
// axes span the finite data (a constant series gets a small range around its value).
[[nodiscard]] Image PlotLines(const std::vector<Series>& series, const PlotOptions& options);

// The axis ticks of [low, high]: round numbers (1, 2 or 5 times a power of ten) spaced so
// that about `target` of them fall inside the range.
[[nodiscard]] std::vector<double> NiceTicks(double low, double high, int target = 5);

}  // namespace zeta
