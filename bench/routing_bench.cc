// Micro benchmarks of the routing registry (src/broker/routing): the publish
// path (route) per exchange type, and bulk declares (queues + bindings),
// in memory and with the metadata log on disk.
//
//   build/bench/wharf-routing-bench                      all of them
//   build/bench/wharf-routing-bench --benchmark_filter=Topic
//
// Figures are printed, never asserted (bench/README.md).
#include <benchmark/benchmark.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <string>

#include "broker/routing/registry.h"

namespace routing = wharf::broker::routing;
using routing::BindingDef;
using routing::DestKind;
using routing::ExchangeDef;
using routing::ExchangeType;
using routing::QueueDeclare;
using routing::Registry;
using routing::RouteResult;
using routing::Table;

namespace {

std::unique_ptr<Registry> memory_registry() {
  auto r = Registry::open(routing::RegistryOptions{});
  if (!r.ok()) std::abort();
  return std::move(*r);
}

void must(const wharf::status& s) {
  if (!s.ok()) {
    std::fprintf(stderr, "%s\n", s.error().message.c_str());
    std::abort();
  }
}

void declare(Registry& r, const std::string& name, bool durable = false) {
  QueueDeclare d;
  d.name = name;
  d.durable = durable;
  if (!r.declare_queue("/", d, 1).ok()) std::abort();
}

void bind_queue(Registry& r, const std::string& x, const std::string& q, const std::string& key, Table args = {}) {
  must(r.bind("/", BindingDef{x, DestKind::kQueue, q, key, std::move(args)}));
}

// 10,000 topic bindings shaped like a real application's: "svcN.evM.*",
// "svcN.evM.#", "svcN.evM.eK" over 100 services and 10 event kinds, plus a
// few catch-alls ("#.audit", "svc7.#").
std::unique_ptr<Registry> topic_registry(int bindings) {
  auto r = memory_registry();
  for (int i = 0; i < bindings; ++i) {
    std::string q = "q" + std::to_string(i);
    declare(*r, q);
    std::string key = "svc" + std::to_string(i % 100) + ".ev" + std::to_string((i / 100) % 10) + ".";
    key += i % 3 == 0 ? "*" : i % 3 == 1 ? "#" : "e" + std::to_string(i / 1000);
    bind_queue(*r, "amq.topic", q, key);
  }
  declare(*r, "audit");
  bind_queue(*r, "amq.topic", "audit", "#.audit");
  bind_queue(*r, "amq.topic", "audit", "svc7.#");
  return r;
}

void BM_TopicRoute(benchmark::State& state) {
  auto r = topic_registry(int(state.range(0)));
  RouteResult out;
  const std::string keys[] = {"svc42.ev7.e3", "svc7.ev1.x.audit", "nobody.listens.here", "svc99.ev9.e9"};
  size_t i = 0, routed = 0;
  for (auto _ : state) {
    auto st = r->route("/", "amq.topic", keys[i++ & 3], nullptr, &out);
    benchmark::DoNotOptimize(st);
    routed += out.size();
  }
  state.SetItemsProcessed(int64_t(state.iterations()));
  state.counters["dests/msg"] = double(routed) / double(state.iterations());
}
BENCHMARK(BM_TopicRoute)->Arg(100)->Arg(10000);

void BM_DirectRoute(benchmark::State& state) {
  auto r = memory_registry();
  for (int i = 0; i < 10000; ++i) {
    std::string q = "q" + std::to_string(i);
    declare(*r, q);
    bind_queue(*r, "amq.direct", q, "key-" + std::to_string(i));
  }
  RouteResult out;
  const std::string key = "key-4242";
  for (auto _ : state) {
    auto st = r->route("/", "amq.direct", key, nullptr, &out);
    benchmark::DoNotOptimize(st);
  }
  state.SetItemsProcessed(int64_t(state.iterations()));
}
BENCHMARK(BM_DirectRoute);

void BM_DefaultExchangeRoute(benchmark::State& state) {
  auto r = memory_registry();
  for (int i = 0; i < 10000; ++i) declare(*r, "queue-" + std::to_string(i));
  RouteResult out;
  const std::string key = "queue-4242";
  for (auto _ : state) {
    auto st = r->route("/", "", key, nullptr, &out);
    benchmark::DoNotOptimize(st);
  }
  state.SetItemsProcessed(int64_t(state.iterations()));
}
BENCHMARK(BM_DefaultExchangeRoute);

void BM_FanoutRoute(benchmark::State& state) {
  auto r = memory_registry();
  for (int i = 0; i < state.range(0); ++i) {
    std::string q = "fanout-queue-" + std::to_string(i);
    declare(*r, q);
    bind_queue(*r, "amq.fanout", q, "");
  }
  RouteResult out;
  for (auto _ : state) {
    auto st = r->route("/", "amq.fanout", "k", nullptr, &out);
    benchmark::DoNotOptimize(st);
  }
  state.SetItemsProcessed(int64_t(state.iterations()));
}
BENCHMARK(BM_FanoutRoute)->Arg(1)->Arg(10)->Arg(1000);

void BM_HeadersRoute(benchmark::State& state) {
  auto r = memory_registry();
  for (int i = 0; i < 100; ++i) {
    std::string q = "q" + std::to_string(i);
    declare(*r, q);
    Table args;
    args.set("x-match", i % 2 ? "any" : "all");
    args.set("region", "r" + std::to_string(i % 10));
    args.set("kind", int32_t(i % 7));
    bind_queue(*r, "amq.headers", q, "", std::move(args));
  }
  Table headers;
  headers.set("kind", int64_t(3));
  headers.set("region", "r3");
  headers.set("trace-id", "abcdef");
  RouteResult out;
  for (auto _ : state) {
    auto st = r->route("/", "amq.headers", "", &headers, &out);
    benchmark::DoNotOptimize(st);
  }
  state.SetItemsProcessed(int64_t(state.iterations()));
}
BENCHMARK(BM_HeadersRoute);

// 10,000 queue.declare + queue.bind (topic), as the issue's "declaring 10,000
// queues with bindings" figure; the registry's share of it. With range(0)=1
// the queues are durable and the metadata log is on disk (ending with a
// flush(), i.e. an fdatasync), with 0 transient and in memory.
void BM_Declare10kQueuesWithBindings(benchmark::State& state) {
  const bool durable = state.range(0) != 0;
  for (auto _ : state) {
    state.PauseTiming();
    std::string dir;
    routing::RegistryOptions o;
    if (durable) {
      char tmpl[] = "/tmp/wharf_routing_bench_XXXXXX";
      dir = ::mkdtemp(tmpl);
      o.meta_dir = dir + "/meta";
    }
    auto opened = Registry::open(o);
    if (!opened.ok()) std::abort();
    auto r = std::move(*opened);
    state.ResumeTiming();
    for (int i = 0; i < 10000; ++i) {
      std::string q = "app.queue." + std::to_string(i);
      declare(*r, q, durable);
      bind_queue(*r, "amq.topic", q, "app.events." + std::to_string(i) + ".#");
    }
    must(r->flush());
    state.PauseTiming();
    r.reset();
    if (durable) std::filesystem::remove_all(dir);
    state.ResumeTiming();
  }
}
BENCHMARK(BM_Declare10kQueuesWithBindings)->Arg(0)->Arg(1)->Unit(benchmark::kMillisecond)->Iterations(3);

}  // namespace

BENCHMARK_MAIN();
