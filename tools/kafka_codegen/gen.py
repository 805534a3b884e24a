#!/usr/bin/python3
"""Wharf Kafka message code generator.

Reads Apache Kafka's JSON message schemas (with // comments) and writes C++
structs with decode/encode functions into src/kafka/protocol/generated/.
See README.md next to this file for the conventions of the generated code.

Python 3 standard library only. Output is deterministic: the same spec files
always produce byte-identical output.
"""

import argparse
import json
import os
import re
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from codegen_common import CPP_KEYWORDS as _CPP_RESERVED, Out, cpp_string_literal, write_files  # noqa: E402

# APIs to generate, in this order. Each name X expands to XRequest.json and
# XResponse.json; one x.h/x.cc pair per API.
APIS = [
    "Produce",
    "Fetch",
    "ListOffsets",
    "Metadata",
    "OffsetCommit",
    "OffsetFetch",
    "FindCoordinator",
    "JoinGroup",
    "Heartbeat",
    "LeaveGroup",
    "SyncGroup",
    "DescribeGroups",
    "ListGroups",
    "SaslHandshake",
    "ApiVersions",
    "CreateTopics",
    "DeleteTopics",
    "DeleteRecords",
    "InitProducerId",
    "OffsetForLeaderEpoch",
    "AddPartitionsToTxn",
    "AddOffsetsToTxn",
    "EndTxn",
    "WriteTxnMarkers",
    "TxnOffsetCommit",
    "DescribeConfigs",
    "AlterConfigs",
    "SaslAuthenticate",
    "CreatePartitions",
    "DeleteGroups",
    "IncrementalAlterConfigs",
    "DescribeCluster",
    "DescribeProducers",
]

# Header schemas, generated together into headers.h / headers.cc.
HEADERS = ["RequestHeader", "ResponseHeader"]

NAMESPACE = "wharf::kafka::msg"

PRIMITIVES = {
    "bool": "bool",
    "int8": "int8_t",
    "int16": "int16_t",
    "uint16": "uint16_t",
    "int32": "int32_t",
    "uint32": "uint32_t",
    "int64": "int64_t",
    "float64": "double",
    "string": "std::string",
    "bytes": "std::vector<uint8_t>",
    "records": "Records",
    "uuid": "Uuid",
}

FIXED_READ = {
    "bool": "read_bool",
    "int8": "read_int8",
    "int16": "read_int16",
    "uint16": "read_uint16",
    "int32": "read_int32",
    "uint32": "read_uint32",
    "int64": "read_int64",
    "float64": "read_float64",
    "uuid": "read_uuid",
}

# Reserved words plus the member functions every generated struct has.
CPP_KEYWORDS = _CPP_RESERVED | {"decode", "encode", "version"}


# --------------------------------------------------------------------------
# JSON with // comments

def strip_comments(text):
    out = []
    i, n = 0, len(text)
    in_str = False
    while i < n:
        c = text[i]
        if in_str:
            out.append(c)
            if c == "\\" and i + 1 < n:
                out.append(text[i + 1])
                i += 2
                continue
            if c == '"':
                in_str = False
            i += 1
            continue
        if c == '"':
            in_str = True
            out.append(c)
            i += 1
            continue
        if text.startswith("//", i):
            j = text.find("\n", i)
            i = n if j < 0 else j
            continue
        if text.startswith("/*", i):
            j = text.find("*/", i + 2)
            i = n if j < 0 else j + 2
            continue
        out.append(c)
        i += 1
    return "".join(out)


def load_spec(spec_dir, name):
    path = os.path.join(spec_dir, name + ".json")
    with open(path, encoding="utf-8") as f:
        return json.loads(strip_comments(f.read()))


# --------------------------------------------------------------------------
# Version ranges

