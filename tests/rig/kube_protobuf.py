"""Kubernetes' protobuf wire format for the kinds Helm's release storage writes: Secret and ConfigMap.

Helm's `secret` and `configmap` storage drivers talk to the API through client-go's typed clients,
which send bodies as `application/vnd.kubernetes.protobuf` and prefer it in answers (JSON is their
fallback for reading only). kube-apiserver frames such a body as the 4-byte magic `k8s\\x00`
followed by a `runtime.Unknown` message carrying the object's apiVersion/kind and the object's
own message bytes. The field numbers below are those of the public generated.proto files of
k8s.io/api (core/v1) and k8s.io/apimachinery (meta/v1, runtime); only what these kinds and their
lists use is described, and the codec is written here (no protobuf library is needed).

    encode(obj: dict) -> bytes     a JSON-form Secret/ConfigMap/SecretList/ConfigMapList, framed
    decode(body: bytes) -> dict    the same back to the JSON form the emulator stores
    PROTOBUF                       the media type; `supports(kind)` says whether a kind is encodable

Decoding follows the JSON form's `omitempty`: Go marshals empty optional strings and zero numbers
that JSON would leave out, so those are dropped, except for fields that are pointers in Go
(`immutable`, `deletionGracePeriodSeconds`, `remainingItemCount`, the owner reference flags).
"""

from __future__ import annotations

import base64
import datetime
import json
from typing import Any

PROTOBUF = "application/vnd.kubernetes.protobuf"
MAGIC = b"k8s\x00"

# A field: (json name, type); types: str, bytes, int, bool, time, fields (FieldsV1 as JSON),
# map (string->string), bmap (string->bytes), msg:<Name>, and a leading "*" for repeated.
# `keep_zero` names the pointer fields whose zero value is meaningful.
SCHEMAS: dict[str, dict[int, tuple[str, str]]] = {
    "TypeMeta": {1: ("apiVersion", "str"), 2: ("kind", "str")},
    "Unknown": {1: ("typeMeta", "msg:TypeMeta"), 2: ("raw", "bytes"), 3: ("contentEncoding", "str"),
                4: ("contentType", "str")},
    "Time": {1: ("seconds", "int"), 2: ("nanos", "int")},
    "ObjectMeta": {
        1: ("name", "str"), 2: ("generateName", "str"), 3: ("namespace", "str"), 4: ("selfLink", "str"),
        5: ("uid", "str"), 6: ("resourceVersion", "str"), 7: ("generation", "int"),
        8: ("creationTimestamp", "time"), 9: ("deletionTimestamp", "time"),
        10: ("deletionGracePeriodSeconds", "int"), 11: ("labels", "map"), 12: ("annotations", "map"),
        13: ("ownerReferences", "*msg:OwnerReference"), 14: ("finalizers", "*str"),
        17: ("managedFields", "*msg:ManagedFieldsEntry"),
    },
    "OwnerReference": {5: ("apiVersion", "str"), 1: ("kind", "str"), 3: ("name", "str"), 4: ("uid", "str"),
                       6: ("controller", "bool"), 7: ("blockOwnerDeletion", "bool")},
    "ManagedFieldsEntry": {1: ("manager", "str"), 2: ("operation", "str"), 3: ("apiVersion", "str"),
                           4: ("time", "time"), 6: ("fieldsType", "str"), 7: ("fieldsV1", "fields"),
                           8: ("subresource", "str")},
    "ListMeta": {1: ("selfLink", "str"), 2: ("resourceVersion", "str"), 3: ("continue", "str"),
                 4: ("remainingItemCount", "int")},
    "Secret": {1: ("metadata", "msg:ObjectMeta"), 2: ("data", "bmap"), 3: ("type", "str"),
               4: ("stringData", "map"), 5: ("immutable", "bool")},
    "ConfigMap": {1: ("metadata", "msg:ObjectMeta"), 2: ("data", "map"), 3: ("binaryData", "bmap"),
                  4: ("immutable", "bool")},
    "SecretList": {1: ("metadata", "msg:ListMeta"), 2: ("items", "*msg:Secret")},
    "ConfigMapList": {1: ("metadata", "msg:ListMeta"), 2: ("items", "*msg:ConfigMap")},
}
KEEP_ZERO = {"immutable", "deletionGracePeriodSeconds", "remainingItemCount", "controller", "blockOwnerDeletion"}
# Encodable top-level kinds and their API version.
KINDS = {"Secret": "v1", "ConfigMap": "v1", "SecretList": "v1", "ConfigMapList": "v1"}

