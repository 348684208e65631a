"""Decoding of Kubernetes protobuf request bodies (Content-Type: application/vnd.kubernetes.protobuf).

client-go's typed clients, and so kubectl's built-in generators (`kubectl create secret|configmap|
deployment|namespace|service|serviceaccount`, `kubectl autoscale`, `kubectl auth can-i`), send their
objects in the apiserver's protobuf envelope: the 4 bytes ``k8s\\x00`` then a ``runtime.Unknown`` message
whose ``typeMeta`` names apiVersion/kind and whose ``raw`` is the object's protobuf encoding.

The field table (proto_schema.json, written by gen_proto_schema.py from the descriptors that kubectl
v1.33 itself carries) gives every field's number, JSON name, type and whether the Go field is a pointer.
The decoded object is the dict the same client would have sent as JSON: value fields holding their zero
value are left out (the Go types mark them ``omitempty``), pointer fields are kept even when zero
(``replicas: 0``), Time/Quantity/IntOrString/Duration take their JSON forms, bytes are base64.
Fields the table does not know are skipped, as the apiserver's generated unmarshallers do.
Custom resources (cert-manager.io) have no protobuf form: the apiserver answers 415, and so does this.
"""
import base64
import datetime
import json
import os
import struct

MAGIC = b"k8s\x00"
UNKNOWN = "k8s.io.apimachinery.pkg.runtime.Unknown"
_SCHEMA = None
META = "k8s.io.apimachinery.pkg.apis.meta.v1."
PACKAGES = {"": "k8s.io.api.core.", "apps": "k8s.io.api.apps.", "autoscaling": "k8s.io.api.autoscaling.",
            "authorization.k8s.io": "k8s.io.api.authorization.", "rbac.authorization.k8s.io": "k8s.io.api.rbac.",
            "metrics.k8s.io": "k8s.io.metrics.pkg.apis.metrics."}
_EPOCH = datetime.datetime(1970, 1, 1, tzinfo=datetime.timezone.utc)


class ProtoError(ValueError):
    """The body is not a protobuf message this server can decode; .kind is 'format' or 'unsupported'."""

    def __init__(self, msg, kind="format"):
        super().__init__(msg)
        self.kind = kind


def schema():
    global _SCHEMA
    if _SCHEMA is None:
        with open(os.path.join(os.path.dirname(os.path.abspath(__file__)), "proto_schema.json")) as f:
            _SCHEMA = {m: {r[0]: r for r in rows} for m, rows in json.load(f).items()}
    return _SCHEMA


def _varint(b, i):
    r = s = 0
    while True:
        if i >= len(b):
            raise ProtoError("unexpected end of protobuf data")
        x = b[i]
        i += 1
        r |= (x & 0x7f) << s
        s += 7
        if x < 0x80:
            return r, i
        if s > 70:
            raise ProtoError("protobuf varint overflow")


def _wire(b):
    """Yield (field number, wire type, value) of one message's bytes."""
    i, n = 0, len(b)
    while i < n:
        key, i = _varint(b, i)
        num, wt = key >> 3, key & 7
        if wt == 0:
            v, i = _varint(b, i)
        elif wt == 2:
            ln, i = _varint(b, i)
            if i + ln > n:
                raise ProtoError("unexpected end of protobuf data")
            v, i = b[i:i + ln], i + ln
        elif wt == 1:
            v, i = b[i:i + 8], i + 8
        elif wt == 5:
            v, i = b[i:i + 4], i + 4
        else:
            raise ProtoError("illegal protobuf wire type %d" % wt)
        if i > n or num == 0:
            raise ProtoError("malformed protobuf data")
        yield num, wt, v


def _signed(v, bits):
    v &= (1 << 64) - 1
    if v >= 1 << 63:
        v -= 1 << 64
    return v if bits == 64 else int(struct.unpack("<i", struct.pack("<I", v & 0xffffffff))[0])


def _scalar(t, wt, v):
    if t in (3, 5, 18, 17, 4, 13, 8):  # int64 int32 sint64 sint32 uint64 uint32 bool
        if wt != 0:
            raise ProtoError("wrong wire type for an integer field")
        if t == 8:
            return bool(v)
        if t in (17, 18):
            return (v >> 1) ^ -(v & 1)
        return _signed(v, 64 if t == 3 else 32) if t in (3, 5) else v
    if t in (1, 6, 16) and wt == 1:   # double fixed64 sfixed64
        return struct.unpack("<d" if t == 1 else "<Q" if t == 6 else "<q", v)[0]
    if t in (2, 7, 15) and wt == 5:   # float fixed32 sfixed32
        return struct.unpack("<f" if t == 2 else "<I" if t == 7 else "<i", v)[0]
    if t == 9 and wt == 2:
        try:
            return v.decode("utf-8")
        except UnicodeDecodeError:
            raise ProtoError("invalid UTF-8 in a protobuf string field") from None
    if t == 12 and wt == 2:
        return base64.b64encode(v).decode()
    raise ProtoError("wrong wire type %d for a field of type %d" % (wt, t))


def _packed(t, v):
    out, i = [], 0
    if t in (3, 5, 18, 17, 4, 13, 8):
        while i < len(v):
            x, i = _varint(v, i)
            out.append(_scalar(t, 0, x))
    else:
        size = 8 if t in (1, 6, 16) else 4
        out = [_scalar(t, 1 if size == 8 else 5, v[j:j + size]) for j in range(0, len(v), size)]
    return out


