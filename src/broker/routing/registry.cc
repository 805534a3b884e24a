#include "broker/routing/registry.h"

#include <algorithm>
#include <cassert>

#include <nlohmann/json.hpp>

#include "base/logging.h"
#include "broker/routing/json_codec.h"
#include "broker/routing/meta_store.h"
#include "broker/routing/vhost.h"
#include "broker/shards.h"

namespace wharf::broker::routing {

using json = nlohmann::json;

// ---------------------------------------------------------------------------
// Locks

struct Registry::UserRec {
  User user;
  std::string password_hash;  // "" = no password login
  std::map<std::string, Permission, std::less<>> perms;  // by vhost
};

class Registry::ReadLock {
 public:
  explicit ReadLock(const Registry& r) : m_(r.slots_[r.slot_index()].mu) { m_.lock(); }
  ~ReadLock() { m_.unlock(); }
  ReadLock(const ReadLock&) = delete;
  ReadLock& operator=(const ReadLock&) = delete;

 private:
  std::mutex& m_;
};

class Registry::WriteLock {
 public:
  explicit WriteLock(const Registry& r) : r_(r) {
    r_.mu_.lock();
    for (size_t i = 0; i < r_.nslots_; ++i) r_.slots_[i].mu.lock();
  }
  ~WriteLock() {
    for (size_t i = r_.nslots_; i-- > 0;) r_.slots_[i].mu.unlock();
    r_.mu_.unlock();
  }
  WriteLock(const WriteLock&) = delete;
  WriteLock& operator=(const WriteLock&) = delete;