VARINT, FIXED64, LENGTH, FIXED32 = 0, 1, 2, 5


class ProtobufError(ValueError):
    """A body that is not a well-formed Kubernetes protobuf message of a supported kind."""


def supports(kind: str | None) -> bool:
    return kind in KINDS


# --- wire primitives ---------------------------------------------------------------------------

def _varint(value: int) -> bytes:
    value &= (1 << 64) - 1  # negative int64 as two's complement, as Go writes it
    out = bytearray()
    while True:
        byte = value & 0x7F
        value >>= 7
        if value:
            out.append(byte | 0x80)
        else:
            out.append(byte)
            return bytes(out)


def _read_varint(data: bytes, pos: int) -> tuple[int, int]:
    result = shift = 0
    while True:
        if pos >= len(data):
            raise ProtobufError("truncated varint")
        byte = data[pos]
        pos += 1
        result |= (byte & 0x7F) << shift
        if not byte & 0x80:
            break
        shift += 7
        if shift > 63:
            raise ProtobufError("varint longer than 64 bits")
    if result >= 1 << 63:
        result -= 1 << 64
    return result, pos


def _fields(data: bytes) -> list[tuple[int, int, Any]]:
    """(field number, wire type, value) in order; LENGTH values are bytes."""
    out: list[tuple[int, int, Any]] = []
    pos = 0
    while pos < len(data):
        key, pos = _read_varint(data, pos)
        number, wire = key >> 3, key & 7
        if wire == VARINT:
            value, pos = _read_varint(data, pos)
        elif wire == LENGTH:
            length, pos = _read_varint(data, pos)
            if length < 0 or pos + length > len(data):
                raise ProtobufError(f"field {number}: length {length} runs past the message")
            value, pos = data[pos:pos + length], pos + length
        elif wire == FIXED64:
            value, pos = data[pos:pos + 8], pos + 8
        elif wire == FIXED32:
            value, pos = data[pos:pos + 4], pos + 4
        else:
            raise ProtobufError(f"field {number}: unsupported wire type {wire}")
        out.append((number, wire, value))
    return out


def _key(number: int, wire: int) -> bytes:
    return _varint(number << 3 | wire)


def _length_delimited(number: int, payload: bytes) -> bytes:
    return _key(number, LENGTH) + _varint(len(payload)) + payload


# --- time ----------------------------------------------------------------------------------------

def _time_to_json(seconds: int, nanos: int) -> str | None:
    if not seconds and not nanos:
        return None
    moment = datetime.datetime.fromtimestamp(seconds, tz=datetime.UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def _time_from_json(text: str) -> int:
    moment = datetime.datetime.fromisoformat(text)
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=datetime.UTC)
    return int(moment.timestamp())


# --- messages ------------------------------------------------------------------------------------

def _decode_message(name: str, data: bytes) -> dict[str, Any]:
    schema = SCHEMAS[name]
    result: dict[str, Any] = {}
    for number, wire, value in _fields(data):
        if number not in schema:
            continue  # unknown fields are skipped, as proto2 readers do
        field, kind = schema[number]
        repeated = kind.startswith("*")
        kind = kind.lstrip("*")
        if kind in ("map", "bmap"):
            entry = {n: v for n, _, v in _fields(value)}
            key = entry.get(1, b"").decode()
            raw = entry.get(2, b"")
            result.setdefault(field, {})[key] = (base64.b64encode(raw).decode() if kind == "bmap"
                                                 else raw.decode())
            continue
        decoded = _decode_value(kind, wire, value)
        if repeated:
            result.setdefault(field, []).append(decoded)
        else:
            result[field] = decoded
    return {k: v for k, v in result.items() if not _empty(k, v)}


