// Benchmark (prints figures, asserts nothing): the CLI on large attention files. Issue 11
// found `plot` reading and parsing a whole 1 GB file to draw one layer (NPZ 31 s, 2.8 GB;
// JSON 55 s, 2.1 GB). Torch-free: it writes its files itself (numpy's layout, not through
// the code under test) into a temporary directory, runs the CLI and removes them.
//
//   npz   20 layers x [4, 12, 512, 512] float32, stored as np.savez stores them (data not
//         aligned: the reader copies, giving back the mapped pages it copied)  ~1.0 GB
//   json  29 layers x [1, 12, 512, 512] in attnhook's schema                    ~1.0 GB
//
// For each: `attnhook plot -i <file> --layer 10 --head all -o out.png`, wall time (median
// of `runs`, page cache warm), its CPU time (user + system: the machine's other load does
// not inflate it) and the peak RSS of the CLI process (wait4's ru_maxrss; see Spawner).
// Floors from the issue: NPZ <= 1 s and <= 100 MB.
// Usage: render_files path/to/attnhook [runs=3] [directory=$TMPDIR]  (needs ~2.3 GB of disk)
// Prints one JSON line, e.g.
//   {"bench":"render_files", "npz_gb":1.01, "npz_plot_ms":..., "npz_plot_cpu_ms":..., "npz_plot_rss_mb":...,
//    "json_gb":1.21, "json_plot_ms":..., "json_plot_cpu_ms":..., "json_plot_rss_mb":...}
#include <fcntl.h>
#include <fmt/format.h>
#include <spawn.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <string>
#include <vector>

namespace {

namespace fs = std::filesystem;

constexpr int kHeads = 12, kTokens = 512;

// One batch item of a layer: [heads, tokens, tokens], rows summing to 1, each head a band
// around a different offset, like a trained model's.
std::vector<float> attention() {
  std::vector<float> v(size_t{kHeads} * kTokens * kTokens);
  for (int h = 0; h < kHeads; ++h) {
    for (int i = 0; i < kTokens; ++i) {
      float* row = v.data() + (static_cast<size_t>(h) * kTokens + i) * kTokens;
      double sum = 0;
      for (int j = 0; j < kTokens; ++j) sum += row[j] = 1.0f / (1 + std::abs(i - j - h));
      for (int j = 0; j < kTokens; ++j) row[j] = static_cast<float>(row[j] / sum);
    }
  }
  return v;
}

// CRC-32 (zip's polynomial), so that this program needs no zlib.
uint32_t crc32_update(uint32_t crc, const char* data, size_t size) {
  static const auto table = [] {
    std::array<uint32_t, 256> t{};
    for (uint32_t n = 0; n < 256; ++n) {
      uint32_t c = n;
      for (int k = 0; k < 8; ++k) c = c & 1 ? 0xedb88320u ^ (c >> 1) : c >> 1;
      t[n] = c;
    }
    return t;
  }();
  crc = ~crc;
  for (size_t i = 0; i < size; ++i) crc = table[(crc ^ static_cast<unsigned char>(data[i])) & 0xff] ^ (crc >> 8);
  return ~crc;
}

void put16(std::string& out, uint32_t v) { out += {char(v & 0xff), char(v >> 8)}; }
void put32(std::string& out, uint32_t v) { put16(out, v & 0xffff), put16(out, v >> 16); }

std::string npy_header(const std::string& descr, const std::string& shape) {
  std::string dict = "{'descr': '" + descr + "', 'fortran_order': False, 'shape': (" + shape + "), }";
  dict.append((64 - (10 + dict.size() + 1) % 64) % 64, ' ');
  dict += '\n';
  std::string header("\x93NUMPY\x01\x00", 8);
  return header + char(dict.size() & 0xff) + char(dict.size() >> 8) + dict;
}

// A stored zip of (name, parts) entries, written as it goes; what np.savez writes.
class ZipFile {
 public:
  explicit ZipFile(const std::string& path) : file_(std::fopen(path.c_str(), "wb")) {}
  void add(const std::string& name, const std::vector<std::pair<const char*, size_t>>& parts) {
    uint32_t crc = 0, size = 0;
    for (const auto& [data, bytes] : parts) crc = crc32_update(crc, data, bytes), size += bytes;
    std::string local;
    put32(local, 0x04034b50), put16(local, 20), put16(local, 0), put16(local, 0), put32(local, 0);
    put32(local, crc), put32(local, size), put32(local, size), put16(local, name.size()), put16(local, 0);
    local += name;
    put32(directory_, 0x02014b50), put16(directory_, 20), put16(directory_, 20), put16(directory_, 0);
    put16(directory_, 0), put32(directory_, 0), put32(directory_, crc), put32(directory_, size);
    put32(directory_, size), put16(directory_, name.size()), put32(directory_, 0), put32(directory_, 0);
    put32(directory_, 0), put32(directory_, offset_);
    directory_ += name;
    write(local.data(), local.size());
    for (const auto& [data, bytes] : parts) write(data, bytes);
    ++count_;
  }
  void close() {
    const uint32_t at = offset_;
    write(directory_.data(), directory_.size());
    std::string end;
    put32(end, 0x06054b50), put32(end, 0), put16(end, count_), put16(end, count_);
    put32(end, directory_.size()), put32(end, at), put16(end, 0);
    write(end.data(), end.size());
    std::fclose(file_);
  }

