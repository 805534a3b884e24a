// Registry: the protocol-neutral entity model shared by the AMQP and STOMP
// front ends (and the admin API): vhosts, users and permissions, exchanges,
// queue definitions and bindings, and route(), which turns (exchange,
// routing key, headers) into the set of queues and Kafka topics a message
// goes to. RabbitMQ's semantics throughout; see the per-method comments.
//
// ---------------------------------------------------------------------------
// Thread model ("big-reader lock")
//
// One Registry serves every shard. Its state is guarded by a mutation mutex
// `mu_` plus one reader slot per shard (each a mutex on its own cache line),
// and one more slot shared by threads that are not shards:
//
//   reads   (route, check, authenticate, find_*, list_*) lock only the
//           calling shard's slot. No other shard ever takes that mutex
//           except a writer, so the publish path does not contend across
//           cores and costs one uncontended lock/unlock.
//   writes  (declare, bind, delete, users, ...) lock mu_, then every slot in
//           index order, change the graph in place (O(log n) / O(1) per
//           entity: no copy of the table per change), queue the metadata
//           record, and unlock. They briefly stall readers on all shards
//           (microseconds), which is why they are per-entity operations and
//           never per message.
//
// Lock order: mu_, then slots 0..N, then MetaStore::mu_. No callback runs
// under any of them. Every public method may be called from any thread; none
// blocks on I/O except flush().
//
// Visibility: a mutation is visible to every later route()/find on any
// thread as soon as it returns (the lock hand-off orders it), so a front end
// may answer declare-ok/bind-ok immediately and a publish that follows
// routes accordingly.
//
// ---------------------------------------------------------------------------
// Durability (see meta_store.h for the files)
//
// Durable vhosts (all), users, permissions, durable exchanges, durable queue
// definitions and durable bindings (between durable ends) are written to
// <meta_dir>/routing.{json,log}; transient ones live in memory only. Each
// change of durable state gets a sequence number (last_seq()); it is on disk
// once durable_seq() >= that number, which happens within flush_interval_ms
// (the broker passes durability.flush_interval_ms, 100 ms) on its own, or as
// soon as possible after flush() / flush_async() is called; many changes
// share one fdatasync. 10,000 declares
// cost 10,000 small appends and a few fdatasyncs, never 10,000 rewrites.
// Suggested use: answer declare-ok at once (RabbitMQ does not fsync its
// metadata per declare either), but before confirming a persistent message
// into a durable queue make sure durable_seq() >= QueueDef::seq (else
// flush_async() first), so a confirmed message never outlives its queue's
// definition on disk.
//
// ---------------------------------------------------------------------------
// Errors: result<T>/status with these Errc codes (base/error.h) and a message
// worded like RabbitMQ's, ready to be sent to the client:
//
//   Errc                  AMQP reply           when
//   kNotFound             404 NOT_FOUND        passive declare / bind / publish
//                                              to a missing exchange or queue
//   kAccessRefused        403 ACCESS_REFUSED   "amq." names, the default
//                                              exchange, internal exchange,
//                                              authentication failure
//   kResourceLocked       405 RESOURCE_LOCKED  another connection's exclusive queue
//   kPreconditionFailed   406 PRECONDITION_FAILED  inequivalent re-declare,
//                                              bad argument, delete if-unused
//   kUnsupported          503 COMMAND_INVALID  unknown exchange type
//   kNotAllowed           530 NOT_ALLOWED      vhost missing or not permitted
//   kInvalidArgument      (admin API 400)      bad regex, empty name, ...
//   kAlreadyExists        (admin API 409)      create of an existing vhost/user
//   kIo, kShuttingDown    541 INTERNAL_ERROR   flush(): the metadata write
//                                              failed / the writer stopped
//
// The registry does not check permissions itself: the front end calls
// check() with the resource RabbitMQ checks for each method, then the method.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include <nlohmann/json_fwd.hpp>

#include "base/result.h"
#include "broker/routing/binding.h"
#include "broker/routing/exchange.h"
#include "broker/routing/queue_def.h"
#include "broker/routing/route_result.h"
#include "broker/routing/user.h"
#include "broker/routing/value.h"

