#include "tests/fuzz/FuzzHarness.h"

#include <cxxabi.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>
#include <unistd.h>
#include <zlib.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <fstream>
#include <iostream>
#include <iterator>
#include <limits>
#include <memory>
#include <mutex>
#include <new>
#include <set>
#include <sstream>
#include <stdexcept>
#include <thread>
#include <typeinfo>

#include "core/Error.h"
#include "tests/support/TempDir.h"

#if defined(__SANITIZE_ADDRESS__)
#include <sanitizer/asan_interface.h>
#include <sanitizer/lsan_interface.h>
#endif

// ----- the allocation guard ------------------------------------------------------------------------------
// The global operator new is replaced for this test program, so that while a reader runs one allocation
// above kAllocationLimitBytes is refused and recorded (the reader may well translate the std::bad_alloc
// into its own error; the record still fails the test). Refusing, rather than trying, keeps the check
// independent of the machine's memory and overcommit settings. LibTorch's tensor storage comes from
// posix_memalign and is not seen here; everything a std::vector or std::string allocates is.

namespace {

std::atomic<bool> gGuardActive{false};
std::atomic<std::size_t> gRefusedBytes{0};

void* guardedAllocate(std::size_t size) {
  if (size > samscape::fuzz::kAllocationLimitBytes && gGuardActive.load(std::memory_order_relaxed)) {
    std::size_t none = 0;
    gRefusedBytes.compare_exchange_strong(none, size);
    throw std::bad_alloc();
  }
  for (;;) {
    if (void* pointer = std::malloc(size == 0 ? 1 : size)) return pointer;
    const std::new_handler handler = std::get_new_handler();
    if (handler == nullptr) throw std::bad_alloc();
    handler();
  }
}

}  // namespace

void* operator new(std::size_t size) { return guardedAllocate(size); }
void* operator new[](std::size_t size) { return guardedAllocate(size); }
void* operator new(std::size_t size, const std::nothrow_t&) noexcept {
  try {
    return guardedAllocate(size);
  } catch (...) {
    return nullptr;
  }
}
void* operator new[](std::size_t size, const std::nothrow_t&) noexcept {
  try {
    return guardedAllocate(size);
  } catch (...) {
    return nullptr;
  }
}
// Every non-aligned delete is replaced too, so that allocation and release always pair malloc with free
// (AddressSanitizer reports a malloc'd block released by its own operator delete as a mismatch).
void operator delete(void* pointer) noexcept { std::free(pointer); }
void operator delete[](void* pointer) noexcept { std::free(pointer); }
void operator delete(void* pointer, std::size_t) noexcept { std::free(pointer); }
void operator delete[](void* pointer, std::size_t) noexcept { std::free(pointer); }
void operator delete(void* pointer, const std::nothrow_t&) noexcept { std::free(pointer); }
void operator delete[](void* pointer, const std::nothrow_t&) noexcept { std::free(pointer); }

