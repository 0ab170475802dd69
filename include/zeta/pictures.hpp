// What Zeta draws: the filters of a model, the visible means of Gibbs chains, and the
// learning curves of a training run (from its metrics.csv).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "zeta/image.hpp"
#include "zeta/model.hpp"
#include "zeta/train.hpp"

namespace zeta {

// The 2-D shape in which a visible vector is drawn as an image; {0, 0} when the layer is
// not an image (it is then drawn as bars or rows).
struct TileShape {
  int height = 0;
  int width = 0;
  [[nodiscard]] bool image() const { return height > 0 && width > 0; }
};

// The hint when height_hint * width_hint == visible, else a square when visible is a perfect
// square (784 = 28 x 28), else {0, 0}.
[[nodiscard]] TileShape VisibleShape(int visible, int height_hint = 0, int width_hint = 0);

// VisibleShape with the hint stored in a data file by 'zeta data import' (the attributes
// image_height and image_width of the split's group; absent for CSV of any width).
[[nodiscard]] TileShape DataImageShape(const std::string& data_path, const std::string& split,
                                       int visible);

// The filters: column j of W (the weights into hidden unit j) as one tile each, in a
// near-square grid. An image tile maps 0 to mid gray and ±max_i |W_ij| to white / black;
// a layer that is not an image draws each filter as signed bars.
[[nodiscard]] Image FilterPicture(const Rbm& rbm, const TileShape& shape);

// Visible means (rows of `means`, values in [0, 1], 1 drawn white): image tiles in a
// near-square grid (`columns` 0) or, for a layer that is not an image, one strip of cells
// per row, stacked.
[[nodiscard]] Image SamplePicture(const Matrix& means, const TileShape& shape, int columns = 0);

// Snapshots along chains: snapshots[k] holds the means of every chain at snapshot k; the
// picture has one row per chain and one column per snapshot, left to right in time.
[[nodiscard]] Image SnapshotPicture(const std::vector<Matrix>& snapshots, const TileShape& shape);

// A CSV file with a header line, read as numbers ("nan" allowed). Lines with the wrong
// number of fields (a line cut off by a kill) are skipped.
struct CsvTable {
  std::vector<std::string> columns;
  std::vector<std::vector<double>> rows;
  // The values of a column, or an empty vector when there is no such column.
  [[nodiscard]] std::vector<double> Column(const std::string& name) const;
};
[[nodiscard]] CsvTable ReadCsvTable(const std::string& path);

// The learning curves of a run: four panels by epoch (reconstruction error,
// pseudo-log-likelihood, free energy of train and held-out rows, and the free-energy gap
// held-out minus train, which grows when the model overfits).
[[nodiscard]] Image LearningCurvePicture(const CsvTable& metrics);

// Called by rank 0 after epoch `epoch` (1-based, counting finished epochs): writes
// run_dir/learning_curve.png, and run_dir/filters/epoch-NNNN.png every filters_every epochs
// and run_dir/filters.png then and after the last epoch. Never throws a zeta::Error: a
// picture that cannot be written is logged as a warning and training goes on.
void WriteTrainingPictures(const TrainConfig& config, const Rbm& rbm, int64_t epoch);

}  // namespace zeta