 private:
  const Registry& r_;
};

size_t Registry::slot_index() const {
  uint32_t s = Shards::current().value;
  return s < nslots_ - 1 ? s : nslots_ - 1;
}

// ---------------------------------------------------------------------------
// Messages worded like RabbitMQ's

namespace {

std::string str(std::string_view s) { return std::string(s); }

Error no_vhost(std::string_view v) { return make_error(Errc::kNotFound, "no vhost '" + str(v) + "'"); }
Error no_exchange(std::string_view v, std::string_view x) {
  return make_error(Errc::kNotFound, "no " + exchange_phrase(v, x));
}
Error no_queue(std::string_view v, std::string_view q) { return make_error(Errc::kNotFound, "no " + queue_phrase(v, q)); }
Error default_exchange_refused() {
  return make_error(Errc::kAccessRefused, "operation not permitted on the default exchange");
}
Error locked(std::string_view v, std::string_view q) {
  return make_error(Errc::kResourceLocked,
                    "cannot obtain exclusive access to locked " + queue_phrase(v, q) +
                        ". It could be originally declared on another connection or the exclusive property value "
                        "does not match that of the original declaration.");
}

bool reserved(std::string_view name) { return name.rfind("amq.", 0) == 0; }

std::string quoted(bool b) { return b ? "'true'" : "'false'"; }

// ---- record encoding (see meta_store.h for the framing). The same objects
// are the entries of the snapshot's lists.

JsonObject exchange_json(std::string_view vhost, const ExchangeDef& d) {
  JsonObject o;
  o.text("vhost", vhost).text("name", d.name).text("type", d.declared_type());
  o.boolean("auto_delete", d.auto_delete).boolean("internal", d.internal).table("arguments", d.arguments);
  return o;
}

JsonObject queue_json(std::string_view vhost, const QueueDef& d) {
  JsonObject o;
  o.text("vhost", vhost).text("name", d.name).boolean("auto_delete", d.auto_delete).table("arguments", d.arguments);
  return o;
}

JsonObject binding_json(std::string_view vhost, const BindingDef& b) {
  JsonObject o;
  o.text("vhost", vhost).text("source", b.source).text("destination_type", dest_kind_name(b.kind));
  o.text("destination", b.destination).text("routing_key", b.routing_key).table("arguments", b.arguments);
  return o;
}

JsonObject perm_json(std::string_view user, std::string_view vhost, const Permission& p) {
  JsonObject o;
  o.text("user", user).text("vhost", vhost).text("configure", p.pattern(Perm::kConfigure));
  o.text("write", p.pattern(Perm::kWrite)).text("read", p.pattern(Perm::kRead));
  return o;
}

JsonObject user_json(const User& u, const std::string& hash) {
  JsonObject o;
  o.text("name", u.name).text("password_hash", hash).text("hashing_algorithm", "rabbit_password_hashing_sha256");
  o.texts("tags", u.tags).boolean("loopback_only", u.loopback_only);
  return o;
}

JsonObject name_json(std::string_view name) {
  JsonObject o;
  o.text("name", name);
  return o;
}

JsonObject vhost_name_json(std::string_view vhost, std::string_view name) {
  JsonObject o;
  o.text("vhost", vhost).text("name", name);
  return o;
}

// ---- record decoding: never throws

Error corrupt(const std::string& what) { return make_error(Errc::kCorrupt, what); }

result<std::string> get_text(const json& j, const char* key) {
  if (!j.is_object() || !j.contains(key)) return corrupt(std::string("missing ") + key);
  return text_from_json(j[key]);
}

bool get_bool(const json& j, const char* key) {
  return j.is_object() && j.contains(key) && j[key].is_boolean() && j[key].get<bool>();
}

result<Table> get_table(const json& j, const char* key) {
  if (!j.is_object() || !j.contains(key)) return Table{};
  return table_from_json(j[key]);
}

result<DestKind> parse_dest_kind(const std::string& s) {
  if (s == "queue") return DestKind::kQueue;
  if (s == "exchange") return DestKind::kExchange;
  if (s == "topic") return DestKind::kTopic;
  return corrupt("unknown destination type " + s);
}

result<BindingDef> binding_from_json(const json& j) {
  BindingDef b;
  auto source = get_text(j, "source");
  auto dest = get_text(j, "destination");
  auto key = get_text(j, "routing_key");
  auto args = get_table(j, "arguments");
  if (!j.contains("destination_type") || !j["destination_type"].is_string()) return corrupt("missing destination_type");
  auto kind = parse_dest_kind(j["destination_type"].get<std::string>());
  if (!source.ok()) return source.error();
  if (!dest.ok()) return dest.error();
  if (!key.ok()) return key.error();
  if (!args.ok()) return args.error();
  if (!kind.ok()) return kind.error();
  b.source = std::move(*source);
  b.kind = *kind;
  b.destination = std::move(*dest);
  b.routing_key = std::move(*key);
  b.arguments = std::move(*args);
  return b;
}

}  // namespace

// ---------------------------------------------------------------------------
// Life cycle

Registry::Registry(RegistryOptions o)
    : opts_(std::move(o)), slots_(new Slot[std::max(1u, opts_.reader_slots) + 1]),
      nslots_(std::max(1u, opts_.reader_slots) + 1) {}

Registry::~Registry() {
  if (store_) store_->stop();
}

result<std::unique_ptr<Registry>> Registry::open(RegistryOptions o) {
  std::unique_ptr<Registry> r(new Registry(std::move(o)));
  Registry* self = r.get();
  if (self->opts_.meta_dir.empty()) {
    if (self->opts_.create_defaults) {
      WriteLock lk(*self);
      self->create_defaults_locked();
    }
    return r;
  }
  self->store_ = std::make_unique<MetaStore>(MetaStore::Options{self->opts_.meta_dir, self->opts_.flush_interval_ms,
                                                                self->opts_.compact_min_bytes});
  {
    WriteLock lk(*self);
    auto loaded = self->store_->load([self](const json& j) { return self->apply_snapshot(j); },
                                     [self](const json& j) { return self->apply_record(j); });
    if (!loaded.ok()) return loaded.error();
    self->last_seq_ = *loaded;
    if (*loaded == 0 && self->opts_.create_defaults) self->create_defaults_locked();
  }
  auto st = self->store_->start([self] {
    std::lock_guard lk(self->mu_);  // writers excluded; readers may go on
    MetaStore::Snapshot s;
    s.text = self->snapshot_locked(&s.seq);
    return s;
  });
  if (!st.ok()) return st.error();
  size_t exchanges = 0, queues = 0;
  for (auto& [_, vh] : self->vhosts_) {
    exchanges += vh->exchanges.size();
    queues += vh->queues.size();
  }
  WLOG_INFO("routing", "loaded {} vhost(s), {} user(s), {} exchange(s), {} durable queue(s)", self->vhosts_.size(),
            self->users_.size(), exchanges, queues);
  return r;
}

void Registry::create_defaults_locked() {
  std::string v(kDefaultVhost);
  add_vhost_locked(v);
  log_locked("vhost.add", name_json(v));
  UserRec guest;
  guest.user = User{std::string(kDefaultUser), {"administrator"}, true};
  guest.password_hash = hash_password("guest");
  auto perm = Permission::compile(".*", ".*", ".*");
  assert(perm.ok());
  guest.perms.emplace(v, std::move(*perm));
  log_locked("user.put", user_json(guest.user, guest.password_hash));
  log_locked("perm.put", perm_json(guest.user.name, v, guest.perms.at(v)));
  put_user_locked(std::move(guest));
}

uint64_t Registry::durable_seq() const { return store_ ? store_->durable_seq() : last_seq(); }

status Registry::flush() { return store_ ? store_->sync(last_seq()) : status{}; }

void Registry::flush_async(std::function<void(status)> done) {
  if (!store_) return done({});
  store_->sync_async(last_seq(), std::move(done));
}

uint64_t Registry::log_locked(const char* op, const JsonObject& fields) {
  uint64_t seq = last_seq_.load() + 1;
  last_seq_.store(seq, std::memory_order_release);
  if (store_) {
    std::string rec = "{\"seq\":" + std::to_string(seq) + ",\"op\":\"" + op + "\"";
    const std::string& f = fields.fields();  // "{" or "{...fields"
    if (f.size() > 1) rec.append(",").append(f, 1);
    rec.push_back('}');
    store_->append(seq, rec);
  }
  return seq;
}

// ---------------------------------------------------------------------------
// Graph primitives (REQUIRES WriteLock unless const)

Vhost* Registry::vhost_locked(std::string_view name) const {
  auto it = vhosts_.find(name);
  return it == vhosts_.end() ? nullptr : it->second.get();
}

Vhost* Registry::add_vhost_locked(std::string name) {
  auto vh = std::make_unique<Vhost>();
  vh->name = name;
  Vhost* p = vh.get();
  vhosts_.emplace(std::move(name), std::move(vh));
  for (const auto& b : kBuiltinExchanges) {
    ExchangeDef d;
    d.name = std::string(b.name);
    d.type = b.type;
    d.durable = true;
    add_exchange_locked(p, std::move(d));
  }
  return p;
}

Exchange* Registry::add_exchange_locked(Vhost* vh, ExchangeDef def) {
  std::string name = def.name;
  auto x = std::make_unique<Exchange>(std::move(def));
  Exchange* p = x.get();
  vh->exchanges.emplace(std::move(name), std::move(x));
  return p;
}

QueueNode* Registry::add_queue_locked(Vhost* vh, QueueDef def) {
  std::string name = def.name;
  if (def.exclusive) exclusive_[def.owner].emplace(vh->name, name);
  auto q = std::make_unique<QueueNode>(std::move(def));
  QueueNode* p = q.get();
  vh->queues.emplace(std::move(name), std::move(q));
  return p;
}

Node* Registry::dest_locked(Vhost* vh, DestKind kind, std::string_view name) const {
  switch (kind) {
    case DestKind::kQueue: return vh->queue(name);
    case DestKind::kExchange: return vh->exchange(name);
    case DestKind::kTopic: return vh->topic(name);
  }
  return nullptr;
}

result<Binding*> Registry::add_binding_locked(Vhost* vh, const BindingDef& in, OwnerToken owner, bool* created) {
  *created = false;
  if (in.source.empty() || (in.kind == DestKind::kExchange && in.destination.empty()))
    return default_exchange_refused();
  Exchange* src = vh->exchange(in.source);
  if (!src) return no_exchange(vh->name, in.source);
  Node* dest = nullptr;
  bool dest_durable = true;
  switch (in.kind) {
    case DestKind::kQueue: {
      QueueNode* q = vh->queue(in.destination);
      if (!q) return no_queue(vh->name, in.destination);
      if (auto st = check_exclusive_locked(vh->name, q->def, owner); !st.ok()) return st.error();
      dest = q;
      dest_durable = q->def.durable;
      break;
    }
    case DestKind::kExchange: {
      Exchange* d = vh->exchange(in.destination);
      if (!d) return no_exchange(vh->name, in.destination);
      dest = d;
      dest_durable = d->def.durable;
      break;
    }
    case DestKind::kTopic:
      if (in.destination.empty()) return make_error(Errc::kInvalidArgument, "empty topic name");
      dest = vh->topic(in.destination);  // created below, once the binding is known to be valid
      break;
  }

  auto b = std::make_unique<Binding>();
  b->def = in;
  b->def.arguments = sorted(in.arguments);
  b->id = binding_identity(in.kind, in.destination, in.routing_key, b->def.arguments);
  auto existing = src->bindings.find(b->id);
  if (existing != src->bindings.end()) return existing->second.get();

  if (src->def.type == ExchangeType::kHeaders) {
    auto pat = HeadersPattern::compile(b->def.arguments);
    if (!pat.ok()) return pat.error();
    b->headers = std::move(*pat);
  }
  if (src->def.type == ExchangeType::kTopic) {
    std::vector<std::string_view> words;
    split_words(in.routing_key, &words);
    if (words.size() > TopicTrie<Binding*>::kMaxPatternWords)
      return make_error(Errc::kInvalidArgument, "binding key has more than " +
                                                    std::to_string(TopicTrie<Binding*>::kMaxPatternWords) + " words");
  }
  if (!dest) {
    auto t = std::make_unique<TopicNode>(in.destination);
    dest = t.get();
    vh->topics.emplace(in.destination, std::move(t));
  }
  b->source = src;
  b->dest = dest;
  b->durable = src->def.durable && dest_durable;
  Binding* p = b.get();
  dest->inbound.insert(p);
  src->index_add(p);
  src->bindings.emplace(p->id, std::move(b));
  *created = true;
  return p;
}

void Registry::drop_binding_locked(Vhost* vh, Binding* b) {
  Exchange* src = b->source;
  Node* d = b->dest;
  src->index_remove(b);
  d->inbound.erase(b);
  if (d->kind == DestKind::kTopic && d->inbound.empty()) vh->topics.erase(vh->topics.find(d->name));
  src->bindings.erase(src->bindings.find(b->id));  // destroys b
}

void Registry::drop_exchange_locked(Vhost* vh, Exchange* x, std::vector<std::string>* touched) {
  for (auto& [_, b] : x->bindings) {
    Node* d = b->dest;
    d->inbound.erase(b.get());
    if (d->kind == DestKind::kTopic && d->inbound.empty()) vh->topics.erase(vh->topics.find(d->name));
  }
  x->bindings.clear();  // the index dies with x
  std::vector<Binding*> in(x->inbound.begin(), x->inbound.end());
  for (Binding* b : in) {
    touched->push_back(b->source->name);
    drop_binding_locked(vh, b);
  }
  vh->exchanges.erase(vh->exchanges.find(x->name));
}

void Registry::drop_queue_locked(Vhost* vh, QueueNode* q, std::vector<std::string>* touched) {
  std::vector<Binding*> in(q->inbound.begin(), q->inbound.end());
  for (Binding* b : in) {
    touched->push_back(b->source->name);
    drop_binding_locked(vh, b);
  }
  if (q->def.exclusive) {
    auto it = exclusive_.find(q->def.owner);
    if (it != exclusive_.end()) {
      it->second.erase({vh->name, q->name});
      if (it->second.empty()) exclusive_.erase(it);
    }
  }
  vh->queues.erase(vh->queues.find(q->name));
}

// RabbitMQ deletes an auto-delete exchange when the last binding it is the
// source of goes, whatever removed it (unbind, queue or exchange deletion),
// and that deletion may in turn empty further exchanges.
void Registry::auto_delete_locked(Vhost* vh, std::vector<std::string> touched) {
  while (!touched.empty()) {
    std::string name = std::move(touched.back());
    touched.pop_back();
    Exchange* x = vh->exchange(name);
    if (!x || !x->def.auto_delete || !x->bindings.empty() || is_builtin_exchange(name)) continue;
    if (x->def.durable)
      log_locked("exchange.del", vhost_name_json(vh->name, name));
    drop_exchange_locked(vh, x, &touched);
  }
}

void Registry::delete_queue_live_locked(Vhost* vh, QueueNode* q) {
  if (q->def.durable)
    log_locked("queue.del", vhost_name_json(vh->name, q->name));
  std::vector<std::string> touched;
  drop_queue_locked(vh, q, &touched);
  auto_delete_locked(vh, std::move(touched));
}

void Registry::delete_exchange_live_locked(Vhost* vh, Exchange* x) {
  if (x->def.durable)
    log_locked("exchange.del", vhost_name_json(vh->name, x->name));
  std::vector<std::string> touched;
  drop_exchange_locked(vh, x, &touched);
  auto_delete_locked(vh, std::move(touched));
}

void Registry::erase_vhost_locked(std::string_view name) {
  auto it = vhosts_.find(name);
  if (it == vhosts_.end()) return;
  for (auto& [qname, q] : it->second->queues)
    if (q->def.exclusive) {
      auto e = exclusive_.find(q->def.owner);
      if (e != exclusive_.end()) {
        e->second.erase({std::string(name), qname});
        if (e->second.empty()) exclusive_.erase(e);
      }
    }
  for (auto& [_, u] : users_) {
    auto p = u->perms.find(name);
    if (p != u->perms.end()) u->perms.erase(p);
  }
  vhosts_.erase(it);  // bindings, nodes and indexes go with it
}

void Registry::put_user_locked(UserRec rec) {
  std::string name = rec.user.name;
  auto it = users_.find(name);
  if (it != users_.end()) {
    rec.perms = std::move(it->second->perms);  // a put replaces credentials and tags, not permissions
    *it->second = std::move(rec);
  } else {
    users_.emplace(std::move(name), std::make_unique<UserRec>(std::move(rec)));
  }
  auth_generation_.fetch_add(1, std::memory_order_acq_rel);
}

status Registry::check_exclusive_locked(std::string_view vhost, const QueueDef& q, OwnerToken owner) const {
  if (q.exclusive && q.owner != owner) return locked(vhost, q.name);
  return {};
}

// ---------------------------------------------------------------------------
// Vhosts

status Registry::create_vhost(std::string_view name) {
  if (name.empty()) return make_error(Errc::kInvalidArgument, "empty vhost name");
  WriteLock lk(*this);
  if (vhost_locked(name)) return make_error(Errc::kAlreadyExists, "vhost '" + str(name) + "' already exists");
  add_vhost_locked(str(name));
  log_locked("vhost.add", name_json(name));
  return {};
}

result<std::vector<QueueRef>> Registry::delete_vhost(std::string_view name) {
  WriteLock lk(*this);
  Vhost* vh = vhost_locked(name);
  if (!vh) return no_vhost(name);
  std::vector<QueueRef> gone;
  for (auto& [qname, _] : vh->queues) gone.push_back(QueueRef{str(name), qname});
  log_locked("vhost.del", name_json(name));
  erase_vhost_locked(name);
  auth_generation_.fetch_add(1, std::memory_order_acq_rel);
  return gone;
}

bool Registry::has_vhost(std::string_view name) const {
  ReadLock lk(*this);
  return vhost_locked(name) != nullptr;
}

std::vector<std::string> Registry::list_vhosts() const {
  ReadLock lk(*this);
  std::vector<std::string> out;
  for (auto& [n, _] : vhosts_) out.push_back(n);
  return out;
}

// ---------------------------------------------------------------------------
// Users and permissions

status Registry::add_user(std::string_view name, std::string_view password, std::vector<std::string> tags,
                          bool loopback_only) {
  return add_user_with_hash(name, password.empty() ? std::string() : hash_password(password), std::move(tags),
                            loopback_only);
}

status Registry::add_user_with_hash(std::string_view name, std::string_view hash, std::vector<std::string> tags,
                                    bool loopback_only) {
  if (name.empty()) return make_error(Errc::kInvalidArgument, "empty user name");
  UserRec rec;
  rec.user = User{str(name), std::move(tags), loopback_only};
  rec.password_hash = str(hash);
  WriteLock lk(*this);
  if (users_.count(name)) return make_error(Errc::kAlreadyExists, "user '" + str(name) + "' already exists");
  log_locked("user.put", user_json(rec.user, rec.password_hash));
  put_user_locked(std::move(rec));
  return {};
}

status Registry::set_password(std::string_view name, std::string_view password) {
  std::string hash = password.empty() ? std::string() : hash_password(password);
  WriteLock lk(*this);
  auto it = users_.find(name);
  if (it == users_.end()) return make_error(Errc::kNotFound, "no user '" + str(name) + "'");
  it->second->password_hash = std::move(hash);
  log_locked("user.put", user_json(it->second->user, it->second->password_hash));
  auth_generation_.fetch_add(1, std::memory_order_acq_rel);
  return {};
}

status Registry::set_tags(std::string_view name, std::vector<std::string> tags) {
  WriteLock lk(*this);
  auto it = users_.find(name);
  if (it == users_.end()) return make_error(Errc::kNotFound, "no user '" + str(name) + "'");
  it->second->user.tags = std::move(tags);
  log_locked("user.put", user_json(it->second->user, it->second->password_hash));
  auth_generation_.fetch_add(1, std::memory_order_acq_rel);
  return {};
}

status Registry::set_loopback_only(std::string_view name, bool loopback_only) {
  WriteLock lk(*this);
  auto it = users_.find(name);
  if (it == users_.end()) return make_error(Errc::kNotFound, "no user '" + str(name) + "'");
  it->second->user.loopback_only = loopback_only;
  log_locked("user.put", user_json(it->second->user, it->second->password_hash));
  auth_generation_.fetch_add(1, std::memory_order_acq_rel);
  return {};
}

status Registry::delete_user(std::string_view name) {
  WriteLock lk(*this);
  auto it = users_.find(name);
  if (it == users_.end()) return make_error(Errc::kNotFound, "no user '" + str(name) + "'");
  users_.erase(it);
  log_locked("user.del", name_json(name));
  auth_generation_.fetch_add(1, std::memory_order_acq_rel);
  return {};
}

result<User> Registry::find_user(std::string_view name) const {
  ReadLock lk(*this);
  auto it = users_.find(name);
  if (it == users_.end()) return make_error(Errc::kNotFound, "no user '" + str(name) + "'");
  return it->second->user;
}

std::vector<User> Registry::list_users() const {
  ReadLock lk(*this);
  std::vector<User> out;
  for (auto& [_, u] : users_) out.push_back(u->user);
  return out;
}

status Registry::set_permissions(std::string_view user, std::string_view vhost, std::string configure,
                                 std::string write, std::string read) {
  auto perm = Permission::compile(std::move(configure), std::move(write), std::move(read));
  if (!perm.ok()) return perm.error();
  WriteLock lk(*this);
  auto it = users_.find(user);
  if (it == users_.end()) return make_error(Errc::kNotFound, "no user '" + str(user) + "'");
  if (!vhost_locked(vhost)) return no_vhost(vhost);
  log_locked("perm.put", perm_json(user, vhost, *perm));
  it->second->perms.insert_or_assign(str(vhost), std::move(*perm));
  auth_generation_.fetch_add(1, std::memory_order_acq_rel);
  return {};
}

status Registry::clear_permissions(std::string_view user, std::string_view vhost) {
  WriteLock lk(*this);
  auto it = users_.find(user);
  if (it == users_.end()) return make_error(Errc::kNotFound, "no user '" + str(user) + "'");
  auto p = it->second->perms.find(vhost);
  if (p == it->second->perms.end())
    return make_error(Errc::kNotFound, "user '" + str(user) + "' has no permissions on vhost '" + str(vhost) + "'");
  it->second->perms.erase(p);
  JsonObject o;
  o.text("user", user).text("vhost", vhost);
  log_locked("perm.del", o);
  auth_generation_.fetch_add(1, std::memory_order_acq_rel);
  return {};
}

std::vector<PermissionDef> Registry::list_permissions() const {
  ReadLock lk(*this);
  std::vector<PermissionDef> out;
  for (auto& [uname, u] : users_)
    for (auto& [vname, p] : u->perms)
      out.push_back(PermissionDef{uname, vname, p.pattern(Perm::kConfigure), p.pattern(Perm::kWrite),
                                  p.pattern(Perm::kRead)});
  return out;
}

result<User> Registry::authenticate(std::string_view user, std::string_view password) const {
  ReadLock lk(*this);
  auto it = users_.find(user);
  if (it == users_.end() || !verify_password(it->second->password_hash, password))
    return make_error(Errc::kAccessRefused, "invalid credentials for user '" + str(user) + "'");
  return it->second->user;
}

status Registry::check_vhost_access(std::string_view user, std::string_view vhost) const {
  ReadLock lk(*this);
  if (!vhost_locked(vhost)) return make_error(Errc::kNotAllowed, "vhost " + str(vhost) + " not found");
  auto it = users_.find(user);
  if (it == users_.end() || !it->second->perms.count(vhost))
    return make_error(Errc::kNotAllowed, "access to vhost '" + str(vhost) + "' refused for user '" + str(user) + "'");
  return {};
}

bool Registry::check(std::string_view user, std::string_view vhost, Perm perm, std::string_view resource) const {
  ReadLock lk(*this);
  auto it = users_.find(user);
  if (it == users_.end()) return false;
  auto p = it->second->perms.find(vhost);
  if (p == it->second->perms.end()) return false;
  return p->second.allows(perm, resource.empty() ? std::string_view("amq.default") : resource);
}

// ---------------------------------------------------------------------------
// Exchanges

result<ExchangeDef> Registry::declare_exchange(std::string_view vhost, const ExchangeDef& def, bool passive) {
  if (passive) return find_exchange(vhost, def.name);
  if (def.name.empty()) return default_exchange_refused();
  WriteLock lk(*this);
  Vhost* vh = vhost_locked(vhost);
  if (!vh) return no_vhost(vhost);
  std::string what = exchange_phrase(vhost, def.name);
  Exchange* x = vh->exchange(def.name);
  if (!x) {
    if (reserved(def.name))
      return make_error(Errc::kAccessRefused, "exchange name '" + def.name + "' contains reserved prefix 'amq.*'");
    if (const Value* ae = def.arguments.find("alternate-exchange"); ae && !ae->as_string())
      return make_error(Errc::kPreconditionFailed,
                        "invalid type for arg 'alternate-exchange' in " + what + ": " + describe(*ae));
    x = add_exchange_locked(vh, def);
    if (def.durable) log_locked("exchange.add", exchange_json(vhost, def));
    return x->def;
  }
  const ExchangeDef& cur = x->def;
  auto inequivalent = [&](const char* arg, const std::string& got, const std::string& have) {
    return make_error(Errc::kPreconditionFailed, std::string("inequivalent arg '") + arg + "' for " + what +
                                                     ": received " + got + " but current is " + have);
  };
  if (cur.type != def.type || cur.delayed != def.delayed)
    return inequivalent("type", "'" + str(def.declared_type()) + "'", "'" + str(cur.declared_type()) + "'");
  if (cur.durable != def.durable) return inequivalent("durable", quoted(def.durable), quoted(cur.durable));
  if (cur.auto_delete != def.auto_delete)
    return inequivalent("auto_delete", quoted(def.auto_delete), quoted(cur.auto_delete));
  if (cur.internal != def.internal) return inequivalent("internal", quoted(def.internal), quoted(cur.internal));
  const Value* a = cur.arguments.find("alternate-exchange");
  const Value* b = def.arguments.find("alternate-exchange");
  if ((a || b) && !(a && b && equivalent(*a, *b)))
    return inequivalent("alternate-exchange", b ? "the value " + describe(*b) : "none",
                        a ? "the value " + describe(*a) : "none");
  return cur;
}

status Registry::delete_exchange(std::string_view vhost, std::string_view name, bool if_unused) {
  if (name.empty()) return default_exchange_refused();
  if (reserved(name))
    return make_error(Errc::kAccessRefused, "deletion of system " + exchange_phrase(vhost, name) + " not allowed");
  WriteLock lk(*this);
  Vhost* vh = vhost_locked(vhost);
  if (!vh) return no_vhost(vhost);
  Exchange* x = vh->exchange(name);
  if (!x) return no_exchange(vhost, name);
  if (if_unused && !x->bindings.empty())
    return make_error(Errc::kPreconditionFailed, exchange_phrase(vhost, name) + " in use");
  delete_exchange_live_locked(vh, x);
  return {};
}

result<ExchangeDef> Registry::find_exchange(std::string_view vhost, std::string_view name) const {
  if (name.empty()) return default_exchange_refused();
  ReadLock lk(*this);
  Vhost* vh = vhost_locked(vhost);
  if (!vh) return no_vhost(vhost);
  Exchange* x = vh->exchange(name);
  if (!x) return no_exchange(vhost, name);
  return x->def;
}

std::vector<ExchangeDef> Registry::list_exchanges(std::string_view vhost) const {
  ReadLock lk(*this);
  std::vector<ExchangeDef> out;
  if (Vhost* vh = vhost_locked(vhost))
    for (auto& [_, x] : vh->exchanges) out.push_back(x->def);
  return out;
}

// ---------------------------------------------------------------------------
// Queues

result<QueueDeclareOk> Registry::declare_queue(std::string_view vhost, const QueueDeclare& d, OwnerToken owner) {
  if (d.exclusive && owner == kNoOwner && !d.passive)
    return make_error(Errc::kInvalidArgument, "an exclusive queue needs an owner connection");
  if (d.passive) {
    auto q = access_queue(vhost, d.name, owner);
    if (!q.ok()) return q.error();
    return QueueDeclareOk{std::move(*q), false};
  }
  std::string name = d.name;
  if (name.empty()) {
    const Value* t = d.arguments.find("x-queue-type");
    const std::string* type = t ? t->as_string() : nullptr;
    if (type && (*type == "quorum" || *type == "stream"))
      return make_error(Errc::kPreconditionFailed, "Cannot declare a server-named queue for type " + *type);
    name = "amq.gen-" + base64url_encode(random_bytes(16));
  } else if (reserved(name)) {
    return make_error(Errc::kAccessRefused, "queue name '" + name + "' contains reserved prefix 'amq.*'");
  }
  std::string what = queue_phrase(vhost, name);
  WriteLock lk(*this);
  Vhost* vh = vhost_locked(vhost);
  if (!vh) return no_vhost(vhost);
  if (QueueNode* q = vh->queue(name)) {
    // Strict: exclusivity itself must match, not only the owner.
    OwnerToken want = d.exclusive ? owner : kNoOwner;
    if ((q->def.exclusive ? q->def.owner : kNoOwner) != want) return locked(vhost, name);
    if (auto st = check_queue_equivalence(q->def, d, what); !st.ok()) return st.error();
    return QueueDeclareOk{q->def, false};
  }
  if (auto st = validate_queue_arguments(d, what); !st.ok()) return st.error();
  QueueDef def;
  def.name = name;
  def.durable = d.durable && !d.exclusive;
  def.exclusive = d.exclusive;
  def.auto_delete = d.auto_delete;
  def.arguments = d.arguments;
  def.owner = d.exclusive ? owner : kNoOwner;
  if (def.durable) def.seq = log_locked("queue.add", queue_json(vhost, def));
  QueueNode* q = add_queue_locked(vh, std::move(def));
  return QueueDeclareOk{q->def, true};
}

result<QueueDef> Registry::find_queue(std::string_view vhost, std::string_view name) const {
  ReadLock lk(*this);
  Vhost* vh = vhost_locked(vhost);
  if (!vh) return no_vhost(vhost);
  QueueNode* q = vh->queue(name);
  if (!q) return no_queue(vhost, name);
  return q->def;
}

result<QueueDef> Registry::access_queue(std::string_view vhost, std::string_view name, OwnerToken owner) const {
  ReadLock lk(*this);
  Vhost* vh = vhost_locked(vhost);
  if (!vh) return no_vhost(vhost);
  QueueNode* q = vh->queue(name);
  if (!q) return no_queue(vhost, name);
  if (auto st = check_exclusive_locked(vhost, q->def, owner); !st.ok()) return st.error();
  return q->def;
}

result<QueueDef> Registry::delete_queue(std::string_view vhost, std::string_view name, OwnerToken owner) {
  WriteLock lk(*this);
  Vhost* vh = vhost_locked(vhost);
  if (!vh) return no_vhost(vhost);
  QueueNode* q = vh->queue(name);
  if (!q) return no_queue(vhost, name);
  if (auto st = check_exclusive_locked(vhost, q->def, owner); !st.ok()) return st.error();
  QueueDef def = q->def;
  delete_queue_live_locked(vh, q);
  return def;
}

bool Registry::remove_queue(std::string_view vhost, std::string_view name) {
  WriteLock lk(*this);
  Vhost* vh = vhost_locked(vhost);
  QueueNode* q = vh ? vh->queue(name) : nullptr;
  if (!q) return false;
  delete_queue_live_locked(vh, q);
  return true;
}

std::vector<QueueRef> Registry::connection_closed(OwnerToken owner) {
  std::vector<QueueRef> gone;
  if (owner == kNoOwner) return gone;
  WriteLock lk(*this);
  auto it = exclusive_.find(owner);
  if (it == exclusive_.end()) return gone;
  auto owned = it->second;  // drop_queue_locked edits the index
  for (auto& [vname, qname] : owned) {
    Vhost* vh = vhost_locked(vname);
    QueueNode* q = vh ? vh->queue(qname) : nullptr;
    if (!q) continue;
    delete_queue_live_locked(vh, q);
    gone.push_back(QueueRef{vname, qname});
  }
  return gone;
}

bool Registry::last_consumer_gone(std::string_view vhost, std::string_view name) {
  WriteLock lk(*this);
  Vhost* vh = vhost_locked(vhost);
  QueueNode* q = vh ? vh->queue(name) : nullptr;
  if (!q || !q->def.auto_delete) return false;
  delete_queue_live_locked(vh, q);
  return true;
}

std::vector<QueueDef> Registry::list_queues(std::string_view vhost) const {
  ReadLock lk(*this);
  std::vector<QueueDef> out;
  if (Vhost* vh = vhost_locked(vhost))
    for (auto& [_, q] : vh->queues) out.push_back(q->def);
  return out;
}

// ---------------------------------------------------------------------------
// Bindings

status Registry::bind(std::string_view vhost, const BindingDef& b, OwnerToken owner) {
  WriteLock lk(*this);
  Vhost* vh = vhost_locked(vhost);
  if (!vh) return no_vhost(vhost);
  bool created = false;
  auto r = add_binding_locked(vh, b, owner, &created);
  if (!r.ok()) return r.error();
  if (created && (*r)->durable) log_locked("binding.add", binding_json(vhost, (*r)->def));
  return {};
}

status Registry::unbind(std::string_view vhost, const BindingDef& b, OwnerToken owner) {
  if (b.source.empty() || (b.kind == DestKind::kExchange && b.destination.empty())) return default_exchange_refused();
  WriteLock lk(*this);
  Vhost* vh = vhost_locked(vhost);
  if (!vh) return no_vhost(vhost);
  Exchange* src = vh->exchange(b.source);
  if (!src) return no_exchange(vhost, b.source);
  if (b.kind == DestKind::kQueue) {
    QueueNode* q = vh->queue(b.destination);
    if (!q) return no_queue(vhost, b.destination);
    if (auto st = check_exclusive_locked(vhost, q->def, owner); !st.ok()) return st;
  } else if (b.kind == DestKind::kExchange && !vh->exchange(b.destination)) {
    return no_exchange(vhost, b.destination);
  }
  Table args = sorted(b.arguments);
  auto it = src->bindings.find(binding_identity(b.kind, b.destination, b.routing_key, args));
  if (it == src->bindings.end()) return {};
  Binding* binding = it->second.get();
  if (binding->durable) log_locked("binding.del", binding_json(vhost, binding->def));
  drop_binding_locked(vh, binding);
  auto_delete_locked(vh, {b.source});
  return {};
}

std::vector<BindingDef> Registry::list_bindings(std::string_view vhost) const {
  ReadLock lk(*this);
  std::vector<BindingDef> out;
  if (Vhost* vh = vhost_locked(vhost))
    for (auto& [_, x] : vh->exchanges)
      for (auto& [_, b] : x->bindings) out.push_back(b->def);
  return out;
}

size_t Registry::remove_topic(std::string_view topic) {
  WriteLock lk(*this);
  size_t n = 0;
  bool logged = false;
  for (auto& [_, vh] : vhosts_) {
    TopicNode* t = vh->topic(topic);
    if (!t) continue;
    if (!logged) {
      log_locked("topic.del", name_json(topic));
      logged = true;
    }
    std::vector<Binding*> in(t->inbound.begin(), t->inbound.end());
    std::vector<std::string> touched;
    for (Binding* b : in) {
      touched.push_back(b->source->name);
      drop_binding_locked(vh.get(), b);  // the last one removes the node
      ++n;
    }
    auto_delete_locked(vh.get(), std::move(touched));
  }
  return n;
}

// ---------------------------------------------------------------------------
// Routing

status Registry::route(std::string_view vhost, std::string_view exchange, std::string_view routing_key,
                       const Table* headers, RouteResult* out) const {
  return route(vhost, exchange, std::span<const std::string_view>(&routing_key, 1), headers, out);
}

status Registry::route(std::string_view vhost, std::string_view exchange, std::span<const std::string_view> keys,
                       const Table* headers, RouteResult* out) const {
  out->reset();
  ReadLock lk(*this);
  Vhost* vh = vhost_locked(vhost);
  if (!vh) return no_vhost(vhost);
  if (exchange.empty()) {
    // The default exchange: every queue is implicitly bound under its name.
    for (auto k : keys)
      if (QueueNode* q = vh->queue(k)) out->add(q);
    return {};
  }
  const Exchange* x = vh->exchange(exchange);
  if (!x) return no_exchange(vhost, exchange);
  if (x->def.internal)
    return make_error(Errc::kAccessRefused, "cannot publish to internal " + exchange_phrase(vhost, exchange));

  out->delayed_ = x->def.delayed;
  out->reached_.insert(x);
  out->work_.push_back(x);
  while (!out->work_.empty()) {
    const Exchange* cur = out->work_.back();
    out->work_.pop_back();
    std::span<const TableEntry* const> hs;
    if (cur->def.type == ExchangeType::kHeaders) {
      if (!out->headers_sorted_) {
        sort_headers(headers, &out->headers_);
        out->headers_sorted_ = true;
      }
      hs = out->headers_;
    }
    bool matched = cur->match(keys, hs, out->topic_, [&](const Binding* b) {
      if (b->dest->kind == DestKind::kExchange) {
        auto* next = static_cast<const Exchange*>(b->dest);
        if (out->reached_.insert(next)) out->work_.push_back(next);
      } else {
        out->add(b->dest);
      }
    });
    // RabbitMQ: the alternate exchange takes the message when this
    // exchange's own bindings matched nothing (even if other exchanges on
    // the walk did).
    if (!matched && !cur->alternate.empty())
      if (const Exchange* ae = vh->exchange(cur->alternate))
        if (out->reached_.insert(ae)) out->work_.push_back(ae);
  }
  return {};
}

// ---------------------------------------------------------------------------
// Persistence: replay (REQUIRES WriteLock; never logs, never cascades:
// cascades were logged as their own records)

status Registry::apply_record(const json& rec) {
  if (!rec.contains("op") || !rec["op"].is_string()) return corrupt("record without op");
  const std::string& op = rec["op"].get_ref<const std::string&>();
  uint64_t seq = rec["seq"].get<uint64_t>();

  if (op == "vhost.add" || op == "vhost.del") {
    auto name = get_text(rec, "name");
    if (!name.ok()) return name.error();
    if (op == "vhost.add") {
      if (!vhost_locked(*name)) add_vhost_locked(*name);
    } else {
      erase_vhost_locked(*name);
    }
    return {};
  }
  if (op == "user.put") {
    auto name = get_text(rec, "name");
    if (!name.ok()) return name.error();
    UserRec u;
    u.user.name = *name;
    u.user.loopback_only = get_bool(rec, "loopback_only");
    if (rec.contains("password_hash") && rec["password_hash"].is_string())
      u.password_hash = rec["password_hash"].get<std::string>();
    if (rec.contains("tags") && rec["tags"].is_array())
      for (auto& t : rec["tags"]) {
        auto s = text_from_json(t);
        if (!s.ok()) return s.error();
        u.user.tags.push_back(std::move(*s));
      }
    put_user_locked(std::move(u));
    return {};
  }
  if (op == "user.del") {
    auto name = get_text(rec, "name");
    if (!name.ok()) return name.error();
    if (auto it = users_.find(*name); it != users_.end()) users_.erase(it);
    return {};
  }
  if (op == "perm.put" || op == "perm.del") {
    auto user = get_text(rec, "user");
    auto vhost = get_text(rec, "vhost");
    if (!user.ok()) return user.error();
    if (!vhost.ok()) return vhost.error();
    auto it = users_.find(*user);
    if (it == users_.end()) return corrupt("permissions for unknown user " + *user);
    if (op == "perm.del") {
      it->second->perms.erase(*vhost);
      return {};
    }
    auto c = get_text(rec, "configure"), w = get_text(rec, "write"), r = get_text(rec, "read");
    if (!c.ok() || !w.ok() || !r.ok()) return corrupt("bad permissions record");
    auto perm = Permission::compile(std::move(*c), std::move(*w), std::move(*r));
    if (!perm.ok()) return perm.error();
    it->second->perms.insert_or_assign(*vhost, std::move(*perm));
    return {};
  }
  if (op == "topic.del") {
    auto name = get_text(rec, "name");
    if (!name.ok()) return name.error();
    for (auto& [_, vh] : vhosts_)
      while (TopicNode* t = vh->topic(*name)) drop_binding_locked(vh.get(), *t->inbound.begin());
    return {};
  }

  // Everything else lives in a vhost.
  auto vname = get_text(rec, "vhost");
  if (!vname.ok()) return vname.error();
  Vhost* vh = vhost_locked(*vname);
  if (!vh) return corrupt(op + " in unknown vhost " + *vname);

  if (op == "exchange.add") {
    auto name = get_text(rec, "name");
    auto args = get_table(rec, "arguments");
    if (!name.ok()) return name.error();
    if (!args.ok()) return args.error();
    if (!rec.contains("type") || !rec["type"].is_string()) return corrupt("exchange without type");
    auto type = parse_declared_type(rec["type"].get<std::string>(), *args);
    if (!type.ok()) return type.error();
    if (vh->exchange(*name)) return {};
    ExchangeDef d;
    d.name = std::move(*name);
    d.type = type->type;
    d.delayed = type->delayed;
    d.durable = true;
    d.auto_delete = get_bool(rec, "auto_delete");
    d.internal = get_bool(rec, "internal");
    d.arguments = std::move(*args);
    add_exchange_locked(vh, std::move(d));
    return {};
  }
  if (op == "exchange.del") {
    auto name = get_text(rec, "name");
    if (!name.ok()) return name.error();
    std::vector<std::string> ignored;
    if (Exchange* x = vh->exchange(*name)) drop_exchange_locked(vh, x, &ignored);
    return {};
  }
  if (op == "queue.add") {
    auto name = get_text(rec, "name");
    auto args = get_table(rec, "arguments");
    if (!name.ok()) return name.error();
    if (!args.ok()) return args.error();
    if (vh->queue(*name)) return {};
    QueueDef d;
    d.name = std::move(*name);
    d.durable = true;
    d.auto_delete = get_bool(rec, "auto_delete");
    d.arguments = std::move(*args);
    d.seq = seq;
    add_queue_locked(vh, std::move(d));
    return {};
  }
  if (op == "queue.del") {
    auto name = get_text(rec, "name");
    if (!name.ok()) return name.error();
    std::vector<std::string> ignored;
    if (QueueNode* q = vh->queue(*name)) drop_queue_locked(vh, q, &ignored);
    return {};
  }
  if (op == "binding.add" || op == "binding.del") {
    auto b = binding_from_json(rec);
    if (!b.ok()) return b.error();
    if (op == "binding.add") {
      bool created;
      auto r = add_binding_locked(vh, *b, kNoOwner, &created);
      if (!r.ok()) return r.error();
      return {};
    }
    if (Exchange* src = vh->exchange(b->source)) {
      auto it = src->bindings.find(binding_identity(b->kind, b->destination, b->routing_key, sorted(b->arguments)));
      if (it != src->bindings.end()) drop_binding_locked(vh, it->second.get());
    }
    return {};
  }
  return corrupt("unknown op " + op);
}

status Registry::apply_snapshot(const json& snap) {
  if (!snap.contains("version") || snap["version"] != 1) return corrupt("unknown snapshot version");
  uint64_t seq = snap["seq"].get<uint64_t>();
  const std::pair<const char*, const char*> sections[] = {
      {"vhosts", "vhost.add"},     {"users", "user.put"},   {"permissions", "perm.put"},
      {"exchanges", "exchange.add"}, {"queues", "queue.add"}, {"bindings", "binding.add"},
  };
  for (auto& [key, op] : sections) {
    if (!snap.contains(key)) continue;
    if (!snap[key].is_array()) return corrupt(std::string(key) + " is not a list");
    for (const auto& e : snap[key]) {
      if (!e.is_object()) return corrupt(std::string("bad entry in ") + key);
      json rec = e;
      rec["op"] = op;
      rec["seq"] = seq;
      if (auto st = apply_record(rec); !st.ok()) return st;
    }
  }
  return {};
}

std::string Registry::snapshot_locked(uint64_t* seq) const {
  *seq = last_seq_.load();
  std::string vhosts, users, perms, exchanges, queues, bindings;
  auto add = [](std::string* list, const JsonObject& o) {
    list->append(list->empty() ? "[\n" : ",\n");
    list->append(o.fields()).push_back('}');
  };
  for (auto& [vname, vh] : vhosts_) {
    add(&vhosts, name_json(vname));
    for (auto& [_, x] : vh->exchanges) {
      if (x->def.durable && !is_builtin_exchange(x->name)) add(&exchanges, exchange_json(vname, x->def));
      for (auto& [_, b] : x->bindings)
        if (b->durable) add(&bindings, binding_json(vname, b->def));
    }
    for (auto& [_, q] : vh->queues)
      if (q->def.durable) add(&queues, queue_json(vname, q->def));
  }
  for (auto& [uname, u] : users_) {
    add(&users, user_json(u->user, u->password_hash));
    for (auto& [vname, p] : u->perms) add(&perms, perm_json(uname, vname, p));
  }
  std::string s = "{\"version\":1,\"seq\":" + std::to_string(*seq);
  for (auto [key, list] : {std::pair{"vhosts", &vhosts}, {"users", &users}, {"permissions", &perms},
                           {"exchanges", &exchanges}, {"queues", &queues}, {"bindings", &bindings}}) {
    s.append(",\"").append(key).append("\":");
    s.append(list->empty() ? "[" : *list).append("]\n");
  }
  s.append("}\n");
  return s;
}

}  // namespace wharf::broker::routing