class VRange:
    """Inclusive version range; hi None means open-ended; empty if lo is None."""

    def __init__(self, lo, hi):
        self.lo, self.hi = lo, hi

    @staticmethod
    def parse(s):
        s = str(s).strip()
        if s == "none" or s == "":
            return VRange(None, None)
        if s.endswith("+"):
            return VRange(int(s[:-1]), None)
        if "-" in s:
            a, b = s.split("-", 1)
            return VRange(int(a), int(b))
        return VRange(int(s), int(s))

    def empty(self):
        return self.lo is None or (self.hi is not None and self.hi < self.lo)

    def intersect(self, o):
        if self.empty() or o.empty():
            return VRange(None, None)
        lo = max(self.lo, o.lo)
        if self.hi is None:
            hi = o.hi
        elif o.hi is None:
            hi = self.hi
        else:
            hi = min(self.hi, o.hi)
        r = VRange(lo, hi)
        return VRange(None, None) if r.empty() else r

    def minus_suffix(self, o):
        """self minus o, where o must be a suffix range (N+) or empty."""
        if o.empty():
            return self
        if o.hi is not None:
            raise ValueError("tagged version ranges must be open-ended")
        if self.empty() or self.lo >= o.lo:
            return VRange(None, None)
        hi = o.lo - 1 if self.hi is None else min(self.hi, o.lo - 1)
        return VRange(self.lo, hi)

    def covers(self, lo, hi):
        """True if [lo, hi] lies inside this range."""
        if self.empty():
            return False
        return self.lo <= lo and (self.hi is None or self.hi >= hi)

    def __str__(self):
        if self.empty():
            return "none"
        if self.hi is None:
            return "%d+" % self.lo
        if self.hi == self.lo:
            return "%d" % self.lo
        return "%d-%d" % (self.lo, self.hi)


def cond(r, lo, hi):
    """C++ condition that `version` lies in r, knowing it lies in [lo, hi]."""
    if r.empty():
        return "false"
    if r.lo > hi or (r.hi is not None and r.hi < lo):
        return "false"
    lo_b = r.lo if r.lo > lo else None
    hi_b = r.hi if (r.hi is not None and r.hi < hi) else None
    if lo_b is None and hi_b is None:
        return "true"
    if lo_b is not None and hi_b is not None:
        if lo_b == hi_b:
            return "version == %d" % lo_b
        return "version >= %d && version <= %d" % (lo_b, hi_b)
    if lo_b is not None:
        return "version >= %d" % lo_b
    return "version <= %d" % hi_b


def clamp(r, lo, hi):
    x = r.intersect(VRange(lo, hi))
    return (x.lo, x.hi) if not x.empty() else None


# --------------------------------------------------------------------------
# Names

def snake(name):
    s = re.sub(r"(?<=[a-z0-9])(?=[A-Z])", "_", name)
    s = re.sub(r"(?<=[A-Z])(?=[A-Z][a-z])", "_", s)
    s = s.lower()
    if s in CPP_KEYWORDS:
        s += "_"
    return s


def file_stem(api):
    return re.sub(r"(?<=[a-z0-9])(?=[A-Z])", "_", api).lower()


# --------------------------------------------------------------------------
# Model

class Field:
    pass


class StructDef:
    def __init__(self, name, canon):
        self.name = name
        self.canon = canon
        self.fields = []


