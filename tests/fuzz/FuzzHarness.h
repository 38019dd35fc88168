#pragma once
// A seeded mutation fuzzer for the project's file readers, without libFuzzer: each test starts from
// valid files made by the project's own writers, mutates them for a bounded time and number of
// iterations, and calls the reader on every result. The contract checked for every input: the reader
// returns a value or throws samscape::Error with a non-empty message (naming the input's file, unless
// the test says otherwise). Anything else fails the test with the input saved for reproduction: another
// exception type (std::bad_alloc, std::out_of_range, nlohmann::json or c10 exceptions, filesystem
// errors), a single allocation over kAllocationLimitBytes (a size field trusted for an allocation), a
// crash (the signal handler names the input) or a hang (the watchdog names it and aborts).
//
// Environment:
//   SAMSCAPE_FUZZ_SECONDS         time per reader (default 3)
//   SAMSCAPE_FUZZ_MAX_ITERATIONS  iterations per reader at most (default 20000)
//   SAMSCAPE_FUZZ_SEED            the seed (default kDefaultSeed); iteration i's mutations depend only
//                                 on the seed, the reader's name and i
//   SAMSCAPE_FUZZ_ITERATION       run only iteration i (to reproduce a failure)
//   SAMSCAPE_FUZZ_ARTIFACTS       where failing inputs are saved (default ./fuzz-failures)
//   SAMSCAPE_FUZZ_HANG_SECONDS    one call longer than this is a hang (default 60)
//   SAMSCAPE_FUZZ_KEEP_GOING=1    go on after a failure, reporting each new kind once (for triage)
//   SAMSCAPE_FUZZ_LEAK_CHECK=1    under AddressSanitizer: a leak check after every call (slow)

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <optional>
#include <random>
#include <string>
#include <vector>

namespace samscape::fuzz {

using Bytes = std::vector<std::uint8_t>;

constexpr std::uint64_t kDefaultSeed = 0x5A3D'F022'0000'0001ull;
// No reader needs more than a few MiB for these inputs; one allocation above this came from a size
// field the reader trusted.
constexpr std::size_t kAllocationLimitBytes = std::size_t{256} << 20;

struct FuzzSettings {
  double seconds = 3.0;
  std::int64_t maxIterations = 20000;
  std::uint64_t seed = kDefaultSeed;
  std::optional<std::int64_t> onlyIteration;
  std::filesystem::path artifactsDir;
  double hangSeconds = 60.0;
  bool keepGoing = false;
  bool leakCheck = false;
};

// From the environment (see above).
FuzzSettings settingsFromEnvironment();

// ----- mutations -------------------------------------------------------------------------------------

// A value in a binary file that a reader trusts: a magic number, a count, a dimension, a label byte.
struct Field {
  std::size_t offset = 0;
  int width = 4;  // bytes: 1, 2, 4 or 8
  bool bigEndian = false;
};

// What the byte mutator knows of a format, so that some mutations hit the values that matter.
struct BinaryLayout {
  std::vector<Field> fields;
  std::size_t headerBytes = 0;  // records, if any, start here...
  std::size_t recordBytes = 0;  // ...and are this long (0: no records)
};

class Mutator {
 public:
  explicit Mutator(std::mt19937_64& engine) : engine_(engine) {}

  // 1 to 4 stacked mutations: bit flips, byte overwrites with random or boundary values, truncation,
  // appended garbage, inserted, duplicated or deleted ranges (whole records sometimes), long runs of one
  // byte, and fields set to extreme values (0, 1, all ones, the sign bit, +-1, values that overflow a multiplication).
  Bytes mutateBytes(Bytes input, const BinaryLayout& layout = {});

  // Structural JSON mutations when `text` parses (a value replaced by one of another type or by an
  // extreme number, keys deleted, renamed or added, arrays emptied or grown, raw text such as 1e999,
  // NaN, invalid UTF-8 or deep nesting spliced in), textual ones otherwise or sometimes (truncation,
  // stray tokens, duplicated or deleted ranges).
  std::string mutateJson(const std::string& text);

  std::uint64_t below(std::uint64_t bound) { return bound == 0 ? 0 : engine_() % bound; }
  bool chance(int percent) { return below(100) < static_cast<std::uint64_t>(percent); }

 private:
  std::uint64_t extremeValue(std::uint64_t original, int width);
  std::string mutateJsonText(std::string text);
  std::string mutateJsonStructure(const std::string& text);

  std::mt19937_64& engine_;
};

// ----- the loop --------------------------------------------------------------------------------------

struct FuzzInput {
  std::int64_t iteration = 0;
  std::mt19937_64& engine;           // seeded for this iteration only
  std::filesystem::path directory;   // empty and fresh for each iteration
  Mutator& mutator;
  // Iteration 0 writes the valid input unmutated; the reader must accept it.
  bool mutate() const { return iteration > 0; }
};

struct ReaderContract {
  // Every Error's message must name the input (contain its directory's path).
  bool errorsNameTheInput = true;
};

struct FuzzResult {
  std::int64_t iterations = 0;
  std::int64_t values = 0;
  std::int64_t errors = 0;
  std::int64_t failures = 0;
  bool failed = false;
};

// Runs the loop for `name` (a file-name-safe word, also mixed into the seed): `write` fills the
// iteration's directory, `read` calls the reader on it. Reports any broken contract as a GoogleTest
// failure (stopping at the first unless keepGoing), saves that input under the artifacts folder and prints the seed and
// iteration that reproduce it; prints the iterations done.
FuzzResult fuzzReader(const std::string& name, const std::function<void(FuzzInput&)>& write,
                      const std::function<void(const std::filesystem::path&)>& read,
                      const ReaderContract& contract = {},
                      const FuzzSettings& settings = settingsFromEnvironment());

// Runs `call` with the allocation guard on (one operator new above kAllocationLimitBytes is refused
// with std::bad_alloc); returns the size of the first allocation it refused, 0 when none.
std::size_t refusedAllocationDuring(const std::function<void()>& call);

// ----- small file helpers ----------------------------------------------------------------------------

Bytes readFile(const std::filesystem::path& path);
void writeFile(const std::filesystem::path& path, const Bytes& bytes);
void writeFile(const std::filesystem::path& path, const std::string& text);
Bytes gzipBytes(const Bytes& raw);

}  // namespace samscape::fuzz
