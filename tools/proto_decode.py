#!/usr/bin/env python3
"""An independent decoder of the kenesh wire protocol, written from PROTOCOL.md alone.

Reads every ```vector block of PROTOCOL.md, splits its framing (length prefix or COBS),
decodes each frame into a dict per message type, prints it, and checks it against the
vector's `message:` lines; invalid vectors must be refused with the error kind they name.
A Commits chunk with `chunk-cursor:` / `chunk-commit:` lines (the exchange of §12) also has
its data taken apart (§10.7): the cursor, then each Commit frame, decoded and checked.
Standard library only. Usage: python3 tools/proto_decode.py PROTOCOL.md
Exits non-zero on any mismatch.
"""
import json
import re
import sys

DEFAULT_MAX_FRAME, HARD_MAX_FRAME = 16 * 1024, 1024 * 1024
MAX_CURSOR, MAX_SIGNATURE, MAX_ERROR_DETAIL = 64, 64, 256
TYPES = ["Hello", "Welcome", "Refuse", "Commit", "Chunk", "Ack", "SnapshotHeader", "Error", "Bye", "Keys",
         "Receipt"]
KEY_ENTRY, MAX_KEY_ENTRIES = 53, 1024


class Refused(Exception):
    """The bytes are refused; `kind` is an error kind of PROTOCOL.md §7."""

    def __init__(self, kind):
        super().__init__(kind)
        self.kind = kind


class Reader:
    """The postcard primitives of PROTOCOL.md §4 over one frame's fields."""

    def __init__(self, data):
        self.b, self.i, self.padded = bytes(data), 0, False

    def left(self):
        return len(self.b) - self.i

    def byte(self):
        if self.i >= len(self.b):
            raise Refused("Truncated")
        self.i += 1
        return self.b[self.i - 1]

    def take(self, n):  # [u8; n], or the bytes of a byte string
        if n > self.left():
            raise Refused("Truncated")
        self.i += n
        return self.b[self.i - n:self.i]

    def varint(self, bits):
        most, last_max, value = (bits + 6) // 7, (1 << (bits % 7)) - 1, 0
        for k in range(most):
            x = self.byte()
            value |= (x & 0x7F) << (7 * k)
            if not x & 0x80:
                if k == most - 1 and x > last_max:
                    raise Refused("Malformed")  # over the type's range
                self.padded |= k > 0 and x == 0  # accepted, but not canonical
                return value
        raise Refused("Malformed")  # too many bytes

    def u16(self): return self.varint(16)
    def u32(self): return self.varint(32)
    def u64(self): return self.varint(64)
    def bytes_(self): return self.take(self.u64())  # usize length, 64-bit host

    def bool_(self):
        x = self.byte()
        if x > 1:
            raise Refused("Malformed")
        return x == 1

    def option(self, read):
        tag = self.byte()
        if tag > 1:
            raise Refused("Malformed")
        return ("Some", read()) if tag else None

    def variant(self, count):
        index = self.u32()
        if index >= count:
            raise Refused("Malformed")
        return index

    def end(self):
        if self.left():
            raise Refused("TrailingBytes")


def too_long(value, limit):
    if value is not None and len(value[1] if isinstance(value, tuple) else value) > limit:
        raise Refused("TooLong")


def entry(r):
    envelope = r.bytes_()
    body = ("Payload", r.bytes_()) if r.variant(2) == 0 else ("Withheld", r.take(32))
    return {"_": "Entry", "envelope": envelope, "body": body}


def refuse_reason(r):
    i = r.variant(5)
    if i == 0:
        return {"_": "UnsupportedVersion", "min": r.u16(), "max": r.u16()}
    if i == 2:
        return {"_": "Revoked", "from_seq": r.u64()}
    return {"_": ["UnsupportedVersion", "UnknownDevice", "Revoked", "Busy", "Unauthenticated"][i]}