namespace samscape::fuzz {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

// While a reader runs, the guard is on; it is off while the harness itself writes files and reports.
class AllocationGuard {
 public:
  AllocationGuard() {
    gRefusedBytes.store(0);
    gGuardActive.store(true);
  }
  ~AllocationGuard() { gGuardActive.store(false); }
  AllocationGuard(const AllocationGuard&) = delete;
  AllocationGuard& operator=(const AllocationGuard&) = delete;
};

// ----- crash and hang reports ------------------------------------------------------------------------------
// The message that names the input being read, formatted before each call so that a signal handler can
// write it with write(2) alone.

char gCurrentInput[4096] = {0};
std::atomic<bool> gInCall{false};

void writeCurrentInput() {
  if (!gInCall.load()) return;
  const ssize_t ignored = ::write(STDERR_FILENO, gCurrentInput, std::strlen(gCurrentInput));
  static_cast<void>(ignored);
}

constexpr int kFatalSignals[] = {SIGSEGV, SIGBUS, SIGFPE, SIGILL, SIGABRT};
struct sigaction gPreviousActions[sizeof kFatalSignals / sizeof kFatalSignals[0]];

void onFatalSignal(int signal) {
  writeCurrentInput();
  gInCall.store(false);
  // Hand the signal to whoever had it before (AddressSanitizer's report, or the default core dump):
  // a fault re-executes the faulting instruction on return, an abort is raised again.
  for (std::size_t i = 0; i < std::size(kFatalSignals); ++i) {
    if (kFatalSignals[i] == signal) sigaction(signal, &gPreviousActions[i], nullptr);
  }
  if (signal == SIGABRT) std::raise(signal);
}

void installCrashReport() {
  static std::once_flag once;
  std::call_once(once, [] {
    for (std::size_t i = 0; i < std::size(kFatalSignals); ++i) {
      struct sigaction action {};
      action.sa_handler = onFatalSignal;
      sigemptyset(&action.sa_mask);
      sigaction(kFatalSignals[i], &action, &gPreviousActions[i]);
    }
#if defined(__SANITIZE_ADDRESS__)
    __asan_set_death_callback(writeCurrentInput);
#endif
  });
}

// Aborts, naming the input, when one call takes longer than the limit.
class Watchdog {
 public:
  explicit Watchdog(double limitSeconds)
      : limit_(std::chrono::duration_cast<std::chrono::steady_clock::duration>(
            std::chrono::duration<double>(limitSeconds))),
        thread_([this] { watch(); }) {}
  ~Watchdog() {
    {
      const std::lock_guard<std::mutex> lock(mutex_);
      stop_ = true;
    }
    wake_.notify_all();
    thread_.join();
  }
  Watchdog(const Watchdog&) = delete;
  Watchdog& operator=(const Watchdog&) = delete;

  void begin() {
    const std::lock_guard<std::mutex> lock(mutex_);
    callStart_ = std::chrono::steady_clock::now();
    inCall_ = true;
  }
  void end() {
    const std::lock_guard<std::mutex> lock(mutex_);
    inCall_ = false;
  }

 private:
  void watch() {
    std::unique_lock<std::mutex> lock(mutex_);
    while (!stop_) {
      wake_.wait_for(lock, std::chrono::milliseconds(200));
      if (inCall_ && std::chrono::steady_clock::now() - callStart_ > limit_) {
        static const char hang[] = "\n*** fuzz: one call to the reader took longer than SAMSCAPE_FUZZ_HANG_SECONDS:";
        const ssize_t ignored = ::write(STDERR_FILENO, hang, sizeof hang - 1);
        static_cast<void>(ignored);
        writeCurrentInput();
        std::abort();
      }
    }
  }

