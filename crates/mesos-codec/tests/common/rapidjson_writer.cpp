// The reference for how a Mesos 1.11 master writes numbers and strings:
// rapidjson's own Writer (Debian's rapidjson-dev, 1.1.0, whose dtoa.h,
// diyfp.h and writer.h are those Mesos 1.11.0 bundles), set up as stout's
// jsonify.hpp sets it up. Compiled and run by tests/common/rapidjson.rs.
//
// One request a line on stdin, one answer a line on stdout:
//   d <16 hex digits>   the double with these bits, as Writer::Double writes it
//   s <hex bytes>       the string with these bytes, as Writer::String writes it
#define RAPIDJSON_HAS_STDSTRING 1
#define RAPIDJSON_WRITE_DEFAULT_FLAGS kWriteNanAndInfFlag

#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <iostream>
#include <string>

int main()
{
  std::string line;
  while (std::getline(std::cin, line)) {
    rapidjson::StringBuffer buffer;
    rapidjson::Writer<rapidjson::StringBuffer> writer(buffer);
    if (line.size() >= 2 && line[0] == 'd') {
      uint64_t bits = std::strtoull(line.c_str() + 2, nullptr, 16);
      double d;
      std::memcpy(&d, &bits, sizeof d);
      writer.Double(d);
    } else if (line.size() >= 2 && line[0] == 's') {
      std::string bytes;
      for (size_t i = 2; i + 1 < line.size(); i += 2) {
        bytes.push_back(static_cast<char>(std::stoi(line.substr(i, 2), nullptr, 16)));
      }
      writer.String(bytes.data(), static_cast<rapidjson::SizeType>(bytes.size()));
    } else {
      std::cerr << "rapidjson_writer: bad request: " << line << std::endl;
      return 1;
    }
    std::cout.write(buffer.GetString(), buffer.GetSize());
    std::cout << '\n' << std::flush;
  }
  return 0;
}