def decode(frame, max_frame):
    """One frame → (message dict, whether a varint outside commit entries was padded)."""
    if len(frame) > max_frame:
        raise Refused("FrameTooLarge")
    if not frame:
        raise Refused("Empty")
    if frame[0] >= len(TYPES):
        raise Refused("UnknownType")
    t, r = TYPES[frame[0]], Reader(frame[1:])
    m = {"_": t}
    if t == "Hello":
        m["min_version"], m["max_version"] = r.u16(), r.u16()
        if m["max_version"] < 1 or m["min_version"] > 1 or m["min_version"] > m["max_version"]:
            raise Refused("UnsupportedVersion")
        m.update(caps=r.u32(), device=r.u32(), own_seq=r.u64(), cursor=r.option(r.bytes_))
        if m["max_version"] <= 1:  # a peer offering later versions may append fields
            r.end()
        too_long(m["cursor"], MAX_CURSOR)
    elif t == "Welcome":
        m.update(version=r.u16(), caps=r.u32(), server_time_ms=r.u64(), stored_seq=r.u64(), epoch=r.u64())
        r.end()
        if m["version"] != 1:
            raise Refused("UnsupportedVersion")
    elif t == "Refuse":
        m.update(reason=refuse_reason(r), server_time_ms=r.u64(), stored_seq=r.u64())
        r.end()
    elif t == "Commit":
        m.update(origin=r.u32(), first_seq=r.u64(), count=r.u32(), salt=r.take(16), signature=r.bytes_())
        too_long(m["signature"], MAX_SIGNATURE)
        if m["count"] > r.left() // 3:
            raise Refused("CountTooLarge")
        if m["count"] == 0 or m["first_seq"] == 0 or m["first_seq"] + m["count"] - 1 > 2**64 - 1:
            raise Refused("BadSeq")
        padded = r.padded  # entries are opaque and kept as received: padding there is carried
        m["entries"] = [entry(r) for _ in range(m["count"])]
        r.padded = padded
        r.end()
    elif t == "Chunk":
        m.update(transfer=r.u32(), index=r.u32(), last=r.bool_(),
                 kind={"_": ["Commits", "Snapshot"][r.variant(2)]},
                 compression={"_": ["None", "Zstd"][r.variant(2)]}, raw_len=r.u32())
        m["data"] = r.take(r.left())
        if m["raw_len"] > min(8 * max_frame, HARD_MAX_FRAME):
            raise Refused("DecompressedTooLarge")
        if m["compression"]["_"] == "None" and m["raw_len"] != len(m["data"]):
            raise Refused("LengthMismatch")
    elif t == "Ack":
        ref = lambda: {"_": "ChunkRef", "transfer": r.u32(), "index": r.u32()}  # noqa: E731
        m.update(durable_seq=r.u64(), cursor=r.option(r.bytes_), chunk=r.option(ref))
        r.end()
        too_long(m["cursor"], MAX_CURSOR)
    elif t == "SnapshotHeader":
        m.update(scope_kind=r.byte(), scope_id=r.take(16), tier=r.byte(), epoch=r.u64(),
                 position=r.u64(), records=r.u32(), ops=r.u32(), transfer=r.u32(),
                 chunks=r.u32(), raw_bytes=r.u64(), state_hash=r.take(32))
        r.end()
    elif t == "Error":
        m["code"], detail = r.u16(), r.bytes_()
        try:
            m["detail"] = detail.decode("utf-8")
        except UnicodeDecodeError:
            raise Refused("Malformed") from None
        r.end()
        too_long(detail, MAX_ERROR_DETAIL)
    elif t == "Keys":
        m["count"] = r.u32()
        if m["count"] > MAX_KEY_ENTRIES:
            raise Refused("CountTooLarge")
        data = r.take(r.left())
        if len(data) != m["count"] * KEY_ENTRY:
            raise Refused("LengthMismatch")
        if any(data[i * KEY_ENTRY + 16] not in (1, 2) for i in range(m["count"])):
            raise Refused("Malformed")
        m["entries"] = data
    elif t == "Receipt":
        m.update(epoch=r.u64(), seq=r.u64(), tag=r.take(16))
        r.end()
    else:  # Bye
        r.end()
    return m, r.padded