  std::chrono::steady_clock::duration limit_;
  std::mutex mutex_;
  std::condition_variable wake_;
  bool stop_ = false;
  bool inCall_ = false;
  std::chrono::steady_clock::time_point callStart_;
  std::thread thread_;
};

// ----- helpers ---------------------------------------------------------------------------------------------

std::string environment(const char* name) {
  const char* value = std::getenv(name);
  return value == nullptr ? std::string() : std::string(value);
}

std::uint64_t fnv1a(const std::string& text) {
  std::uint64_t hash = 0xcbf29ce484222325ull;
  for (const char c : text) {
    hash ^= static_cast<unsigned char>(c);
    hash *= 0x100000001b3ull;
  }
  return hash;
}

std::string hex(std::uint64_t value) {
  char buffer[32];
  std::snprintf(buffer, sizeof buffer, "0x%llx", static_cast<unsigned long long>(value));
  return buffer;
}

std::string typeName(const std::exception& error) {
  const char* mangled = typeid(error).name();
  int status = 0;
  std::unique_ptr<char, void (*)(void*)> demangled(abi::__cxa_demangle(mangled, nullptr, nullptr, &status),
                                                    std::free);
  return status == 0 && demangled ? std::string(demangled.get()) : std::string(mangled);
}

std::string reproduceLine(const std::string& name, std::uint64_t seed, std::int64_t iteration) {
  std::string filter = "ReaderFuzz.*";
  if (const auto* info = ::testing::UnitTest::GetInstance()->current_test_info()) {
    filter = std::string(info->test_suite_name()) + "." + info->name();
  }
  return "reader " + name + ", seed " + hex(seed) + ", iteration " + std::to_string(iteration) +
         "; reproduce with SAMSCAPE_FUZZ_SEED=" + hex(seed) + " SAMSCAPE_FUZZ_ITERATION=" +
         std::to_string(iteration) + " samscape_fuzz_tests --gtest_filter=" + filter;
}

std::string savedCopy(const fs::path& directory, const FuzzSettings& settings, const std::string& name,
                      std::int64_t iteration) {
  const fs::path target =
      settings.artifactsDir / (name + "-seed-" + hex(settings.seed) + "-iteration-" + std::to_string(iteration));
  std::error_code error;
  fs::remove_all(target, error);
  fs::create_directories(target, error);
  if (!error) fs::copy(directory, target, fs::copy_options::recursive | fs::copy_options::overwrite_existing, error);
  if (error) return "(could not save the input to " + target.string() + ": " + error.message() + ")";
  return target.string();
}

// Values of one kind or another that configuration readers must refuse or survive. JSON that nlohmann
// cannot hold (1e999, NaN, invalid UTF-8, deep nesting) is spliced in as raw text.
json randomJsonValue(Mutator& m, std::vector<std::string>& raw) {
  if (m.chance(25)) {
    static const char* const kRaw[] = {
        "1e999", "-1e999", "NaN", "Infinity", "-", "18446744073709551616", "-9223372036854775809",
        "1e-400", "0.1e+", "01", "0x1F", "+1", "1.", "\"\\ud800\"", "\"a\\u0000b\"", "\"\xff\xfe\"",
        "\"\xc3\"", "tru", "nul", "[1,]", "{\"a\":1,}", "'x'"};
    std::string text;
    const std::uint64_t pick = m.below(std::size(kRaw) + 2);
    if (pick < std::size(kRaw)) {
      text = kRaw[pick];
    } else {
      const std::size_t depth = std::size_t{10} << (3 * m.below(4));  // 10 ... 5120
      if (pick == std::size(kRaw)) {
        text = std::string(depth, '[') + std::string(depth, ']');
      } else {
        for (std::size_t i = 0; i < depth; ++i) text += "{\"a\":";
        text += "1" + std::string(depth, '}');
      }
    }
    raw.push_back(text);
    return "@@raw" + std::to_string(raw.size() - 1) + "@@";
  }
  switch (m.below(34)) {
    case 0: return nullptr;
    case 1: return true;
    case 2: return false;
    case 3: return 0;
    case 4: return -1;
    case 5: return 1;
    case 6: return 2;
    case 7: return 0.5;
    case 8: return -0.0;
    case 9: return 1e308;
    case 10: return -1e308;
    case 11: return 2147483647;
    case 12: return std::int64_t{2147483648};
    case 13: return std::int64_t{-2147483649};
    case 14: return std::int64_t{4294967297};
    case 15: return std::numeric_limits<std::int64_t>::max();
    case 16: return std::numeric_limits<std::int64_t>::min();
    case 17: return std::numeric_limits<std::uint64_t>::max();
    case 18: return 1e19;
    case 19: return "";
    case 20: return "x";
    case 21: return "cuda:99";
    case 22: return "mnist";
    case 23: return "-1";
    case 24: return std::string(5000, 'a');
    case 25: return "\u00e9\u2603";
    case 26: return json::array();
    case 27: return json::array({1, 2});
    case 28: return json::array({"a"});
    case 29: return json::array({-1, 1e10});
    case 30: return json::object();
    case 31: return json{{"a", 1}};
    case 32: return "cpu,,cuda";
    default: return static_cast<std::int64_t>(m.below(1000)) - 500;
  }
}

void collectNodes(json& node, std::vector<json*>& out) {
  out.push_back(&node);
  if (node.is_structured()) {
    for (auto& child : node) collectNodes(child, out);
  }
}

}  // namespace