class Message:
    def __init__(self, spec, api_name):
        self.spec = spec
        self.name = spec["name"]
        self.api_name = api_name
        self.api_key = spec.get("apiKey", -1)
        self.valid = VRange.parse(spec["validVersions"])
        self.flexible = VRange.parse(spec.get("flexibleVersions", "none"))
        self.vmin, self.vmax = self.valid.lo, self.valid.hi
        if self.vmax is None:
            raise ValueError("%s: open-ended validVersions" % self.name)
        self.structs = {}  # name -> StructDef, in definition order
        self.top = StructDef(self.name, None)
        self.renames = []  # (original, new) for README/debugging
        common = spec.get("commonStructs", [])
        for cs in common:  # register names first: commonStructs may refer to each other
            self.structs[cs["name"]] = StructDef(cs["name"], canon(cs["fields"]))
        for cs in common:
            sd = self.structs[cs["name"]]
            sd.fields = [self.parse_field(f, sd) for f in cs["fields"]]
        self.top.fields = [self.parse_field(f, self.top) for f in spec["fields"]]

    def define_struct(self, type_name, jfields, parent):
        c = canon(jfields)
        name = type_name
        if name in self.structs or name == self.name:
            if name in self.structs and self.structs[name].canon == c:
                return self.structs[name]
            # Same type name with different fields: prefix the enclosing
            # struct's name, then add a counter if still taken.
            base = parent.name + type_name
            name = base
            i = 2
            while name in self.structs or name == self.name:
                if name in self.structs and self.structs[name].canon == c:
                    return self.structs[name]
                name = "%s%d" % (base, i)
                i += 1
            self.renames.append((type_name, name))
        sd = StructDef(name, c)
        self.structs[name] = sd
        sd.fields = [self.parse_field(f, sd) for f in jfields]
        return sd

    def parse_field(self, jf, parent):
        f = Field()
        f.json_name = jf["name"]
        f.name = snake(jf["name"])
        f.about = jf.get("about", "")
        t = jf["type"]
        f.is_array = t.startswith("[]")
        base = t[2:] if f.is_array else t
        f.versions = VRange.parse(jf.get("versions", "none"))
        f.nullable = VRange.parse(jf.get("nullableVersions", "none"))
        f.tagged = VRange.parse(jf.get("taggedVersions", "none"))
        f.tag = jf.get("tag")
        if not f.tagged.empty() and f.tag is None:
            raise ValueError("%s.%s: taggedVersions without tag" % (self.name, f.json_name))
        f.regular = f.versions.minus_suffix(f.tagged)
        f.flex_override = VRange.parse(jf["flexibleVersions"]) if "flexibleVersions" in jf else None
        f.default = jf.get("default")
        f.struct = None
        if "fields" in jf:
            f.struct = self.define_struct(base, jf["fields"], parent)
            f.base = "struct"
        elif base in PRIMITIVES:
            f.base = base
        elif base in self.structs:
            f.struct = self.structs[base]
            f.base = "struct"
        else:
            raise ValueError("%s.%s: unknown type %s" % (self.name, f.json_name, t))
        if f.base == "records" and f.is_array:
            raise ValueError("arrays of records are not supported")
        f.optional = (not f.nullable.empty()) and (f.is_array or f.base in ("string", "bytes"))
        if not f.nullable.empty() and not f.optional and f.base not in ("records",):
            raise ValueError("%s.%s: nullable %s unsupported" % (self.name, f.json_name, t))
        return f

    def struct_order(self):
        """Nested structs, dependencies before users, deterministic."""
        order, seen = [], set()

        def visit(sd):
            if sd.name in seen:
                return
            seen.add(sd.name)
            for f in sd.fields:
                if f.struct is not None:
                    visit(f.struct)
            order.append(sd)

        for f in self.top.fields:
            if f.struct is not None:
                visit(f.struct)
        for sd in self.structs.values():  # unreferenced commonStructs
            visit(sd)
        return order


def canon(jfields):
    return json.dumps(jfields, sort_keys=True)


# --------------------------------------------------------------------------
# C++ types and defaults

def elem_cpp(f):
    return f.struct.name if f.base == "struct" else PRIMITIVES[f.base]


def field_cpp(f):
    t = elem_cpp(f)
    if f.is_array:
        t = "std::vector<%s>" % t
    if f.optional:
        t = "std::optional<%s>" % t
    return t


def default_init(f):
    """Initializer text (without '= ') or None for value-initialization."""
    d = f.default
    if f.is_array or f.base in ("struct", "records", "uuid", "bytes"):
        if f.optional and d == "null":
            return "std::nullopt"
        return None
    if f.base == "string":
        if d is None or d == "":
            return None
        if d == "null":
            return "std::nullopt" if f.optional else None
        return cpp_string_literal(d)
    if f.base == "bool":
        if d is None:
            return "false"
        return "true" if str(d).lower() == "true" else "false"
    if f.base == "float64":
        return repr(float(d)) if d is not None else "0.0"
    # integers
    v = int(str(d), 0) if d is not None else 0
    if f.base == "int32" and v == -2147483648:
        return "-2147483647 - 1"
    if f.base == "int64" and v == -9223372036854775808:
        return "-9223372036854775807LL - 1"
    return str(v)


def differs_from_default(f, x):
    """C++ expression: x holds a non-default value (used for tagged fields)."""
    init = default_init(f)
    if f.base == "struct" and not f.is_array:
        return "!(%s == %s{})" % (x, f.struct.name)
    if f.base in ("uuid", "records"):
        return "!(%s == %s{})" % (x, PRIMITIVES[f.base])
    if f.optional:
        if init == "std::nullopt":
            return "%s.has_value()" % x
        if f.base == "string" and init is not None:
            return "%s != std::optional<std::string>(%s)" % (x, init)
        return "%s.has_value()" % x  # nullable fields without a default start as nullopt
    if f.is_array or f.base in ("string", "bytes"):
        if f.base == "string" and init is not None:
            return "%s != %s" % (x, init)
        return "!%s.empty()" % x
    return "%s != %s" % (x, init if init is not None else "0")


