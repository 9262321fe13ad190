// Expected ids for the SentencePiece fixtures here, from Google's own sentencepiece library (Debian's
// libsentencepiece-dev 0.1.97), never from SparkGPT's code. Reads one text per line as hex-encoded UTF-8 (so texts
// may hold newlines); prints, per text, its ids (space-separated), a tab, and DecodeIds of those ids as hex.
// Build and run: see README.md here.
#include <sentencepiece_processor.h>
#include <iomanip>
#include <iostream>
#include <string>
#include <vector>

static std::string unhex(const std::string& h) {
  std::string s;
  for (size_t i = 0; i + 1 < h.size(); i += 2) s.push_back((char) std::stoi(h.substr(i, 2), nullptr, 16));
  return s;
}

int main(int argc, char** argv) {
  sentencepiece::SentencePieceProcessor sp;
  if (argc < 2 || !sp.Load(argv[1]).ok()) {
    std::cerr << "usage: encode MODEL < hex-texts\n";
    return 2;
  }
  std::string line;
  while (std::getline(std::cin, line)) {
    std::vector<int> ids;
    std::string back;
    if (!sp.Encode(unhex(line), &ids).ok() || !sp.Decode(ids, &back).ok()) return 1;
    for (size_t i = 0; i < ids.size(); i++) std::cout << (i ? " " : "") << ids[i];
    std::cout << "\t";
    for (unsigned char c : back) std::cout << std::hex << std::setw(2) << std::setfill('0') << (int) c << std::dec;
    std::cout << "\n";
  }
  return 0;
}
