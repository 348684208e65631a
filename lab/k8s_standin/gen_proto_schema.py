#!/usr/bin/env python3
"""Regenerate proto_schema.json, the field table the stand-in uses to decode protobuf request bodies.

Every Kubernetes client built with client-go carries the protobuf descriptors of the API types it was
compiled with (gzipped FileDescriptorProto blobs registered by the generated code, with the gogoproto
options that say which fields are Go pointers). This script reads them out of a kubectl binary, keeps
the packages the stand-in serves and writes a compact table:

    {"k8s.io.api.core.v1.Secret": [[number, json_name, proto_type, flags, type_ref], ...], ...}

flags: 1 repeated, 2 pointer (absent unless set; a zero value is kept), 4 map (type_ref is
[key_type, value_type, value_ref]). proto_type is descriptor.proto's FieldDescriptorProto.Type.

    .venv/bin/python lab/k8s_standin/gen_proto_schema.py .tools/bin/kubectl
"""
import json
import os
import re
import sys
import zlib

from k8sproto import _wire  # pylint: disable=import-error  (run as a script from this folder)

PACKAGES = ("k8s.io.apimachinery.pkg.apis.meta.v1", "k8s.io.apimachinery.pkg.runtime",
            "k8s.io.apimachinery.pkg.api.resource", "k8s.io.apimachinery.pkg.util.intstr",
            "k8s.io.api.core.v1", "k8s.io.api.apps.v1", "k8s.io.api.autoscaling.v2",
            "k8s.io.api.authorization.v1", "k8s.io.api.rbac.v1", "k8s.io.metrics.pkg.apis.metrics.v1beta1")
GOGO_NULLABLE = 65001


def _fields(b):
    """(field number, value) of one message's bytes: the stand-in's own wire reader."""
    return ((number, value) for number, _wire_type, value in _wire(b))


def descriptors(binary):
    """-> {proto file name: FileDescriptorProto bytes} found in a Go binary."""
    with open(binary, "rb") as f:
        data = f.read()
    out = {}
    for m in re.finditer(b"\x1f\x8b\x08\x00\x00\x00\x00\x00", data):
        try:
            fd = zlib.decompressobj(16 + zlib.MAX_WBITS).decompress(data[m.start():m.start() + 4000000])
        except zlib.error:
            continue
        if fd[:1] == b"\x0a" and fd[1] < 128 and fd[2:2 + fd[1]].endswith(b"generated.proto"):
            out[fd[2:2 + fd[1]].decode()] = fd
    return out


def _message(b, prefix, msgs):
    name, fields, nested, map_entry = None, [], [], False
    for n, v in _fields(b):
        if n == 1:
            name = v.decode()
        elif n == 2:
            f = {"opts": {}}
            for fn, fv in _fields(v):
                if fn == 1:
                    f["name"] = fv.decode()
                elif fn == 3:
                    f["num"] = fv
                elif fn == 4:
                    f["label"] = fv
                elif fn == 5:
                    f["type"] = fv
                elif fn == 6:
                    f["ref"] = fv.decode().lstrip(".")
                elif fn == 8:
                    f["opts"] = dict(_fields(fv))
            fields.append(f)
        elif n == 3:
            nested.append(v)
        elif n == 7:
            map_entry = bool(dict(_fields(v)).get(7))
    full = prefix + "." + name
    msgs[full] = {"fields": fields, "map_entry": map_entry}
    for nb in nested:
        _message(nb, full, msgs)


def schema(binary):
    msgs = {}
    for fd in descriptors(binary).values():
        pkg = next((v.decode() for n, v in _fields(fd) if n == 2), "")
        for n, v in _fields(fd):
            if n == 4:
                _message(v, pkg, msgs)
    table = {}
    for name, m in sorted(msgs.items()):
        if m["map_entry"] or not name.rsplit(".", 1)[0] in PACKAGES:
            continue
        rows = []
        for f in sorted(m["fields"], key=lambda f: f["num"]):
            flags = 1 if f["label"] == 3 else 0
            ref = f.get("ref")
            if ref and msgs.get(ref, {}).get("map_entry"):
                kv = {g["num"]: g for g in msgs[ref]["fields"]}
                flags, ref = 4, [kv[1]["type"], kv[2]["type"], kv[2].get("ref")]
            elif not flags and f["opts"].get(GOGO_NULLABLE, 1):
                flags = 2
            rows.append([f["num"], f["name"], f["type"], flags, ref])
        table[name] = rows
    return table


def main(argv):
    binary = argv[1] if len(argv) > 1 else os.path.join(".tools", "bin", "kubectl")
    out = os.path.join(os.path.dirname(os.path.abspath(__file__)), "proto_schema.json")
    table = schema(binary)
    if "k8s.io.api.core.v1.Secret" not in table:
        sys.exit("no Kubernetes protobuf descriptors found in %s" % binary)
    with open(out, "w") as f:
        f.write("{\n")
        f.write(",\n".join("%s: %s" % (json.dumps(k), json.dumps(v, separators=(",", ":")))
                           for k, v in sorted(table.items())))
        f.write("\n}\n")
    print("%d messages -> %s" % (len(table), out))


if __name__ == "__main__":
    main(sys.argv)