# --------------------------------------------------------------------------
# Code emission

def compact_arg(c):
    return "" if c == "false" else c


def args(*xs):
    """Join call arguments, dropping trailing defaults marked None."""
    xs = list(xs)
    while xs and xs[-1] is None:
        xs.pop()
    return ", ".join("false" if x is None else x for x in xs)


def null_arg(nc):
    return None if nc == "true" else nc


def emit_decode_value(o, ind, f, target, rv, c, nc, in_block=False):
    """Decode field f (present in this version) into `target` from reader `rv`.
    c: compact condition; nc: nullable condition (C++ expressions).
    in_block: the caller already opened a { } scope for this field."""
    ca = None if c == "false" else c
    if f.is_array:
        i = ind if in_block else ind + 1
        if not in_block:
            o(ind, "{")
        if f.optional and nc != "false":
            o(i, "int32_t n = %s.read_array_len(%s);" % (rv, args(ca, null_arg(nc) or "true")))
            o(i, "if (n < 0) {")
            o(i + 1, "%s.reset();" % target)
            o(i, "} else {")
            o(i + 1, "auto& v = %s.emplace();" % target)
            o(i + 1, "for (int32_t k = 0; k < n && %s.ok(); ++k) %s" % (rv, decode_elem(f, "v", rv, c)))
            o(i, "}")
        else:
            vec = target
            o(i, "int32_t n = %s.read_array_len(%s);" % (rv, args(ca)))
            if f.optional:
                o(i, "auto& v = %s.emplace();" % target)
                vec = "v"
            o(i, "for (int32_t k = 0; k < n && %s.ok(); ++k) %s" % (rv, decode_elem(f, vec, rv, c)))
        if not in_block:
            o(ind, "}")
        return
    b = f.base
    if b == "struct":
        o(ind, "%s.decode(%s, version);" % (target, rv))
    elif b in FIXED_READ:
        o(ind, "%s = %s.%s();" % (target, rv, FIXED_READ[b]))
    elif b in ("string", "bytes"):
        if f.optional and nc != "false":
            o(ind, "%s = %s.read_nullable_%s(%s);" % (target, rv, b, args(ca, null_arg(nc))))
        else:
            o(ind, "%s = %s.read_%s(%s);" % (target, rv, b, args(ca)))
    elif b == "records":
        o(ind, "%s = %s.read_records(%s);" % (target, rv, args(ca, nc if nc != "true" else None)))
    else:
        raise ValueError(b)


def decode_elem(f, vec, rv, c):
    ca = None if c == "false" else c
    b = f.base
    if b == "struct":
        return "%s.emplace_back().decode(%s, version);" % (vec, rv)
    if b in FIXED_READ:
        return "%s.push_back(%s.%s());" % (vec, rv, FIXED_READ[b])
    if b in ("string", "bytes"):
        return "%s.push_back(%s.read_%s(%s));" % (vec, rv, b, args(ca))
    raise ValueError(b)


def encode_elem(f, e, wv, c):
    ca = None if c == "false" else c
    b = f.base
    if b == "struct":
        return "%s.encode(%s, version);" % (e, wv)
    if b in FIXED_READ:
        return "%s.%s(%s);" % (wv, FIXED_READ[b].replace("read_", "write_"), e)
    if b in ("string", "bytes"):
        return "%s.write_%s(%s);" % (wv, b, args(e, ca))
    raise ValueError(b)