def _decode_value(kind: str, wire: int, value: Any) -> Any:
    if kind == "str":
        return value.decode()
    if kind == "bytes":
        return value
    if kind == "int":
        return value
    if kind == "bool":
        return bool(value)
    if kind == "time":
        fields = {n: v for n, _, v in _fields(value)}
        return _time_to_json(fields.get(1, 0), fields.get(2, 0))
    if kind == "fields":
        raw = {n: v for n, _, v in _fields(value)}.get(1, b"")
        return json.loads(raw) if raw else {}
    if kind.startswith("msg:"):
        return _decode_message(kind[4:], value)
    raise ProtobufError(f"unknown field kind {kind}")


def _empty(field: str, value: Any) -> bool:
    if field in KEEP_ZERO:
        return value is None
    return value is None or value == "" or (value == 0 and not isinstance(value, bool)) or value == {} \
        or value is False


def _encode_message(name: str, obj: dict[str, Any]) -> bytes:
    out = bytearray()
    for number, (field, kind) in sorted(SCHEMAS[name].items()):
        if field not in obj or obj[field] is None:
            continue
        value = obj[field]
        repeated = kind.startswith("*")
        kind = kind.lstrip("*")
        if kind in ("map", "bmap"):
            for key in sorted(value):
                raw = base64.b64decode(value[key]) if kind == "bmap" else str(value[key]).encode()
                out += _length_delimited(number, _length_delimited(1, key.encode()) + _length_delimited(2, raw))
            continue
        for item in (value if repeated else [value]):
            out += _encode_value(number, kind, item)
    return bytes(out)


def _encode_value(number: int, kind: str, value: Any) -> bytes:
    if kind == "str":
        return _length_delimited(number, str(value).encode())
    if kind == "bytes":
        return _length_delimited(number, bytes(value))
    if kind in ("int", "bool"):
        return _key(number, VARINT) + _varint(int(value))
    if kind == "time":
        return _length_delimited(number, _key(1, VARINT) + _varint(_time_from_json(value)))
    if kind == "fields":
        return _length_delimited(number, _length_delimited(1, json.dumps(value, separators=(",", ":")).encode()))
    if kind.startswith("msg:"):
        return _length_delimited(number, _encode_message(kind[4:], value))
    raise ProtobufError(f"unknown field kind {kind}")


# --- framing -------------------------------------------------------------------------------------

def decode(body: bytes) -> dict[str, Any]:
    """A framed protobuf body as the JSON-form object (apiVersion and kind from the envelope)."""
    if not body.startswith(MAGIC):
        raise ProtobufError("no k8s protobuf magic at the start of the body")
    envelope = _decode_message("Unknown", body[len(MAGIC):])
    type_meta = envelope.get("typeMeta") or {}
    kind = type_meta.get("kind")
    if not supports(kind):
        raise ProtobufError(f"the emulator reads protobuf only for {', '.join(KINDS)}, not {kind!r}")
    obj = _decode_message(kind, envelope.get("raw", b""))
    obj.setdefault("metadata", {})
    if kind.endswith("List"):
        obj.setdefault("items", [])
    return {"apiVersion": type_meta.get("apiVersion") or KINDS[kind], "kind": kind, **obj}


def encode(obj: dict[str, Any]) -> bytes:
    """A JSON-form object of a supported kind, framed as kube-apiserver answers it."""
    kind = obj.get("kind")
    if not supports(kind):
        raise ProtobufError(f"cannot encode kind {kind!r} as protobuf")
    raw = _encode_message(kind, obj)
    type_meta = _encode_message("TypeMeta", {"apiVersion": obj.get("apiVersion") or KINDS[kind], "kind": kind})
    return MAGIC + _length_delimited(1, type_meta) + _length_delimited(2, raw)


def prefers_protobuf(accept: str | None) -> bool:
    """True when the client's first choice is protobuf (client-go's typed clients ask this way)."""
    first = (accept or "").split(",")[0].split(";")[0].strip()
    return first == PROTOBUF
