// Builds the seed corpus for tests/fuzz/amqp_frame_fuzz.cc and checks each
// seed parses and assembles cleanly, the way the fuzzer processes it. To
// (re)write the committed seeds:
//   WHARF_WRITE_FUZZ_SEEDS=tests/fuzz/corpus/amqp_frame
//   ./build/tests/unit/amqp/amqp_protocol_test --gtest_filter='FuzzSeeds.*'
// (the variable set in the environment of the second command).
//
// A seed is a client's byte stream after the protocol header: whole frames.
#include <gtest/gtest.h>

#include <cstdio>
#include <cstdlib>
#include <map>
#include <string>

#include "amqp/protocol/command_assembler.h"
#include "amqp/protocol/frame_parser.h"
#include "amqp/protocol/frame_writer.h"
#include "test_util.h"

namespace wharf::amqp {
namespace {

using test::Bytes;

constexpr uint32_t kFrameMax = 131072;  // the fuzzer parses with this frame_max

struct Stream {
  OutBuffer out;
  template <class M>
  Stream& method(uint16_t channel, const M& m) {
    EXPECT_TRUE(write_method_frame(out, channel, m, kFrameMax).ok());
    return *this;
  }
  template <class M>
  Stream& content(uint16_t channel, const M& m, const msg::BasicProperties& p, std::string_view body,
                  uint32_t frame_max = kFrameMax) {
    auto b = std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(body.data()), body.size());
    EXPECT_TRUE(write_content(out, channel, m, p, b, frame_max).ok());
    return *this;
  }
  Stream& heartbeat() {
    write_heartbeat_frame(out);
    return *this;
  }
  Bytes bytes() const { return out.to_bytes(); }
};

std::vector<std::pair<std::string, Bytes>> make_seeds() {
  std::vector<std::pair<std::string, Bytes>> s;
  {
    msg::ConnectionStartOk ok;
    FieldTable caps;
    caps.set("basic.nack", true).set("consumer_cancel_notify", true);
    ok.client_properties.set("product", "pika").set("capabilities", caps);
    ok.response = std::string("\0guest\0guest", 12);
    msg::ConnectionTuneOk tune;
    tune.channel_max = 2047;
    tune.frame_max = kFrameMax;
    tune.heartbeat = 60;
    s.push_back({"handshake", Stream().method(0, ok).method(0, tune).method(0, msg::ConnectionOpen{}).bytes()});
  }
  {
    msg::QueueDeclare q;
    q.queue = "orders";
    q.durable = true;
    q.arguments.set("x-queue-type", "classic").set("x-max-length", int64_t(1000)).set("x-message-ttl", int32_t(60000));
    msg::QueueBind b;
    b.queue = "orders";
    b.exchange = "amq.topic";
    b.routing_key = "orders.#";
    s.push_back({"declare_bind", Stream().method(1, msg::ChannelOpen{}).method(1, q).method(1, b).bytes()});
  }
  {
    msg::BasicPublish p;
    p.exchange = "amq.direct";
    p.routing_key = "rk";
    p.mandatory = true;
    msg::BasicProperties props;
    props.content_type = "application/json";
    props.delivery_mode = 2;
    props.headers = FieldTable().set("x-death", FieldArray{{FieldValue(FieldTable().set("count", int64_t(1)))}});
    props.timestamp = 1700000000;
    s.push_back({"publish", Stream().method(1, msg::ConfirmSelect{}).content(1, p, props, "{\"id\": 1}").bytes()});
    // A body split over three frames (frame_max 4096), interleaved with a
    // heartbeat and another channel's publish.
    std::string big(9000, 'z');
    Stream st;
    st.content(1, p, props, big, kFrameMinSize).heartbeat().content(2, p, {}, "");
    s.push_back({"publish_split", st.bytes()});
  }
  {
    msg::BasicQos qos;
    qos.prefetch_count = 10;
    msg::BasicConsume c;
    c.queue = "orders";
    c.consumer_tag = "ctag";
    c.arguments.set("x-priority", int32_t(5));
    msg::BasicAck ack;
    ack.delivery_tag = 7;
    ack.multiple = true;
    msg::BasicNack nack;
    nack.delivery_tag = 8;
    msg::BasicReject rej;
    rej.delivery_tag = 9;
    s.push_back({"consume_ack",
                 Stream().method(1, qos).method(1, c).method(1, ack).method(1, nack).method(1, rej).bytes()});
  }
  {
    msg::ExchangeDeclare x;
    x.exchange = "events";
    x.type = "topic";
    x.durable = true;
    x.arguments.set("alternate-exchange", "ae").set("d", Decimal{2, 314}).set("x", ByteArray{{1, 2, 3}});
    msg::ChannelClose cc;
    cc.reply_code = 200;
    cc.reply_text = "bye";
    msg::ConnectionClose close;
    close.reply_code = 200;
    s.push_back({"exchange_close", Stream()
                                       .method(3, x)
                                       .method(3, msg::TxSelect{})
                                       .method(3, msg::TxCommit{})
                                       .method(3, cc)
                                       .method(0, close)
                                       .bytes()});
  }
  {
    msg::BasicGet g;
    g.queue = "q";
    msg::BasicCancel c;
    c.consumer_tag = "ctag";
    s.push_back({"get_cancel", Stream().method(5, g).method(5, c).method(5, msg::BasicRecover{}).heartbeat().bytes()});
  }
  return s;
}

TEST(FuzzSeeds, SeedsParseLikeTheFuzzer) {
  const char* dir = std::getenv("WHARF_WRITE_FUZZ_SEEDS");
  for (auto& [name, bytes] : make_seeds()) {
    SCOPED_TRACE(name);
    FrameParser parser(kFrameMax);
    std::map<uint16_t, CommandAssembler> channels;
    size_t used = 0, commands = 0;
    while (used < bytes.size()) {
      FrameParse p = parser.parse(std::span<uint8_t>(bytes).subspan(used));
      ASSERT_EQ(p.status, FrameParse::kFrame);
      used += p.size;
      if (p.frame.type == FrameType::Heartbeat) continue;
      auto it = channels.try_emplace(p.frame.channel, p.frame.channel, uint64_t(1) << 20).first;
      AssembleResult r = it->second.add(p.frame);
      ASSERT_NE(r.status, AssembleResult::kError) << r.error.text;
      commands += r.status == AssembleResult::kCommand;
    }
    EXPECT_GT(commands, 0u);
    for (auto& [ch, a] : channels) EXPECT_FALSE(a.in_content()) << "channel " << ch;
    if (dir) {
      std::string path = std::string(dir) + "/" + name;
      FILE* f = std::fopen(path.c_str(), "wb");
      ASSERT_NE(f, nullptr) << path;
      ASSERT_EQ(std::fwrite(bytes.data(), 1, bytes.size(), f), bytes.size());
      std::fclose(f);
    }
  }
}

}  // namespace
}  // namespace wharf::amqp
