// zeta data import: IDX or CSV images to a Zeta data file (rank 0 does the work).
#include <filesystem>

#include "commands.hpp"
#include "zeta/data.hpp"
#include "zeta/error.hpp"
#include "zeta/log.hpp"

namespace zeta::cli {
namespace {

struct ImportOptions {
  std::string train_images, train_labels, test_images, test_labels;
  std::string train_csv, test_csv;
  std::string out;
  std::string binarize = "threshold";
  double threshold = 0.5;
  uint64_t seed = 1;
  double csv_max = 255.0;
  bool csv_label_first = false;
  bool csv_header = false;
  int64_t limit = -1;
  std::string verbosity = "info";
};

RawImages ReadSplit(const std::string& images, const std::string& labels, const std::string& csv,
                    const ImportOptions& o) {
  if (!csv.empty()) {
    return ReadCsvImages(
        csv, {.max_value = o.csv_max, .label_first = o.csv_label_first, .header = o.csv_header},
        o.limit);
  }
  return ReadIdxSplit(images, labels, o.limit);
}

int Import(const Communicator& comm, const Args& args) {
  ImportOptions o;
  OptionTable table("zeta data import --train-images FILE [--test-images FILE] --out FILE.h5",
                    "Reads images from IDX files (gzipped or not; Fashion-MNIST's format) or CSV "
                    "(one image per line),\nbinarizes them and writes an HDF5 data file with a "
                    "group per split (/train, /test) holding\n'visible' (uint8 [rows, pixels]) "
                    "and 'labels'. A failure leaves no output file.");
  table.Add("train-images", &o.train_images, "IDX image file of the train split")
      .Add("train-labels", &o.train_labels, "IDX label file of the train split")
      .Add("test-images", &o.test_images, "IDX image file of the test split")
      .Add("test-labels", &o.test_labels, "IDX label file of the test split")
      .Add("train-csv", &o.train_csv, "CSV file of the train split (instead of IDX)")
      .Add("test-csv", &o.test_csv, "CSV file of the test split (instead of IDX)")
      .Add("out", &o.out, "HDF5 file to write (required)")
      .Add("binarize", &o.binarize,
           "threshold (pixel/255 > threshold) or stochastic (Bernoulli(pixel/255), seeded)",
           OneOf({"threshold", "stochastic"}))
      .Add("threshold", &o.threshold, "threshold of --binarize threshold", Between(0, 1))
      .Add("seed", &o.seed, "seed of --binarize stochastic")
      .Add("csv-max", &o.csv_max, "largest pixel value in CSV input", Between(1e-9, 1e9))
      .Switch("csv-label-first", &o.csv_label_first, "the first CSV column is the label")
      .Switch("csv-header", &o.csv_header, "the first CSV line is a header")
      .Add("limit", &o.limit, "import at most this many images per split, at least 1 (-1: all)",
           AtLeast(-1))
      .Add("verbosity", &o.verbosity, "debug, info, warn or error",
           OneOf({"debug", "info", "warn", "error"}), Role::kRunOnly);
  if (!ParseCollectively(comm, &table, args)) return kExitOk;
  comm.Collectively([&] {
    log::Init(comm.rank(), comm.size(), o.verbosity);
    if (o.out.empty()) throw UsageError("option --out: an output file is required");
    if (o.limit == 0) {
      throw UsageError("option --limit: 0 is out of range, expected at least 1 (or -1: all)");
    }
    if (!o.train_labels.empty() && o.train_images.empty()) {
      throw UsageError("option --train-labels: given without --train-images; give both or neither");
    }
    if (!o.test_labels.empty() && o.test_images.empty()) {
      throw UsageError("option --test-labels: given without --test-images; give both or neither");
    }
    if (o.train_images.empty() == o.train_csv.empty()) {
      throw UsageError("give the train split as exactly one of --train-images or --train-csv");
    }
    if (!o.test_images.empty() && !o.test_csv.empty()) {
      throw UsageError("give the test split as at most one of --test-images or --test-csv");
    }
    if (!comm.root()) return;
    CheckOutputFile(
        "out", o.out,
        {o.train_images, o.train_labels, o.test_images, o.test_labels, o.train_csv, o.test_csv});
    std::vector<SplitToWrite> splits;
    splits.push_back({"train", ReadSplit(o.train_images, o.train_labels, o.train_csv, o)});
    if (!o.test_images.empty() || !o.test_csv.empty()) {
      splits.push_back({"test", ReadSplit(o.test_images, o.test_labels, o.test_csv, o)});
      if (splits[1].images.cols != splits[0].images.cols) {
        throw Error("the test split has " + std::to_string(splits[1].images.cols) +
                    " pixels per image, the train split " + std::to_string(splits[0].images.cols));
      }
    }
    const Binarization how{.kind = o.binarize == "threshold" ? Binarization::Kind::kThreshold
                                                             : Binarization::Kind::kStochastic,
                           .threshold = o.threshold,
                           .seed = o.seed};
    const auto folder = std::filesystem::path(o.out).parent_path();
    if (!folder.empty()) std::filesystem::create_directories(folder);
    WriteDataFile(o.out, splits, how, o.train_csv.empty() ? o.train_images : o.train_csv);
    for (const auto& split : splits) {
      log::info("{}: /{} holds {} images of {} pixels{}", o.out, split.name, split.images.rows,
                split.images.cols, split.images.labels.empty() ? "" : " with labels");
    }
  });
  return kExitOk;
}

}  // namespace

int DataCommand(const Communicator& comm, const Args& args) {
  if (args.empty() || args[0] != "import") {
    throw Error("zeta data: expected the subcommand 'import' (zeta data import --help)", kExitUsage,
                /*collective=*/true);
  }
  return Import(comm, Args(args.begin() + 1, args.end()));
}

}  // namespace zeta::cli
