// The option-table machinery on a small table of its own: text as typed and JSON as in files convert
// to the field's type or are refused naming the flag; checks name the flag and the value; lifting keeps
// all of it.
#include "core/options/OptionTable.h"

#include <gtest/gtest.h>

#include <limits>

#include "tests/support/FileHelpers.h"

namespace samscape {
namespace {

enum class Colour { Red, Green };
const EnumNames<Colour>& names(Colour) {
  static const EnumNames<Colour> list{{Colour::Red, "red"}, {Colour::Green, "green"}};
  return list;
}

struct Sample {
  bool fast = false;
  bool keep = true;
  int count = 3;
  std::uint64_t seed = 0;
  double rate = 0.5;
  std::string label = "a";
  Colour colour = Colour::Red;
  std::vector<int> steps;
  double low = -1.0;
  double high = 1.0;
};

struct Holder {
  Sample sample;
};

OptionInfo info(const char* key) {
  OptionInfo option;
  option.key = key;
  option.label = key;
  return option;
}

const OptionTable<Sample>& sampleTable() {
  static const OptionTable<Sample> table = [] {
    OptionTable<Sample> t;
    t.push_back(fieldOption<Sample>(info("fast"), [](auto& s) -> auto& { return s.fast; }));
    t.push_back(negatedSwitchOption<Sample>(info("no-keep"), [](auto& s) -> auto& { return s.keep; }));
    t.push_back(fieldOption<Sample>(info("count"), [](auto& s) -> auto& { return s.count; },
                                    [](const Sample& s) { return s.count < 1 ? "must be positive" : ""; }));
    t.push_back(fieldOption<Sample>(info("seed"), [](auto& s) -> auto& { return s.seed; }));
    t.push_back(fieldOption<Sample>(info("rate"), [](auto& s) -> auto& { return s.rate; },
                                    [](const Sample& s) { return unlessInHalfOpen(s.rate, 0.0, 1.0); }));
    t.push_back(fieldOption<Sample>(info("label"), [](auto& s) -> auto& { return s.label; }));
    t.push_back(choiceOption<Sample>(info("colour"), [](auto& s) -> auto& { return s.colour; }));
    t.push_back(fieldOption<Sample>(info("steps"), [](auto& s) -> auto& { return s.steps; }));
    t.push_back(rangeOption<Sample>(info("range"), [](auto& s) -> auto& { return s.low; },
                                    [](auto& s) -> auto& { return s.high; }));
    return t;
  }();
  return table;
}

const Option<Sample>& option(const char* key) { return *findOption(sampleTable(), key); }

TEST(OptionTable, KindsFollowTheFieldTypes) {
  EXPECT_EQ(option("fast").info.kind, OptionKind::Switch);
  EXPECT_EQ(option("no-keep").info.kind, OptionKind::Switch);
  EXPECT_EQ(option("count").info.kind, OptionKind::Integer);
  EXPECT_EQ(option("seed").info.kind, OptionKind::Integer);
  EXPECT_EQ(option("rate").info.kind, OptionKind::Real);
  EXPECT_EQ(option("label").info.kind, OptionKind::Text);
  EXPECT_EQ(option("colour").info.kind, OptionKind::Choice);
  EXPECT_EQ(option("colour").info.choices, (std::vector<std::string>{"red", "green"}));
  EXPECT_EQ(option("steps").info.kind, OptionKind::IntegerList);
  EXPECT_EQ(option("range").info.kind, OptionKind::Range);
}

TEST(OptionTable, TypedTextSetsTheField) {
  Sample s;
  setOptionText(s, option("fast"), "true");
  setOptionText(s, option("no-keep"), "true");
  setOptionText(s, option("count"), "12");
  setOptionText(s, option("seed"), "18446744073709551615");
  setOptionText(s, option("rate"), "1e-3");
  setOptionText(s, option("label"), "x y");
  setOptionText(s, option("colour"), "green");
  setOptionText(s, option("steps"), "10,20");
  setOptionText(s, option("range"), "-0.5:2");
  EXPECT_TRUE(s.fast);
  EXPECT_FALSE(s.keep);
  EXPECT_EQ(s.count, 12);
  EXPECT_EQ(s.seed, std::numeric_limits<std::uint64_t>::max());
  EXPECT_DOUBLE_EQ(s.rate, 1e-3);
  EXPECT_EQ(s.label, "x y");
  EXPECT_EQ(s.colour, Colour::Green);
  EXPECT_EQ(s.steps, (std::vector<int>{10, 20}));
  EXPECT_EQ(s.low, -0.5);
  EXPECT_EQ(s.high, 2.0);
  // What the text of each value reads back as the same value.
  const nlohmann::json before = optionsToJson(s, sampleTable());
  Sample again;
  for (const auto& o : sampleTable()) setOptionText(again, o, optionText(o.get(s)));
  EXPECT_EQ(optionsToJson(again, sampleTable()), before);
}

TEST(OptionTable, TextOfTheWrongKindNamesTheFlagAndTheText) {
  Sample s;
  const auto refused = [&](const char* key, const std::string& text, const std::string& problem) {
    const std::string message = test::messageOf<ConfigError>([&] { setOptionText(s, option(key), text); });
    test::expectContains(message, {std::string("--") + key, text, problem});
  };
  refused("count", "abc", "an integer");
  refused("count", "1.5", "an integer");
  refused("count", "99999999999", "in range");
  refused("seed", "-1", "0 or more");
  refused("rate", "fast", "a number");
  refused("rate", "0.5x", "a number");
  refused("fast", "maybe", "true or false");
  refused("colour", "blue", "red or green");
  refused("steps", "1,,2", "integers");
  refused("range", "1:0", "a < b");
  refused("range", "1", "a:b");
  EXPECT_EQ(optionsToJson(s, sampleTable()), optionsToJson(Sample{}, sampleTable())) << "a refused value changed the target";
}

TEST(OptionTable, JsonFromFilesIsTypeCheckedAndNamesTheFile) {
  Sample s;
  applyOptionsJson(s, sampleTable(), nlohmann::json::parse(R"({"count": 4.0, "rate": 1, "steps": [3], "fast": false})"),
                   "f.json");
  EXPECT_EQ(s.count, 4);
  EXPECT_EQ(s.rate, 1.0);
  EXPECT_EQ(s.steps, std::vector<int>{3});
  const auto refused = [&](const std::string& text, const std::vector<std::string>& expected) {
    Sample target;
    const std::string message = test::messageOf<ConfigError>(
        [&] { applyOptionsJson(target, sampleTable(), nlohmann::json::parse(text), "f.json"); });
    std::vector<std::string> parts = expected;
    parts.push_back("f.json");
    test::expectContains(message, parts);
  };
  refused(R"({"count": 4.5})", {"--count", "an integer"});
  refused(R"({"count": "4"})", {"--count", "an integer"});
  refused(R"({"seed": -3})", {"--seed", "0 or more"});
  refused(R"({"fast": 1})", {"--fast", "true or false"});
  refused(R"({"steps": [1, "2"]})", {"--steps", "an integer"});
  refused(R"({"colour": "blue"})", {"--colour", "blue"});
  refused(R"({"label": null})", {"--label", "a string"});
  refused(R"({"speed": 1})", {"--config", "unknown key \"speed\""});
  refused(R"([1])", {"--config", "JSON object"});
}

TEST(OptionTable, ChecksNameTheFlagAndTheValue) {
  Sample s;
  EXPECT_NO_THROW(validateOptions(s, sampleTable()));
  s.rate = 1.5;
  test::expectContains(test::messageOf<ConfigError>([&] { validateOptions(s, sampleTable()); }),
                       {"--rate", "1.5", "must be in [0, 1)"});
  s.rate = std::numeric_limits<double>::quiet_NaN();
  test::expectContains(test::messageOf<ConfigError>([&] { validateOptions(s, sampleTable()); }), {"--rate", "finite"});
  s = Sample{};
  s.count = 0;
  test::expectContains(test::messageOf<ConfigError>([&] { validateOptions(s, sampleTable()); }),
                       {"--count", "'0'", "must be positive"});
}

TEST(OptionTable, ALiftedTableReadsWritesAndChecksThePart) {
  const OptionTable<Holder> lifted = liftOptions<Holder>(sampleTable(), [](auto& h) -> auto& { return h.sample; });
  ASSERT_EQ(lifted.size(), sampleTable().size());
  Holder h;
  setOptionText(h, *findOption(lifted, "count"), "9");
  EXPECT_EQ(h.sample.count, 9);
  EXPECT_EQ(findOption(lifted, "count")->get(h), 9);
  h.sample.count = -1;
  EXPECT_THROW(validateOptions(h, lifted), ConfigError);
}

TEST(OptionTable, NumbersAreShownInTheirShortestExactForm) {
  EXPECT_EQ(optionText(0.05), "0.05");
  EXPECT_EQ(optionText(5e-4), "0.0005");
  EXPECT_EQ(optionText(1e-8), "1e-08");
  EXPECT_EQ(optionText(1e30), "1e+30");
  EXPECT_EQ(optionText(-1.0), "-1");
  EXPECT_EQ(optionText(1.0 / 3.0), "0.3333333333333333");
  EXPECT_EQ(optionText(nlohmann::json::array({1, 2})), "1,2");
  EXPECT_EQ(optionText(true), "true");
  EXPECT_EQ(rangeText(-0.5, 1.5), "-0.5:1.5");
  EXPECT_EQ(std::stod(optionText(0.1 + 0.2)), 0.1 + 0.2);
}

}  // namespace
}  // namespace samscape