def emit_encode_value(o, ind, f, x, wv, c, nc):
    ca = None if c == "false" else c
    if f.is_array:
        if f.optional:
            o(ind, "if (%s) {" % x)
            o(ind + 1, "%s.write_array_len(int32_t(%s->size())%s);" % (wv, x, ", " + ca if ca else ""))
            o(ind + 1, "for (const auto& e : *%s) %s" % (x, encode_elem(f, "e", wv, c)))
            o(ind, "} else {")
            nullv = "-1" if nc == "true" else ("0" if nc == "false" else "(%s) ? -1 : 0" % nc)
            o(ind + 1, "%s.write_array_len(%s%s);" % (wv, nullv, ", " + ca if ca else ""))
            o(ind, "}")
        else:
            o(ind, "%s.write_array_len(int32_t(%s.size())%s);" % (wv, x, ", " + ca if ca else ""))
            o(ind, "for (const auto& e : %s) %s" % (x, encode_elem(f, "e", wv, c)))
        return
    b = f.base
    if b == "struct":
        o(ind, "%s.encode(%s, version);" % (x, wv))
    elif b in FIXED_READ:
        o(ind, "%s.%s(%s);" % (wv, FIXED_READ[b].replace("read_", "write_"), x))
    elif b in ("string", "bytes"):
        if f.optional:
            o(ind, "%s.write_nullable_%s(%s);" % (wv, b, args(x, ca, null_arg(nc))))
        else:
            o(ind, "%s.write_%s(%s);" % (wv, b, args(x, ca)))
    elif b == "records":
        o(ind, "%s.write_records(%s);" % (wv, args(x, ca, null_arg(nc))))
    else:
        raise ValueError(b)


def field_compact(m, f, lo, hi):
    """Compact-encoding condition for f within [lo, hi]."""
    if f.flex_override is None:
        return cond(m.flexible, lo, hi) if cond(m.flexible, lo, hi) in ("true", "false") else "flexible"
    return cond(m.flexible.intersect(f.flex_override), lo, hi)


def field_nullable(f, rng):
    if not f.optional and f.base != "records":
        return "false"
    return cond(f.nullable, rng[0], rng[1])


def emit_struct_decl(o, ind, m, sd, top):
    o(ind, "struct %s {" % sd.name)
    if top:
        for n in m.struct_order():
            emit_struct_decl(o, ind + 1, m, n, False)
            o(0)
        o(ind + 1, "static constexpr int16_t kApiKey = %d;" % m.api_key)
        o(ind + 1, "static constexpr int16_t kMinVersion = %d;" % m.vmin)
        o(ind + 1, "static constexpr int16_t kMaxVersion = %d;" % m.vmax)
        o(ind + 1, "static constexpr int16_t kFirstFlexibleVersion = %d;"
          % (-1 if m.flexible.empty() else m.flexible.lo))
        o(0)
    for f in sd.fields:
        info = "versions %s" % f.versions
        if not f.nullable.empty():
            info += ", nullable %s" % f.nullable
        if not f.tagged.empty():
            info += ", tag %d in %s" % (f.tag, f.tagged)
        if f.flex_override is not None:
            info += ", flexible %s" % f.flex_override
        about = " ".join(f.about.split())
        o(ind + 1, "// %s [%s]" % (about, info) if about else "// [%s]" % info)
        init = default_init(f)
        o(ind + 1, "%s %s%s;" % (field_cpp(f), f.name, (" = " + init) if init is not None else "{}"))
    if sd.fields:
        o(0)
    if top:
        o(ind + 1, "// Decodes the body at `version`; fails if the version is unsupported.")
        o(ind + 1, "// Decode into a default-constructed object. Returns r.ok().")
    o(ind + 1, "bool decode(Reader& r, int16_t version);")
    o(ind + 1, "void encode(Writer& w, int16_t version) const;")
    o(ind + 1, "bool operator==(const %s&) const = default;" % sd.name)
    o(ind, "};")