def _time(b, micro=False):
    f = {num: v for num, wt, v in _wire(b)}
    secs, nanos = _signed(f.get(1, 0), 64), _signed(f.get(2, 0), 32)
    if not secs and not nanos:
        return None
    t = _EPOCH + datetime.timedelta(seconds=secs, microseconds=nanos // 1000)
    return t.strftime("%Y-%m-%dT%H:%M:%S.%fZ" if micro else "%Y-%m-%dT%H:%M:%SZ")


def _duration(ns):
    """Go's time.Duration.String() for the common cases (whole seconds and up)."""
    if ns == 0:
        return "0s"
    sign, ns = ("-", -ns) if ns < 0 else ("", ns)
    if ns < 1000000000:
        return "%s%gms" % (sign, ns / 1e6)
    s = ns / 1e9
    h, rem = divmod(s, 3600)
    m, s = divmod(rem, 60)
    out = ("%dh" % h if h else "") + ("%dm" % m if h or m else "") + ("%gs" % s)
    return sign + out


def _special(ref, b):
    """JSON form of the apimachinery types with custom JSON marshalling; NotImplemented for others."""
    if ref == META + "Time":
        return _time(b)
    if ref == META + "MicroTime":
        return _time(b, micro=True)
    if ref == META + "Duration":
        return _duration(_signed(dict((n, v) for n, wt, v in _wire(b)).get(1, 0), 64))
    if ref == "k8s.io.apimachinery.pkg.api.resource.Quantity":
        v = dict((n, v) for n, wt, v in _wire(b)).get(1, b"")
        return v.decode() if isinstance(v, bytes) else ""
    if ref == "k8s.io.apimachinery.pkg.util.intstr.IntOrString":
        f = dict((n, v) for n, wt, v in _wire(b))
        if f.get(1, 0) == 1:
            s = f.get(3, b"")
            return s.decode() if isinstance(s, bytes) else ""
        return _signed(f.get(2, 0), 32)
    if ref in (META + "FieldsV1", "k8s.io.apimachinery.pkg.runtime.RawExtension"):
        raw = dict((n, v) for n, wt, v in _wire(b)).get(1, b"")
        if not raw:
            return None
        try:
            return json.loads(raw)
        except ValueError:
            raise ProtoError("%s holds data that is not JSON" % ref.rsplit(".", 1)[1], "unsupported") from None
    return NotImplemented


def decode_message(b, name):
    special = _special(name, b)
    if special is not NotImplemented:
        return special
    fields = schema().get(name)
    if fields is None:
        raise ProtoError("no protobuf schema for %s" % name, "unsupported")
    out = {}
    for num, wt, v in _wire(b):
        f = fields.get(num)
        if f is None:
            continue        # unknown field: skipped, as the generated unmarshallers do
        _n, key, t, flags, ref = f
        if flags & 4:       # map<K, V>: repeated entry messages {1: key, 2: value}
            kt, vt, vref = ref
            k = val = None
            for en, ewt, ev in _wire(v):
                if en == 1:
                    k = _scalar(kt, ewt, ev)
                elif en == 2:
                    val = decode_message(ev, vref) if vt == 11 else _scalar(vt, ewt, ev)
            if val is None:     # an entry without a value holds the type's zero value
                val = decode_message(b"", vref) if vt == 11 else _scalar(vt, 2 if vt in (9, 12) else 0,
                                                                         b"" if vt in (9, 12) else 0)
            out.setdefault(key, {})["" if k is None else k] = val
            continue
        if t == 11:
            val = decode_message(v, ref) if wt == 2 else None
            if wt != 2:
                raise ProtoError("wrong wire type for a message field")
        elif flags & 1 and wt == 2 and t not in (9, 12):
            out.setdefault(key, []).extend(_packed(t, v))
            continue
        else:
            val = _scalar(t, wt, v)
        if flags & 1:
            out.setdefault(key, []).append(val)
        else:
            out[key] = val
    # Value (non-pointer) fields: the zero value is what omitempty leaves out of the JSON form.
    for num, key, t, flags, ref in fields.values():
        if key in out and not flags & 6:
            v = out[key]
            if v is None or (t != 11 and v in ("", 0, False)):
                del out[key]
        elif key in out and out[key] is None:
            del out[key]
    return out



def message_name(api_version, kind):
    group, _, version = api_version.rpartition("/")
    pkg = PACKAGES.get(group)
    if pkg is None:
        return None
    return pkg + version + "." + kind


def decode(body):
    """Protobuf envelope -> the object as a JSON-style dict (apiVersion and kind first)."""
    if not body.startswith(MAGIC):
        raise ProtoError("provided data does not appear to be a protobuf message, expected prefix %s"
                         % list(MAGIC))
    env = decode_message(body[len(MAGIC):], UNKNOWN)
    tm = env.get("typeMeta") or {}
    api_version, kind = tm.get("apiVersion", ""), tm.get("kind", "")
    if env.get("contentEncoding"):
        raise ProtoError("content encoding %s is not supported" % env["contentEncoding"], "unsupported")
    if not kind:
        raise ProtoError("Object 'Kind' is missing in protobuf data")
    name = message_name(api_version, kind)
    if name is None or name not in schema():
        raise ProtoError("%s, Kind=%s has no protobuf form on this server" % (api_version, kind), "unsupported")
    obj = decode_message(base64.b64decode(env.get("raw") or ""), name)
    out = {"apiVersion": api_version, "kind": kind}
    out.update(obj)
    return out
