// Users, passwords, permissions.
#include <gtest/gtest.h>

#include "routing_test_util.h"

namespace wharf::broker::routing {
namespace {

using namespace testing;

TEST(Passwords, HashesAreSaltedAndVerify) {
  std::string h1 = hash_password("s3cret"), h2 = hash_password("s3cret");
  EXPECT_NE(h1, h2);
  EXPECT_TRUE(verify_password(h1, "s3cret"));
  EXPECT_TRUE(verify_password(h2, "s3cret"));
  EXPECT_FALSE(verify_password(h1, "s3cret "));
  EXPECT_FALSE(verify_password(h1, ""));
  EXPECT_FALSE(verify_password("", "s3cret"));
  EXPECT_FALSE(verify_password("not base64!", "s3cret"));
}

TEST(Passwords, RabbitMQHashFormat) {
  // The example of RabbitMQ's documentation: salt 908DC60A, password test12.
  EXPECT_TRUE(verify_password("kI3GCqW5JLMJa4iX1lo7X4D6XbYqlLgxIs30+P6tENUV2POR", "test12"));
  EXPECT_FALSE(verify_password("kI3GCqW5JLMJa4iX1lo7X4D6XbYqlLgxIs30+P6tENUV2POR", "test13"));
}

TEST(Base64, RoundTrips) {
  for (std::string s : {std::string(), std::string("f"), std::string("fo"), std::string("foo"), std::string("foob"),
                        std::string("fooba"), std::string("foobar"), std::string("\0\xff\x80", 3)}) {
    auto d = base64_decode(base64_encode(s));
    ASSERT_TRUE(d.has_value());
    EXPECT_EQ(*d, s);
  }
  EXPECT_EQ(base64_encode("foobar"), "Zm9vYmFy");
  EXPECT_EQ(base64_encode("fo"), "Zm8=");
  EXPECT_EQ(base64url_encode("\xfb\xff"), "-_8");
}

class Auth : public ::testing::Test {
 protected:
  std::unique_ptr<Registry> r = memory_registry();
};

TEST_F(Auth, DefaultGuest) {
  auto g = r->authenticate("guest", "guest");
  ASSERT_TRUE(g.ok());
  EXPECT_EQ(g->name, "guest");
  EXPECT_TRUE(g->loopback_only);
  EXPECT_TRUE(g->has_tag("administrator"));
  EXPECT_TRUE(r->check_vhost_access("guest", "/").ok());
  for (Perm p : {Perm::kConfigure, Perm::kWrite, Perm::kRead}) EXPECT_TRUE(r->check("guest", "/", p, "anything"));
}

TEST_F(Auth, BadCredentialsAreAccessRefused) {
  EXPECT_EQ(r->authenticate("guest", "wrong").code(), Errc::kAccessRefused);
  EXPECT_EQ(r->authenticate("nobody", "guest").code(), Errc::kAccessRefused);
  EXPECT_EQ(r->authenticate("guest", "").code(), Errc::kAccessRefused);
  ASSERT_TRUE(r->add_user("cert-only", "").ok());
  EXPECT_EQ(r->authenticate("cert-only", "").code(), Errc::kAccessRefused);
}

TEST_F(Auth, UserLifecycle) {
  ASSERT_TRUE(r->add_user("app", "pw1", {"monitoring"}).ok());
  EXPECT_EQ(r->add_user("app", "pw2").code(), Errc::kAlreadyExists);
  EXPECT_EQ(r->add_user("", "pw2").code(), Errc::kInvalidArgument);
  EXPECT_TRUE(r->authenticate("app", "pw1").ok());
  EXPECT_FALSE(r->authenticate("app", "pw1")->loopback_only);
  uint64_t gen = r->auth_generation();
  ASSERT_TRUE(r->set_password("app", "pw2").ok());
  EXPECT_GT(r->auth_generation(), gen);
  EXPECT_EQ(r->authenticate("app", "pw1").code(), Errc::kAccessRefused);
  EXPECT_TRUE(r->authenticate("app", "pw2").ok());
  ASSERT_TRUE(r->set_tags("app", {"administrator"}).ok());
  EXPECT_TRUE(r->find_user("app")->has_tag("administrator"));
  ASSERT_TRUE(r->set_loopback_only("app", true).ok());
  EXPECT_TRUE(r->find_user("app")->loopback_only);
  ASSERT_TRUE(r->set_permissions("app", "/", ".*", ".*", ".*").ok());
  ASSERT_TRUE(r->delete_user("app").ok());
  EXPECT_EQ(r->find_user("app").code(), Errc::kNotFound);
  EXPECT_EQ(r->list_permissions().size(), 1u);
  EXPECT_EQ(r->delete_user("app").code(), Errc::kNotFound);
  EXPECT_EQ(r->set_password("app", "x").code(), Errc::kNotFound);
}

TEST_F(Auth, ImportedRabbitMQHash) {
  ASSERT_TRUE(r->add_user_with_hash("imported", "kI3GCqW5JLMJa4iX1lo7X4D6XbYqlLgxIs30+P6tENUV2POR", {}).ok());
  EXPECT_TRUE(r->authenticate("imported", "test12").ok());
}

TEST_F(Auth, PermissionRegexesFollowRabbitMQ) {
  ASSERT_TRUE(r->add_user("app", "pw").ok());
  EXPECT_EQ(r->check_vhost_access("app", "/").code(), Errc::kNotAllowed);
  EXPECT_FALSE(r->check("app", "/", Perm::kRead, "q"));
  ASSERT_TRUE(r->set_permissions("app", "/", "^app\\.", "box", "").ok());
  EXPECT_TRUE(r->check_vhost_access("app", "/").ok());
  EXPECT_TRUE(r->check("app", "/", Perm::kConfigure, "app.orders"));
  EXPECT_FALSE(r->check("app", "/", Perm::kConfigure, "other.app.orders"));
  EXPECT_TRUE(r->check("app", "/", Perm::kWrite, "mailbox"));  // unanchored search
  EXPECT_FALSE(r->check("app", "/", Perm::kWrite, "mail"));
  EXPECT_FALSE(r->check("app", "/", Perm::kRead, "anything"));  // "" matches nothing
  EXPECT_FALSE(r->check("app", "/", Perm::kRead, ""));
  EXPECT_FALSE(r->check("app", "other-vhost", Perm::kWrite, "mailbox"));
  // The default exchange is checked as "amq.default".
  ASSERT_TRUE(r->set_permissions("app", "/", "", "^amq\\.default$", "^$").ok());
  EXPECT_TRUE(r->check("app", "/", Perm::kWrite, ""));
  EXPECT_TRUE(r->check("app", "/", Perm::kWrite, "amq.default"));
  EXPECT_FALSE(r->check("app", "/", Perm::kRead, "x"));
  EXPECT_EQ(r->list_permissions().size(), 2u);
  ASSERT_TRUE(r->clear_permissions("app", "/").ok());
  EXPECT_EQ(r->clear_permissions("app", "/").code(), Errc::kNotFound);
  EXPECT_FALSE(r->check("app", "/", Perm::kWrite, ""));
}

TEST_F(Auth, BadPermissionsRefused) {
  ASSERT_TRUE(r->add_user("app", "pw").ok());
  auto bad = r->set_permissions("app", "/", "(unclosed", ".*", ".*");
  EXPECT_EQ(bad.code(), Errc::kInvalidArgument);
  EXPECT_NE(bad.error().message.find("configure"), std::string::npos);
  EXPECT_EQ(r->set_permissions("app", "nope", ".*", ".*", ".*").code(), Errc::kNotFound);
  EXPECT_EQ(r->set_permissions("nobody", "/", ".*", ".*", ".*").code(), Errc::kNotFound);
  EXPECT_EQ(r->check_vhost_access("app", "/").code(), Errc::kNotAllowed);
  EXPECT_EQ(r->check_vhost_access("guest", "nope").code(), Errc::kNotAllowed);
}

}  // namespace
}  // namespace wharf::broker::routing
