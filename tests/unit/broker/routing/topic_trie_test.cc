#include "broker/routing/topic_trie.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <string>
#include <vector>

namespace wharf::broker::routing {
namespace {

std::vector<int> match(const TopicTrie<int>& t, std::string_view key) {
  TopicScratch s;
  std::vector<int> out;
  t.match(key, s, [&](int v) { out.push_back(v); });
  std::sort(out.begin(), out.end());
  return out;
}

TEST(SplitWords, FollowsRabbitMQ) {
  std::vector<std::string_view> w;
  split_words("", &w);
  EXPECT_TRUE(w.empty());
  split_words("a", &w);
  EXPECT_EQ(w, (std::vector<std::string_view>{"a"}));
  split_words("a..b", &w);
  EXPECT_EQ(w, (std::vector<std::string_view>{"a", "", "b"}));
  split_words(".", &w);
  EXPECT_EQ(w, (std::vector<std::string_view>{"", ""}));
  split_words("a.", &w);
  EXPECT_EQ(w, (std::vector<std::string_view>{"a", ""}));
}

struct Case {
  const char* pattern;
  const char* key;
  bool matches;
};

// RabbitMQ topic semantics, edge cases included.
const Case kCases[] = {
    {"a.b.c", "a.b.c", true},   {"a.b.c", "a.b", false},     {"a.b.c", "a.b.c.d", false},
    {"a.*.c", "a.b.c", true},   {"a.*.c", "a.c", false},     {"a.*.c", "a..c", true},
    {"*", "", false},           {"*", "a", true},            {"*", "a.b", false},
    {"*", ".", false},          {"*.*", ".", true},          {"#", "", true},
    {"#", "a", true},           {"#", "a.b.c", true},        {"#", ".", true},
    {"a.#", "a", true},         {"a.#", "a.b.c", true},      {"a.#", "b", false},
    {"a.#", "ab", false},       {"a.#", "a.", true},         {"#.a", "a", true},
    {"#.a", "x.y.a", true},     {"#.a", "x.a.y", false},     {"a.#.b", "a.b", true},
    {"a.#.b", "a.x.b", true},   {"a.#.b", "a.x.y.b", true},  {"a.#.b", "a.b.x", false},
    {"a.#.b", "a.b.b", true},   {"a.#.b", "a", false},       {"#.#", "", true},
    {"#.#", "a.b", true},       {"#.*", "", false},          {"#.*", "a", true},
    {"#.*", "a.b.c", true},     {"*.#", "a", true},          {"*.#", "", false},
    {"*.#.*", "a", false},      {"*.#.*", "a.b", true},      {"*.#.*", "a.b.c.d", true},
    {"", "", true},             {"", "a", false},            {"", ".", false},
    {"a.", "a.", true},         {"a.", "a", false},          {".a", ".a", true},
    {".a", "a", false},         {"a..b", "a..b", true},      {"a..b", "a.b", false},
    {"a.*", "a.", true},        {"a*", "ab", false},         {"a*", "a*", true},
    {"a#", "a.b", false},       {"#.b.#", "a.b.c", true},    {"#.b.#", "b", true},
    {"#.b.#", "a.c", false},    {"#.#.#.a", "a", true},      {"#.#.#.a", "b.a.a", true},
    {"stock.*.nyse", "stock.ibm.nyse", true}, {"stock.*.nyse", "stock.nyse", false},
};

TEST(TopicTrie, MatchesLikeRabbitMQ) {
  for (const auto& c : kCases) {
    TopicTrie<int> t;
    ASSERT_TRUE(t.insert(c.pattern, 1));
    EXPECT_EQ(!match(t, c.key).empty(), c.matches) << "pattern '" << c.pattern << "' key '" << c.key << "'";
  }
}

TEST(TopicTrie, AllCasesInOneTrie) {
  // The same table with every pattern in one trie: the matches of a key are
  // exactly the patterns that match it alone.
  TopicTrie<int> t;
  int n = 0;
  for (const auto& c : kCases) ASSERT_TRUE(t.insert(c.pattern, n++));
  for (const auto& probe : kCases) {
    std::vector<int> want;
    for (int i = 0; i < n; ++i) {
      TopicTrie<int> one;
      ASSERT_TRUE(one.insert(kCases[i].pattern, i));
      if (!match(one, probe.key).empty()) want.push_back(i);
    }
    EXPECT_EQ(match(t, probe.key), want) << "key '" << probe.key << "'";
  }
}

TEST(TopicTrie, EachValueReportedOnceEvenThroughManyHashSplits) {
  TopicTrie<int> t;
  t.insert("#.#.#", 1);
  t.insert("#.a.#", 2);
  t.insert("#", 3);
  EXPECT_EQ(match(t, "a.a.a.a.a"), (std::vector<int>{1, 2, 3}));
  EXPECT_EQ(match(t, ""), (std::vector<int>{1, 3}));
}

TEST(TopicTrie, HostilePatternStaysFast) {
  // 64 "#" words against a 128-word key would be exponential without the
  // memo of (node, position) states; with it this returns at once.
  std::string pattern, key;
  for (int i = 0; i < 64; ++i) pattern += i ? ".#" : "#";
  pattern += ".z";
  for (int i = 0; i < 128; ++i) key += i ? ".a" : "a";
  TopicTrie<int> t;
  t.insert(pattern, 1);
  EXPECT_TRUE(match(t, key).empty());
  EXPECT_EQ(match(t, key + ".z"), std::vector<int>{1});
}

TEST(TopicTrie, EraseRemovesOnlyThatValueAndPrunes) {
  TopicTrie<int> t;
  t.insert("a.*", 1);
  t.insert("a.*", 2);
  t.insert("a.#", 3);
  EXPECT_EQ(t.size(), 3u);
  EXPECT_TRUE(t.erase("a.*", 1));
  EXPECT_FALSE(t.erase("a.*", 1));
  EXPECT_FALSE(t.erase("b.*", 2));
  EXPECT_EQ(match(t, "a.b"), (std::vector<int>{2, 3}));
  EXPECT_TRUE(t.erase("a.*", 2));
  EXPECT_TRUE(t.erase("a.#", 3));
  EXPECT_TRUE(t.empty());
  EXPECT_TRUE(match(t, "a.b").empty());
  t.insert("a.*", 4);  // the pruned path can be rebuilt
  EXPECT_EQ(match(t, "a.b"), std::vector<int>{4});
}

TEST(TopicTrie, ManyBindingsOnlyMatchingOnesReported) {
  TopicTrie<int> t;
  for (int i = 0; i < 10000; ++i) t.insert("stock." + std::to_string(i) + ".*", i);
  t.insert("stock.#", -1);
  EXPECT_EQ(match(t, "stock.4242.nyse"), (std::vector<int>{-1, 4242}));
  EXPECT_EQ(match(t, "stock.x.nyse"), std::vector<int>{-1});
}

TEST(TopicTrie, RefusesPatternsDeeperThanTheLimit) {
  std::string deep;
  for (size_t i = 0; i <= TopicTrie<int>::kMaxPatternWords; ++i) deep += i ? ".a" : "a";
  TopicTrie<int> t;
  EXPECT_FALSE(t.insert(deep, 1));
  EXPECT_TRUE(t.empty());
}

}  // namespace
}  // namespace wharf::broker::routing