namespace wharf::broker::routing {

class MetaStore;
class JsonObject;
struct Vhost;
struct QueueNode;

struct RegistryOptions {
  std::string meta_dir;                   // "" = in memory only (tests, benchmarks)
  unsigned reader_slots = 1;              // the number of shards (Shards::count())
  int64_t flush_interval_ms = 200;        // see "Durability" above
  uint64_t compact_min_bytes = 1 << 20;   // the log may grow to max(this, snapshot size)
  bool create_defaults = true;            // first start: vhost "/", user guest/guest
};

inline constexpr std::string_view kDefaultVhost = "/";
inline constexpr std::string_view kDefaultUser = "guest";

struct QueueRef {
  std::string vhost;
  std::string name;
  bool operator==(const QueueRef&) const = default;
};

struct QueueDeclareOk {
  QueueDef queue;        // as stored (the generated name for server-named queues)
  bool created = false;  // false: it existed and the declare was equivalent
};

struct PermissionDef {
  std::string user, vhost, configure, write, read;
  bool operator==(const PermissionDef&) const = default;
};

class Registry {
 public:
  // Loads <meta_dir>/routing.* (creating the directory) and starts the
  // metadata writer. On the very first start (no files) with
  // create_defaults: vhost "/" and user guest/guest, tag administrator,
  // loopback only, permissions ".*" ".*" ".*" on "/".
  static result<std::unique_ptr<Registry>> open(RegistryOptions o);
  // Writes what is pending (like flush()) and stops the writer.
  ~Registry();
  Registry(const Registry&) = delete;
  Registry& operator=(const Registry&) = delete;

  // ---- Virtual hosts ------------------------------------------------------
  // A new vhost has the built-in exchanges and no permissions.
  status create_vhost(std::string_view name);  // kAlreadyExists, kInvalidArgument ("")
  // Removes the vhost with all its entities and permissions. Returns the
  // queues that went with it so the caller can drop their messages.
  result<std::vector<QueueRef>> delete_vhost(std::string_view name);  // kNotFound
  bool has_vhost(std::string_view name) const;
  std::vector<std::string> list_vhosts() const;

  // ---- Users and permissions ----------------------------------------------
  // An empty password creates a user who cannot log in with a password.
  status add_user(std::string_view name, std::string_view password, std::vector<std::string> tags = {},
                  bool loopback_only = false);  // kAlreadyExists, kInvalidArgument ("")
  // Imports a hash in RabbitMQ's rabbit_password_hashing_sha256 format.
  status add_user_with_hash(std::string_view name, std::string_view password_hash, std::vector<std::string> tags,
                            bool loopback_only = false);
  status set_password(std::string_view name, std::string_view password);       // kNotFound
  status set_tags(std::string_view name, std::vector<std::string> tags);        // kNotFound
  status set_loopback_only(std::string_view name, bool loopback_only);          // kNotFound
  status delete_user(std::string_view name);  // kNotFound; drops the user's permissions
  result<User> find_user(std::string_view name) const;
  std::vector<User> list_users() const;
  // kNotFound (user or vhost), kInvalidArgument (an expression that does not compile).
  status set_permissions(std::string_view user, std::string_view vhost, std::string configure, std::string write,
                         std::string read);
  status clear_permissions(std::string_view user, std::string_view vhost);  // kNotFound if none
  std::vector<PermissionDef> list_permissions() const;

  // ---- Authentication and authorisation -----------------------------------
  // kAccessRefused when the user is unknown, has no password, or it does not
  // match (one message for all three). The caller enforces loopback_only.
  result<User> authenticate(std::string_view user, std::string_view password) const;
  // connection.open: kNotAllowed when the vhost does not exist or the user
  // has no permissions entry on it.
  status check_vhost_access(std::string_view user, std::string_view vhost) const;
  // Whether `user` may do `perm` on the exchange or queue `resource` of
  // `vhost` (RabbitMQ semantics, user.h). The default exchange "" is checked
  // under the name "amq.default", as RabbitMQ does. Costs a regex search:
  // cache per channel (RabbitMQ keeps the last few per channel) and drop the
  // cache when auth_generation() changes.
  bool check(std::string_view user, std::string_view vhost, Perm perm, std::string_view resource) const;
  // Increases on every change of users or permissions.
  uint64_t auth_generation() const { return auth_generation_.load(std::memory_order_acquire); }