def split_stream(data, max_frame):
    frames, i = [], 0
    while i < len(data):
        if len(data) - i < 4:
            raise ValueError("the stream ends inside a length prefix")
        n = int.from_bytes(data[i:i + 4], "little")
        if n > max_frame:
            raise Refused("FrameTooLarge")  # before waiting for the frame
        if i + 4 + n > len(data):
            raise ValueError("the stream ends inside a frame")
        frames.append(data[i + 4:i + 4 + n])
        i += 4 + n
    return frames


def unCOBS(run, max_frame):
    if len(run) > max_frame + max_frame // 254 + 1:
        raise Refused("FrameTooLarge")
    if not run:
        raise Refused("Cobs")
    out, i = bytearray(), 0
    while i < len(run):
        code, i = run[i], i + 1
        if i + code - 1 > len(run):
            raise Refused("Cobs")
        out += run[i:i + code - 1]
        i += code - 1
        if code != 0xFF and i < len(run):
            out.append(0)
    if len(out) > max_frame:
        raise Refused("FrameTooLarge")
    return bytes(out)


def chunk_layout(chunk, max_frame):
    """A Commits chunk's data (§10.7): the cursor, then each Commit frame, decoded."""
    if chunk["kind"]["_"] != "Commits" or chunk["compression"]["_"] != "None":
        raise ValueError("chunk-cursor: is for an uncompressed Commits chunk")
    r = Reader(chunk["data"])
    c = Reader(r.bytes_())
    cursor = {"_": "Cursor", "epoch": c.u64(), "position": c.u64(), "grants": c.take(8),
              "snapshot": c.u32()}
    c.end()
    commits = []
    while r.left():
        m, padded = decode(r.bytes_(), max_frame)
        if m["_"] != "Commit" or padded:
            raise ValueError("a chunk's data holds a %s where a canonical Commit belongs" % m["_"])
        commits.append(m)
    return cursor, commits


def render(v):
    """A decoded value in the message notation of PROTOCOL.md §14.1."""
    if v is None or isinstance(v, bool):
        return {None: "None", True: "true", False: "false"}[v]
    if isinstance(v, int):
        return str(v)
    if isinstance(v, bytes):
        return 'hex"%s"' % v.hex()
    if isinstance(v, str):
        return '"%s"' % v.replace("\\", "\\\\").replace('"', '\\"')
    if isinstance(v, list):
        return "[" + ", ".join(map(render, v)) + "]"
    if isinstance(v, tuple):
        return "%s(%s)" % (v[0], render(v[1]))
    fields = ["%s: %s" % (k, render(x)) for k, x in v.items() if k != "_"]
    return v["_"] + (" { " + ", ".join(fields) + " }" if fields else "")


def tokens(s):
    out = []
    for t in re.findall(r'hex"[^"]*"|"(?:[^"\\]|\\.)*"|\w+|[^\s\w]', s):
        if t.startswith('hex"'):
            t = "hex:" + re.sub(r"\s", "", t[4:-1]).lower()
        elif t.startswith('"'):
            t = '"' + re.sub(r"\\(.)", r"\1", t[1:-1])
        out.append(t)
    return out


def vectors(text):
    """Every vector block: a list of (key, value); indented lines continue a value."""
    for block in re.findall(r"^```vector\n(.*?)^```$", text, re.M | re.S):
        fields = []
        for line in block.splitlines():
            if line[:1] in (" ", "\t") and line.strip():
                fields[-1] = (fields[-1][0], fields[-1][1] + " " + line.strip())
            elif line.strip():
                key, _, value = line.partition(":")
                fields.append((key, value.strip()))
        yield fields


