// Checkpoint and model files: atomic writes, validated reads.
#include "zeta/checkpoint.hpp"

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <regex>

#include "zeta/error.hpp"
#include "zeta/hdf5.hpp"
#include "zeta/run.hpp"
#include "zeta/version.hpp"

namespace zeta {
namespace {

namespace fs = std::filesystem;

void WriteModelGroup(h5::File* file, const Rbm& rbm) {
  const auto nv = static_cast<hsize_t>(rbm.visible());
  const auto nh = static_cast<hsize_t>(rbm.hidden());
  const auto params = rbm.parameters();
  file->WriteChecksummed<float>("/model/weights", params.subspan(0, nv * nh), {nv, nh});
  file->WriteChecksummed<float>("/model/visible_bias", params.subspan(nv * nh, nv), {nv});
  file->WriteChecksummed<float>("/model/hidden_bias", params.subspan(nv * nh + nv, nh), {nh});
  file->SetAttribute("/model/weights", "layout",
                     std::string("row-major [visible, hidden]: weights[i, j] joins v_i and h_j"));
  file->SetAttribute("/model", "units", std::string("binary-binary"));
  file->SetAttribute("/model", "energy", std::string("E(v,h) = -b.v - c.h - v'Wh"));
}

void WriteHeader(h5::File* file, const std::string& kind) {
  file->SetAttribute("/", "format", kind);
  file->SetAttribute("/", "format_version", kCheckpointFormatVersion);
  file->SetAttribute("/", "zeta_version", std::string(kVersion));
  file->SetAttribute("/", "git_commit", std::string(kGitCommit));
  file->SetAttribute("/", "created", UtcNow());
}

template <class T>
void RequireFinite(const std::string& path, const std::string& name, const std::vector<T>& v) {
  for (std::size_t i = 0; i < v.size(); ++i) {
    if (!std::isfinite(v[i])) {
      throw Error(path + ": " + name + " holds a non-finite value at element " + std::to_string(i));
    }
  }
}

Rbm ReadModelGroup(const h5::File& file) {
  const std::string& path = file.path();
  if (!file.Exists("/model/weights")) throw Error(path + ": missing dataset /model/weights");
  const auto shape = file.ShapeOf("/model/weights");
  if (shape.size() != 2 || shape[0] == 0 || shape[1] == 0) {
    throw Error(path + ": /model/weights must be a 2-D matrix [visible, hidden]");
  }
  Rbm rbm(static_cast<int>(shape[0]), static_cast<int>(shape[1]));
  const auto w = file.Read<float>("/model/weights");
  const auto b = file.Read<float>("/model/visible_bias", h5::Shape{shape[0]});
  const auto c = file.Read<float>("/model/hidden_bias", h5::Shape{shape[1]});
  RequireFinite(path, "/model/weights", w);
  RequireFinite(path, "/model/visible_bias", b);
  RequireFinite(path, "/model/hidden_bias", c);
  auto params = rbm.parameters();
  std::copy(w.begin(), w.end(), params.begin());
  std::copy(b.begin(), b.end(), params.begin() + static_cast<std::ptrdiff_t>(w.size()));
  std::copy(c.begin(), c.end(), params.begin() + static_cast<std::ptrdiff_t>(w.size() + b.size()));
  return rbm;
}

void CheckFormat(const h5::File& file) {
  const std::string& path = file.path();
  if (!file.HasAttribute("/", "format_version")) {
    throw Error(path + ": no format_version attribute; not a Zeta model or checkpoint");
  }
  const auto version = file.IntAttribute("/", "format_version");
  if (version != kCheckpointFormatVersion) {
    throw Error(path + ": format_version " + std::to_string(version) + ", this Zeta reads " +
                std::to_string(kCheckpointFormatVersion));
  }
}

}  // namespace

void WriteCheckpoint(const std::string& path, const TrainState& state) {
  h5::AtomicOutput output(path);
  {
    auto file = h5::File::Create(output.temp_path());
    WriteHeader(&file, "zeta-checkpoint");
    WriteModelGroup(&file, state.rbm);
    const auto nv = static_cast<hsize_t>(state.rbm.visible());
    const auto nh = static_cast<hsize_t>(state.rbm.hidden());
    const std::span<const float> velocity(state.velocity);
    ZETA_CHECK(velocity.size() == state.rbm.parameters().size(),
               "velocity must match the parameters");
    file.WriteChecksummed<float>("/train/velocity/weights", velocity.subspan(0, nv * nh), {nv, nh});
    file.WriteChecksummed<float>("/train/velocity/visible_bias", velocity.subspan(nv * nh, nv),
                                 {nv});
    file.WriteChecksummed<float>("/train/velocity/hidden_bias", velocity.subspan(nv * nh + nv, nh),
                                 {nh});
    file.WriteChecksummed<uint8_t>("/train/chains", state.chains, {state.chains.size() / nv, nv});
    file.SetAttribute("/train", "step", state.step);
    file.SetAttribute("/train", "epoch", state.epoch);
    file.SetAttribute("/train", "position", state.position);
    file.WriteString("/config", state.config);
    file.WriteString("/train/result_config", state.result_config);
    file.SetAttribute("/config", "seed", std::to_string(state.seed));
    file.SetAttribute("/config", "data_checksum", state.data_checksum);
    file.Flush();
  }
  output.Commit();
}

TrainState ReadCheckpoint(const std::string& path) {
  const auto file = h5::File::OpenRead(path);
  CheckFormat(file);
  TrainState state;
  state.rbm = ReadModelGroup(file);
  const auto nv = static_cast<hsize_t>(state.rbm.visible());
  const auto nh = static_cast<hsize_t>(state.rbm.hidden());
  for (const char* name :
       {"/train/velocity/weights", "/train/velocity/visible_bias", "/train/velocity/hidden_bias",
        "/train/chains", "/config", "/train/result_config"}) {
    if (!file.Exists(name))
      throw Error(path + ": missing dataset " + name + " (not a checkpoint?)");
  }
  const auto vw = file.Read<float>("/train/velocity/weights", h5::Shape{nv, nh});
  const auto vb = file.Read<float>("/train/velocity/visible_bias", h5::Shape{nv});
  const auto vc = file.Read<float>("/train/velocity/hidden_bias", h5::Shape{nh});
  RequireFinite(path, "/train/velocity/weights", vw);
  RequireFinite(path, "/train/velocity/visible_bias", vb);
  RequireFinite(path, "/train/velocity/hidden_bias", vc);
  state.velocity = vw;
  state.velocity.insert(state.velocity.end(), vb.begin(), vb.end());
  state.velocity.insert(state.velocity.end(), vc.begin(), vc.end());
  const auto chain_shape = file.ShapeOf("/train/chains");
  if (chain_shape.size() != 2 || chain_shape[1] != nv) {
    throw Error(path + ": /train/chains must be [chains, " + std::to_string(nv) + "]");
  }
  state.chains = file.Read<uint8_t>("/train/chains");
  if (std::any_of(state.chains.begin(), state.chains.end(), [](uint8_t x) { return x > 1; })) {
    throw Error(path + ": /train/chains holds values other than 0 and 1");
  }
  state.step = file.IntAttribute("/train", "step");
  state.epoch = file.IntAttribute("/train", "epoch");
  state.position = file.IntAttribute("/train", "position");
  if (state.step < 0 || state.epoch < 0 || state.position < 0) {
    throw Error(path + ": negative step, epoch or position in /train");
  }
  state.config = file.ReadString("/config");
  state.result_config = file.ReadString("/train/result_config");
  state.seed = std::stoull(file.StringAttribute("/config", "seed"));
  state.data_checksum = file.StringAttribute("/config", "data_checksum");
  return state;
}

Rbm ReadModel(const std::string& path) {
  const auto file = h5::File::OpenRead(path);
  CheckFormat(file);
  return ReadModelGroup(file);
}

void WriteModel(const std::string& path, const Rbm& rbm, const std::string& config) {
  h5::AtomicOutput output(path);
  {
    auto file = h5::File::Create(output.temp_path());
    WriteHeader(&file, "zeta-model");
    WriteModelGroup(&file, rbm);
    file.WriteString("/config", config);
    file.Flush();
  }
  output.Commit();
}

std::string CheckpointName(int64_t step) {
  char buffer[48];
  std::snprintf(buffer, sizeof buffer, "ckpt-%010lld.h5", static_cast<long long>(step));
  return buffer;
}

std::vector<std::string> ListCheckpoints(const std::string& folder) {
  std::vector<std::string> found;
  if (!fs::is_directory(folder)) return found;
  static const std::regex kName(R"(ckpt-\d{10}\.h5)");
  for (const auto& entry : fs::directory_iterator(folder)) {
    const auto name = entry.path().filename().string();
    if (entry.is_regular_file() && std::regex_match(name, kName)) {
      found.push_back(entry.path().string());
    }
  }
  std::sort(found.rbegin(), found.rend());  // zero-padded step: newest first
  return found;
}

std::string OlderCheckpointHint(const std::string& folder) {
  const auto found = ListCheckpoints(folder);
  if (found.size() < 2) return "";
  return "; an older checkpoint is kept: move " + fs::path(found[0]).filename().string() +
         " out of " + folder + " to resume from " + fs::path(found[1]).filename().string();
}

std::string ReadNewestCheckpoint(const std::string& folder, TrainState* state) {
  const auto found = ListCheckpoints(folder);
  if (found.empty()) return "";
  try {
    *state = ReadCheckpoint(found.front());
  } catch (const Error& e) {
    // The unreadable file stays for the user to inspect; say which one comes before it.
    const std::string hint = OlderCheckpointHint(folder);
    if (hint.empty()) throw;
    throw Error(e.what() + hint);
  }
  return found.front();
}

void RemoveStaleTemporaries(const std::string& folder) {
  if (!fs::is_directory(folder)) return;
  static const std::regex kTemporary(R"(\.ckpt-\d{10}\.h5\.tmp\.\d+)");
  for (const auto& entry : fs::directory_iterator(folder)) {
    if (std::regex_match(entry.path().filename().string(), kTemporary)) {
      std::error_code ignored;
      fs::remove(entry.path(), ignored);
    }
  }
}

void PruneCheckpoints(const std::string& folder, int keep) {
  const auto all = ListCheckpoints(folder);
  for (std::size_t i = static_cast<std::size_t>(std::max(keep, 1)); i < all.size(); ++i) {
    std::error_code ignored;
    fs::remove(all[i], ignored);
  }
}

}  // namespace zeta