FuzzSettings settingsFromEnvironment() {
  FuzzSettings settings;
  const auto number = [](const char* name, auto fallback) {
    const std::string text = environment(name);
    if (text.empty()) return fallback;
    try {
      std::size_t used = 0;
      using T = decltype(fallback);
      T value;
      if constexpr (std::is_floating_point_v<T>) {
        value = std::stod(text, &used);
      } else {
        value = static_cast<T>(std::stoull(text, &used, 0));
      }
      if (used != text.size()) throw std::invalid_argument("trailing characters");
      return value;
    } catch (const std::exception&) {
      throw std::invalid_argument(std::string(name) + ": not a number: " + text);
    }
  };
  settings.seconds = number("SAMSCAPE_FUZZ_SECONDS", settings.seconds);
  settings.maxIterations = number("SAMSCAPE_FUZZ_MAX_ITERATIONS", settings.maxIterations);
  settings.seed = number("SAMSCAPE_FUZZ_SEED", settings.seed);
  settings.hangSeconds = number("SAMSCAPE_FUZZ_HANG_SECONDS", settings.hangSeconds);
  if (!environment("SAMSCAPE_FUZZ_ITERATION").empty()) {
    settings.onlyIteration = number("SAMSCAPE_FUZZ_ITERATION", std::int64_t{0});
  }
  settings.keepGoing = environment("SAMSCAPE_FUZZ_KEEP_GOING") == "1";
  settings.leakCheck = environment("SAMSCAPE_FUZZ_LEAK_CHECK") == "1";
  const std::string artifacts = environment("SAMSCAPE_FUZZ_ARTIFACTS");
  settings.artifactsDir = artifacts.empty() ? fs::current_path() / "fuzz-failures" : fs::path(artifacts);
  return settings;
}

// ----- Mutator ---------------------------------------------------------------------------------------------

std::uint64_t Mutator::extremeValue(std::uint64_t original, int width) {
  const int bits = 8 * width;
  const std::uint64_t mask = bits >= 64 ? ~std::uint64_t{0} : (std::uint64_t{1} << bits) - 1;
  const std::uint64_t sign = std::uint64_t{1} << (bits - 1);
  // A quarter of the time, the value plus a multiple of 2^(bits - 4): the same value once multiplied by
  // 16 (a count of 16-byte entries), so a size check done in wrapping arithmetic passes.
  if (chance(25)) return (original + ((1 + below(15)) << (bits - 4))) & mask;
  const std::uint64_t choices[] = {0,
                                   1,
                                   2,
                                   mask,
                                   mask - 1,
                                   sign,
                                   sign - 1,
                                   original + 1,
                                   original - 1,
                                   original * 2,
                                   original << 8,
                                   255,
                                   256,
                                   65535,
                                   65536,
                                   engine_()};
  return choices[below(std::size(choices))] & mask;
}

