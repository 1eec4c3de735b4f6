// Attention overlays, first half: which query, which heads, which keys are patches (all
// validated, with messages naming the numbers), and the map over the patch grid enlarged
// to pixels. overlay.cpp lays out and draws.
#include <fmt/format.h>

#include <algorithm>
#include <cmath>

#include "attnhook/error.h"
#include "overlay.h"

namespace attnhook::detail {
namespace {

void check_options(const OverlayOptions& options) {
  const int64_t rows = options.patch_rows(), columns = options.patch_columns();
  if (!(rows == 0 && columns == 0) && (rows <= 0 || columns <= 0))
    throw Error(
        fmt::format("patch_grid {} x {} must have at least one patch each way (0 x 0 = "
                    "automatic: a square grid)",
                    rows, columns));
  if (options.prefix_tokens() < 0)
    throw Error(fmt::format("prefix_tokens {} must be >= 0", options.prefix_tokens()));
  if (!(options.alpha() >= 0 && options.alpha() <= 1))
    throw Error(fmt::format("alpha {} must be between 0 and 1", options.alpha()));
  if (options.image_size() < 0 || options.image_size() > kMaxOverlayImageSize)
    throw Error(fmt::format("image_size {} must be between 0 (automatic) and {}",
                            options.image_size(), kMaxOverlayImageSize));
  if (options.columns() < 0)
    throw Error(fmt::format("columns {} must be >= 0 (0 = automatic)", options.columns()));
  for (const auto& [name, value] : {std::pair{"vmin", options.vmin()}, {"vmax", options.vmax()}})
    if (value && !std::isfinite(*value))
      throw Error(fmt::format("{} {} must be a finite number", name, *value));
  if (options.vmin() && options.vmax() && *options.vmax() <= *options.vmin())
    throw Error(
        fmt::format("vmax {} must be greater than vmin {}", *options.vmax(), *options.vmin()));
}

// The patch grid: given, or the square that fills the keys after the prefix tokens.
void resolve_grid(OverlayQuery& q, int64_t src_len, const OverlayOptions& options) {
  q.prefix_tokens = options.prefix_tokens();
  const int64_t patches = src_len - q.prefix_tokens;
  if (options.patch_rows() > 0) {
    q.grid_rows = options.patch_rows();
    q.grid_columns = options.patch_columns();
    int64_t grid = 0, total = 0;
    const bool overflow = __builtin_mul_overflow(q.grid_rows, q.grid_columns, &grid) ||
                          __builtin_add_overflow(q.prefix_tokens, grid, &total);
    if (overflow || total != src_len)
      throw Error(fmt::format(
          "the weights have src_len {} keys, but prefix_tokens {} + patch_grid {} x {} makes {}",
          src_len, q.prefix_tokens, q.grid_rows, q.grid_columns,
          overflow ? "more than an int64 counts" : std::to_string(total)));
    return;
  }
  if (patches <= 0)
    throw Error(
        fmt::format("the weights have src_len {} keys, no more than prefix_tokens {}: "
                    "there are no patches",
                    src_len, q.prefix_tokens));
  const auto side = static_cast<int64_t>(std::llround(std::sqrt(static_cast<double>(patches))));
  if (side * side != patches)
    throw Error(
        fmt::format("src_len {} - prefix_tokens {} = {} patches is not a square grid; "
                    "set patch_grid(rows, columns) (and prefix_tokens)",
                    src_len, q.prefix_tokens, patches));
  q.grid_rows = q.grid_columns = side;
}

void resolve_query(OverlayQuery& q, int64_t tgt_len, int64_t src_len, const std::string& shape,
                   const OverlayOptions& options) {
  if (const auto& patch = options.query_patch()) {
    const auto [row, column] = *patch;
    if (tgt_len != src_len)
      throw Error(
          fmt::format("query_patch needs self-attention over the patches (tgt_len == "
                      "src_len); the weights of shape {} have tgt_len {}, src_len {}: "
                      "use query_token",
                      shape, tgt_len, src_len));
    if (row < 0 || row >= q.grid_rows || column < 0 || column >= q.grid_columns)
      throw Error(fmt::format("query_patch ({}, {}) is outside the {} x {} patch grid", row, column,
                              q.grid_rows, q.grid_columns));
    q.patch = *patch;
    q.token = q.prefix_tokens + row * q.grid_columns + column;
    return;
  }
  q.token = options.query_token();
  if (q.token < 0 || q.token >= tgt_len)
    throw Error(
        fmt::format("query_token {} is out of range for the weights of shape {} "
                    "(tgt_len {})",
                    q.token, shape, tgt_len));
  // In self-attention, query token t >= prefix_tokens is a patch too.
  if (tgt_len == src_len && q.token >= q.prefix_tokens) {
    const int64_t patch = q.token - q.prefix_tokens;
    q.patch = std::make_pair(patch / q.grid_columns, patch % q.grid_columns);
  }
}

}  // namespace

OverlayMaps overlay_maps(const FloatArray& weights, const OverlayOptions& options) {
  const int64_t rank = weights.dim();
  const std::string shape = shape_text(weights.shape());
  if (rank != 4 && rank != 3)
    throw Error(
        fmt::format("weights must be [batch, heads, tgt_len, src_len] or [heads, "
                    "tgt_len, src_len]; got shape {}",
                    shape));
  if (weights.numel() == 0) throw Error(fmt::format("weights is empty (shape {})", shape));
  check_options(options);

  OverlayMaps out;
  OverlayQuery& q = out.query;
  q.batch = options.batch();
  const int64_t batch_size = rank == 4 ? weights.size(0) : 1;
  if (q.batch < 0 || q.batch >= batch_size)
    throw Error(rank == 4 ? fmt::format("batch {} is out of range for weights of shape {} "
                                        "(batch size {})",
                                        q.batch, shape, batch_size)
                          : fmt::format("batch {} is out of range: weights of shape {} have no "
                                        "batch dimension (batch must be 0)",
                                        q.batch, shape));
  const FloatArray heads = rank == 4 ? weights[q.batch] : weights;  // [heads, tgt, src]
  const int64_t head_count = heads.size(0), tgt_len = heads.size(1), src_len = heads.size(2);
  out.head_count = head_count;

  const int64_t head = options.head();
  if (head == OverlayOptions::kAllHeads) {
    for (int64_t h = 0; h < head_count; ++h) out.heads.push_back(h);
    if (head_count > 1) out.heads.push_back(OverlayOptions::kMeanOfHeads);
  } else if (head == OverlayOptions::kMeanOfHeads || (head >= 0 && head < head_count)) {
    out.heads.push_back(head_count == 1 ? 0 : head);  // the mean of one head is that head
  } else {
    throw Error(
        fmt::format("head {} is out of range for weights of shape {} ({} head{}); "
                    "OverlayOptions::kMeanOfHeads ({}) draws their mean, kAllHeads ({}) "
                    "every one",
                    head, shape, head_count, head_count == 1 ? "" : "s",
                    OverlayOptions::kMeanOfHeads, OverlayOptions::kAllHeads));
  }
  resolve_grid(q, src_len, options);
  resolve_query(q, tgt_len, src_len, shape, options);

  // Every head's weights of the query over the patches, checked: [heads, patches].
  const int64_t patches = q.grid_rows * q.grid_columns;
  std::vector<float> per_head(static_cast<size_t>(head_count * patches));
  for (int64_t h = 0; h < head_count; ++h) {
    const float* row = heads.data() + (h * tgt_len + q.token) * src_len + q.prefix_tokens;
    for (int64_t n = 0; n < patches; ++n) {
      if (!std::isfinite(row[n])) {
        const int64_t key = q.prefix_tokens + n;
        throw Error(fmt::format("weights[{}{}, {}, {}] is {}; weights must be finite",
                                rank == 4 ? fmt::format("{}, ", q.batch) : "", h, q.token, key,
                                row[n]));
      }
      per_head[h * patches + n] = row[n];
    }
  }
  std::vector<float> maps;
  maps.reserve(out.heads.size() * patches);
  for (int64_t h : out.heads) {
    if (h >= 0) {
      maps.insert(maps.end(), per_head.begin() + h * patches, per_head.begin() + (h + 1) * patches);
      continue;
    }
    for (int64_t n = 0; n < patches; ++n) {
      double sum = 0;
      for (int64_t k = 0; k < head_count; ++k) sum += per_head[k * patches + n];
      maps.push_back(static_cast<float>(sum / head_count));
    }
  }
  out.maps = FloatArray({static_cast<int64_t>(out.heads.size()), q.grid_rows, q.grid_columns},
                        std::move(maps));
  return out;
}

namespace {

// Where output pixel `out` of `out_size` reads the input axis of `in_size`: up to 4
// indexes (clamped to the edge) and their weights, as PyTorch's CPU kernels compute them.
struct Taps {
  int64_t index[4];
  float weight[4];
  int count;
};

// PyTorch's cubic convolution with A = -0.75 (upsample_bicubic2d).
float cubic_near(float x) { return ((1.25f * x - 2.25f) * x) * x + 1; }      // |x| <= 1
float cubic_far(float x) { return ((-0.75f * x + 3.75f) * x - 6) * x + 3; }  // 1 < |x| < 2

std::vector<Taps> axis_taps(int64_t in_size, int out_size, Interpolation method) {
  const float scale = static_cast<float>(in_size) / static_cast<float>(out_size);
  std::vector<Taps> taps(out_size);
  auto clamp = [&](int64_t i) { return std::clamp<int64_t>(i, 0, in_size - 1); };
  for (int out = 0; out < out_size; ++out) {
    Taps& t = taps[out];
    const float centre = scale * (out + 0.5f) - 0.5f;
    if (method == Interpolation::kNearest) {
      t = {{std::min<int64_t>(static_cast<int64_t>(std::floor((out + 0.5f) * scale)), in_size - 1)},
           {1},
           1};
    } else if (method == Interpolation::kBilinear) {
      const float source = std::max(centre, 0.0f);
      const auto lo = static_cast<int64_t>(source);
      const float frac = std::min(std::max(source - lo, 0.0f), 1.0f);
      t = {{lo, lo < in_size - 1 ? lo + 1 : lo}, {1 - frac, frac}, 2};
    } else {
      const auto lo = static_cast<int64_t>(std::floor(centre));
      const float frac = centre - lo;
      t = {{clamp(lo - 1), clamp(lo), clamp(lo + 1), clamp(lo + 2)},
           {cubic_far(frac + 1), cubic_near(frac), cubic_near(1 - frac), cubic_far(2 - frac)},
           4};
    }
  }
  return taps;
}

}  // namespace

std::vector<float> upsample(const float* map, int64_t rows, int64_t columns, int width, int height,
                            Interpolation method) {
  const std::vector<Taps> across = axis_taps(columns, width, method);
  const std::vector<Taps> down = axis_taps(rows, height, method);
  std::vector<float> wide(static_cast<size_t>(rows) * width);  // [rows, width]
  for (int64_t r = 0; r < rows; ++r)
    for (int x = 0; x < width; ++x) {
      const Taps& t = across[x];
      float sum = 0;
      for (int k = 0; k < t.count; ++k) sum += t.weight[k] * map[r * columns + t.index[k]];
      wide[r * width + x] = sum;
    }
  std::vector<float> out(static_cast<size_t>(height) * width);  // [height, width]
  for (int y = 0; y < height; ++y) {
    const Taps& t = down[y];
    for (int x = 0; x < width; ++x) {
      float sum = 0;
      for (int k = 0; k < t.count; ++k) sum += t.weight[k] * wide[t.index[k] * width + x];
      out[static_cast<size_t>(y) * width + x] = sum;
    }
  }
  return out;
}

}  // namespace attnhook::detail
