// Logins and vhost access decided by the routing registry (RegistryAuth),
// through the whole connection handshake.
#include "amqp/registry_auth.h"

#include <gtest/gtest.h>

#include "broker/routing/registry.h"
#include "connection_harness.h"

namespace wharf::amqp {
namespace {

using test::Harness;

class RegistryLogin : public ::testing::Test {
 protected:
  void SetUp() override {
    broker::routing::RegistryOptions ro;  // in memory, with guest and "/"
    auto r = broker::routing::Registry::open(ro);
    ASSERT_TRUE(r.ok());
    registry_ = std::move(*r);
    ASSERT_TRUE(registry_->add_user("alice", "wonderland").ok());
    ASSERT_TRUE(registry_->add_user("local", "only", {}, /*loopback_only=*/true).ok());
    ASSERT_TRUE(registry_->create_vhost("shop").ok());
    ASSERT_TRUE(registry_->set_permissions("alice", "shop", "", "", "").ok());
    ASSERT_TRUE(registry_->set_permissions("local", "shop", ".*", ".*", ".*").ok());
    auth_ = std::make_shared<RegistryAuth>(*registry_);
  }

  std::unique_ptr<Harness> connect(bool loopback) {
    Harness::Options o;
    o.loopback = loopback;
    o.auth = auth_;
    return std::make_unique<Harness>(o);
  }

  // Header and start-ok as `user`; returns the harness for what follows.
  std::unique_ptr<Harness> login(const std::string& user, const std::string& pass, bool loopback = true) {
    auto h = connect(loopback);
    h->feed(Harness::header());
    h->expect<msg::ConnectionStart>(0);
    h->send(0, Harness::start_ok_plain(user, pass));
    return h;
  }

  // Continues a successful login up to connection.open of `vhost`.
  static void open(Harness& h, const std::string& vhost) {
    h.expect<msg::ConnectionTune>(0);
    h.send(0, msg::ConnectionTuneOk{0, 0, 0});
    msg::ConnectionOpen o;
    o.virtual_host = vhost;
    h.send(0, o);
  }

  std::unique_ptr<broker::routing::Registry> registry_;
  std::shared_ptr<RegistryAuth> auth_;
};

TEST_F(RegistryLogin, UserWithPermissionsOpensTheVhost) {
  auto h = login("alice", "wonderland", /*loopback=*/false);
  open(*h, "shop");
  h->expect<msg::ConnectionOpenOk>(0);
  EXPECT_EQ(h->conn->info().principal.user, "alice");
  EXPECT_EQ(h->conn->info().vhost, "shop");
}

TEST_F(RegistryLogin, WrongPasswordAndUnknownUserAreRefusedAlike) {
  for (auto [user, pass] : {std::pair{"alice", "wrong"}, std::pair{"nobody", "wonderland"}}) {
    auto h = login(user, pass);
    auto close = h->expect<msg::ConnectionClose>(0);
    EXPECT_EQ(close.reply_code, 403) << user;
    EXPECT_EQ(close.reply_text,
              "ACCESS_REFUSED - Login was refused using authentication mechanism PLAIN. For details see the broker "
              "logfile.");
  }
}

TEST_F(RegistryLogin, LoopbackOnlyUsersAreRefusedFromOtherAddresses) {
  EXPECT_EQ(login("local", "only", /*loopback=*/false)->expect<msg::ConnectionClose>(0).reply_code, 403);
  EXPECT_EQ(login("guest", "guest", /*loopback=*/false)->expect<msg::ConnectionClose>(0).reply_code, 403);
  auto h = login("local", "only", /*loopback=*/true);
  open(*h, "shop");
  h->expect<msg::ConnectionOpenOk>(0);
  auto g = login("guest", "guest", /*loopback=*/true);
  open(*g, "/");
  g->expect<msg::ConnectionOpenOk>(0);
}

TEST_F(RegistryLogin, VhostWithoutPermissionsIsNotAllowed) {
  auto h = login("alice", "wonderland");
  open(*h, "/");
  auto close = h->expect<msg::ConnectionClose>(0);
  EXPECT_EQ(close.reply_code, 530);
  EXPECT_EQ(close.reply_text, "NOT_ALLOWED - access to vhost '/' refused for user 'alice'");
  EXPECT_EQ(close.class_id, msg::ConnectionOpen::kClassId);
  EXPECT_EQ(close.method_id, msg::ConnectionOpen::kMethodId);
}

TEST_F(RegistryLogin, UnknownVhostIsNotAllowed) {
  auto h = login("alice", "wonderland");
  open(*h, "nowhere");
  auto close = h->expect<msg::ConnectionClose>(0);
  EXPECT_EQ(close.reply_code, 530);
  EXPECT_EQ(close.reply_text, "NOT_ALLOWED - vhost nowhere not found");
}

TEST_F(RegistryLogin, ChangesInTheRegistryApplyToTheNextLogin) {
  ASSERT_TRUE(registry_->set_password("alice", "looking-glass").ok());
  EXPECT_EQ(login("alice", "wonderland")->expect<msg::ConnectionClose>(0).reply_code, 403);
  auto h = login("alice", "looking-glass");
  ASSERT_TRUE(registry_->clear_permissions("alice", "shop").ok());
  open(*h, "shop");
  EXPECT_EQ(h->expect<msg::ConnectionClose>(0).reply_code, 530);
}

}  // namespace
}  // namespace wharf::amqp
