"""Just enough of the Kafka wire format to hand-craft requests on a raw socket.

Used by the bad-input tests, which need bytes no real client would send. A
frame is a big-endian int32 size followed by that many bytes; a request header
(v1) is api_key int16, api_version int16, correlation_id int32, client_id as a
nullable int16-length string; header v2 adds an empty tagged-field section.
"""

import socket
import struct

API_PRODUCE = 0
API_METADATA = 3
API_OFFSET_COMMIT = 8
API_VERSIONS = 18


def header(api_key, api_version, correlation_id, client_id=b"wharf-e2e", flexible=False):
    h = struct.pack(">hhih", api_key, api_version, correlation_id, len(client_id)) + client_id
    return h + (b"\x00" if flexible else b"")


def frame(payload):
    return struct.pack(">i", len(payload)) + payload


def api_versions_v0(correlation_id):
    # ApiVersions v0 has an empty body.
    return frame(header(API_VERSIONS, 0, correlation_id))


def string(s):
    b = s.encode()
    return struct.pack(">h", len(b)) + b


def offset_commit_v2(correlation_id, group, topic, offsets):
    """OffsetCommit v2 from outside any generation (generation -1, no member id), as tools commit.

    offsets: {partition: offset}; metadata is left null.
    """
    body = string(group) + struct.pack(">i", -1) + string("") + struct.pack(">q", -1)
    body += struct.pack(">i", 1) + string(topic) + struct.pack(">i", len(offsets))
    for partition, offset in offsets.items():
        body += struct.pack(">iqh", partition, offset, -1)
    return frame(header(API_OFFSET_COMMIT, 2, correlation_id) + body)


def parse_offset_commit_v2(body):
    """(correlation_id, {partition: error_code}) from an OffsetCommit v2 response with one topic."""
    correlation_id, ntopics = struct.unpack_from(">ii", body, 0)
    assert ntopics == 1, f"{ntopics} topics in an OffsetCommit response for one"
    (name_len,) = struct.unpack_from(">h", body, 8)
    pos = 10 + name_len
    (n,) = struct.unpack_from(">i", body, pos)
    errors = {}
    for i in range(n):
        partition, err = struct.unpack_from(">ih", body, pos + 4 + 6 * i)
        errors[partition] = err
    return correlation_id, errors


def connect(port, timeout_s=10):
    s = socket.create_connection(("127.0.0.1", port), timeout=timeout_s)
    s.settimeout(timeout_s)
    return s


def recv_exact(sock, n):
    buf = b""
    while len(buf) < n:
        chunk = sock.recv(n - len(buf))
        if not chunk:
            raise ConnectionError(f"connection closed after {len(buf)} of {n} bytes")
        buf += chunk
    return buf


def read_frame(sock):
    (size,) = struct.unpack(">i", recv_exact(sock, 4))
    return recv_exact(sock, size)


def parse_api_versions_v0(body):
    """(correlation_id, error_code, {api_key: (min, max)}) from an ApiVersions v0 response frame."""
    correlation_id, error_code, n = struct.unpack_from(">ihi", body, 0)
    apis = {}
    for i in range(max(n, 0)):
        key, lo, hi = struct.unpack_from(">hhh", body, 10 + 6 * i)
        apis[key] = (lo, hi)
    return correlation_id, error_code, apis


def closed_by_peer(sock):
    """True once the peer closed (EOF or reset); False if it is still open when the socket times out.

    Whatever the peer sent before closing is read and ignored: a broker may
    answer a bad request with an error before it hangs up.
    """
    try:
        while True:
            if not sock.recv(65536):
                return True
    except (ConnectionResetError, BrokenPipeError):
        return True
    except socket.timeout:
        return False
