// Group metadata in the offsets log: it survives a reopen, the latest wins,
// deletion and compaction forget it, damaged tails are cut as for commits,
// and files stay readable both ways across the offsets-only format.
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <map>

#include "base/crc32c.h"
#include "base/endian.h"
#include "broker/group/group_metadata.h"
#include "broker/group/offset_log.h"
#include "group_test_util.h"

namespace wharf::broker::group {
namespace {

using testing::TempDir;

uint64_t file_size(const std::string& path) { return std::filesystem::file_size(path); }

std::string read_file(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(f), {});
}

void append_file(const std::string& path, const std::string& bytes) {
  std::ofstream f(path, std::ios::binary | std::ios::app);
  f << bytes;
}

// ---- The offsets-only format, written from docs/storage-format.md (not from
// offset_log.cc): how files looked before group metadata, and how a broker of
// that time reads a file.

void be16(std::string& s, uint16_t v) { uint8_t b[2]; store_be16(b, v); s.append(reinterpret_cast<char*>(b), 2); }
void be32(std::string& s, uint32_t v) { uint8_t b[4]; store_be32(b, v); s.append(reinterpret_cast<char*>(b), 4); }
void be64(std::string& s, uint64_t v) { uint8_t b[8]; store_be64(b, v); s.append(reinterpret_cast<char*>(b), 8); }

std::string record(uint8_t type, const std::string& payload) {
  std::string body;
  be32(body, uint32_t(payload.size()));
  body.push_back(char(type));
  body += payload;
  std::string rec;
  be32(rec, crc32c(body.data(), body.size()));
  return rec + body;
}

std::string commit_record(const std::string& group, const std::string& topic, int32_t partition,
                          int64_t offset, const std::string& metadata = "") {
  std::string p;
  be16(p, uint16_t(group.size()));
  p += group;
  be16(p, uint16_t(topic.size()));
  p += topic;
  be32(p, uint32_t(partition));
  be64(p, uint64_t(offset));
  be32(p, uint32_t(-1));
  be64(p, 1700000000000);
  be32(p, uint32_t(metadata.size()));
  p += metadata;
  return record(1, p);
}

std::string tombstone_record(const std::string& group) {
  std::string p;
  be16(p, uint16_t(group.size()));
  p += group;
  be64(p, 1700000000000);
  return record(2, p);
}

// Replays `bytes` as an offsets-only broker does: types 1 and 2, stopping at
// anything else. Returns (group, topic, partition) -> offset and the number
// of bytes it accepted (the rest it would truncate).
struct OldReplay {
  std::map<std::tuple<std::string, std::string, int32_t>, int64_t> offsets;
  size_t accepted = 0;
};

OldReplay replay_as_offsets_only_broker(const std::string& bytes) {
  OldReplay out;
  const auto* b = reinterpret_cast<const uint8_t*>(bytes.data());
  size_t pos = 0;
  while (bytes.size() - pos >= 9) {
    uint32_t len = load_be32(b + pos + 4);
    uint8_t type = b[pos + 8];
    if (bytes.size() - pos - 9 < len) break;
    if (crc32c(b + pos + 4, 5 + len) != load_be32(b + pos)) break;
    const uint8_t* p = b + pos + 9;
    std::string group(reinterpret_cast<const char*>(p + 2), load_be16(p));
    p += 2 + group.size();
    if (type == 1) {
      std::string topic(reinterpret_cast<const char*>(p + 2), load_be16(p));
      p += 2 + topic.size();
      int32_t partition = int32_t(load_be32(p));
      int64_t offset = int64_t(load_be64(p + 4));
      out.offsets[{group, topic, partition}] = offset;
    } else if (type == 2) {
      std::erase_if(out.offsets, [&](auto& kv) { return std::get<0>(kv.first) == group; });
    } else {
      break;  // unknown record type: the old broker truncates here
    }
    pos += 9 + len;
  }
  out.accepted = pos;
  return out;
}

// ---- Metadata as the coordinator stores it.

GroupMetadata empty_group(int32_t generation) {
  GroupMetadata md;
  md.protocol_type = "consumer";
  md.generation = generation;
  return md;
}

GroupMetadata stable_group(int32_t generation) {
  GroupMetadata md;
  md.protocol_type = "consumer";
  md.generation = generation;
  md.protocol_name = "range";
  md.leader = "c1-aaaa";
  md.members.push_back(StoredMember{"c1-aaaa", std::nullopt, "c1", "/10.0.0.1", 10000, 30000,
                                    {{"range", std::string("sub\0a", 5)}, {"roundrobin", "sub"}},
                                    std::string("assign\0ed", 9)});
  md.members.push_back(StoredMember{"c2-bbbb", std::string("instance-2"), "c2", "/10.0.0.2",
                                    45000, 60000, {{"range", "s2"}}, ""});
  return md;
}

TEST(OffsetLogMetadata, EmptyAndStableGroupsSurviveReopen) {
  TempDir dir;
  {
    auto log = OffsetLog::open(dir.path, 4);
    ASSERT_TRUE(log.ok());
    ASSERT_TRUE((*log)->put_group("idle", empty_group(7)).ok());
    ASSERT_TRUE((*log)->put_group("busy", stable_group(3)).ok());
    EXPECT_EQ((*log)->file_bytes(), file_size(dir.path + "/4.log"));
  }
  auto log = OffsetLog::open(dir.path, 4);
  ASSERT_TRUE(log.ok());
  ASSERT_NE((*log)->find_metadata("idle"), nullptr);
  EXPECT_EQ(*(*log)->find_metadata("idle"), empty_group(7));
  ASSERT_NE((*log)->find_metadata("busy"), nullptr);
  EXPECT_EQ(*(*log)->find_metadata("busy"), stable_group(3));
  EXPECT_EQ((*log)->group_metadata().size(), 2u);
  EXPECT_TRUE((*log)->groups().empty()) << "metadata must not show up as offsets";
}

TEST(OffsetLogMetadata, LatestMetadataWinsAndOffsetsInterleave) {
  TempDir dir;
  {
    auto log = OffsetLog::open(dir.path, 0);
    ASSERT_TRUE(log.ok());
    ASSERT_TRUE((*log)->put("a", "t", 0, {1, -1, "", 0}).ok());
    ASSERT_TRUE((*log)->put_group("a", stable_group(1)).ok());
    ASSERT_TRUE((*log)->put("b", "t", 0, {50, -1, "", 0}).ok());
    ASSERT_TRUE((*log)->put("a", "t", 0, {2, -1, "", 0}).ok());
    ASSERT_TRUE((*log)->put_group("b", stable_group(9)).ok());
    ASSERT_TRUE((*log)->put_group("a", empty_group(2)).ok());
    ASSERT_TRUE((*log)->put("a", "t", 1, {3, -1, "", 0}).ok());
    ASSERT_TRUE((*log)->put_group("b", empty_group(10)).ok());
  }
  auto log = OffsetLog::open(dir.path, 0);
  ASSERT_TRUE(log.ok());
  EXPECT_EQ(*(*log)->find_metadata("a"), empty_group(2));
  EXPECT_EQ(*(*log)->find_metadata("b"), empty_group(10));
  EXPECT_EQ((*log)->find("a")->at({"t", 0}).offset, 2);
  EXPECT_EQ((*log)->find("a")->at({"t", 1}).offset, 3);
  EXPECT_EQ((*log)->find("b")->at({"t", 0}).offset, 50);
  EXPECT_EQ((*log)->groups().size(), 2u);
}

TEST(OffsetLogMetadata, DeletedGroupStaysDeleted) {
  TempDir dir;
  {
    auto log = OffsetLog::open(dir.path, 1);
    ASSERT_TRUE((*log)->put("g", "t", 0, {1, -1, "", 0}).ok());
    ASSERT_TRUE((*log)->put_group("g", empty_group(4)).ok());
    ASSERT_TRUE((*log)->put_group("only-meta", empty_group(1)).ok());
    ASSERT_TRUE((*log)->put_group("keep", empty_group(1)).ok());
    ASSERT_TRUE((*log)->delete_group("g").ok());
    ASSERT_TRUE((*log)->delete_group("only-meta").ok());
    EXPECT_EQ((*log)->find_metadata("g"), nullptr);
  }
  {
    auto log = OffsetLog::open(dir.path, 1);
    EXPECT_EQ((*log)->find("g"), nullptr);
    EXPECT_EQ((*log)->find_metadata("g"), nullptr);
    EXPECT_EQ((*log)->find_metadata("only-meta"), nullptr);
    EXPECT_EQ(*(*log)->find_metadata("keep"), empty_group(1));
    // A group of the same name started afresh is a new group.
    ASSERT_TRUE((*log)->put_group("g", empty_group(1)).ok());
  }
  auto log = OffsetLog::open(dir.path, 1);
  EXPECT_EQ(*(*log)->find_metadata("g"), empty_group(1));
}

TEST(OffsetLogMetadata, CompactionKeepsLatestMetadataAndDropsDeletedGroups) {
  TempDir dir;
  OffsetLogOptions opts{/*compact_min_bytes=*/4096, /*compact_ratio=*/4};
  std::string path = dir.path + "/2.log";
  {
    auto log = OffsetLog::open(dir.path, 2, opts);
    ASSERT_TRUE(log.ok());
    ASSERT_TRUE((*log)->put("gone", "t", 0, {1, -1, "", 0}).ok());
    ASSERT_TRUE((*log)->put_group("gone", stable_group(1)).ok());
    ASSERT_TRUE((*log)->delete_group("gone").ok());
    for (int i = 1; i <= 500; ++i) {
      ASSERT_TRUE((*log)->put_group("g", i % 2 ? stable_group(i) : empty_group(i)).ok());
      ASSERT_TRUE((*log)->put("g", "t", 0, {i, -1, "", 0}).ok());
      EXPECT_LE((*log)->file_bytes(), 4 * (*log)->live_bytes() + 4096 + 400);
    }
    EXPECT_LT(file_size(path), 8192u);  // 500 records of ~250 bytes were written
    ASSERT_TRUE((*log)->compact().ok());
    EXPECT_EQ((*log)->file_bytes(), (*log)->live_bytes());
    EXPECT_EQ((*log)->file_bytes(), file_size(path));
  }
  auto log = OffsetLog::open(dir.path, 2, opts);
  ASSERT_TRUE(log.ok());
  EXPECT_EQ(*(*log)->find_metadata("g"), empty_group(500));
  EXPECT_EQ((*log)->find("g")->at({"t", 0}).offset, 500);
  EXPECT_EQ((*log)->find_metadata("gone"), nullptr);
  EXPECT_EQ((*log)->find("gone"), nullptr);
  EXPECT_EQ((*log)->group_metadata().size(), 1u);
}

TEST(OffsetLogMetadata, TornMetadataRecordIsTruncated) {
  TempDir dir;
  std::string path = dir.path + "/0.log";
  uint64_t before = 0, after = 0;
  {
    auto log = OffsetLog::open(dir.path, 0);
    ASSERT_TRUE((*log)->put("g", "t", 0, {1, -1, "", 0}).ok());
    ASSERT_TRUE((*log)->put_group("g", empty_group(1)).ok());
    before = (*log)->file_bytes();
    ASSERT_TRUE((*log)->put_group("g", stable_group(2)).ok());
    after = (*log)->file_bytes();
  }
  // A crash in the middle of the second metadata record.
  ASSERT_EQ(::truncate(path.c_str(), off_t(before + (after - before) / 2)), 0);
  {
    auto log = OffsetLog::open(dir.path, 0);
    ASSERT_TRUE(log.ok());
    EXPECT_EQ(file_size(path), before);
    EXPECT_EQ(*(*log)->find_metadata("g"), empty_group(1));
    EXPECT_EQ((*log)->find("g")->at({"t", 0}).offset, 1);
    ASSERT_TRUE((*log)->put_group("g", stable_group(3)).ok());  // appends stay readable
  }
  auto log = OffsetLog::open(dir.path, 0);
  EXPECT_EQ(*(*log)->find_metadata("g"), stable_group(3));
}

TEST(OffsetLogMetadata, TornMarkerKeepsTheCompleteRecordBeforeIt) {
  TempDir dir;
  std::string path = dir.path + "/0.log";
  uint64_t full = 0;
  {
    auto log = OffsetLog::open(dir.path, 0);
    ASSERT_TRUE((*log)->put_group("g", stable_group(5)).ok());
    full = (*log)->file_bytes();
  }
  ASSERT_EQ(::truncate(path.c_str(), off_t(full - 3)), 0);  // into the marker
  auto log = OffsetLog::open(dir.path, 0);
  ASSERT_TRUE(log.ok());
  EXPECT_EQ(file_size(path), full - offset_format::kMarkerSize);
  EXPECT_EQ(*(*log)->find_metadata("g"), stable_group(5));
}

TEST(OffsetLogMetadata, CorruptMetadataRecordStopsReplay) {
  TempDir dir;
  std::string path = dir.path + "/0.log";
  uint64_t good = 0;
  {
    auto log = OffsetLog::open(dir.path, 0);
    ASSERT_TRUE((*log)->put("g", "t", 0, {1, -1, "", 0}).ok());
    good = (*log)->file_bytes();
    ASSERT_TRUE((*log)->put_group("g", stable_group(1)).ok());
    ASSERT_TRUE((*log)->put("g", "t", 0, {2, -1, "", 0}).ok());
  }
  {
    std::fstream f(path, std::ios::in | std::ios::out | std::ios::binary);
    f.seekp(std::streamoff(good + 60));  // inside the metadata value
    f.put('Q');
  }
  auto log = OffsetLog::open(dir.path, 0);
  ASSERT_TRUE(log.ok());
  EXPECT_EQ(file_size(path), good);
  EXPECT_EQ((*log)->find_metadata("g"), nullptr);
  EXPECT_EQ((*log)->find("g")->at({"t", 0}).offset, 1);
}

TEST(OffsetLogMetadata, OffsetsOnlyFileStillLoads) {
  TempDir dir;
  std::string path = dir.path + "/6.log";
  std::string old = commit_record("g", "t", 0, 10, "m") + commit_record("g", "t", 1, 11) +
                    commit_record("x", "u", 0, 5) + tombstone_record("x") +
                    commit_record("g", "t", 0, 12);
  append_file(path, old);
  {
    auto log = OffsetLog::open(dir.path, 6);
    ASSERT_TRUE(log.ok());
    EXPECT_EQ(file_size(path), old.size()) << "nothing of an offsets-only file may be cut";
    EXPECT_EQ((*log)->find("g")->at({"t", 0}).offset, 12);
    EXPECT_EQ((*log)->find("g")->at({"t", 1}).offset, 11);
    EXPECT_EQ((*log)->find("x"), nullptr);
    EXPECT_TRUE((*log)->group_metadata().empty());
    ASSERT_TRUE((*log)->put_group("g", empty_group(3)).ok());
  }
  auto log = OffsetLog::open(dir.path, 6);
  EXPECT_EQ(*(*log)->find_metadata("g"), empty_group(3));
  EXPECT_EQ((*log)->find("g")->at({"t", 0}).offset, 12);
}

// An offsets-only broker reading a file written now (e.g. after a downgrade)
// keeps every committed offset and sees no group that does not exist.
TEST(OffsetLogMetadata, OffsetsOnlyBrokerLosesNothingOfANewerFile) {
  TempDir dir;
  OffsetLogOptions opts{/*compact_min_bytes=*/1024, /*compact_ratio=*/2};
  std::string path = dir.path + "/3.log";
  std::map<std::tuple<std::string, std::string, int32_t>, int64_t> expected;
  {
    auto log = OffsetLog::open(dir.path, 3, opts);
    for (int i = 0; i < 40; ++i) {
      std::string g = "g" + std::to_string(i % 3);
      ASSERT_TRUE((*log)->put(g, "t", i % 2, {i, -1, "", 0}).ok());
      expected[{g, "t", i % 2}] = i;
      ASSERT_TRUE((*log)->put_group(g, i % 4 ? stable_group(i) : empty_group(i)).ok());
    }
    ASSERT_TRUE((*log)->compact().ok());  // the compacted form too
    ASSERT_TRUE((*log)->put_group("g0", stable_group(99)).ok());
    ASSERT_TRUE((*log)->put("g0", "t", 5, {77, -1, "", 0}).ok());
    expected[{"g0", "t", 5}] = 77;
  }
  std::string bytes = read_file(path);
  OldReplay old = replay_as_offsets_only_broker(bytes);
  EXPECT_EQ(old.accepted, bytes.size()) << "an old broker would truncate the file here";
  EXPECT_EQ(old.offsets, expected);
}

TEST(OffsetLogMetadata, UnknownRecordTypes) {
  TempDir dir;
  std::string path = dir.path + "/0.log";
  append_file(path, commit_record("g", "t", 0, 1) + record(0x83, "future, optional") +
                        commit_record("g", "t", 0, 2));
  {
    auto log = OffsetLog::open(dir.path, 0);
    ASSERT_TRUE(log.ok());
    EXPECT_EQ((*log)->find("g")->at({"t", 0}).offset, 2) << "optional records are skipped";
  }
  append_file(path, record(3, "future, required") + commit_record("g", "t", 0, 3));
  uint64_t size = file_size(path);
  auto log = OffsetLog::open(dir.path, 0);
  ASSERT_FALSE(log.ok()) << "a record this broker must understand but does not";
  EXPECT_NE(log.error().message.find("record type 3"), std::string::npos) << log.error().message;
  EXPECT_EQ(file_size(path), size) << "the file of a newer broker must not be cut";
}

TEST(OffsetLogMetadata, UnknownMetadataVersionKeepsOffsets) {
  TempDir dir;
  std::string path = dir.path + "/0.log";
  {
    auto log = OffsetLog::open(dir.path, 0);
    ASSERT_TRUE((*log)->put("g", "t", 0, {8, -1, "", 0}).ok());
    ASSERT_TRUE((*log)->put_group("g", stable_group(1)).ok());
    ASSERT_TRUE((*log)->put_group("h", empty_group(1)).ok());
  }
  // A newer broker's metadata record for g: empty group name, version 1.
  append_file(path, commit_record("", "g", 1, -1, "whatever v1 holds") + tombstone_record("") +
                        commit_record("g", "t", 0, 9));
  auto log = OffsetLog::open(dir.path, 0);
  ASSERT_TRUE(log.ok());
  EXPECT_EQ((*log)->find_metadata("g"), nullptr) << "the older metadata is stale";
  EXPECT_EQ(*(*log)->find_metadata("h"), empty_group(1));
  EXPECT_EQ((*log)->find("g")->at({"t", 0}).offset, 9);
}

TEST(OffsetLogMetadata, OversizedMetadataIsRefusedAndNothingIsWritten) {
  TempDir dir;
  auto log = OffsetLog::open(dir.path, 0);
  ASSERT_TRUE((*log)->put_group("g", empty_group(1)).ok());
  uint64_t size = (*log)->file_bytes();
  GroupMetadata big = stable_group(2);
  big.members[0].assignment.assign(offset_format::kMaxPayload, 'x');
  auto st = (*log)->put_group("g", big);
  ASSERT_FALSE(st.ok());
  EXPECT_EQ(st.code(), Errc::kMessageTooLarge);
  EXPECT_EQ((*log)->file_bytes(), size);
  EXPECT_EQ(*(*log)->find_metadata("g"), empty_group(1));
}

TEST(GroupMetadataCodec, RoundTripAndDamagedValues) {
  std::string v = encode_group_metadata(stable_group(4));
  EXPECT_EQ(v.size(), encoded_group_metadata_size(stable_group(4)));
  auto md = decode_group_metadata(v);
  ASSERT_TRUE(md.ok());
  EXPECT_EQ(*md, stable_group(4));
  EXPECT_FALSE(decode_group_metadata(v.substr(0, v.size() - 1)).ok());
  EXPECT_FALSE(decode_group_metadata(v + "x").ok());
  // A member count far beyond the bytes present is refused before allocating.
  std::string lie = encode_group_metadata(empty_group(1));
  store_be32(reinterpret_cast<uint8_t*>(lie.data()) + lie.size() - 4, 0xffffffffu);
  EXPECT_FALSE(decode_group_metadata(lie).ok());
}

}  // namespace
}  // namespace wharf::broker::group
