#include "broker/routing/queue_def.h"

#include <functional>

namespace wharf::broker::routing {

std::string queue_phrase(std::string_view vhost, std::string_view name) {
  return "queue '" + std::string(name) + "' in vhost '" + std::string(vhost) + "'";
}

std::string exchange_phrase(std::string_view vhost, std::string_view name) {
  return "exchange '" + std::string(name) + "' in vhost '" + std::string(vhost) + "'";
}

std::string_view QueueDef::queue_type() const {
  const Value* v = arguments.find("x-queue-type");
  const std::string* s = v ? v->as_string() : nullptr;
  return s ? std::string_view(*s) : std::string_view("classic");
}

namespace {

// Returns "" when the value is acceptable, else why not.
using Check = std::function<std::string(const Value&, const Table&)>;

std::string need_int(const Value& v, int64_t min, int64_t max) {
  auto i = v.as_int();
  if (!i) return "expected an integer, got " + describe(v);
  if (*i < min) return "value " + std::to_string(*i) + " is below " + std::to_string(min);
  if (*i > max) return "value " + std::to_string(*i) + " is above " + std::to_string(max);
  return "";
}

std::string need_string(const Value& v) {
  return v.as_string() ? "" : "expected longstr, got " + describe(v);
}

std::string need_one_of(const Value& v, std::initializer_list<std::string_view> allowed) {
  const std::string* s = v.as_string();
  if (!s) return "expected longstr, got " + describe(v);
  for (auto a : allowed)
    if (*s == a) return "";
  return "unsupported value \"" + *s + "\"";
}

struct ArgRule {
  std::string_view name;
  Check check;
};

const std::vector<ArgRule>& rules() {
  static const std::vector<ArgRule> r = {
      {"x-expires", [](const Value& v, const Table&) { return need_int(v, 1, INT64_MAX); }},
      {"x-message-ttl", [](const Value& v, const Table&) { return need_int(v, 0, INT64_MAX); }},
      {"x-dead-letter-exchange", [](const Value& v, const Table&) { return need_string(v); }},
      {"x-dead-letter-routing-key",
       [](const Value& v, const Table& all) -> std::string {
         if (auto e = need_string(v); !e.empty()) return e;
         if (!all.find("x-dead-letter-exchange")) return "x-dead-letter-routing-key needs x-dead-letter-exchange";
         return "";
       }},
      {"x-max-length", [](const Value& v, const Table&) { return need_int(v, 0, INT64_MAX); }},
      {"x-max-length-bytes", [](const Value& v, const Table&) { return need_int(v, 0, INT64_MAX); }},
      {"x-max-in-memory-length", [](const Value& v, const Table&) { return need_int(v, 0, INT64_MAX); }},
      {"x-max-in-memory-bytes", [](const Value& v, const Table&) { return need_int(v, 0, INT64_MAX); }},
      {"x-max-priority", [](const Value& v, const Table&) { return need_int(v, 0, 255); }},
      {"x-overflow",
       [](const Value& v, const Table&) { return need_one_of(v, {"drop-head", "reject-publish", "reject-publish-dlx"}); }},
      {"x-queue-mode", [](const Value& v, const Table&) { return need_one_of(v, {"default", "lazy"}); }},
      {"x-single-active-consumer",
       [](const Value& v, const Table&) -> std::string {
         return v.is<bool>() ? "" : "expected bool, got " + describe(v);
       }},
      {"x-queue-type", [](const Value& v, const Table&) { return need_one_of(v, {"classic", "quorum", "stream"}); }},
      {"x-max-age", [](const Value& v, const Table&) { return need_string(v); }},
      {"x-stream-max-segment-size-bytes", [](const Value& v, const Table&) { return need_int(v, 0, INT64_MAX); }},
      {"x-initial-cluster-size", [](const Value& v, const Table&) { return need_int(v, 1, INT64_MAX); }},
      {"x-quorum-initial-group-size", [](const Value& v, const Table&) { return need_int(v, 1, INT64_MAX); }},
      {"x-queue-leader-locator", [](const Value& v, const Table&) { return need_string(v); }},
  };
  return r;
}

std::string flag(bool b) { return b ? "'true'" : "'false'"; }

std::string arg_phrase(const Value* v) {
  if (!v) return "none";
  std::string d = describe(*v);
  return "the value " + d;
}

}  // namespace

status validate_queue_arguments(const QueueDeclare& d, std::string_view what) {
  for (const auto& rule : rules()) {
    const Value* v = d.arguments.find(rule.name);
    if (!v) continue;
    std::string why = rule.check(*v, d.arguments);
    if (!why.empty())
      return make_error(Errc::kPreconditionFailed,
                        "invalid arg '" + std::string(rule.name) + "' for " + std::string(what) + ": " + why);
  }
  // Replicated queue types are durable, shared and long-lived by definition.
  const Value* t = d.arguments.find("x-queue-type");
  const std::string* type = t ? t->as_string() : nullptr;
  if (type && (*type == "quorum" || *type == "stream")) {
    auto bad = [&](std::string_view prop) {
      return make_error(Errc::kPreconditionFailed,
                        "invalid property '" + std::string(prop) + "' for " + std::string(what));
    };
    if (d.exclusive) return bad("exclusive");
    if (d.auto_delete) return bad("auto-delete");
    if (!d.durable) return bad("non-durable");
  }
  return {};
}

status check_queue_equivalence(const QueueDef& q, const QueueDeclare& d, std::string_view what) {
  bool durable = d.durable && !d.exclusive;
  auto inequivalent = [&](std::string_view arg, const std::string& received, const std::string& current) {
    return make_error(Errc::kPreconditionFailed, "inequivalent arg '" + std::string(arg) + "' for " +
                                                     std::string(what) + ": received " + received +
                                                     " but current is " + current);
  };
  if (q.durable != durable) return inequivalent("durable", flag(durable), flag(q.durable));
  if (q.auto_delete != d.auto_delete) return inequivalent("auto_delete", flag(d.auto_delete), flag(q.auto_delete));
  static const Value kClassic = std::string("classic");
  for (auto key : kEquivalenceArgs) {
    const Value* cur = q.arguments.find(key);
    const Value* got = d.arguments.find(key);
    if (key == "x-queue-type") {
      if (!cur) cur = &kClassic;
      if (!got) got = &kClassic;
    }
    if (!cur && !got) continue;
    if (cur && got && equivalent(*cur, *got)) continue;
    return inequivalent(key, arg_phrase(got), arg_phrase(cur));
  }
  return {};
}

}  // namespace wharf::broker::routing
