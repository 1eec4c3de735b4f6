// write_atomically: complete or absent for files; written in place for devices and
// FIFOs; through symbolic links; to standard output for "-".
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <cstring>
#include <filesystem>
#include <stdexcept>
#include <thread>

#include "atomic_file.h"
#include "view_testing.h"

namespace fs = std::filesystem;

namespace {

using attnhook::detail::write_atomically;
using attnhook_test::error_of;
using attnhook_test::read_bytes;
using attnhook_test::write_bytes;

class AtomicFile : public attnhook_test::TempDirTest {
 protected:
  void write(const std::string& target, const std::string& text) {
    write_atomically(target, "test file", text.data(), text.size());
  }
};

TEST_F(AtomicFile, ReplacesARegularFileWhole) {
  write_bytes(path("a.txt"), "old contents");
  write(path("a.txt"), "new");
  EXPECT_EQ(read_bytes(path("a.txt")), "new");
  EXPECT_EQ(files(), std::vector<std::string>{"a.txt"});
}

TEST_F(AtomicFile, AFailedWriteKeepsTheOldFileAndLeavesNoTemporary) {
  write_bytes(path("a.txt"), "old");
  EXPECT_EQ(error_of([&] {
              write_atomically(path("a.txt"), "test file", [](std::FILE* file, std::string& error) {
                std::fputs("partial", file);
                error = "the writer gave up";
                return false;
              });
            }),
            "cannot write test file '" + path("a.txt") + "': the writer gave up");
  EXPECT_THROW(write_atomically(path("a.txt"), "test file",
                                [](std::FILE*, std::string&) -> bool { throw std::runtime_error("thrown"); }),
               std::runtime_error);
  EXPECT_EQ(read_bytes(path("a.txt")), "old");
  EXPECT_EQ(files(), std::vector<std::string>{"a.txt"});
}

TEST_F(AtomicFile, ALongNameStillGetsATemporaryBesideIt) {
  const std::string name(250, 'n');  // NAME_MAX is 255: "<name>.tmp-<pid>-<n>" would not fit
  write(path(name), "x");
  EXPECT_EQ(files(), std::vector<std::string>{name});
}

TEST_F(AtomicFile, DevFullReportsNoSpaceAndStaysADevice) {
  if (::access("/dev/full", W_OK) != 0) GTEST_SKIP() << "no writable /dev/full";
  EXPECT_EQ(error_of([&] { write("/dev/full", "x"); }), "cannot write test file '/dev/full': No space left on device");
  EXPECT_EQ(error_of([&] { write("/dev/full", std::string(1 << 20, 'x')); }),
            "cannot write test file '/dev/full': No space left on device");
  struct stat status {};
  ASSERT_EQ(::stat("/dev/full", &status), 0);
  EXPECT_TRUE(S_ISCHR(status.st_mode));
}

TEST_F(AtomicFile, AFifoIsWrittenInPlace) {
  ASSERT_EQ(::mkfifo(path("fifo").c_str(), 0600), 0);
  std::string received;
  std::thread reader([&] { received = read_bytes(path("fifo")); });
  write(path("fifo"), std::string(200000, 'z'));  // more than a pipe holds: the reader must be reading
  reader.join();
  EXPECT_EQ(received, std::string(200000, 'z'));
  struct stat status {};
  ASSERT_EQ(::lstat(path("fifo").c_str(), &status), 0);
  EXPECT_TRUE(S_ISFIFO(status.st_mode));
  EXPECT_EQ(files(), std::vector<std::string>{"fifo"});
}

TEST_F(AtomicFile, SymlinksAreFollowedAndTheRenameHappensBesideTheTarget) {
  fs::create_directories(path("data/deeper"));
  write_bytes(path("data/deeper/target.txt"), "old");
  fs::create_symlink("deeper/target.txt", path("data/middle"));  // relative to the link's directory
  fs::create_symlink(path("data/middle"), path("link"));         // a chain: link -> middle -> target
  write(path("link"), "new");
  EXPECT_TRUE(fs::is_symlink(path("link")));
  EXPECT_TRUE(fs::is_symlink(path("data/middle")));
  EXPECT_EQ(read_bytes(path("data/deeper/target.txt")), "new");
  std::vector<std::string> deeper;
  for (const auto& entry : fs::directory_iterator(path("data/deeper"))) deeper.push_back(entry.path().filename());
  EXPECT_EQ(deeper, std::vector<std::string>{"target.txt"});
  // A dangling link creates its target.
  fs::create_symlink("created.txt", path("dangling"));
  write(path("dangling"), "made");
  EXPECT_EQ(read_bytes(path("created.txt")), "made");
  EXPECT_TRUE(fs::is_symlink(path("dangling")));
}

TEST_F(AtomicFile, SymlinkLoopsAndDirectoriesAreErrors) {
  fs::create_symlink("b", path("a"));
  fs::create_symlink("a", path("b"));
  EXPECT_EQ(error_of([&] { write(path("a"), "x"); }),
            "cannot write test file '" + path("a") + "': " + std::strerror(ELOOP));
  fs::create_directories(path("dir"));
  EXPECT_EQ(error_of([&] { write(path("dir"), "x"); }), "cannot write test file '" + path("dir") + "': it is a directory");
  EXPECT_EQ(error_of([&] { write(path("no/such/dir/x"), "x"); }),
            "cannot write test file '" + path("no/such/dir/x") + "': No such file or directory");
}

TEST_F(AtomicFile, DashIsStandardOutput) {
  std::fflush(stdout);
  const int saved = ::dup(STDOUT_FILENO);
  const int file = ::open(path("captured").c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  ::dup2(file, STDOUT_FILENO);
  write("-", "to stdout");
  ::dup2(saved, STDOUT_FILENO);
  ::close(file), ::close(saved);
  EXPECT_EQ(read_bytes(path("captured")), "to stdout");
  EXPECT_FALSE(fs::exists(path("-")));
}

}  // namespace