def check(v):
    """Checks one vector; returns the decoded messages (or the refusal) to print."""
    one = lambda k: next((x for key, x in v if key == k), None)  # noqa: E731
    limit = min(int(one("limit") or DEFAULT_MAX_FRAME), HARD_MAX_FRAME)
    expect, lines = one("expect"), [x for k, x in v if k == "message"]
    wire = bytes.fromhex(re.sub(r"\s", "", one("frame") or one("stream") or one("cobs") or ""))
    try:
        if one("stream") is not None:
            frames = split_stream(wire, limit)
        elif one("cobs") is not None:
            if not wire.endswith(b"\0"):
                raise ValueError("COBS bytes must end with the 00 delimiter")
            frames = [unCOBS(run, limit) for run in wire[:-1].split(b"\0")]
        else:
            frames = [wire]
        decoded = [decode(f, limit) for f in frames]
    except Refused as e:
        if expect == "error " + e.kind:
            return "refused: " + e.kind
        raise ValueError("refused with %s, expected %s" % (e.kind, expect)) from None
    if expect.startswith("error "):
        raise ValueError("decoded, expected " + expect)
    if len(decoded) != len(lines):
        raise ValueError("%d frames, %d message lines" % (len(decoded), len(lines)))
    for (m, _), line in zip(decoded, lines):
        if tokens(render(m)) != tokens(line):
            raise ValueError("decoded %s\n      the vector says %s" % (render(m), line))
    layout = []
    if one("chunk-cursor") is not None:
        chunks = [m for m, _ in decoded if m["_"] == "Chunk"]
        if len(chunks) != 1:
            raise ValueError("chunk-cursor: needs exactly one Chunk in the vector")
        cursor, commits = chunk_layout(chunks[0], limit)
        want = [x for k, x in v if k == "chunk-commit"]
        if tokens(render(cursor)) != tokens(one("chunk-cursor")):
            raise ValueError("the chunk's cursor is %s" % render(cursor))
        if len(commits) != len(want):
            raise ValueError("the chunk holds %d commits, %d chunk-commit lines" % (len(commits), len(want)))
        for m, line in zip(commits, want):
            if tokens(render(m)) != tokens(line):
                raise ValueError("the chunk holds %s\n      the vector says %s" % (render(m), line))
        layout = [cursor] + commits
    elif one("chunk-commit") is not None:
        raise ValueError("chunk-commit: without chunk-cursor:")
    padded = any(p for _, p in decoded)
    if expect == "ok non-canonical":
        canonical = decode(bytes.fromhex(re.sub(r"\s", "", one("canonical"))), limit)
        if not padded or canonical != (decoded[0][0], False):
            raise ValueError("not a padded form of its canonical bytes")
    elif expect == "ok extended":
        canonical = bytes.fromhex(re.sub(r"\s", "", one("canonical")))
        if not wire.startswith(canonical) or len(canonical) >= len(wire):
            raise ValueError("`canonical:` is not the version-1 prefix of the frame")
        if decode(canonical, limit)[0] != decoded[0][0]:
            raise ValueError("the extended Hello and its version-1 prefix differ")
    elif expect != "ok" or padded:
        raise ValueError("a non-canonical varint in a vector expected to be canonical")
    return [m for m, _ in decoded] + [dict(m, _="chunk data: " + m["_"]) for m in layout]


def main(path):
    passed, failed, names, seen = 0, 0, set(), set()
    for v in vectors(open(path, encoding="utf-8").read()):
        name = dict(v).get("name", "?")
        try:
            if name in names:
                raise ValueError("name used twice")
            names.add(name)
            result = check(v)
            if isinstance(result, list):
                seen.update(m["_"] for m in result)
                result = "; ".join(json.dumps(m, ensure_ascii=False, default=bytes.hex) for m in result)
            print("ok    %s: %s" % (name, result))
            passed += 1
        except (ValueError, KeyError, TypeError, AttributeError) as e:
            print("FAIL  %s: %s" % (name, e))
            failed += 1
    for t in TYPES:
        if t not in seen:
            print("FAIL  no valid vector for %s" % t)
            failed += 1
    print("proto_decode: %d passed, %d failed" % (passed, failed))
    return 0 if passed and not failed else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1] if len(sys.argv) > 1 else "PROTOCOL.md"))