Bytes Mutator::mutateBytes(Bytes data, const BinaryLayout& layout) {
  int rounds = 1;
  while (rounds < 4 && chance(40)) ++rounds;
  for (int round = 0; round < rounds; ++round) {
    const std::size_t size = data.size();
    // Field mutations are the likeliest when the format has fields: they reach past the first checks.
    const std::uint64_t op = !layout.fields.empty() && chance(40) ? 100 : below(11);
    switch (op) {
      case 0:  // flip a bit
        if (size > 0) data[below(size)] ^= static_cast<std::uint8_t>(1u << below(8));
        break;
      case 1: {  // overwrite a byte
        static const std::uint8_t kBoundary[] = {0x00, 0x01, 0x7F, 0x80, 0xFF};
        if (size > 0) {
          data[below(size)] = chance(50) ? static_cast<std::uint8_t>(engine_())
                                          : kBoundary[below(std::size(kBoundary))];
        }
        break;
      }
      case 2:  // truncate, often inside the header
        data.resize(static_cast<std::size_t>(chance(50) ? below(std::min<std::size_t>(size, 64) + 1)
                                                        : below(size + 1)));
        break;
      case 3: {  // append garbage
        const std::size_t count = 1 + below(chance(80) ? 64 : 8192);
        for (std::size_t i = 0; i < count; ++i) data.push_back(static_cast<std::uint8_t>(engine_()));
        break;
      }
      case 4: {  // insert random bytes
        const std::size_t at = below(size + 1);
        Bytes extra(1 + below(16));
        for (auto& byte : extra) byte = static_cast<std::uint8_t>(engine_());
        data.insert(data.begin() + static_cast<std::ptrdiff_t>(at), extra.begin(), extra.end());
        break;
      }
      case 5: {  // duplicate a range
        if (size == 0) break;
        const std::size_t from = below(size);
        const std::size_t length = 1 + below(std::min<std::size_t>(size - from, 512));
        const Bytes copy(data.begin() + static_cast<std::ptrdiff_t>(from),
                         data.begin() + static_cast<std::ptrdiff_t>(from + length));
        const std::size_t at = below(size + 1);
        data.insert(data.begin() + static_cast<std::ptrdiff_t>(at), copy.begin(), copy.end());
        break;
      }
      case 6: {  // delete a range
        if (size == 0) break;
        const std::size_t from = below(size);
        const std::size_t length = 1 + below(std::min<std::size_t>(size - from, 512));
        data.erase(data.begin() + static_cast<std::ptrdiff_t>(from),
                   data.begin() + static_cast<std::ptrdiff_t>(from + length));
        break;
      }
      case 7: {  // a whole record duplicated or deleted: the length stays a whole number of records
        if (layout.recordBytes == 0 || size < layout.headerBytes + layout.recordBytes) break;
        const std::size_t records = (size - layout.headerBytes) / layout.recordBytes;
        const std::size_t start = layout.headerBytes + below(records) * layout.recordBytes;
        if (chance(50)) {
          const Bytes copy(data.begin() + static_cast<std::ptrdiff_t>(start),
                           data.begin() + static_cast<std::ptrdiff_t>(start + layout.recordBytes));
          data.insert(data.begin() + static_cast<std::ptrdiff_t>(start), copy.begin(), copy.end());
        } else {
          data.erase(data.begin() + static_cast<std::ptrdiff_t>(start),
                     data.begin() + static_cast<std::ptrdiff_t>(start + layout.recordBytes));
        }
        break;
      }
      case 8:    // an aligned word, which may be a field nobody told us of, set to an extreme value
      case 100: {  // a known field set to an extreme value
        Field field;
        if (op == 100) {
          field = layout.fields[below(layout.fields.size())];
        } else {
          field.width = chance(50) ? 4 : 8;
          field.bigEndian = chance(50);
          if (size < static_cast<std::size_t>(field.width)) break;
          field.offset = below(size / field.width) * field.width;
        }
        if (field.offset + static_cast<std::size_t>(field.width) > size) break;
        std::uint64_t value = 0;
        for (int i = 0; i < field.width; ++i) {
          const int shift = 8 * (field.bigEndian ? field.width - 1 - i : i);
          value |= std::uint64_t{data[field.offset + i]} << shift;
        }
        value = extremeValue(value, field.width);
        for (int i = 0; i < field.width; ++i) {
          const int shift = 8 * (field.bigEndian ? field.width - 1 - i : i);
          data[field.offset + i] = static_cast<std::uint8_t>(value >> shift);
        }
        break;
      }
      case 9: {  // one byte (random, or one of the input's) repeated up to 4096 times
        const std::uint8_t byte = size > 0 && chance(50) ? data[below(size)] : static_cast<std::uint8_t>(engine_());
        data.insert(data.begin() + static_cast<std::ptrdiff_t>(below(size + 1)), 1 + below(4096), byte);
        break;
      }
      default: {  // swap two bytes
        if (size < 2) break;
        std::swap(data[below(size)], data[below(size)]);
        break;
      }
    }
  }
  return data;
}

