// attn.npz: a zip of .npy arrays that numpy.load reads. Written stored, data 64-byte
// aligned; read back stored (float32 arrays mapped in place) or deflated
// (numpy.savez_compressed), one entry at a time, only the entries asked for.
#include <fmt/format.h>

#include <charconv>
#include <cstring>
#include <map>
#include <optional>

#include "atomic_file.h"
#include "attention_data.h"
#include "attnhook/error.h"
#include "input_file.h"
#include "npy.h"
#include "utf8.h"
#include "zip_archive.h"

namespace attnhook::detail {
namespace {

// An int64 array entry `name` of `shape` (1-d when none is given), unless `values` is empty.
void add_integers(std::vector<ZipSource>& entries, const std::string& name,
                  const std::vector<int64_t>& values,
                  std::optional<std::vector<int64_t>> shape = std::nullopt) {
  if (values.empty()) return;
  if (!shape) shape = std::vector<int64_t>{static_cast<int64_t>(values.size())};
  std::string bytes = npy_header("<i8", *shape);
  bytes.append(reinterpret_cast<const char*>(values.data()), values.size() * sizeof(int64_t));
  entries.push_back({name, std::move(bytes)});
}

class NpzReader : public AttentionReader {
 public:
  NpzReader(std::shared_ptr<const InputFile> file, const ReadLimits& limits);
  FloatArray read(size_t layer, size_t call) const override;

 private:
  std::string where(const ZipEntry& entry) const {
    return fmt::format("attention file '{}', array '{}'", printable(path_, 4096),
                       printable(entry.name, 80));
  }
  std::vector<std::string> read_strings(const ZipEntry& entry) const;
  void check_prediction() const;
  // Integers (or bools) of any shape; `shape`, if given, receives the array's.
  std::vector<int64_t> read_integers(const ZipEntry& entry,
                                     std::vector<int64_t>* shape = nullptr) const;
  // Floats; rank 0 = any rank, else exactly `rank` dimensions.
  FloatArray read_floats(const ZipEntry& entry, size_t rank) const;
  // output:<name> and prediction:<field>; false for any other name.
  bool read_output(const std::string& key, const ZipEntry& entry);
  // "patch_grid" ([rows, columns]) or "prefix_tokens" (0-d).
  void read_patch_grid(const std::string& key, const ZipEntry& entry);

