// InputFile: what may be read as an attention file, and how much of it.
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <csignal>
#include <thread>

#include "attention_data.h"
#include "input_file.h"
#include "view_testing.h"

namespace {

using attnhook::detail::InputFile;
using attnhook_test::error_of;
using attnhook_test::write_bytes;

class InputFileTest : public attnhook_test::TempDirTest {};

TEST_F(InputFileTest, DevicesAndDirectoriesAreRefusedBeforeReading) {
  EXPECT_EQ(error_of([] { InputFile::open("/dev/zero", "attention file", 1 << 20); }),
            "cannot read attention file '/dev/zero': it is a character device, not a file");
  EXPECT_EQ(error_of([&] { InputFile::open(dir().string(), "attention file", 1 << 20); }),
            "cannot read attention file '" + dir().string() + "': it is a directory");
  EXPECT_EQ(error_of([&] { InputFile::open(path("missing"), "attention file", 1 << 20); }),
            "cannot read attention file '" + path("missing") + "': No such file or directory");
}

TEST_F(InputFileTest, RegularFilesAreMappedWithinTheLimit) {
  write_bytes(path("a.json"), "0123456789");
  EXPECT_EQ(InputFile::open(path("a.json"), "attention file", 10)->bytes(), "0123456789");
  EXPECT_EQ(error_of([&] { InputFile::open(path("a.json"), "attention file", 9); }),
            "cannot read attention file '" + path("a.json") + "': it is 10 bytes, over the limit of 9 bytes "
            "(--max-input-bytes)");
  write_bytes(path("empty.json"), "");
  EXPECT_EQ(InputFile::open(path("empty.json"), "attention file", 9)->bytes(), "");
}

TEST_F(InputFileTest, FilesThatReportSizeZeroAreReadAsStreams) {
  const auto status = InputFile::open("/proc/self/status", "file", 1 << 20);
  EXPECT_NE(status->bytes().find("Name:"), std::string::npos);
}

TEST_F(InputFileTest, FifosAreReadToTheirEndWithinTheLimit) {
  ASSERT_EQ(::mkfifo(path("fifo").c_str(), 0600), 0);
  std::thread writer([&] { write_bytes(path("fifo"), std::string(100000, 'x')); });
  EXPECT_EQ(InputFile::open(path("fifo"), "attention file", 100000)->bytes().size(), 100000u);
  writer.join();
  std::signal(SIGPIPE, SIG_IGN);  // the writer below meets a reader that gave up
  std::thread flood([&] { write_bytes(path("fifo"), std::string(300000, '{')); });
  EXPECT_EQ(error_of([&] { InputFile::open(path("fifo"), "attention file", 200000); }),
            "cannot read attention file '" + path("fifo") + "': it holds more than 200000 bytes, the limit "
            "(--max-input-bytes)");
  flood.join();
}

TEST_F(InputFileTest, AStreamThatIsNeitherFormatFailsOnItsFirstBytes) {
  ASSERT_EQ(::mkfifo(path("fifo").c_str(), 0600), 0);
  std::signal(SIGPIPE, SIG_IGN);
  // 100 MB of zeros offered; the reader stops after its first 64 KiB.
  std::thread flood([&] { write_bytes(path("fifo"), std::string(100 << 20, '\0')); });
  EXPECT_EQ(error_of([&] { attnhook::detail::open_attention(path("fifo")); }),
            "attention file '" + path("fifo") + "' is neither JSON nor an .npz: it starts with byte 0x00 at offset 0");
  flood.join();
}

}  // namespace