 private:
  void write(const char* data, size_t size) {
    std::fwrite(data, 1, size, file_);
    offset_ += size;
  }
  std::FILE* file_;
  std::string directory_;
  uint32_t offset_ = 0;
  uint16_t count_ = 0;
};

std::vector<std::string> token_list() {
  std::vector<std::string> tokens;
  for (int i = 0; i < kTokens; ++i) tokens.push_back(fmt::format("tok{}", i));
  return tokens;
}

void write_npz(const std::string& path, const std::vector<float>& item) {
  ZipFile zip(path);
  const std::string header = npy_header("<f4", fmt::format("4, {}, {}, {}", kHeads, kTokens, kTokens));
  const size_t bytes = item.size() * sizeof(float);
  for (int layer = 0; layer < 20; ++layer) {
    std::vector<std::pair<const char*, size_t>> parts = {{header.data(), header.size()}};
    for (int b = 0; b < 4; ++b) parts.emplace_back(reinterpret_cast<const char*>(item.data()), bytes);
    zip.add(fmt::format("layers.{}.self_attn/0.npy", layer), parts);
  }
  std::u32string wide;
  for (const auto& token : token_list()) {
    std::u32string padded(token.begin(), token.end());
    padded.resize(8, U'\0');
    wide += padded;
  }
  const std::string tokens = npy_header("<U8", fmt::format("{},", kTokens)) +
                             std::string(reinterpret_cast<const char*>(wide.data()), wide.size() * 4);
  zip.add("tokens.npy", {{tokens.data(), tokens.size()}});
  zip.close();
}

void write_json(const std::string& path, const std::vector<float>& item) {
  std::string numbers;  // one layer's values, formatted once
  for (size_t i = 0; i < item.size(); ++i) fmt::format_to(std::back_inserter(numbers), "{}{}", i ? "," : "", item[i]);
  std::FILE* file = std::fopen(path.c_str(), "wb");
  fmt::print(file, "{{\"format\": \"attnhook\", \"version\": 1, \"tokens\": [\"{}\"], \"layers\": [",
             fmt::join(token_list(), "\", \""));
  for (int layer = 0; layer < 29; ++layer) {
    fmt::print(file, "{}\n {{\"name\": \"layers.{}.self_attn\", \"calls\": [{{\"shape\": [1, {}, {}, {}], \"values\": [",
               layer ? "," : "", layer, kHeads, kTokens, kTokens);
    std::fwrite(numbers.data(), 1, numbers.size(), file);
    std::fputs("]}]}", file);
  }
  std::fputs("\n]}\n", file);
  std::fclose(file);
}

struct Measure {
  double ms = 0;      // wall
  double cpu_ms = 0;  // user + system: what the machine's other load does not inflate
  double rss_mb = 0;
  bool ok = false;
};

// Runs argv to completion, stdout discarded; its wall time, CPU time and peak RSS.
Measure run_now(const std::vector<std::string>& args) {
  std::vector<char*> argv;
  for (const auto& a : args) argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, STDOUT_FILENO, "/dev/null", O_WRONLY, 0);
  const auto start = std::chrono::steady_clock::now();
  pid_t pid = 0;
  Measure measure;
  if (::posix_spawn(&pid, argv[0], &actions, nullptr, argv.data(), environ) == 0) {
    int status = 0;
    struct rusage usage {};
    while (::wait4(pid, &status, 0, &usage) < 0) {
    }
    measure.ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();
    measure.rss_mb = usage.ru_maxrss / 1024.0;
    measure.cpu_ms = (usage.ru_utime.tv_sec + usage.ru_stime.tv_sec) * 1e3 +
                     (usage.ru_utime.tv_usec + usage.ru_stime.tv_usec) / 1e3;
    measure.ok = WIFEXITED(status) && WEXITSTATUS(status) == 0;
  }
  posix_spawn_file_actions_destroy(&actions);
  return measure;
}