std::string Mutator::mutateJson(const std::string& text) {
  return chance(30) ? mutateJsonText(text) : mutateJsonStructure(text);
}

std::string Mutator::mutateJsonText(std::string text) {
  static const char* const kTokens[] = {",", ":", "{", "}", "[", "]", "\"", "\\", "null", "-", "e",
                                        "1e999", "\xff", "" /* a NUL byte */, "/*", "//", "\n",
                                        "NaN", "\"x\":", "0", "9999999999999999999999"};
  int rounds = 1;
  while (rounds < 3 && chance(40)) ++rounds;
  for (int round = 0; round < rounds; ++round) {
    const std::size_t size = text.size();
    switch (below(6)) {
      case 0:
        text.resize(below(size + 1));
        break;
      case 1: {
        std::string token = kTokens[below(std::size(kTokens))];
        if (token.empty()) token = std::string(1, '\0');
        text.insert(below(size + 1), token);
        break;
      }
      case 2:
        if (size > 0) text[below(size)] = static_cast<char>(engine_());
        break;
      case 3:
        if (size > 0) {
          const std::size_t from = below(size);
          text.erase(from, 1 + below(std::min<std::size_t>(size - from, 64)));
        }
        break;
      case 4:
        if (size > 0) {
          const std::size_t from = below(size);
          const std::string copy = text.substr(from, 1 + below(std::min<std::size_t>(size - from, 128)));
          text.insert(below(size + 1), copy);
        }
        break;
      default: {  // a digit changed: numbers keep their syntax but not their value
        std::vector<std::size_t> digits;
        for (std::size_t i = 0; i < size; ++i) {
          if (text[i] >= '0' && text[i] <= '9') digits.push_back(i);
        }
        if (!digits.empty()) text[digits[below(digits.size())]] = static_cast<char>('0' + below(10));
        break;
      }
    }
  }
  return text;
}

std::string Mutator::mutateJsonStructure(const std::string& text) {
  json document = json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (document.is_discarded()) return mutateJsonText(text);
  std::vector<std::string> raw;
  int rounds = 1;
  while (rounds < 3 && chance(40)) ++rounds;
  for (int round = 0; round < rounds; ++round) {
    std::vector<json*> nodes;
    collectNodes(document, nodes);
    json& node = *nodes[below(nodes.size())];
    const std::uint64_t op = below(4);
    if (op == 0 && node.is_object() && !node.empty()) {
      auto it = node.begin();
      std::advance(it, static_cast<std::ptrdiff_t>(below(node.size())));
      const std::string key = it.key();
      json value = it.value();
      switch (below(4)) {
        case 0:  // deleted
          node.erase(key);
          break;
        case 1: {  // renamed to a near miss
          static const char* const kSuffixes[] = {"x", " ", "_", "-"};
          node.erase(key);
          const std::string renamed =
              chance(50) ? key + kSuffixes[below(std::size(kSuffixes))] : (key.empty() ? "K" : key.substr(1));
          node[renamed] = value;
          break;
        }
        case 2:  // an unknown key
          node["unknown-" + std::to_string(below(100))] = randomJsonValue(*this, raw);
          break;
        default:  // the value wrapped in an array or an object
          node[key] = chance(50) ? json::array({value}) : json{{"value", value}};
          break;
      }
    } else if (op == 1 && node.is_array()) {
      switch (below(4)) {
        case 0:
          node.clear();
          break;
        case 1:
          if (!node.empty()) node.erase(below(node.size()));
          break;
        case 2:
          node.push_back(node.empty() ? randomJsonValue(*this, raw) : node[below(node.size())]);
          break;
        default:
          node.push_back(randomJsonValue(*this, raw));
          break;
      }
    } else if (op == 2 && node.is_number()) {
      const double value = node.get<double>();
      switch (below(5)) {
        case 0: node = -value; break;
        case 1: node = value * 1e12; break;
        case 2: node = value + 0.5; break;
        case 3: node = static_cast<std::int64_t>(std::clamp(value, -9e18, 9e18)) - 1; break;
        default: node = std::to_string(value); break;  // the number as a string
      }
    } else {
      node = randomJsonValue(*this, raw);
    }
  }
  const int indents[] = {-1, 1, 2};
  std::string out = document.dump(indents[below(3)], ' ', /*ensure_ascii=*/false);
  for (std::size_t i = 0; i < raw.size(); ++i) {
    const std::string marker = "\"@@raw" + std::to_string(i) + "@@\"";
    for (std::size_t at = out.find(marker); at != std::string::npos; at = out.find(marker, at + raw[i].size())) {
      out.replace(at, marker.size(), raw[i]);
    }
  }
  return out;
}