  // ---- Exchanges -----------------------------------------------------------
  // exchange.declare. Non-passive: creates `def` or, when it exists, checks
  // that type, durable, auto_delete, internal and the alternate-exchange
  // argument are equivalent (kPreconditionFailed). "" and new names starting
  // with "amq." are kAccessRefused; a non-text alternate-exchange is
  // kPreconditionFailed. Passive: only def.name is read; kNotFound if
  // missing, kAccessRefused for "". Returns the stored definition.
  result<ExchangeDef> declare_exchange(std::string_view vhost, const ExchangeDef& def, bool passive = false);
  // exchange.delete: kAccessRefused for "" and amq.*, kNotFound if missing
  // (RabbitMQ answers delete-ok then; the front end decides),
  // kPreconditionFailed with if_unused while it is the source of a binding.
  // Removes the bindings from and to it; sources left without bindings that
  // are auto-delete go too.
  status delete_exchange(std::string_view vhost, std::string_view name, bool if_unused = false);
  result<ExchangeDef> find_exchange(std::string_view vhost, std::string_view name) const;  // kNotFound
  std::vector<ExchangeDef> list_exchanges(std::string_view vhost) const;  // built-ins included

  // ---- Queue definitions ---------------------------------------------------
  // queue.declare. `owner` identifies the calling connection (needed for
  // exclusive queues and the exclusivity checks; kNoOwner is refused with
  // kInvalidArgument for an exclusive declare).
  //   passive      kNotFound if missing; kResourceLocked if it is another
  //                connection's exclusive queue
  //   name ""      server-named: "amq.gen-" + 22 random URL-safe base64
  //                characters (kPreconditionFailed for quorum/stream types)
  //   "amq.*"      kAccessRefused (non-passive, even if it exists, as RabbitMQ)
  //   existing     kResourceLocked unless exclusivity and owner match
  //                exactly; kPreconditionFailed on durable / auto_delete /
  //                argument mismatch (queue_def.h)
  //   new          arguments validated (kPreconditionFailed); exclusive
  //                implies transient
  result<QueueDeclareOk> declare_queue(std::string_view vhost, const QueueDeclare& d, OwnerToken owner);
  result<QueueDef> find_queue(std::string_view vhost, std::string_view name) const;  // kNotFound
  // For consume, get, purge, delete, bind: kNotFound if missing,
  // kResourceLocked if exclusive to another connection.
  result<QueueDef> access_queue(std::string_view vhost, std::string_view name, OwnerToken owner) const;
  // queue.delete after the front end checked if-unused/if-empty with the queue
  // engine: access_queue's errors, then removes the definition and its
  // bindings (and auto-delete exchanges left without bindings). Returns the
  // removed definition.
  result<QueueDef> delete_queue(std::string_view vhost, std::string_view name, OwnerToken owner);
  // Unconditional removal (x-expires, the queue engine giving up a queue).
  // False if there was no such queue.
  bool remove_queue(std::string_view vhost, std::string_view name);
  // The connection `owner` closed: its exclusive queues are deleted; returned
  // so the caller can drop their messages and consumers.
  std::vector<QueueRef> connection_closed(OwnerToken owner);
  // The last consumer of the queue went away: an auto-delete queue is
  // deleted (true). Call only for queues that had a consumer, as RabbitMQ
  // deletes an auto-delete queue only once it has been consumed from.
  bool last_consumer_gone(std::string_view vhost, std::string_view name);
  std::vector<QueueDef> list_queues(std::string_view vhost) const;

  // ---- Bindings ------------------------------------------------------------
  // queue.bind / exchange.bind / binding to a Kafka topic. kAccessRefused if
  // source or destination is the default exchange; kNotFound for a missing
  // source exchange, destination queue or exchange (a Kafka topic is not
  // checked: the caller knows the topic table); kResourceLocked for another
  // connection's exclusive queue; kPreconditionFailed for a headers binding
  // with a bad x-match; kInvalidArgument for a topic pattern over
  // TopicTrie::kMaxPatternWords words. Binding an existing tuple is a no-op.
  status bind(std::string_view vhost, const BindingDef& b, OwnerToken owner = kNoOwner);
  // queue.unbind / exchange.unbind: the same checks; a binding that does not
  // exist is not an error (as RabbitMQ). An auto-delete source left without
  // bindings is deleted.
  status unbind(std::string_view vhost, const BindingDef& b, OwnerToken owner = kNoOwner);
  std::vector<BindingDef> list_bindings(std::string_view vhost) const;
  // A Kafka topic was deleted: drops every binding to it in every vhost.
  // Returns how many.
  size_t remove_topic(std::string_view topic);

