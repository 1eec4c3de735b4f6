// The command line's small grammars, shared by the executable and the extract plugin:
// integers, patch grids ("14x14"), overlay queries and lists of numbers ("0.485,0.456,0.406").
#include <fmt/format.h>

#include <cmath>
#include <sstream>
#include <string>

#include "commands.h"

namespace attnhook::cli {

std::optional<int64_t> parse_integer(const std::string& text) {
  size_t used = 0;
  try {
    const int64_t value = std::stoll(text, &used);
    if (used == text.size()) return value;
  } catch (const std::exception&) {
  }
  return std::nullopt;
}

std::optional<std::pair<int64_t, int64_t>> parse_patch_grid(const std::string& text) {
  const size_t split = text.find_first_of("xX,");
  if (split == std::string::npos) return std::nullopt;
  // Digits only: stoll would take " 14", "+14" and "-0".
  auto side = [](const std::string& digits) -> std::optional<int64_t> {
    if (digits.empty() || digits.find_first_not_of("0123456789") != std::string::npos)
      return std::nullopt;
    const auto value = parse_integer(digits);
    return value && *value >= 1 ? value : std::nullopt;
  };
  const auto rows = side(text.substr(0, split)), columns = side(text.substr(split + 1));
  if (!rows || !columns) return std::nullopt;
  return std::make_pair(*rows, *columns);
}

PatchGridFlag parse_patch_grid_flag(const std::string& text) {
  const auto parsed = parse_patch_grid(text);
  if (!parsed)
    throw Error(fmt::format("--patch-grid '{}' is not ROWSxCOLUMNS", detail::printable(text, 40)));
  PatchGridFlag grid{parsed->first, parsed->second, std::nullopt};
  int64_t patches = 0;
  if (!__builtin_mul_overflow(grid.rows, grid.columns, &patches)) grid.patches = patches;
  return grid;
}

std::optional<QuerySpec> parse_query(const std::string& text) {
  // Digits only, so that "-1", " 3" and "+3" are not queries.
  auto index = [](const std::string& digits) -> std::optional<int64_t> {
    if (digits.empty() || digits.find_first_not_of("0123456789") != std::string::npos)
      return std::nullopt;
    return parse_integer(digits);
  };
  QuerySpec query;
  if (text == "cls") return query;
  const size_t comma = text.find(',');
  if (comma == std::string::npos) {
    const auto token = index(text);
    if (!token) return std::nullopt;
    query.kind = QuerySpec::Kind::kToken;
    query.token = *token;
    return query;
  }
  const auto row = index(text.substr(0, comma)), column = index(text.substr(comma + 1));
  if (!row || !column) return std::nullopt;
  query.kind = QuerySpec::Kind::kPatch;
  query.row = *row;
  query.column = *column;
  return query;
}

std::optional<std::vector<double>> parse_numbers(const std::string& text, size_t count) {
  std::vector<double> out;
  std::stringstream list(text);
  for (std::string item; std::getline(list, item, ',');) {
    size_t used = 0;
    try {
      out.push_back(std::stod(item, &used));
    } catch (const std::exception&) {
      return std::nullopt;
    }
    if (item.find_first_not_of(" \t", used) != std::string::npos || !std::isfinite(out.back()))
      return std::nullopt;
  }
  if (out.size() != count || (!text.empty() && text.back() == ',')) return std::nullopt;
  return out;
}

}  // namespace attnhook::cli