// ----- the loop --------------------------------------------------------------------------------------------

FuzzResult fuzzReader(const std::string& name, const std::function<void(FuzzInput&)>& write,
                      const std::function<void(const fs::path&)>& read, const ReaderContract& contract,
                      const FuzzSettings& settings) {
  installCrashReport();
  FuzzResult result;
  const test::TempDir temporary;
  Watchdog watchdog(settings.hangSeconds);
  const std::uint64_t nameHash = fnv1a(name);
  const auto started = std::chrono::steady_clock::now();
  const auto elapsed = [&] {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  };
  std::set<std::string> failureKinds;
  const std::int64_t first = settings.onlyIteration.value_or(0);
  for (std::int64_t iteration = first;; ++iteration) {
    if (settings.onlyIteration) {
      if (iteration != *settings.onlyIteration) break;
    } else if (iteration >= settings.maxIterations || (iteration > 0 && elapsed() >= settings.seconds)) {
      break;
    }
    const auto u = static_cast<std::uint64_t>(iteration);
    std::seed_seq seeds{static_cast<std::uint32_t>(settings.seed), static_cast<std::uint32_t>(settings.seed >> 32),
                        static_cast<std::uint32_t>(nameHash), static_cast<std::uint32_t>(nameHash >> 32),
                        static_cast<std::uint32_t>(u), static_cast<std::uint32_t>(u >> 32)};
    std::mt19937_64 engine(seeds);
    Mutator mutator(engine);
    const fs::path directory = temporary.path() / ("iteration-" + std::to_string(iteration));
    fs::create_directories(directory);
    FuzzInput input{iteration, engine, directory, mutator};
    try {
      write(input);
    } catch (const std::exception& error) {
      ADD_FAILURE() << "the test could not write input " << iteration << ": " << error.what();
      result.failed = true;
      break;
    }
    const std::string where = reproduceLine(name, settings.seed, iteration);
    std::snprintf(gCurrentInput, sizeof gCurrentInput,
                  "\n*** fuzz: the process died while reading the input in %s (%s)\n", directory.c_str(),
                  where.c_str());
    std::string failure;
    bool gaveValue = false;
    std::string errorMessage;
    gInCall.store(true);
    watchdog.begin();
    try {
      const AllocationGuard guard;
      read(directory);
      gaveValue = true;
    } catch (const Error& error) {
      errorMessage = error.what();
      if (errorMessage.empty()) {
        failure = "threw " + typeName(error) + " with an empty message";
      } else if (contract.errorsNameTheInput && errorMessage.find(directory.string()) == std::string::npos) {
        failure = "threw " + typeName(error) + " whose message does not name the file: " + errorMessage;
      }
    } catch (const std::exception& error) {
      failure = "threw " + typeName(error) + ", not a samscape::Error: " + error.what();
    } catch (...) {
      failure = "threw something that is not a std::exception";
    }
    watchdog.end();
    gInCall.store(false);
#if defined(__SANITIZE_ADDRESS__)
    // Under AddressSanitizer, SAMSCAPE_FUZZ_LEAK_CHECK=1 looks for leaks after every call (slow), so that
    // a leak is tied to the input that caused it rather than reported once at exit. A leak stays
    // leaked, so only the process's first one can be tied to its input; the checks stop there.
    static bool leakFound = false;
    if (settings.leakCheck && !leakFound && failure.empty() && __lsan_do_recoverable_leak_check() != 0) {
      leakFound = true;
      failure = "leaked memory (LeakSanitizer's report is above; no more leak checks in this loop)";
    }
#endif
    if (const std::size_t refused = gRefusedBytes.load(); refused != 0) {
      failure = "tried to allocate " + std::to_string(refused) + " bytes in one piece (the limit is " +
                std::to_string(kAllocationLimitBytes) + "): a size read from the file was trusted" +
                (failure.empty() ? std::string() : "; then it " + failure);
    }
    if (failure.empty() && iteration == 0 && !gaveValue) {
      failure = "rejected the unmutated valid input (a broken test, not a reader bug): " + errorMessage;
    }
    ++result.iterations;
    if (!failure.empty()) {
      result.failed = true;
      ++result.failures;
      // With keepGoing, each kind of failure (its first line, digits aside) is reported once.
      std::string kind = failure.substr(0, failure.find('\n'));
      kind.erase(std::remove_if(kind.begin(), kind.end(), [](char c) { return c >= '0' && c <= '9'; }), kind.end());
      if (failureKinds.insert(kind).second) {
        const std::string saved = savedCopy(directory, settings, name, iteration);
        ADD_FAILURE() << "The " << name << " reader " << failure << "\n  input saved to " << saved << "\n  ("
                      << where << ")";
      }
      if (!settings.keepGoing) break;
    } else {
      (gaveValue ? result.values : result.errors) += 1;
    }
    std::error_code ignored;
    fs::remove_all(directory, ignored);
  }
  std::cout << "[   fuzz   ] " << name << ": " << result.iterations << " iterations in " << elapsed()
            << " s (seed " << hex(settings.seed) << "; " << result.values << " read, " << result.errors
            << " refused with an Error"
            << (result.failures > 0 ? "; " + std::to_string(result.failures) + " broke the contract" : std::string())
            << ")" << std::endl;
  ::testing::Test::RecordProperty("iterations", std::to_string(result.iterations));
  return result;
}

