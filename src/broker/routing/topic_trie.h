// TopicTrie: the index of a topic exchange (NATS "sublist" style): one trie
// level per word of the binding key, with separate edges for "*" and "#".
// Matching a routing key walks only the branches its words can take, so the
// cost grows with the key's length and the number of wildcard branches, not
// with the number of bindings.
//
// Words (RabbitMQ's split): "" has no words; otherwise a key with n dots has
// n+1 words, some of which may be empty ("a..b" is "a","","b"; "a." is
// "a",""). A binding word "*" matches exactly one word (possibly empty); "#"
// matches zero or more; any other word, including "a*", matches itself only.
//
// Invariants: every node but the root holds a value or has a child; a value
// sits in the node its pattern ends at, so each value is reported at most
// once per match (nodes reached through several "#" splits are deduplicated
// by the Scratch memo; see match()).
//
// Thread rules: not synchronised. match() is const and may run concurrently
// with other match() calls given distinct Scratch objects; insert/erase need
// exclusive access.
#pragma once

#include <algorithm>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <unordered_set>
#include <utility>
#include <vector>

namespace wharf::broker::routing {

// Appends the words of `key` to `out` (cleared first), viewing into `key`.
void split_words(std::string_view key, std::vector<std::string_view>* out);

// Hashing for maps keyed by std::string that are probed with string_view.
struct StringHash {
  using is_transparent = void;
  size_t operator()(std::string_view s) const noexcept { return std::hash<std::string_view>{}(s); }
};
struct StringEq {
  using is_transparent = void;
  bool operator()(std::string_view a, std::string_view b) const noexcept { return a == b; }
};

// Per-caller working memory for TopicTrie::match, reused across calls so a
// match allocates nothing once warm.
struct TopicScratch {
  std::vector<std::string_view> words;
  // States (hash node, word index) already visited in this match. Small
  // matches use the vector; past kLinear entries the set takes over so a
  // hostile "#.#.#..." key stays polynomial.
  static constexpr size_t kLinear = 32;
  std::vector<std::pair<const void*, uint32_t>> seen;
  struct PairHash {
    size_t operator()(const std::pair<const void*, uint32_t>& p) const noexcept {
      return std::hash<const void*>{}(p.first) * 31 + p.second;
    }
  };
  std::unordered_set<std::pair<const void*, uint32_t>, PairHash> seen_big;

  void reset() {
    seen.clear();
    seen_big.clear();
  }
  // True the first time (node, i) is offered since reset().
  bool first_visit(const void* node, uint32_t i) {
    auto p = std::make_pair(node, i);
    if (!seen_big.empty()) return seen_big.insert(p).second;
    for (auto& s : seen)
      if (s == p) return false;
    if (seen.size() < kLinear) {
      seen.push_back(p);
      return true;
    }
    seen_big.insert(seen.begin(), seen.end());
    return seen_big.insert(p).second;
  }
};

template <class T>
class TopicTrie {
 public:
  // Longest binding key accepted, in words: bounds the recursion of match().
  static constexpr size_t kMaxPatternWords = 1024;

  // Adds `value` under `pattern`. The caller keeps (pattern, value) pairs
  // unique. False (and nothing added) if the pattern has too many words.
  bool insert(std::string_view pattern, T value) {
    std::vector<std::string_view> words;
    split_words(pattern, &words);
    if (words.size() > kMaxPatternWords) return false;
    Node* n = &root_;
    for (auto w : words) n = child_for(n, w);
    n->values.push_back(std::move(value));
    ++size_;
    return true;
  }

  // Removes one (pattern, value) pair and prunes nodes left empty.
  bool erase(std::string_view pattern, const T& value) {
    std::vector<std::string_view> words;
    split_words(pattern, &words);
    std::vector<std::pair<Node*, std::string_view>> path;  // (parent, word leading to child)
    Node* n = &root_;
    for (auto w : words) {
      Node* c = find_child(n, w);
      if (!c) return false;
      path.emplace_back(n, w);
      n = c;
    }
    auto it = std::find(n->values.begin(), n->values.end(), value);
    if (it == n->values.end()) return false;
    *it = std::move(n->values.back());
    n->values.pop_back();
    --size_;
    for (size_t i = path.size(); i-- > 0;) {
      Node* child = find_child(path[i].first, path[i].second);
      if (!child->empty()) break;
      drop_child(path[i].first, path[i].second);
    }
    return true;
  }

  size_t size() const { return size_; }
  bool empty() const { return size_ == 0; }

  // Calls f(const T&) once for each value whose pattern matches `key`.
  template <class F>
  void match(std::string_view key, TopicScratch& s, F&& f) const {
    split_words(key, &s.words);
    s.reset();
    visit(&root_, 0, s, f);
  }

 private:
  struct Node {
    std::unordered_map<std::string, std::unique_ptr<Node>, StringHash, StringEq> words;
    std::unique_ptr<Node> star, hash;
    std::vector<T> values;
    bool empty() const { return values.empty() && words.empty() && !star && !hash; }
  };

  static Node* find_child(Node* n, std::string_view w) {
    if (w == "*") return n->star.get();
    if (w == "#") return n->hash.get();
    auto it = n->words.find(w);
    return it == n->words.end() ? nullptr : it->second.get();
  }
  static Node* child_for(Node* n, std::string_view w) {
    std::unique_ptr<Node>* slot;
    if (w == "*") slot = &n->star;
    else if (w == "#") slot = &n->hash;
    else slot = &n->words[std::string(w)];
    if (!*slot) *slot = std::make_unique<Node>();
    return slot->get();
  }
  static void drop_child(Node* n, std::string_view w) {
    if (w == "*") n->star.reset();
    else if (w == "#") n->hash.reset();
    else n->words.erase(n->words.find(w));
  }

  // State: `n` has consumed words [0, i). A "#" edge may consume any number
  // of further words, so it is entered at every i..size; only hash nodes can
  // be reached twice in the same state (the trie is a tree, and literal and
  // "*" edges advance deterministically), so only they are memoised.
  template <class F>
  static void visit(const Node* n, uint32_t i, TopicScratch& s, F& f) {
    const auto& w = s.words;
    if (i == w.size())
      for (const auto& v : n->values) f(v);
    if (n->hash) {
      const Node* h = n->hash.get();
      for (uint32_t j = i; j <= w.size(); ++j)
        if (s.first_visit(h, j)) visit(h, j, s, f);
    }
    if (i < w.size()) {
      if (!n->words.empty()) {
        auto it = n->words.find(w[i]);
        if (it != n->words.end()) visit(it->second.get(), i + 1, s, f);
      }
      if (n->star) visit(n->star.get(), i + 1, s, f);
    }
  }

  Node root_;
  size_t size_ = 0;
};

}  // namespace wharf::broker::routing