  // ---- Routing -------------------------------------------------------------
  // basic.publish: the queues and Kafka topics a message published to
  // `exchange` with `routing_key` (and `headers`, may be null) goes to,
  // written into `out` (each once). RabbitMQ's walk: each reached exchange
  // routes by its type; exchange destinations are followed, each exchange at
  // most once (cycles end there); an exchange none of whose bindings matched
  // hands the message to its alternate exchange, if that exists (internal or
  // not), recursively. The default exchange "" routes to the queue named by
  // the key if it exists.
  // Errors: kNotFound (vhost or exchange missing), kAccessRefused (internal
  // exchange). An empty result is not an error (mandatory handling is the
  // front end's).
  // Cost: direct O(1) per key, fanout O(destinations), topic independent of
  // the number of non-matching bindings; no allocation once `out` is warm.
  status route(std::string_view vhost, std::string_view exchange, std::string_view routing_key, const Table* headers,
               RouteResult* out) const;
  // The same with several routing keys (AMQP CC/BCC headers): the union.
  status route(std::string_view vhost, std::string_view exchange, std::span<const std::string_view> routing_keys,
               const Table* headers, RouteResult* out) const;

  // ---- Durability ----------------------------------------------------------
  uint64_t last_seq() const { return last_seq_.load(std::memory_order_acquire); }
  uint64_t durable_seq() const;
  // Blocks until every change made before the call is on disk. Blocks the
  // calling thread for an fdatasync: not for shard threads on a hot path.
  status flush();
  // Calls done(status) once every change made before the call is on disk:
  // inline if it already is, else on the metadata writer's thread (post back
  // to your shard from there).
  void flush_async(std::function<void(status)> done);

 private:
  class ReadLock;
  class WriteLock;
  struct UserRec;
  struct alignas(64) Slot {
    std::mutex mu;
  };

  explicit Registry(RegistryOptions o);
  size_t slot_index() const;

  // All *_locked helpers: REQUIRES mu_ and every slot held (WriteLock),
  // except the const ones, which need mu_ or one slot.
  Vhost* vhost_locked(std::string_view name) const;
  Vhost* add_vhost_locked(std::string name);
  Exchange* add_exchange_locked(Vhost* vh, ExchangeDef def);
  QueueNode* add_queue_locked(Vhost* vh, QueueDef def);
  result<Binding*> add_binding_locked(Vhost* vh, const BindingDef& def, OwnerToken owner, bool* created);
  Node* dest_locked(Vhost* vh, DestKind kind, std::string_view name) const;
  void drop_binding_locked(Vhost* vh, Binding* b);
  void drop_exchange_locked(Vhost* vh, Exchange* x, std::vector<std::string>* touched);
  void drop_queue_locked(Vhost* vh, QueueNode* q, std::vector<std::string>* touched);
  void auto_delete_locked(Vhost* vh, std::vector<std::string> touched);
  // Removes and logs, then auto-deletes; the live (non-replay) paths.
  void delete_queue_live_locked(Vhost* vh, QueueNode* q);
  void delete_exchange_live_locked(Vhost* vh, Exchange* x);
  void erase_vhost_locked(std::string_view name);
  void put_user_locked(UserRec rec);
  status check_exclusive_locked(std::string_view vhost, const QueueDef& q, OwnerToken owner) const;

  // Persistence. log_locked assigns the next seq and queues the record.
  uint64_t log_locked(const char* op, const JsonObject& fields);
  status apply_record(const nlohmann::json& rec);
  status apply_snapshot(const nlohmann::json& snap);
  std::string snapshot_locked(uint64_t* seq) const;
  void create_defaults_locked();

  RegistryOptions opts_;
  mutable std::mutex mu_;  // serialises mutations (and snapshots)
  std::unique_ptr<Slot[]> slots_;
  size_t nslots_;  // reader_slots + 1 (the last one for non-shard threads)

  // GUARDED_BY(mu_ for writes; mu_ or any slot for reads)
  std::map<std::string, std::unique_ptr<Vhost>, std::less<>> vhosts_;
  std::map<std::string, std::unique_ptr<UserRec>, std::less<>> users_;
  std::unordered_map<OwnerToken, std::set<std::pair<std::string, std::string>>> exclusive_;

  std::atomic<uint64_t> last_seq_{0};
  std::atomic<uint64_t> auth_generation_{1};
  std::unique_ptr<MetaStore> store_;  // null in memory-only mode
};

}  // namespace wharf::broker::routing