  std::string path_;
  ReadLimits limits_;
  ZipArchive archive_;
  std::vector<std::vector<size_t>> entries_;  // per layer, per call: index in archive_.entries()
  bool has_prefix_ = false;                   // "prefix_tokens" was read
};

NpzReader::NpzReader(std::shared_ptr<const InputFile> file, const ReadLimits& limits)
    : path_(file->path()), limits_(limits), archive_(std::move(file)) {
  const auto& entries = archive_.entries();
  std::map<std::string, size_t> seen;
  std::map<std::string, size_t> layer_index;
  std::vector<std::map<int64_t, size_t>> calls;  // per layer: call number -> entry
  for (size_t e = 0; e < entries.size(); ++e) {
    const ZipEntry& entry = entries[e];
    std::string key = entry.name;
    if (key.size() > 4 && key.compare(key.size() - 4, 4, ".npy") == 0) key.resize(key.size() - 4);
    if (!seen.emplace(key, e).second) throw Error(where(entry) + ": a second array of this name");
    if (key == "tokens" || key == "src_tokens") {
      (key == "tokens" ? info_.tokens : info_.src_tokens) = read_strings(entry);
      continue;
    }
    if (key == "text" || key == "model") {
      const auto texts = read_strings(entry);
      (key == "text" ? info_.text : info_.model) = texts.empty() ? "" : texts[0];
      continue;
    }
    if (key == "attention_mask" || key == "src_attention_mask") {
      (key == "attention_mask" ? info_.attention_mask : info_.src_attention_mask) =
          read_integers(entry);
      continue;
    }
    if (key == "patch_grid" || key == "prefix_tokens") {
      read_patch_grid(key, entry);
      continue;
    }
    if (read_output(key, entry)) continue;
    const auto slash = key.rfind('/');
    if (slash == std::string::npos)
      throw Error(where(entry) + ": layer arrays are named '<layer>/<call>'");
    const std::string name = key.substr(0, slash), leaf = key.substr(slash + 1);
    if (leaf == "tgt_tokens" || leaf == "src_tokens") {
      auto& own = info_.layer_tokens[name];
      (leaf == "tgt_tokens" ? own.tgt : own.src) = read_strings(entry);
      continue;
    }
    if (leaf == "tgt_attention_mask" || leaf == "src_attention_mask") {
      auto& own = info_.layer_tokens[name];
      (leaf == "tgt_attention_mask" ? own.tgt_mask : own.src_mask) = read_integers(entry);
      continue;
    }
    int64_t call = -1;
    const auto [end, error] = std::from_chars(leaf.data(), leaf.data() + leaf.size(), call);
    if (leaf.empty() || leaf.size() > 9 || error != std::errc() ||
        end != leaf.data() + leaf.size() || call < 0) {
      throw Error(where(entry) + ": layer arrays are named '<layer>/<call>' (call: a number)");
    }
    const auto [found, added] = layer_index.emplace(name, layers_.size());
    if (added) {
      layers_.push_back({name, 0});
      calls.emplace_back();
    }
    if (!calls[found->second].emplace(call, e).second)
      throw Error(where(entry) + ": a second array for this call");
  }
  for (size_t l = 0; l < layers_.size(); ++l) {
    layers_[l].calls = calls[l].size();
    entries_.emplace_back();
    for (const auto& [number, entry] : calls[l]) entries_.back().push_back(entry);
  }
  check_prediction();
  if (has_prefix_ && info_.patch_grid.empty()) {
    throw Error(
        fmt::format("attention file '{}': 'prefix_tokens' needs 'patch_grid' [rows, columns]",
                    printable(path_, 4096)));
  }
}

void NpzReader::read_patch_grid(const std::string& key, const ZipEntry& entry) {
  std::vector<int64_t> shape;
  const std::vector<int64_t> values = read_integers(entry, &shape);
  PatchGrid& grid = info_.patch_grid;
  if (key == "patch_grid") {
    if (shape != std::vector<int64_t>{2} || values[0] <= 0 || values[1] <= 0) {
      throw Error(where(entry) + ": expected [rows, columns], two positive integers");
    }
    grid.rows = values[0];
    grid.columns = values[1];
    return;
  }
  if (!shape.empty() || values[0] < 0)
    throw Error(where(entry) + ": expected one non-negative integer (0-d)");
  grid.prefix_tokens = values[0];
  has_prefix_ = true;
}

bool NpzReader::read_output(const std::string& key, const ZipEntry& entry) {
  if (key.compare(0, 7, "output:") == 0) {
    info_.outputs.push_back({key.substr(7), read_floats(entry, 0)});
    return true;
  }
  if (key.compare(0, 11, "prediction:") != 0) return false;
  Prediction& prediction = info_.prediction;
  const std::string field = key.substr(11);
  if (field == "output") {
    const auto texts = read_strings(entry);
    prediction.output = texts.empty() ? "" : texts[0];
  } else if (field == "class_ids") {
    prediction.class_ids = read_integers(entry, &prediction.shape);
  } else if (field == "class_names") {
    prediction.class_names = read_strings(entry);
  } else if (field == "probabilities") {
    const FloatArray values = read_floats(entry, 0);
    prediction.probabilities.assign(values.data(), values.data() + values.numel());
  } else {
    throw Error(
        where(entry) +
        ": unknown prediction field (known: output, class_ids, class_names, probabilities)");
  }
  return true;
}

void NpzReader::check_prediction() const {
  const Prediction& prediction = info_.prediction;
  const bool any = !prediction.output.empty() || !prediction.class_ids.empty() ||
                   !prediction.class_names.empty() || !prediction.probabilities.empty();
  if (!any) return;
  const std::string file = fmt::format("attention file '{}'", printable(path_, 4096));
  if (prediction.output.empty()) throw Error(file + ": the prediction has no 'prediction:output'");
  auto check = [&](size_t size, const char* field) {
    if (size != prediction.class_ids.size()) {
      throw Error(fmt::format("{}: 'prediction:{}' has {} entries, 'prediction:class_ids' {}", file,
                              field, size, prediction.class_ids.size()));
    }
  };
  if (!prediction.class_names.empty()) check(prediction.class_names.size(), "class_names");
  if (!prediction.probabilities.empty()) check(prediction.probabilities.size(), "probabilities");
}

std::vector<std::string> NpzReader::read_strings(const ZipEntry& entry) const {
  ZipEntryReader reader(archive_, entry);
  return read_npy_strings(reader, limits_.max_array_elements(), where(entry));
}

FloatArray NpzReader::read(size_t layer, size_t call) const {
  return read_floats(archive_.entries().at(entries_.at(layer).at(call)), 4);
}

std::vector<int64_t> NpzReader::read_integers(const ZipEntry& entry,
                                              std::vector<int64_t>* shape) const {
  ZipEntryReader reader(archive_, entry);
  return read_npy_integers(reader, limits_.max_array_elements(), where(entry), shape);
}

FloatArray NpzReader::read_floats(const ZipEntry& entry, size_t rank) const {
  ZipEntryReader reader(archive_, entry);
  return read_npy_floats(reader, limits_.max_array_elements(), where(entry), rank,
                         archive_.file());
}

}  // namespace

std::unique_ptr<AttentionReader> open_npz(std::shared_ptr<const InputFile> file,
                                          const ReadLimits& limits) {
  return std::make_unique<NpzReader>(std::move(file), limits);
}

void write_npz(const AttentionData& file, const std::string& path) {
  std::vector<ZipSource> entries;
  for (const auto& [name, calls] : file.values) {
    for (size_t c = 0; c < calls.size(); ++c) {
      const FloatArray& array = calls[c];
      entries.push_back({fmt::format("{}/{}.npy", name, c), npy_header("<f4", array.shape()),
                         reinterpret_cast<const char*>(array.data()),
                         static_cast<size_t>(array.numel()) * sizeof(float)});
    }
    const auto own = file.layer_tokens.find(name);
    if (own != file.layer_tokens.end()) {
      entries.push_back({name + "/tgt_tokens.npy", npy_strings(own->second.tgt, false)});
      entries.push_back({name + "/src_tokens.npy", npy_strings(own->second.src, false)});
      add_integers(entries, name + "/tgt_attention_mask.npy", own->second.tgt_mask);
      add_integers(entries, name + "/src_attention_mask.npy", own->second.src_mask);
    }
  }
  if (!file.tokens.empty()) entries.push_back({"tokens.npy", npy_strings(file.tokens, false)});
  add_integers(entries, "attention_mask.npy", file.attention_mask);
  if (!file.src_tokens.empty())
    entries.push_back({"src_tokens.npy", npy_strings(file.src_tokens, false)});
  add_integers(entries, "src_attention_mask.npy", file.src_attention_mask);
  entries.push_back({"text.npy", npy_strings({file.text}, true)});
  entries.push_back({"model.npy", npy_strings({file.model}, true)});
  for (const auto& [name, values] : file.outputs) {
    entries.push_back({"output:" + name + ".npy", npy_header("<f4", values.shape()),
                       reinterpret_cast<const char*>(values.data()),
                       static_cast<size_t>(values.numel()) * sizeof(float)});
  }
  const Prediction& prediction = file.prediction;
  if (!prediction.empty()) {
    entries.push_back({"prediction:output.npy", npy_strings({prediction.output}, true)});
    add_integers(entries, "prediction:class_ids.npy", prediction.class_ids, prediction.shape);
    if (!prediction.class_names.empty()) {
      entries.push_back({"prediction:class_names.npy", npy_strings(prediction.class_names, false)});
    }
    if (!prediction.probabilities.empty()) {
      const auto& p = prediction.probabilities;
      std::string bytes = npy_header("<f4", {static_cast<int64_t>(p.size())});
      bytes.append(reinterpret_cast<const char*>(p.data()), p.size() * sizeof(float));
      entries.push_back({"prediction:probabilities.npy", std::move(bytes)});
    }
  }
  if (!file.patch_grid.empty()) {
    const PatchGrid& grid = file.patch_grid;
    add_integers(entries, "patch_grid.npy", {grid.rows, grid.columns});
    add_integers(entries, "prefix_tokens.npy", {grid.prefix_tokens}, std::vector<int64_t>{});
  }
  if (stored_zip_size(entries) > 0xffffffffu || entries.size() > 0xfffe) {
    throw Error(fmt::format(
        "cannot write attention file '{}': over 4 GiB or 65534 arrays (zip64 is not supported)",
        printable(path, 4096)));
  }
  write_atomically(path, "attention file", [&](std::FILE* out, std::string& error) {
    if (write_stored_zip(out, entries)) return true;
    error = std::strerror(errno);
    return false;
  });
}

}  // namespace attnhook::detail