// ----- files -----------------------------------------------------------------------------------------------

Bytes readFile(const fs::path& path) {
  std::ifstream stream(path, std::ios::binary);
  if (!stream) throw std::runtime_error("cannot read " + path.string());
  return Bytes(std::istreambuf_iterator<char>(stream), std::istreambuf_iterator<char>());
}

void writeFile(const fs::path& path, const Bytes& bytes) {
  fs::create_directories(path.parent_path());
  std::ofstream stream(path, std::ios::binary | std::ios::trunc);
  stream.write(reinterpret_cast<const char*>(bytes.data()), static_cast<std::streamsize>(bytes.size()));
  if (!stream) throw std::runtime_error("cannot write " + path.string());
}

void writeFile(const fs::path& path, const std::string& text) { writeFile(path, Bytes(text.begin(), text.end())); }

Bytes gzipBytes(const Bytes& raw) {
  z_stream stream{};
  // windowBits 15 + 16: a gzip header and trailer, as gzip(1) and MNIST's files have.
  if (deflateInit2(&stream, Z_DEFAULT_COMPRESSION, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK) {
    throw std::runtime_error("deflateInit2 failed");
  }
  Bytes out(deflateBound(&stream, static_cast<uLong>(raw.size())) + 32);
  stream.next_in = const_cast<Bytef*>(raw.data());
  stream.avail_in = static_cast<uInt>(raw.size());
  stream.next_out = out.data();
  stream.avail_out = static_cast<uInt>(out.size());
  const int status = deflate(&stream, Z_FINISH);
  out.resize(stream.total_out);
  deflateEnd(&stream);
  if (status != Z_STREAM_END) throw std::runtime_error("deflate failed");
  return out;
}

std::size_t refusedAllocationDuring(const std::function<void()>& call) {
  {
    const AllocationGuard guard;
    call();
  }
  return gRefusedBytes.exchange(0);
}

}  // namespace samscape::fuzz
