// Shared by the benchmarks: wall-clock timing and medians.
#pragma once

#include <algorithm>
#include <chrono>
#include <functional>
#include <vector>

namespace attnhook_bench {

inline double median(std::vector<double> values) {
  std::sort(values.begin(), values.end());
  const size_t n = values.size();
  return n % 2 ? values[n / 2] : (values[n / 2 - 1] + values[n / 2]) / 2;
}

// The median of per-round ratios numerator[i] / denominator[i]. Both variants of a round
// run back to back, so the VM's drift in speed (several % over seconds here) cancels in
// each ratio instead of landing in one variant's median.
inline std::vector<double> ratios(const std::vector<double>& numerator, const std::vector<double>& denominator) {
  std::vector<double> result;
  for (size_t i = 0; i < numerator.size() && i < denominator.size(); ++i) result.push_back(numerator[i] / denominator[i]);
  return result;
}
inline double median_ratio(const std::vector<double>& numerator, const std::vector<double>& denominator) {
  return median(ratios(numerator, denominator));
}
// The interquartile range of the per-round ratios: how far apart the middle half of the
// rounds lie, the noise a single ratio carries on this machine.
inline double ratio_iqr(const std::vector<double>& numerator, const std::vector<double>& denominator) {
  std::vector<double> r = ratios(numerator, denominator);
  std::sort(r.begin(), r.end());
  if (r.empty()) return 0;
  return r[(3 * r.size()) / 4] - r[r.size() / 4];  // (3n)/4 < n for every n >= 1
}

inline double time_ms(const std::function<void()>& work) {
  const auto start = std::chrono::steady_clock::now();
  work();
  return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();
}

}  // namespace attnhook_bench