def emit_struct_impl(o, m, sd, qual, top):
    lo, hi = m.vmin, m.vmax
    flex = cond(m.flexible, lo, hi)
    tagged = sorted([f for f in sd.fields if not f.tagged.empty()], key=lambda f: f.tag)

    # ---- decode
    o(0, "bool %s::decode(Reader& r, int16_t version) {" % qual)
    o(1, "Reader::Nest nest(r);")
    if top:
        o(1, "if (version < kMinVersion || version > kMaxVersion) {")
        o(2, "r.fail();")
        o(2, "return false;")
        o(1, "}")
    if flex not in ("true", "false"):
        o(1, "const bool flexible = %s;" % flex)
    for f in sd.fields:
        rc = cond(f.regular, lo, hi)
        if rc == "false":
            continue
        rng = clamp(f.regular, lo, hi)
        c = field_compact(m, f, rng[0], rng[1])
        nc = field_nullable(f, rng)
        if rc == "true":
            emit_decode_value(o, 1, f, f.name, "r", c, nc)
        else:
            o(1, "if (%s) {" % rc)
            emit_decode_value(o, 2, f, f.name, "r", c, nc, in_block=True)
            o(1, "}")
    if flex != "false":
        ind = 1
        if flex != "true":
            o(1, "if (flexible) {")
            ind = 2
        if not tagged:
            o(ind, "r.skip_tags();")
        else:
            o(ind, "uint32_t n_tags = r.read_uvarint();")
            o(ind, "for (uint32_t t = 0; t < n_tags && r.ok(); ++t) {")
            o(ind + 1, "uint32_t tag = 0;")
            o(ind + 1, "Reader tr = r.read_tagged_field(tag);")
            o(ind + 1, "switch (tag) {")
            by_tag = {}
            for f in tagged:
                by_tag.setdefault(f.tag, []).append(f)
            for tag in sorted(by_tag):
                o(ind + 2, "case %d:" % tag)
                for k, f in enumerate(by_tag[tag]):
                    tc = cond(f.tagged, lo, hi)
                    rng = clamp(f.tagged, lo, hi)
                    nc = field_nullable(f, rng)
                    o(ind + 3, "%sif (%s) {" % ("else " if k else "", tc))
                    emit_decode_value(o, ind + 4, f, f.name, "tr", "true", nc, in_block=True)
                    o(ind + 3, "}")
                o(ind + 3, "break;")
            o(ind + 2, "default:  // unknown tags are skipped")
            o(ind + 3, "break;")
            o(ind + 1, "}")
            o(ind + 1, "if (!tr.ok()) r.fail();")
            o(ind, "}")
        if flex != "true":
            o(1, "}")
    o(1, "return r.ok();")
    o(0, "}")
    o(0)

    # ---- encode
    o(0, "void %s::encode(Writer& w, int16_t version) const {" % qual)
    if flex not in ("true", "false"):
        o(1, "const bool flexible = %s;" % flex)
    for f in sd.fields:
        rc = cond(f.regular, lo, hi)
        if rc == "false":
            continue
        rng = clamp(f.regular, lo, hi)
        c = field_compact(m, f, rng[0], rng[1])
        nc = field_nullable(f, rng)
        if rc == "true":
            emit_encode_value(o, 1, f, f.name, "w", c, nc)
        else:
            o(1, "if (%s) {" % rc)
            emit_encode_value(o, 2, f, f.name, "w", c, nc)
            o(1, "}")
    if flex != "false":
        ind = 1
        if flex != "true":
            o(1, "if (flexible) {")
            ind = 2
        if not tagged:
            o(ind, "w.write_empty_tags();")
        else:
            for f in tagged:
                tc = cond(f.tagged, lo, hi)
                pres = differs_from_default(f, f.name)
                o(ind, "const bool has_%s = %s;" % (f.name, pres if tc == "true" else "%s && %s" % (tc, pres)))
            o(ind, "w.write_uvarint(%s);" % " + ".join("uint32_t(has_%s)" % f.name for f in tagged))
            for f in tagged:
                rng = clamp(f.tagged, lo, hi)
                nc = field_nullable(f, rng)
                o(ind, "if (has_%s) {" % f.name)
                o(ind + 1, "OutBuffer tb;")
                o(ind + 1, "Writer tw(tb);")
                emit_encode_value(o, ind + 1, f, f.name, "tw", "true", nc)
                o(ind + 1, "w.write_tagged_field(%d, std::move(tb));" % f.tag)
                o(ind, "}")
        if flex != "true":
            o(1, "}")
    o(0, "}")
    o(0)


LICENSE_NOTE = "// Generated by tools/kafka_codegen/gen.py from Apache Kafka's message schemas. DO NOT EDIT."


