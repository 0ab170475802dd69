// What a file holds, readably: the generic tree of any HDF5 file, friendly summaries of
// Zeta's data, model, checkpoint, sample, score and log Z results files, PNG sizes, CSV
// tables, and the state of a run directory (run.json, the last metrics row, the pictures).
#pragma once

#include <optional>
#include <ostream>
#include <string>
#include <vector>

#include "zeta/hdf5.hpp"

namespace zeta {

struct H5Attribute {
  std::string name;
  std::string text;              // the value (numbers and strings) or "[shape] type"
  std::optional<double> number;  // set for a numeric scalar
};

struct H5Object {
  std::string path;  // "/" for the root group
  bool dataset = false;
  h5::Shape shape;   // datasets only; empty for a scalar
  std::string type;  // "uint8", "float32", "string", ... (datasets only)
  std::vector<H5Attribute> attributes;
  std::optional<double> number;     // value of a numeric dataset with one element
  std::optional<std::string> text;  // value of a scalar string dataset
};

// Every group and dataset of an HDF5 file in name order, root first, with its
// attributes. Throws an Error naming the file when it is missing or not HDF5.
[[nodiscard]] std::vector<H5Object> WalkHdf5(const std::string& path);

// Writes a readable description of `path` to `out`: a run directory, an HDF5 file (with a
// summary for the layouts Zeta writes, then the generic tree), a PNG or a CSV file. A model
// or checkpoint inside a run directory also shows the run's state, and any results file
// of 'zeta logz' next to it (saying whether it was computed for this very model). Throws an Error
// naming the path when it cannot be read.
void Inspect(const std::string& path, std::ostream& out);

}  // namespace zeta
