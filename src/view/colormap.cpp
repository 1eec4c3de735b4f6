#include "colormap.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>

namespace attnhook::detail {
namespace {

using ControlPoint = std::array<double, 3>;

// matplotlib's _viridis_data entries 0, 8, 16, ..., 248, 255.
constexpr ControlPoint kViridis[] = {
    {0.267004, 0.004874, 0.329415}, {0.277018, 0.050344, 0.375715}, {0.282327, 0.094955, 0.417331},
    {0.282884, 0.135920, 0.453427}, {0.278826, 0.175490, 0.483397}, {0.270595, 0.214069, 0.507052},
    {0.258965, 0.251537, 0.524736}, {0.244972, 0.287675, 0.537260}, {0.229739, 0.322361, 0.545706},
    {0.214298, 0.355619, 0.551184}, {0.199430, 0.387607, 0.554642}, {0.185556, 0.418570, 0.556753},
    {0.172719, 0.448791, 0.557885}, {0.160665, 0.478540, 0.558115}, {0.149039, 0.508051, 0.557250},
    {0.137770, 0.537492, 0.554906}, {0.127568, 0.566949, 0.550556}, {0.120565, 0.596422, 0.543611},
    {0.120638, 0.625828, 0.533488}, {0.132268, 0.655014, 0.519661}, {0.157851, 0.683765, 0.501686},
    {0.196571, 0.711827, 0.479221}, {0.246070, 0.738910, 0.452024}, {0.304148, 0.764704, 0.419943},
    {0.369214, 0.788888, 0.382914}, {0.440137, 0.811138, 0.340967}, {0.515992, 0.831158, 0.294279},
    {0.595839, 0.848717, 0.243329}, {0.678489, 0.863742, 0.189503}, {0.762373, 0.876424, 0.137064},
    {0.845561, 0.887322, 0.099702}, {0.926106, 0.897330, 0.104071}, {0.993248, 0.906157, 0.143936},
};

// matplotlib's _magma_data entries 0, 8, 16, ..., 248, 255.
constexpr ControlPoint kMagma[] = {
    {0.001462, 0.000466, 0.013866}, {0.013708, 0.011771, 0.068667}, {0.039608, 0.031090, 0.133515},
    {0.074257, 0.052017, 0.202660}, {0.113094, 0.065492, 0.276784}, {0.159018, 0.068354, 0.352688},
    {0.211718, 0.061992, 0.418647}, {0.265447, 0.060237, 0.461840}, {0.316654, 0.071690, 0.485380},
    {0.366012, 0.090314, 0.497960}, {0.414709, 0.110431, 0.504662}, {0.463508, 0.129893, 0.507652},
    {0.512831, 0.148179, 0.507648}, {0.562866, 0.165368, 0.504692}, {0.613617, 0.181811, 0.498536},
    {0.664915, 0.198075, 0.488836}, {0.716387, 0.214982, 0.475290}, {0.767398, 0.233705, 0.457755},
    {0.816914, 0.255895, 0.436461}, {0.863320, 0.283729, 0.412403}, {0.904281, 0.319610, 0.388137},
    {0.937221, 0.364929, 0.368567}, {0.960949, 0.418323, 0.359630}, {0.976690, 0.476226, 0.364466},
    {0.986700, 0.535582, 0.382210}, {0.992785, 0.594891, 0.410283}, {0.996096, 0.653659, 0.446213},
    {0.997325, 0.711848, 0.488154}, {0.996898, 0.769591, 0.534892}, {0.995131, 0.827052, 0.585701},
    {0.992440, 0.884330, 0.640099}, {0.989434, 0.941470, 0.697519}, {0.987053, 0.991438, 0.749504},
};

constexpr int kControlCount = sizeof(kViridis) / sizeof(kViridis[0]);
static_assert(kControlCount == 33 && sizeof(kMagma) == sizeof(kViridis));

// Table entry of control point k: 8 * k, except the last, which is entry 255.
int control_entry(int k) { return k == kControlCount - 1 ? 255 : 8 * k; }

uint8_t to_byte(double unit) {
  return static_cast<uint8_t>(std::clamp(std::lround(unit * 255.0), 0L, 255L));
}

std::array<Rgb, 256> interpolate(const ControlPoint (&points)[kControlCount]) {
  std::array<Rgb, 256> table{};
  int k = 0;
  for (int entry = 0; entry < 256; ++entry) {
    while (control_entry(k + 1) < entry) ++k;
    const int lo = control_entry(k), hi = control_entry(k + 1);
    const double t = static_cast<double>(entry - lo) / (hi - lo);
    for (int c = 0; c < 3; ++c)
      table[entry][c] = to_byte(points[k][c] * (1 - t) + points[k + 1][c] * t);
  }
  return table;
}

std::array<Rgb, 256> gray() {
  std::array<Rgb, 256> table{};
  for (int entry = 0; entry < 256; ++entry) {
    const auto v = static_cast<uint8_t>(entry);
    table[entry] = {v, v, v};
  }
  return table;
}

}  // namespace

const std::array<Rgb, 256>& colormap_table(Colormap map) {
  static const std::array<Rgb, 256> viridis = interpolate(kViridis);
  static const std::array<Rgb, 256> magma = interpolate(kMagma);
  static const std::array<Rgb, 256> grays = gray();
  switch (map) {
    case Colormap::kMagma:
      return magma;
    case Colormap::kGray:
      return grays;
    case Colormap::kViridis:
      break;
  }
  return viridis;
}

std::vector<ScaleTick> scale_ticks(double vmin, double vmax, int max_count) {
  max_count = std::max(max_count, 2);
  const double range = vmax - vmin;
  const double raw_step = range / (max_count - 1);
  const double magnitude = std::pow(10.0, std::floor(std::log10(raw_step)));
  double step = 10 * magnitude;
  double mantissa = 10;
  for (double m : {1.0, 2.0, 2.5, 5.0}) {
    if (m * magnitude >= raw_step * (1 - 1e-9)) {
      step = m * magnitude;
      mantissa = m;
      break;
    }
  }
  int decimals = std::max(0, static_cast<int>(-std::floor(std::log10(step) + 1e-9)));
  if (mantissa == 2.5) ++decimals;
  const bool plain = decimals <= 6 && std::max(std::abs(vmin), std::abs(vmax)) < 1e6;
  auto label = [&](double v) {
    return plain ? fmt::format("{:.{}f}", v, decimals) : fmt::format("{:.3g}", v);
  };

  std::vector<double> values;
  const double first = std::ceil(vmin / step - 1e-9);
  for (double k = first; k * step <= vmax + step * 1e-9; k += 1) {
    double v = k * step;
    if (std::abs(v) < step * 1e-9) v = 0.0;  // never print "-0.0"
    values.push_back(v);
  }
  if (values.size() < 2) values = {vmin, vmax};
  std::vector<ScaleTick> ticks;
  for (double v : values) ticks.push_back({v, label(v)});
  return ticks;
}

}  // namespace attnhook::detail
