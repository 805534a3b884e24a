"""Helpers shared by Wharf's code generators (tools/kafka_codegen, tools/amqp_codegen).

Only what is the same for every generator lives here: C++ reserved words,
string literals, an indented line collector and deterministic file output.
Each generator keeps its own naming rules and spec model.
"""
import os

# C++20 keywords and alternative tokens. A spec field with one of these names
# gets a trailing underscore; each generator adds the member function names its
# structs already use (e.g. decode, encode).
CPP_KEYWORDS = frozenset("""
alignas alignof and and_eq asm auto bitand bitor bool break case catch char char8_t
char16_t char32_t class compl concept const consteval constexpr constinit const_cast
continue co_await co_return co_yield decltype default delete do double dynamic_cast
else enum explicit export extern false float for friend goto if inline int long
mutable namespace new noexcept not not_eq nullptr operator or or_eq private
protected public register reinterpret_cast requires return short signed sizeof
static static_assert static_cast struct switch template this thread_local throw
true try typedef typeid typename union unsigned using virtual void volatile wchar_t
while xor xor_eq
""".split())


def cpp_string_literal(s):
    """A C++ string literal for s: printable ASCII as is, anything else escaped."""
    out = ['"']
    for ch in s:
        if ch in '"\\':
            out.append("\\" + ch)
        elif ch == "\n":
            out.append("\\n")
        elif 32 <= ord(ch) < 127:
            out.append(ch)
        else:
            out.extend("\\x%02x" % b for b in ch.encode("utf-8"))
    out.append('"')
    return "".join(out)


class Out:
    """Collects lines; o(indent, text) appends one line indented by 2*indent spaces."""

    def __init__(self):
        self.lines = []

    def __call__(self, ind, text=""):
        self.lines.append(("  " * ind + text) if text else "")

    def text(self):
        return "\n".join(self.lines) + "\n"


def write_files(out_dir, files, prune):
    """Writes {name: text} into out_dir, touching only files whose text changed
    (so rebuilds stay incremental). With prune, removes other .h/.cc files there,
    so a CMake glob never picks up output for something the spec no longer has."""
    os.makedirs(out_dir, exist_ok=True)
    for name in sorted(files):
        path = os.path.join(out_dir, name)
        old = None
        if os.path.exists(path):
            with open(path, encoding="utf-8") as f:
                old = f.read()
        if old != files[name]:
            with open(path, "w", encoding="utf-8", newline="\n") as f:
                f.write(files[name])
    if prune:
        for name in sorted(os.listdir(out_dir)):
            if name.endswith((".h", ".cc")) and name not in files:
                os.remove(os.path.join(out_dir, name))
