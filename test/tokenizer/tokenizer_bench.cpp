// Prints how fast each committed tokenizer encodes ~1 MB of text (the corpus and the
// training text repeated, lines joined into paragraphs of ~20 lines). Figures, not a test.
//   attnhook_tokenizer_bench [megabytes, default 1]
#include <fmt/format.h>

#include <chrono>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "attnhook/tokenizer.h"

namespace {

std::string read(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

}  // namespace

int main(int argc, char** argv) {
  double megabytes = argc > 1 ? std::stod(argv[1]) : 1.0;
  std::string dir = ATTNHOOK_TOKENIZER_DIR;
  std::string source = read(dir + "/training.txt") + read(dir + "/corpus.txt");
  std::vector<std::string> paragraphs;
  std::size_t total = 0, target = static_cast<std::size_t>(megabytes * 1e6);
  std::istringstream lines(source);
  std::string line, paragraph;
  int count = 0;
  while (total < target) {
    if (!std::getline(lines, line)) {
      lines.clear();
      lines.seekg(0);
      continue;
    }
    if (line.rfind("\\e ", 0) == 0) continue;  // escaped test lines
    paragraph += line + "\n";
    if (++count % 20 == 0) {
      total += paragraph.size();
      paragraphs.push_back(std::move(paragraph));
      paragraph.clear();
    }
  }
  fmt::print("{:.2f} MB in {} paragraphs\n", total / 1e6, paragraphs.size());
  for (const char* name : {"bert_wordpiece.json", "cased_wordpiece.json", "roberta_bpe.json",
                           "llama3_bpe.json", "llama2_bpe.json", "unigram.model"}) {
    attnhook::Tokenizer tok = attnhook::Tokenizer::load(dir + "/data/" + name);
    auto start = std::chrono::steady_clock::now();
    std::size_t tokens = 0;
    for (const std::string& p : paragraphs) tokens += tok.encode(p).size();
    double seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    fmt::print("{:<22} {:7.3f} s  {:6.2f} MB/s  {:8} tokens\n", name, seconds,
               total / 1e6 / seconds, tokens);
  }
  return 0;
}