def gen_pair(stem, messages, title):
    h = Out()
    h(0, LICENSE_NOTE)
    h(0, "// %s" % title)
    h(0, "#pragma once")
    h(0)
    for inc in ["<cstdint>", "<optional>", "<string>", "<vector>"]:
        h(0, "#include %s" % inc)
    h(0)
    h(0, '#include "kafka/protocol/error_code.h"')
    h(0, '#include "kafka/protocol/wire.h"')
    h(0)
    h(0, "namespace %s {" % NAMESPACE)
    h(0)
    h(0, "using ::wharf::OutBuffer;")
    h(0, "using ::wharf::kafka::ErrorCode;")
    h(0, "using ::wharf::kafka::Reader;")
    h(0, "using ::wharf::kafka::Records;")
    h(0, "using ::wharf::kafka::Uuid;")
    h(0, "using ::wharf::kafka::Writer;")
    h(0)
    for m in messages:
        h(0, "// %s: versions %d-%d, flexible %s." % (m.name, m.vmin, m.vmax, m.flexible))
        emit_struct_decl(h, 0, m, m.top, True)
        h(0)
    h(0, "}  // namespace %s" % NAMESPACE)

    c = Out()
    c(0, LICENSE_NOTE)
    c(0, '#include "kafka/protocol/generated/%s.h"' % stem)
    c(0)
    c(0, "#include <utility>")
    c(0)
    c(0, "namespace %s {" % NAMESPACE)
    c(0)
    for m in messages:
        c(0, "// " + "-" * 70 + " %s" % m.name)
        c(0)
        for sd in m.struct_order():
            emit_struct_impl(c, m, sd, "%s::%s" % (m.name, sd.name), False)
        emit_struct_impl(c, m, m.top, m.name, True)
    c(0, "}  // namespace %s" % NAMESPACE)
    return h.text(), c.text()


def gen_api_keys(apis):
    """apis: list of (api_name, request Message, response Message), sorted by key."""
    h = Out()
    h(0, LICENSE_NOTE)
    h(0, "// Table of the generated Kafka APIs and the header version rules.")
    h(0, "#pragma once")
    h(0)
    h(0, "#include <cstdint>")
    h(0, "#include <string_view>")
    h(0)
    h(0, "namespace %s {" % NAMESPACE)
    h(0)
    h(0, "enum class ApiKey : int16_t {")
    for name, rq, rs in apis:
        h(1, "%s = %d," % (name, rq.api_key))
    h(0, "};")
    h(0)
    h(0, "struct ApiInfo {")
    h(1, "int16_t key;")
    h(1, "std::string_view name;               // e.g. \"Produce\"")
    h(1, "int16_t min_version;                 // request schema validVersions")
    h(1, "int16_t max_version;")
    h(1, "int16_t first_flexible_version;      // request schema; -1 if never flexible")
    h(1, "int16_t response_first_flexible_version;  // response schema; -1 if never flexible")
    h(0, "};")
    h(0)
    h(0, "// Sorted by key.")
    h(0, "inline constexpr ApiInfo kApiTable[] = {")
    for name, rq, rs in apis:
        h(1, "{%d, \"%s\", %d, %d, %d, %d}," % (
            rq.api_key, name, rq.vmin, rq.vmax,
            -1 if rq.flexible.empty() else rq.flexible.lo,
            -1 if rs.flexible.empty() else rs.flexible.lo))
    h(0, "};")
    h(0, "inline constexpr int kApiCount = %d;" % len(apis))
    h(0)
    h(0, "// nullptr if `api_key` is not a generated API.")
    h(0, "const ApiInfo* find_api(int16_t api_key);")
    h(0, "// True if api_key is generated and min_version <= api_version <= max_version.")
    h(0, "bool is_supported(int16_t api_key, int16_t api_version);")
    h(0)
    h(0, "// Request header version: 2 for flexible request versions, else 1.")
    h(0, "// Returns -1 for an API key that is not generated.")
    h(0, "int16_t request_header_version(int16_t api_key, int16_t api_version);")
    h(0, "// Response header version: 1 for flexible response versions, else 0;")
    h(0, "// ApiVersions responses always use header v0 (KIP-511). -1 if unknown.")
    h(0, "int16_t response_header_version(int16_t api_key, int16_t api_version);")
    h(0)
    h(0, "}  // namespace %s" % NAMESPACE)

    c = Out()
    c(0, LICENSE_NOTE)
    c(0, '#include "kafka/protocol/generated/api_keys.h"')
    c(0)
    c(0, "namespace %s {" % NAMESPACE)
    c(0)
    c(0, "const ApiInfo* find_api(int16_t api_key) {")
    c(1, "for (const auto& a : kApiTable) {")
    c(2, "if (a.key == api_key) return &a;")
    c(1, "}")
    c(1, "return nullptr;")
    c(0, "}")
    c(0)
    c(0, "bool is_supported(int16_t api_key, int16_t api_version) {")
    c(1, "const ApiInfo* a = find_api(api_key);")
    c(1, "return a && api_version >= a->min_version && api_version <= a->max_version;")
    c(0, "}")
    c(0)
    c(0, "int16_t request_header_version(int16_t api_key, int16_t api_version) {")
    c(1, "const ApiInfo* a = find_api(api_key);")
    c(1, "if (!a) return -1;")
    c(1, "if (a->first_flexible_version >= 0 && api_version >= a->first_flexible_version) return 2;")
    c(1, "return 1;")
    c(0, "}")
    c(0)
    c(0, "int16_t response_header_version(int16_t api_key, int16_t api_version) {")
    c(1, "const ApiInfo* a = find_api(api_key);")
    c(1, "if (!a) return -1;")
    c(1, "if (api_key == int16_t(ApiKey::ApiVersions)) return 0;  // KIP-511")
    c(1, "if (a->response_first_flexible_version >= 0 &&")
    c(2, "    api_version >= a->response_first_flexible_version) {")
    c(2, "return 1;")
    c(1, "}")
    c(1, "return 0;")
    c(0, "}")
    c(0)
    c(0, "}  // namespace %s" % NAMESPACE)
    return h.text(), c.text()


