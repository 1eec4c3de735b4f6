// The attnhook executable on hostile and special files: exit codes, messages, what it
// writes where (-o -, devices, FIFOs, symbolic links), and how it reports errors that are
// not the user's (report_failure).
#include <fmt/format.h>
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <csignal>
#include <algorithm>
#include <filesystem>
#include <new>
#include <stdexcept>
#include <thread>

#include "commands.h"
#include "view_testing.h"

namespace fs = std::filesystem;

namespace {

using attnhook_test::kHostile;
using attnhook_test::read_bytes;
using attnhook_test::run_cli;
using attnhook_test::write_bytes;

class CliHostile : public attnhook_test::TempDirTest {
 protected:
  attnhook_test::CliRun cli(const std::vector<std::string>& args, int stdout_fd = -1) {
    return run_cli(args, err_file_, stdout_fd);
  }
  // A small valid attn.json: one layer [1, 2, 3, 3], rows summing to 1.
  std::string good_json() {
    const std::string file = path("good.json");
    write_bytes(file, R"({"format": "attnhook", "version": 1, "tokens": ["a", "b", "c"], "layers": [{"name": "l0",
      "calls": [{"shape": [1, 2, 3, 3], "values": [1, 0, 0, 0.5, 0.5, 0, 0.25, 0.25, 0.5,
                                                  0, 0, 1, 0, 1, 0, 1, 0, 0]}]}]})");
    return file;
  }
  void SetUp() override {
    TempDirTest::SetUp();
    err_file_ = (fs::temp_directory_path() / ("attnhook_err_" + std::to_string(::getpid()))).string();
  }

 private:
  std::string err_file_;
};

TEST_F(CliHostile, ReproducersExitOneWithOneLineAndWriteNothing) {
  // One file per defect kind; hostile_test.cpp checks every file in process.
  const std::pair<const char*, const char*> cases[] = {
      {"zip_offset_wrap.npz", "is not a valid .npz: the local header of entry 'l/0.npy' (offset 4294967280)"},
      {"count_overflow_segv.json", "has more than 1073741824 elements (the limit of one array)"},
      {"deflate_bomb_entries.npz", "more than deflate can produce"},
      {"deep_nesting.json", "nested deeper than 64 levels (the limit)"},
      {"entry_name_escape.npz", "array '\\x1b]0;pwned\\x07layer/0.npy'"},
  };
  for (const auto& [file, message] : cases) {
    for (const char* command : {"plot", "model-view", "prepare", "html"}) {
      const auto run = cli({command, "-i", kHostile + "/" + file, "-o", path("out")});
      EXPECT_EQ(run.exit_code, 1) << command << " " << file << "\n" << run.err;
      EXPECT_EQ(run.err.rfind("attnhook: attention file '" + kHostile + "/" + file + "'", 0), 0u) << run.err;
      EXPECT_NE(run.err.find(message), std::string::npos) << command << " " << file << "\n" << run.err;
      EXPECT_EQ(std::count(run.err.begin(), run.err.end(), '\n'), 1) << run.err;
      EXPECT_EQ(run.err.find('\x1b'), std::string::npos) << "a raw escape byte reached the terminal";
    }
  }
  EXPECT_EQ(files(), std::vector<std::string>{});
}

TEST_F(CliHostile, DevZeroFailsAtOnceAndStreamsAreBounded) {
  const auto zero = cli({"plot", "-i", "/dev/zero", "-o", path("x.png")});
  EXPECT_EQ(zero.exit_code, 1);
  EXPECT_EQ(zero.err, "attnhook: cannot read attention file '/dev/zero': it is a character device, not a file\n");
  // A pipe of zeros: refused after its first 64 KiB, not read to the limit.
  if (::access("/usr/bin/python3", X_OK) != 0) GTEST_SKIP() << "no /usr/bin/python3 to feed the pipe";
  const auto piped = attnhook_test::run_python(
      path("pipe.py"),
      "import subprocess, sys\n"
      "p = subprocess.Popen([sys.argv[1], 'plot', '-i', '/dev/stdin', '-o', sys.argv[2]], stdin=subprocess.PIPE,"
      " stderr=subprocess.PIPE)\n"
      "try:\n"
      "    while True: p.stdin.write(bytes(1 << 16))\n"
      "except BrokenPipeError: pass\n"
      "print(p.wait(), p.stderr.read().decode(), end='')\n",
      attnhook_test::kCli + " " + path("x.png"));
  EXPECT_EQ(piped, "1 attnhook: attention file '/dev/stdin' is neither JSON nor an .npz: it starts with byte 0x00 at "
                   "offset 0\n");
}

TEST_F(CliHostile, MaxInputBytesRefusesLargerFiles) {
  const std::string input = good_json();
  const auto size = fs::file_size(input);
  const auto refused = cli({"plot", "-i", input, "--max-input-bytes", std::to_string(size - 1), "-o", path("x.png")});
  EXPECT_EQ(refused.exit_code, 1);
  EXPECT_EQ(refused.err, fmt::format("attnhook: cannot read attention file '{}': it is {} bytes, over the limit of {} "
                                     "bytes (--max-input-bytes)\n", input, size, size - 1));
  EXPECT_EQ(cli({"plot", "-i", input, "--max-input-bytes", std::to_string(size), "-o", path("x.png")}).exit_code, 0);
  EXPECT_EQ(cli({"model-view", "-i", input, "--max-input-bytes", "1K", "-o", path("m.png")}).exit_code, 0);
  const auto kib = cli({"html", "-i", input, "--max-input-bytes", "0K", "-o", path("x.html")});
  EXPECT_NE(kib.err.find("over the limit of 0 bytes"), std::string::npos) << kib.err;
  EXPECT_EQ(cli({"prepare", "-i", input, "--max-input-bytes", "lots", "-o", path("x.json")}).exit_code, 2);
}

