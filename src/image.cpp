// PNG files through libpng's simplified API, tiling, bars, a 3x5 bitmap font and line plots.
#include "zeta/image.hpp"

#include <png.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <limits>
#include <map>

#include "zeta/error.hpp"
#include "zeta/hdf5.hpp"

namespace zeta {
namespace {

// The font: each glyph is 5 rows of 3 pixels, rows separated by spaces, '#' for ink.
const std::map<char, const char*>& Glyphs() {
  static const std::map<char, const char*> glyphs = {
      {'0', "### #.# #.# #.# ###"}, {'1', ".#. ##. .#. .#. ###"}, {'2', "### ..# ### #.. ###"},
      {'3', "### ..# .## ..# ###"}, {'4', "#.# #.# ### ..# ..#"}, {'5', "### #.. ### ..# ###"},
      {'6', "### #.. ### #.# ###"}, {'7', "### ..# ..# .#. .#."}, {'8', "### #.# ### #.# ###"},
      {'9', "### #.# ### ..# ###"}, {'A', ".#. #.# ### #.# #.#"}, {'B', "##. #.# ##. #.# ##."},
      {'C', ".## #.. #.. #.. .##"}, {'D', "##. #.# #.# #.# ##."}, {'E', "### #.. ##. #.. ###"},
      {'F', "### #.. ##. #.. #.."}, {'G', ".## #.. #.# #.# .##"}, {'H', "#.# #.# ### #.# #.#"},
      {'I', "### .#. .#. .#. ###"}, {'J', "..# ..# ..# #.# .#."}, {'K', "#.# #.# ##. #.# #.#"},
      {'L', "#.. #.. #.. #.. ###"}, {'M', "#.# ### ### #.# #.#"}, {'N', "##. #.# #.# #.# #.#"},
      {'O', ".#. #.# #.# #.# .#."}, {'P', "##. #.# ##. #.. #.."}, {'Q', ".#. #.# #.# ##. .##"},
      {'R', "##. #.# ##. #.# #.#"}, {'S', ".## #.. .#. ..# ##."}, {'T', "### .#. .#. .#. .#."},
      {'U', "#.# #.# #.# #.# ###"}, {'V', "#.# #.# #.# #.# .#."}, {'W', "#.# #.# ### ### #.#"},
      {'X', "#.# #.# .#. #.# #.#"}, {'Y', "#.# #.# .#. .#. .#."}, {'Z', "### ..# .#. #.. ###"},
      {'-', "... ... ### ... ..."}, {'.', "... ... ... ... .#."}, {'+', "... .#. ### .#. ..."},
      {':', "... .#. ... .#. ..."}, {'(', ".#. #.. #.. #.. .#."}, {')', ".#. ..# ..# ..# .#."},
      {'/', "..# ..# .#. #.. #.."}, {',', "... ... ... .#. #.."}, {'=', "... ### ... ### ..."},
      {'_', "... ... ... ... ###"}, {'?', "### ..# .## ... .#."}, {' ', "... ... ... ... ..."},
  };
  return glyphs;
}

constexpr int kGlyphWidth = 3;
constexpr int kGlyphHeight = 5;
constexpr int kGlyphAdvance = 4;  // glyph plus one column of space

const char* GlyphOf(char c) {
  const char upper = (c >= 'a' && c <= 'z') ? static_cast<char>(c - 'a' + 'A') : c;
  const auto found = Glyphs().find(upper);
  return found != Glyphs().end() ? found->second : Glyphs().at('?');
}

uint8_t Level(float value, const GrayScale& scale) {
  if (!(scale.high > scale.low) || !std::isfinite(value)) return 128;
  const float t = (value - scale.low) / (scale.high - scale.low);
  return static_cast<uint8_t>(std::lround(255.0F * std::clamp(t, 0.0F, 1.0F)));
}

void FillRect(Image* image, int x0, int y0, int x1, int y1, Rgb color) {
  for (int y = std::max(y0, 0); y < std::min(y1, image->height); ++y) {
    for (int x = std::max(x0, 0); x < std::min(x1, image->width); ++x) image->Set(x, y, color);
  }
}

// A tick label: fixed notation with as many decimals as the tick step needs, or
// exponent notation for very large or very small numbers.
std::string TickLabel(double value, double step) {
  char buffer[32];
  const double magnitude = std::max(std::abs(value), std::abs(step));
  if (magnitude >= 1e6 || step < 1e-4) {
    std::snprintf(buffer, sizeof buffer, "%.2g", value);
  } else {
    const int decimals = std::max(0, static_cast<int>(-std::floor(std::log10(step) + 1e-9)));
    std::snprintf(buffer, sizeof buffer, "%.*f", decimals,
                  std::abs(value) < step / 2 ? 0.0 : value);
  }
  return buffer;
}

struct Span {
  double low = 0;
  double high = 0;
};

// The range of the finite values of `pick(series)`, widened when it is a single value.
template <class Pick>
Span DataSpan(const std::vector<Series>& series, Pick pick) {
  constexpr double kInf = std::numeric_limits<double>::infinity();
  Span span{kInf, -kInf};
  for (const auto& s : series) {
    for (std::size_t i = 0; i < std::min(s.x.size(), s.y.size()); ++i) {
      if (!std::isfinite(s.x[i]) || !std::isfinite(s.y[i])) continue;
      span.low = std::min(span.low, pick(s, i));
      span.high = std::max(span.high, pick(s, i));
    }
  }
  if (span.low > span.high) return {0.0, 1.0};  // nothing finite to draw
  if (span.high - span.low <= 1e-12 * std::max(1.0, std::abs(span.high))) {
    const double pad = span.high == 0 ? 1.0 : 0.05 * std::abs(span.high);
    span.low -= pad;
    span.high += pad;
  }
  return span;
}

}  // namespace

Image Image::Filled(int width, int height, int channels, Rgb fill) {
  ZETA_CHECK(width > 0 && height > 0 && (channels == 1 || channels == 3),
             "an image needs a positive size and 1 or 3 channels");
  Image image;
  image.width = width;
  image.height = height;
  image.channels = channels;
  image.pixels.resize(static_cast<std::size_t>(width) * height * channels);
  for (std::size_t i = 0; i < image.pixels.size(); i += static_cast<std::size_t>(channels)) {
    image.pixels[i] = fill.r;
    if (channels == 3) {
      image.pixels[i + 1] = fill.g;
      image.pixels[i + 2] = fill.b;
    }
  }
  return image;
}

void Image::Set(int x, int y, Rgb color) {
  if (x < 0 || y < 0 || x >= width || y >= height) return;
  uint8_t* p = at(x, y);
  p[0] = color.r;
  if (channels == 3) {
    p[1] = color.g;
    p[2] = color.b;
  }
}

void WritePng(const std::string& path, const Image& image) {
  ZETA_CHECK(image.width > 0 && image.height > 0 &&
                 image.pixels.size() ==
                     static_cast<std::size_t>(image.width) * image.height * image.channels,
             "the pixels must fill the image");
  const auto folder = std::filesystem::path(path).parent_path();
  if (!folder.empty() && !std::filesystem::is_directory(folder)) {
    throw Error(path + ": cannot write the picture, the folder " + folder.string() +
                " does not exist or is not a folder");
  }
  h5::AtomicOutput output(path);
  png_image png{};
  png.version = PNG_IMAGE_VERSION;
  png.width = static_cast<png_uint_32>(image.width);
  png.height = static_cast<png_uint_32>(image.height);
  png.format = image.channels == 3 ? PNG_FORMAT_RGB : PNG_FORMAT_GRAY;
  if (png_image_write_to_file(&png, output.temp_path().c_str(), 0, image.pixels.data(), 0,
                              nullptr) == 0) {
    const std::string message = png.message;
    png_image_free(&png);
    throw Error(path + ": cannot write the PNG file (" + message + ")");
  }
  output.Commit();
}

Image ReadPng(const std::string& path) {
  if (!std::filesystem::is_regular_file(path)) throw Error(path + ": no such file");
  png_image png{};
  png.version = PNG_IMAGE_VERSION;
  if (png_image_begin_read_from_file(&png, path.c_str()) == 0) {
    const std::string message = png.message;
    png_image_free(&png);
    throw Error(path + ": not a readable PNG file (" + message + ")");
  }
  const bool color = (png.format & PNG_FORMAT_FLAG_COLOR) != 0;
  png.format = color ? PNG_FORMAT_RGB : PNG_FORMAT_GRAY;
  Image image;
  image.width = static_cast<int>(png.width);
  image.height = static_cast<int>(png.height);
  image.channels = color ? 3 : 1;
  image.pixels.resize(PNG_IMAGE_SIZE(png));
  const png_color black{0, 0, 0};
  if (png_image_finish_read(&png, &black, image.pixels.data(), 0, nullptr) == 0) {
    const std::string message = png.message;
    png_image_free(&png);
    throw Error(path + ": cannot decode the PNG file (" + message + ")");
  }
  return image;
}

Image GrayTile(std::span<const float> values, int height, int width, const GrayScale& scale,
               int zoom) {
  ZETA_CHECK(height > 0 && width > 0 && zoom > 0 &&
                 values.size() == static_cast<std::size_t>(height) * width,
             "a tile needs height * width values");
  Image tile = Image::Filled(width * zoom, height * zoom, 1, {});
  for (int r = 0; r < height; ++r) {
    for (int c = 0; c < width; ++c) {
      const uint8_t level = Level(values[static_cast<std::size_t>(r) * width + c], scale);
      FillRect(&tile, c * zoom, r * zoom, (c + 1) * zoom, (r + 1) * zoom, {level, level, level});
    }
  }
  return tile;
}

Image BarsTile(std::span<const float> values, const GrayScale& scale, int bar_width, int height) {
  ZETA_CHECK(!values.empty() && bar_width > 0 && height > 2, "bars need values and room");
  Image tile = Image::Filled(static_cast<int>(values.size()) * bar_width, height, 1, {24, 24, 24});
  // Bars grow from zero when zero lies inside the scale (signed weights), else from low.
  const bool signed_scale = scale.low < 0 && scale.high > 0;
  const float base = signed_scale ? 0.0F : scale.low;
  const auto row_of = [&](float v) {
    const float t = scale.high > scale.low ? (v - scale.low) / (scale.high - scale.low) : 0.5F;
    return static_cast<int>(std::lround((1.0F - std::clamp(t, 0.0F, 1.0F)) * (height - 1)));
  };
  const int base_row = row_of(base);
  for (std::size_t i = 0; i < values.size(); ++i) {
    const int x0 = static_cast<int>(i) * bar_width;
    const int row = std::isfinite(values[i]) ? row_of(values[i]) : base_row;
    FillRect(&tile, x0, std::min(row, base_row), x0 + bar_width, std::max(row, base_row) + 1,
             {230, 230, 230});
  }
  if (signed_scale) FillRect(&tile, 0, base_row, tile.width, base_row + 1, {110, 110, 110});
  return tile;
}

Image TileGrid(const std::vector<Image>& tiles, const GridLayout& layout) {
  ZETA_CHECK(!tiles.empty(), "a grid needs at least one tile");
  const int tw = tiles.front().width;
  const int th = tiles.front().height;
  const int channels = tiles.front().channels;
  for (const auto& tile : tiles) {
    ZETA_CHECK(tile.width == tw && tile.height == th && tile.channels == channels,
               "the tiles of a grid must share size and channels");
  }
  const int n = static_cast<int>(tiles.size());
  const int columns = layout.columns > 0
                          ? std::min(layout.columns, n)
                          : static_cast<int>(std::ceil(std::sqrt(static_cast<double>(n)) - 1e-9));
  const int rows = (n + columns - 1) / columns;
  const int pad = std::max(layout.padding, 0);
  Image grid = Image::Filled(columns * tw + (columns + 1) * pad, rows * th + (rows + 1) * pad,
                             channels, layout.background);
  for (int i = 0; i < n; ++i) {
    Paste(tiles[static_cast<std::size_t>(i)], pad + (i % columns) * (tw + pad),
          pad + (i / columns) * (th + pad), &grid);
  }
  return grid;
}

void Paste(const Image& source, int x, int y, Image* target) {
  ZETA_CHECK(source.channels == target->channels || source.channels == 1,
             "an RGB image cannot be pasted into a gray one");
  for (int r = 0; r < source.height; ++r) {
    for (int c = 0; c < source.width; ++c) {
      const uint8_t* p = source.at(c, r);
      const Rgb color = source.channels == 3 ? Rgb{p[0], p[1], p[2]} : Rgb{p[0], p[0], p[0]};
      target->Set(x + c, y + r, color);
    }
  }
}

int TextWidth(const std::string& text, int scale) {
  if (text.empty()) return 0;
  return (static_cast<int>(text.size()) * kGlyphAdvance - 1) * scale;
}

int TextHeight(int scale) { return kGlyphHeight * scale; }

int DrawText(Image* image, int x, int y, const std::string& text, Rgb color, int scale) {
  for (std::size_t k = 0; k < text.size(); ++k) {
    const char* glyph = GlyphOf(text[k]);
    const int left = x + static_cast<int>(k) * kGlyphAdvance * scale;
    for (int r = 0; r < kGlyphHeight; ++r) {
      for (int c = 0; c < kGlyphWidth; ++c) {
        if (glyph[r * (kGlyphWidth + 1) + c] != '#') continue;
        FillRect(image, left + c * scale, y + r * scale, left + (c + 1) * scale,
                 y + (r + 1) * scale, color);
      }
    }
  }
  return TextWidth(text, scale);
}

void DrawLine(Image* image, double x0, double y0, double x1, double y1, Rgb color, int thickness) {
  // Steps of at most one pixel along the longer axis, a square brush at each.
  const double length = std::max(std::abs(x1 - x0), std::abs(y1 - y0));
  const int steps = std::max(1, static_cast<int>(std::ceil(length)));
  const int before = (thickness - 1) / 2;
  for (int s = 0; s <= steps; ++s) {
    const double t = static_cast<double>(s) / steps;
    const int x = static_cast<int>(std::lround(x0 + t * (x1 - x0))) - before;
    const int y = static_cast<int>(std::lround(y0 + t * (y1 - y0))) - before;
    FillRect(image, x, y, x + thickness, y + thickness, color);
  }
}

std::vector<double> NiceTicks(double low, double high, int target) {
  if (!std::isfinite(low) || !std::isfinite(high) || !(high > low) || target < 1) return {low};
  const double raw = (high - low) / target;
  const double magnitude = std::pow(10.0, std::floor(std::log10(raw)));
  double step = 10 * magnitude;
  for (double factor : {1.0, 2.0, 5.0}) {
    if (factor * magnitude >= raw * (1 - 1e-9)) {
      step = factor * magnitude;
      break;
    }
  }
  std::vector<double> ticks;
  for (double k = std::ceil(low / step - 1e-9); k * step <= high + 1e-9 * step; k += 1) {
    ticks.push_back(k * step);
  }
  return ticks;
}

Image PlotLines(const std::vector<Series>& series, const PlotOptions& options) {
  constexpr int kText = 2;  // font scale: 6 x 10 pixel letters
  constexpr Rgb kInk{40, 40, 40};
  constexpr Rgb kGrid{225, 225, 225};
  Image plot = Image::Filled(options.width, options.height, 3, {255, 255, 255});

  // Axis ranges widened to the outer ticks, so the frame starts and ends on a label.
  const Span xs = DataSpan(series, [](const Series& s, std::size_t i) { return s.x[i]; });
  const Span ys = DataSpan(series, [](const Series& s, std::size_t i) { return s.y[i]; });
  auto x_ticks = NiceTicks(xs.low, xs.high);
  auto y_ticks = NiceTicks(ys.low, ys.high);
  const double x_step = x_ticks.size() > 1 ? x_ticks[1] - x_ticks[0] : 1.0;
  const double y_step = y_ticks.size() > 1 ? y_ticks[1] - y_ticks[0] : 1.0;
  const Span x_axis{std::min(xs.low, std::floor(xs.low / x_step + 1e-9) * x_step),
                    std::max(xs.high, std::ceil(xs.high / x_step - 1e-9) * x_step)};
  const Span y_axis{std::min(ys.low, std::floor(ys.low / y_step + 1e-9) * y_step),
                    std::max(ys.high, std::ceil(ys.high / y_step - 1e-9) * y_step)};
  x_ticks = NiceTicks(x_axis.low, x_axis.high);
  y_ticks = NiceTicks(y_axis.low, y_axis.high);

  // Frame: title and legend above, y labels to the left, x labels and name below.
  int label_width = 0;
  for (double t : y_ticks)
    label_width = std::max(label_width, TextWidth(TickLabel(t, y_step), kText));
  const int line = TextHeight(kText) + 6;
  const int left = 8 + label_width + 6;
  const int right = options.width - 14;
  const int top = 6 + 2 * line;
  const int bottom = options.height - 6 - (options.x_label.empty() ? 1 : 2) * line;
  ZETA_CHECK(right - left > 20 && bottom - top > 20, "the plot is too small for its labels");
  const auto px = [&](double x) {
    return left + (x - x_axis.low) / (x_axis.high - x_axis.low) * (right - left);
  };
  const auto py = [&](double y) {
    return bottom - (y - y_axis.low) / (y_axis.high - y_axis.low) * (bottom - top);
  };

  DrawText(&plot, 8, 6, options.title, kInk, kText);
  int legend_x = 8;
  for (const auto& s : series) {
    FillRect(&plot, legend_x, 6 + line + 2, legend_x + 14, 6 + line + 8, s.color);
    legend_x += 18 + DrawText(&plot, legend_x + 18, 6 + line, s.name, s.color, kText) + 16;
  }
  for (double t : y_ticks) {
    const int y = static_cast<int>(std::lround(py(t)));
    FillRect(&plot, left, y, right + 1, y + 1, kGrid);
    const std::string label = TickLabel(t, y_step);
    DrawText(&plot, left - 6 - TextWidth(label, kText), y - TextHeight(kText) / 2, label, kInk,
             kText);
  }
  for (double t : x_ticks) {
    const int x = static_cast<int>(std::lround(px(t)));
    FillRect(&plot, x, top, x + 1, bottom + 1, kGrid);
    const std::string label = TickLabel(t, x_step);
    DrawText(&plot, x - TextWidth(label, kText) / 2, bottom + 6, label, kInk, kText);
  }
  if (!options.x_label.empty()) {
    DrawText(&plot, (left + right - TextWidth(options.x_label, kText)) / 2, bottom + 6 + line,
             options.x_label, kInk, kText);
  }
  FillRect(&plot, left, top, right + 1, top + 1, kInk);
  FillRect(&plot, left, bottom, right + 1, bottom + 1, kInk);
  FillRect(&plot, left, top, left + 1, bottom + 1, kInk);
  FillRect(&plot, right, top, right + 1, bottom + 1, kInk);

  // The lines, broken at points that are not finite, and a marker on every point when the
  // points are few enough to tell apart.
  for (const auto& s : series) {
    const bool markers = s.x.size() <= 60;
    bool have_previous = false;
    double last_x = 0;
    double last_y = 0;
    for (std::size_t i = 0; i < std::min(s.x.size(), s.y.size()); ++i) {
      if (!std::isfinite(s.x[i]) || !std::isfinite(s.y[i])) {
        have_previous = false;
        continue;
      }
      const double x = px(s.x[i]);
      const double y = py(s.y[i]);
      if (have_previous) DrawLine(&plot, last_x, last_y, x, y, s.color, 2);
      const int cx = static_cast<int>(std::lround(x));
      const int cy = static_cast<int>(std::lround(y));
      if (markers) FillRect(&plot, cx - 2, cy - 2, cx + 3, cy + 3, s.color);
      have_previous = true;
      last_x = x;
      last_y = y;
    }
  }
  return plot;
}

}  // namespace zeta