def gen_requests(apis):
    h = Out()
    h(0, LICENSE_NOTE)
    h(0, "// Every generated request type, and a decoder that dispatches on the API key.")
    h(0, "#pragma once")
    h(0)
    h(0, "#include <variant>")
    h(0)
    for stem in sorted(file_stem(name) for name, _, _ in apis):
        h(0, '#include "kafka/protocol/generated/%s.h"' % stem)
    h(0, '#include "kafka/protocol/generated/api_keys.h"')
    h(0, '#include "kafka/protocol/generated/headers.h"')
    h(0)
    h(0, "namespace %s {" % NAMESPACE)
    h(0)
    h(0, "using AnyRequest = std::variant<std::monostate,")
    for i, (name, rq, rs) in enumerate(apis):
        h(2, "%s%s" % (rq.name, ">;" if i == len(apis) - 1 else ","))
    h(0)
    h(0, "// Decodes a request body for `api_key` at `version` into `out`. Returns")
    h(0, "// false (out holds std::monostate or a partial value) for an unknown key,")
    h(0, "// an unsupported version or malformed input.")
    h(0, "bool decode_request(int16_t api_key, int16_t version, Reader& r, AnyRequest& out);")
    h(0)
    h(0, "}  // namespace %s" % NAMESPACE)

    c = Out()
    c(0, LICENSE_NOTE)
    c(0, '#include "kafka/protocol/generated/requests.h"')
    c(0)
    c(0, "namespace %s {" % NAMESPACE)
    c(0)
    c(0, "bool decode_request(int16_t api_key, int16_t version, Reader& r, AnyRequest& out) {")
    c(1, "switch (api_key) {")
    for name, rq, rs in apis:
        c(2, "case %d:" % rq.api_key)
        c(3, "return out.emplace<%s>().decode(r, version);" % rq.name)
    c(2, "default:")
    c(3, "out.emplace<std::monostate>();")
    c(3, "return false;")
    c(1, "}")
    c(0, "}")
    c(0)
    c(0, "}  // namespace %s" % NAMESPACE)
    return h.text(), c.text()


def main(argv):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--spec", required=True, help="directory with Kafka *.json schemas")
    ap.add_argument("--out", required=True, help="output directory for generated C++")
    a = ap.parse_args(argv)

    files = {}
    apis = []
    for api in APIS:
        rq = Message(load_spec(a.spec, api + "Request"), api)
        rs = Message(load_spec(a.spec, api + "Response"), api)
        if rq.api_key != rs.api_key:
            raise ValueError("%s: request/response api keys differ" % api)
        stem = file_stem(api)
        files[stem + ".h"], files[stem + ".cc"] = gen_pair(
            stem, [rq, rs], "Kafka %s API (key %d)." % (api, rq.api_key))
        apis.append((api, rq, rs))
    hdrs = [Message(load_spec(a.spec, n), n) for n in HEADERS]
    files["headers.h"], files["headers.cc"] = gen_pair("headers", hdrs, "Kafka request and response headers.")
    apis.sort(key=lambda t: t[1].api_key)
    files["api_keys.h"], files["api_keys.cc"] = gen_api_keys(apis)
    files["requests.h"], files["requests.cc"] = gen_requests(apis)

    write_files(a.out, files, prune=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