// A process that runs commands for this one. Why: Linux gives an exec'd process the
// peak RSS of the process it replaced (exec_mmap), and posix_spawn's child replaces a
// copy of this program, which holds gigabytes while it writes the files. The spawner is
// forked first, while this program is small, so its children's ru_maxrss is theirs.
class Spawner {
 public:
  Spawner() {
    int request[2], reply[2];
    if (::pipe(request) != 0 || ::pipe(reply) != 0) std::abort();
    pid_ = ::fork();
    if (pid_ == 0) {
      ::close(request[1]), ::close(reply[0]);
      serve(request[0], reply[1]);
      ::_exit(0);
    }
    ::close(request[0]), ::close(reply[1]);
    request_ = request[1], reply_ = reply[0];
  }
  ~Spawner() {
    ::close(request_), ::close(reply_);
    ::waitpid(pid_, nullptr, 0);
  }
  Spawner(const Spawner&) = delete;  // owns a process
  Spawner& operator=(const Spawner&) = delete;

  Measure run(const std::vector<std::string>& args) {
    std::string message;
    for (const auto& a : args) message += a + '\0';
    const uint32_t size = message.size();
    Measure measure;
    if (!put(request_, &size, 4) || !put(request_, message.data(), size) || !get(reply_, &measure, sizeof measure)) {
      return Measure{};
    }
    return measure;
  }

 private:
  static bool put(int fd, const void* data, size_t size) {
    for (size_t done = 0; done < size;) {
      const ssize_t n = ::write(fd, static_cast<const char*>(data) + done, size - done);
      if (n <= 0) return false;
      done += n;
    }
    return true;
  }
  static bool get(int fd, void* data, size_t size) {
    for (size_t done = 0; done < size;) {
      const ssize_t n = ::read(fd, static_cast<char*>(data) + done, size - done);
      if (n <= 0) return false;
      done += n;
    }
    return true;
  }
  static void serve(int in, int out) {
    for (uint32_t size = 0; get(in, &size, 4);) {
      std::string message(size, '\0');
      if (!get(in, message.data(), size)) return;
      std::vector<std::string> args;
      for (size_t at = 0; at < message.size();) {
        const size_t end = message.find('\0', at);
        args.push_back(message.substr(at, end - at));
        at = end + 1;
      }
      const Measure measure = run_now(args);
      put(out, &measure, sizeof measure);
    }
  }
  pid_t pid_ = -1;
  int request_ = -1, reply_ = -1;
};

double median(std::vector<double> values) {
  std::sort(values.begin(), values.end());
  return values[values.size() / 2];
}

// Median times and the largest peak RSS of `runs` runs after one warm-up run.
Measure median_of(Spawner& spawner, int runs, const std::vector<std::string>& args) {
  Measure warm = spawner.run(args);
  if (!warm.ok) return warm;
  std::vector<double> times, cpu;
  double rss = warm.rss_mb;
  for (int r = 0; r < runs; ++r) {
    const Measure m = spawner.run(args);
    if (!m.ok) return m;
    times.push_back(m.ms);
    cpu.push_back(m.cpu_ms);
    rss = std::max(rss, m.rss_mb);
  }
  return {median(times), median(cpu), rss, true};
}

std::string figure(const Measure& m, double value) { return m.ok ? fmt::format("{:.1f}", value) : "null"; }

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fprintf(stderr, "usage: render_files path/to/attnhook [runs=3] [directory]\n");
    return 2;
  }
  Spawner spawner;  // first, while this program is small
  const std::string cli = argv[1];
  const int runs = std::max(1, argc > 2 ? std::atoi(argv[2]) : 3);
  const fs::path dir = fs::path(argc > 3 ? argv[3] : fs::temp_directory_path().string()) /
                       fmt::format("attnhook_bench_files_{}", ::getpid());
  fs::create_directories(dir);
  const std::vector<float> item = attention();
  const std::string npz = (dir / "big.npz").string(), json = (dir / "big.json").string();
  write_npz(npz, item);
  write_json(json, item);
  const double npz_gb = fs::file_size(npz) / 1e9, json_gb = fs::file_size(json) / 1e9;
  auto plot = [&](const std::string& input) {
    return median_of(spawner, runs, {cli, "plot", "-i", input, "--layer", "10", "--head", "all", "-o", (dir / "out.png").string()});
  };
  const Measure npz_plot = plot(npz), json_plot = plot(json);
  fs::remove_all(dir);
  if (!npz_plot.ok || !json_plot.ok) std::fprintf(stderr, "render_files: a command failed\n");
  fmt::print("{{\"bench\":\"render_files\", \"npz_gb\":{:.2f}, \"npz_plot_ms\":{}, \"npz_plot_cpu_ms\":{}, "
             "\"npz_plot_rss_mb\":{}, \"json_gb\":{:.2f}, \"json_plot_ms\":{}, \"json_plot_cpu_ms\":{}, "
             "\"json_plot_rss_mb\":{}}}\n",
             npz_gb, figure(npz_plot, npz_plot.ms), figure(npz_plot, npz_plot.cpu_ms), figure(npz_plot, npz_plot.rss_mb),
             json_gb, figure(json_plot, json_plot.ms), figure(json_plot, json_plot.cpu_ms),
             figure(json_plot, json_plot.rss_mb));
}
