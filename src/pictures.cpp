// Filters, samples and learning curves drawn with the image module.
#include "zeta/pictures.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "zeta/error.hpp"
#include "zeta/hdf5.hpp"
#include "zeta/log.hpp"

namespace zeta {
namespace {

constexpr Rgb kBlue{31, 119, 180};
constexpr Rgb kOrange{255, 127, 14};
constexpr int kPanelWidth = 480;
constexpr int kPanelHeight = 300;

// Cells of a strip or bar drawing: wide enough that a short vector is visible, at least
// one pixel each.
int CellWidth(int values) { return std::clamp(256 / std::max(values, 1), 1, 8); }

std::span<const float> RowOf(const Matrix& m, Eigen::Index row) {
  return {m.data() + row * m.cols(), static_cast<std::size_t>(m.cols())};
}

Image VectorTile(std::span<const float> values, const TileShape& shape, const GrayScale& scale) {
  if (shape.image()) return GrayTile(values, shape.height, shape.width, scale);
  const int n = static_cast<int>(values.size());
  return GrayTile(values, 1, n, scale, CellWidth(n));
}

std::vector<std::string> SplitFields(const std::string& line) {
  std::vector<std::string> fields;
  std::istringstream in(line);
  std::string field;
  while (std::getline(in, field, ',')) fields.push_back(field);
  if (!line.empty() && line.back() == ',') fields.emplace_back();
  return fields;
}

}  // namespace

TileShape VisibleShape(int visible, int height_hint, int width_hint) {
  if (height_hint > 0 && width_hint > 0 && int64_t{height_hint} * width_hint == visible) {
    return {height_hint, width_hint};
  }
  const int side = static_cast<int>(std::lround(std::sqrt(static_cast<double>(visible))));
  if (side > 1 && side * side == visible) return {side, side};
  return {};
}

TileShape DataImageShape(const std::string& data_path, const std::string& split, int visible) {
  const auto file = h5::File::OpenRead(data_path);
  const std::string group = "/" + split;
  if (file.HasAttribute(group, "image_height") && file.HasAttribute(group, "image_width")) {
    return VisibleShape(visible, static_cast<int>(file.IntAttribute(group, "image_height")),
                        static_cast<int>(file.IntAttribute(group, "image_width")));
  }
  return VisibleShape(visible);
}

Image FilterPicture(const Rbm& rbm, const TileShape& shape) {
  const auto w = rbm.weights();
  std::vector<Image> tiles;
  std::vector<float> column(static_cast<std::size_t>(rbm.visible()));
  for (int j = 0; j < rbm.hidden(); ++j) {
    for (int i = 0; i < rbm.visible(); ++i) column[static_cast<std::size_t>(i)] = w(i, j);
    const float largest = w.col(j).cwiseAbs().maxCoeff();
    const float m = largest > 0 ? largest : 1.0F;
    const GrayScale scale{-m, m};
    if (shape.image()) {
      tiles.push_back(GrayTile(column, shape.height, shape.width, scale));
    } else {
      tiles.push_back(BarsTile(column, scale, CellWidth(rbm.visible()), 48));
    }
  }
  return TileGrid(tiles, {});
}

Image SamplePicture(const Matrix& means, const TileShape& shape, int columns) {
  ZETA_CHECK(means.rows() > 0, "a sample picture needs at least one sample");
  std::vector<Image> tiles;
  for (Eigen::Index r = 0; r < means.rows(); ++r)
    tiles.push_back(VectorTile(RowOf(means, r), shape, {}));
  return TileGrid(
      tiles, {.columns = shape.image() ? columns : 1, .padding = 1, .background = {64, 64, 64}});
}

Image SnapshotPicture(const std::vector<Matrix>& snapshots, const TileShape& shape) {
  ZETA_CHECK(!snapshots.empty() && snapshots.front().rows() > 0,
             "a snapshot picture needs at least one snapshot of one chain");
  std::vector<Image> tiles;
  for (Eigen::Index chain = 0; chain < snapshots.front().rows(); ++chain) {
    for (const auto& snapshot : snapshots)
      tiles.push_back(VectorTile(RowOf(snapshot, chain), shape, {}));
  }
  return TileGrid(
      tiles,
      {.columns = static_cast<int>(snapshots.size()), .padding = 1, .background = {64, 64, 64}});
}

std::vector<double> CsvTable::Column(const std::string& name) const {
  const auto found = std::find(columns.begin(), columns.end(), name);
  if (found == columns.end()) return {};
  const auto index = static_cast<std::size_t>(found - columns.begin());
  std::vector<double> values;
  values.reserve(rows.size());
  for (const auto& row : rows) values.push_back(row[index]);
  return values;
}

CsvTable ReadCsvTable(const std::string& path) {
  std::ifstream in(path);
  if (!in) throw Error(path + ": cannot open for reading");
  CsvTable table;
  std::string line;
  if (!std::getline(in, line)) throw Error(path + ": empty, expected a header line");
  table.columns = SplitFields(line);
  while (std::getline(in, line)) {
    const auto fields = SplitFields(line);
    if (fields.size() != table.columns.size()) continue;
    std::vector<double> row;
    for (const auto& field : fields) {
      char* end = nullptr;
      const double value = std::strtod(field.c_str(), &end);
      row.push_back(end != field.c_str() ? value : std::nan(""));
    }
    table.rows.push_back(std::move(row));
  }
  return table;
}

Image LearningCurvePicture(const CsvTable& metrics) {
  const auto epoch = metrics.Column("epoch");
  const auto train = metrics.Column("free_energy_train");
  const auto heldout = metrics.Column("free_energy_heldout");
  std::vector<double> gap(std::min(train.size(), heldout.size()));
  for (std::size_t i = 0; i < gap.size(); ++i) gap[i] = heldout[i] - train[i];
  const bool have_heldout =
      std::any_of(gap.begin(), gap.end(), [](double g) { return std::isfinite(g); });
  const PlotOptions panel{
      .width = kPanelWidth, .height = kPanelHeight, .title = {}, .x_label = "epoch"};
  auto with_title = [&](const std::string& title) {
    PlotOptions options = panel;
    options.title = title;
    return options;
  };
  std::vector<Image> panels;
  panels.push_back(PlotLines({{"train", epoch, metrics.Column("reconstruction_error"), kBlue}},
                             with_title("reconstruction error")));
  panels.push_back(PlotLines(
      {{"held-out (train if none)", epoch, metrics.Column("pseudo_log_likelihood"), kBlue}},
      with_title("pseudo-log-likelihood")));
  panels.push_back(
      PlotLines({{"train", epoch, train, kBlue}, {"held-out", epoch, heldout, kOrange}},
                with_title("mean free energy")));
  panels.push_back(PlotLines(
      {{"held-out - train", epoch, gap, kOrange}},
      with_title(have_heldout ? "free-energy gap" : "free-energy gap: no held-out split")));
  return TileGrid(panels, {.columns = 2, .padding = 4, .background = {200, 200, 200}});
}

void WriteTrainingPictures(const TrainConfig& config, const Rbm& rbm, int64_t epoch) {
  try {
    namespace fs = std::filesystem;
    const std::string metrics = config.run_dir + "/metrics.csv";
    if (fs::exists(metrics)) {
      WritePng(config.run_dir + "/learning_curve.png", LearningCurvePicture(ReadCsvTable(metrics)));
    }
    const bool due = config.filters_every > 0 && epoch % config.filters_every == 0;
    if (!due && epoch < config.epochs) return;
    const Image filters =
        FilterPicture(rbm, DataImageShape(config.data, config.train_split, rbm.visible()));
    if (due) {
      fs::create_directories(config.run_dir + "/filters");
      char name[32];
      std::snprintf(name, sizeof name, "/filters/epoch-%04lld.png", static_cast<long long>(epoch));
      WritePng(config.run_dir + name, filters);
    }
    WritePng(config.run_dir + "/filters.png", filters);
  } catch (const std::exception& e) {
    log::warn("pictures of epoch {} not written: {}", epoch, e.what());
  }
}

}  // namespace zeta