TEST_F(CliHostile, DashWritesToStandardOutput) {
  const std::string input = good_json();
  ASSERT_EQ(cli({"plot", "-i", input, "-o", path("file.png")}).exit_code, 0);
  const int out = ::open(path("stdout.png").c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  const auto run = cli({"plot", "-i", input, "-o", "-"}, out);
  ::close(out);
  EXPECT_EQ(run.exit_code, 0) << run.err;
  EXPECT_EQ(read_bytes(path("stdout.png")), read_bytes(path("file.png")));
  EXPECT_EQ(read_bytes(path("stdout.png")).substr(1, 3), "PNG");
  EXPECT_FALSE(fs::exists(path("-")));
}

TEST_F(CliHostile, ClosedStandardOutputIsAnErrorNotASignal) {
  int fds[2];
  ASSERT_EQ(::pipe(fds), 0);
  ::close(fds[0]);  // nobody reads: the first write fails with EPIPE
  const auto run = cli({"plot", "-i", good_json(), "-o", "-"}, fds[1]);
  ::close(fds[1]);
  EXPECT_EQ(run.exit_code, 1);
  EXPECT_EQ(run.err, "attnhook: cannot write attention image to standard output: Broken pipe\n");
}

TEST_F(CliHostile, DevFullIsWrittenInPlaceAndReportsNoSpace) {
  struct stat before {};
  if (::stat("/dev/full", &before) != 0 || ::access("/dev/full", W_OK) != 0) GTEST_SKIP() << "no writable /dev/full";
  for (const char* command : {"plot", "model-view", "prepare", "html"}) {
    const auto run = cli({command, "-i", good_json(), "-o", "/dev/full"});
    EXPECT_EQ(run.exit_code, 1) << command;
    EXPECT_NE(run.err.find("'/dev/full': No space left on device"), std::string::npos) << command << ": " << run.err;
  }
  struct stat after {};
  ASSERT_EQ(::stat("/dev/full", &after), 0);
  EXPECT_TRUE(S_ISCHR(after.st_mode)) << "/dev/full was replaced";
  EXPECT_EQ(after.st_rdev, before.st_rdev);
}

TEST_F(CliHostile, FifoIsWrittenInPlace) {
  ASSERT_EQ(::mkfifo(path("pipe").c_str(), 0600), 0);
  std::string received;
  std::thread reader([&] { received = read_bytes(path("pipe")); });
  const auto run = cli({"prepare", "-i", good_json(), "-o", path("pipe")});
  reader.join();
  EXPECT_EQ(run.exit_code, 0) << run.err;
  EXPECT_EQ(received.rfind("{\"layers\":", 0), 0u) << received;
  struct stat status {};
  ASSERT_EQ(::lstat(path("pipe").c_str(), &status), 0);
  EXPECT_TRUE(S_ISFIFO(status.st_mode));
}

TEST_F(CliHostile, SymlinkIsFollowedAndStays) {
  fs::create_directories(path("real"));
  write_bytes(path("real/view.png"), "old");
  fs::create_symlink("real/view.png", path("link.png"));
  const auto run = cli({"plot", "-i", good_json(), "-o", path("link.png")});
  EXPECT_EQ(run.exit_code, 0) << run.err;
  EXPECT_TRUE(fs::is_symlink(path("link.png")));
  EXPECT_EQ(read_bytes(path("real/view.png")).substr(1, 3), "PNG");
  EXPECT_EQ(fs::read_symlink(path("link.png")), "real/view.png");
  std::vector<std::string> in_real;
  for (const auto& entry : fs::directory_iterator(path("real"))) in_real.push_back(entry.path().filename());
  EXPECT_EQ(in_real, std::vector<std::string>{"view.png"}) << "the temporary file was not renamed beside the target";
}

// An exception that is not an attnhook::Error escaped a check: the user is told it is a
// bug, never in the words of a user error; the exit code stays 1.
TEST(ReportFailure, UserErrorsBugsAndMemory) {
  auto report = [](std::exception_ptr failure) {
    char buffer[512] = {};
    FILE* out = fmemopen(buffer, sizeof buffer - 1, "w");
    const int code = attnhook::cli::report_failure(failure, out);
    std::fclose(out);
    return std::make_pair(code, std::string(buffer));
  };
  EXPECT_EQ(report(std::make_exception_ptr(attnhook::Error("bad value"))), std::make_pair(1, std::string("attnhook: bad value\n")));
  EXPECT_EQ(report(std::make_exception_ptr(std::out_of_range("stoll"))),
            std::make_pair(1, std::string("attnhook: internal error (a bug): stoll\n")));
  EXPECT_EQ(report(std::make_exception_ptr(std::runtime_error("x\x1b[2J"))),
            std::make_pair(1, std::string("attnhook: internal error (a bug): x\\x1b[2J\n")));
  EXPECT_EQ(report(std::make_exception_ptr(std::bad_alloc())),
            std::make_pair(1, std::string("attnhook: out of memory (the input needs more memory than this machine has)\n")));
  EXPECT_EQ(report(std::make_exception_ptr(42)),
            std::make_pair(1, std::string("attnhook: internal error (a bug): an unknown exception\n")));
}

}  // namespace
