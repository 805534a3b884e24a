// SASL responses of connection.start-ok, the default authenticator and the
// loopback test behind "guest only from localhost".
#include <gtest/gtest.h>

#include "amqp/auth.h"
#include "amqp/sasl.h"
#include "test_util.h"

namespace wharf::amqp {
namespace {

TEST(Sasl, Plain) {
  auto c = decode_sasl_response("PLAIN", std::string("\0alice\0s3cret", 13));
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(c->user, "alice");
  EXPECT_EQ(c->password, "s3cret");
  EXPECT_EQ(c->mechanism, "PLAIN");
}

TEST(Sasl, PlainIgnoresAuthorizationIdentityAndAllowsEmptyPassword) {
  auto c = decode_sasl_response("PLAIN", std::string("admin\0bob\0", 10));
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(c->user, "bob");
  EXPECT_EQ(c->password, "");
}

TEST(Sasl, MalformedPlain) {
  EXPECT_EQ(decode_sasl_response("PLAIN", "guestguest").code(), Errc::kInvalidArgument);
  EXPECT_EQ(decode_sasl_response("PLAIN", std::string("\0guest", 6)).code(), Errc::kInvalidArgument);
  EXPECT_EQ(decode_sasl_response("PLAIN", std::string("\0a\0b\0c", 6)).code(), Errc::kInvalidArgument);
}

std::string amqplain(const FieldTable& t) {
  auto b = test::write_with([&](Writer& w) { w.write_table(t); });
  return std::string(b.begin() + 4, b.end());  // without the table size
}

TEST(Sasl, Amqplain) {
  FieldTable t;
  t.set("LOGIN", "carol");
  t.set("PASSWORD", "pw");
  auto c = decode_sasl_response("AMQPLAIN", amqplain(t));
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(c->user, "carol");
  EXPECT_EQ(c->password, "pw");
}

TEST(Sasl, MalformedAmqplain) {
  FieldTable only_login;
  only_login.set("LOGIN", "carol");
  EXPECT_EQ(decode_sasl_response("AMQPLAIN", amqplain(only_login)).code(), Errc::kInvalidArgument);
  FieldTable numeric;
  numeric.set("LOGIN", "carol");
  numeric.set("PASSWORD", int32_t{5});
  EXPECT_EQ(decode_sasl_response("AMQPLAIN", amqplain(numeric)).code(), Errc::kInvalidArgument);
  EXPECT_EQ(decode_sasl_response("AMQPLAIN", "\x05LOGIN").code(), Errc::kInvalidArgument);
}

TEST(Sasl, UnknownMechanism) {
  EXPECT_EQ(decode_sasl_response("EXTERNAL", "").code(), Errc::kUnsupported);
  EXPECT_EQ(decode_sasl_response("plain", std::string("\0a\0b", 4)).code(), Errc::kUnsupported);
}

TEST(DefaultAuth, GuestFromLoopbackOnlyAndVhostSlashOnly) {
  DefaultAuth auth;
  EXPECT_TRUE(auth.authenticate({"PLAIN", "guest", "guest"}, true).ok());
  EXPECT_FALSE(auth.authenticate({"PLAIN", "guest", "guest"}, false).ok());
  EXPECT_FALSE(auth.authenticate({"PLAIN", "guest", "nope"}, true).ok());
  EXPECT_FALSE(auth.authenticate({"PLAIN", "admin", "guest"}, true).ok());
  Principal p{"guest"};
  EXPECT_TRUE(auth.can_access_vhost(p, "/").ok());
  auto st = auth.can_access_vhost(p, "prod");
  ASSERT_FALSE(st.ok());
  EXPECT_EQ(st.error().message, "vhost 'prod' not found");
}

TEST(Loopback, Addresses) {
  EXPECT_TRUE(is_loopback_peer("127.0.0.1:5672"));
  EXPECT_TRUE(is_loopback_peer("127.1.2.3:1"));
  EXPECT_TRUE(is_loopback_peer("::1:40000"));
  EXPECT_TRUE(is_loopback_peer("[::1]:40000"));
  EXPECT_TRUE(is_loopback_peer("::ffff:127.0.0.1:40000"));  // IPv4 client on a dual-stack listener
  EXPECT_FALSE(is_loopback_peer("10.0.0.1:5672"));
  EXPECT_FALSE(is_loopback_peer("::ffff:10.0.0.1:40000"));
  EXPECT_FALSE(is_loopback_peer("fe80::1:40000"));
  EXPECT_FALSE(is_loopback_peer(""));
  EXPECT_FALSE(is_loopback_peer("garbage"));
}

}  // namespace
}  // namespace wharf::amqp
