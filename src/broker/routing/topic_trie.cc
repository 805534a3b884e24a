#include "broker/routing/topic_trie.h"

namespace wharf::broker::routing {

void split_words(std::string_view key, std::vector<std::string_view>* out) {
  out->clear();
  if (key.empty()) return;  // RabbitMQ: the empty key has no words at all
  size_t start = 0;
  for (;;) {
    size_t dot = key.find('.', start);
    if (dot == std::string_view::npos) {
      out->push_back(key.substr(start));
      return;
    }
    out->push_back(key.substr(start, dot - start));
    start = dot + 1;
  }
}

}  // namespace wharf::broker::routing
