"""YAML scalars as kubectl apply reads them (go-yaml v2: YAML 1.1 booleans, Go number syntax,
timestamps kept as text, ``!!binary`` decoded), or as PyYAML's YAML 1.1 resolver reads them.

Part of :mod:`supplychain.policy.yamlsrc`: a plain scalar the other deployers' reader (go-yaml v3)
reads differently raises :class:`_Disagree`, an unusable tagged one :class:`_BadScalar`.
"""

from __future__ import annotations

import base64
import binascii
import math
import re
from typing import Any

import yaml

_constructor = yaml.constructor.SafeConstructor()

_STR = "tag:yaml.org,2002:str"
_MERGE = "tag:yaml.org,2002:merge"

_resolver: Any = yaml.resolver.Resolver()
_MERGE_KEY = object()


_V2_TRUE = frozenset({"y", "Y", "yes", "Yes", "YES", "true", "True", "TRUE", "on", "On", "ON"})
_V2_FALSE = frozenset({"n", "N", "no", "No", "NO", "false", "False", "FALSE", "off", "Off", "OFF"})
_V2_NULL = frozenset({"", "~", "null", "Null", "NULL"})
_V2_SPECIAL_FLOAT = {".inf": math.inf, ".Inf": math.inf, ".INF": math.inf, "+.inf": math.inf,
                     "+.Inf": math.inf, "+.INF": math.inf, "-.inf": -math.inf, "-.Inf": -math.inf,
                     "-.INF": -math.inf, ".nan": math.nan, ".NaN": math.nan, ".NAN": math.nan}
_V2_FLOAT_RE = re.compile(r"^[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?$")
_GO_INT_RE = re.compile(r"^[-+]?(0[xX][0-9a-fA-F]+|0[oO][0-7]+|0[bB][01]+|0[0-7]*|[1-9][0-9]*)$")
_TIMESTAMP_RE = re.compile(
    r"^[0-9][0-9][0-9][0-9]-[0-9][0-9]?-[0-9][0-9]?"
    r"(?:(?:[Tt]|[ \t]+)[0-9][0-9]?:[0-9][0-9]:[0-9][0-9](?:\.[0-9]*)?"
    r"(?:[ \t]*(?:Z|[-+][0-9][0-9]?(?::[0-9][0-9])?))?)?$")


class _BadScalar(Exception):
    pass


class _Disagree(Exception):
    """A plain scalar go-yaml v2 (kubectl apply) and v3 (kustomize, compose) read differently."""

    def __init__(self, value: Any, why: str) -> None:
        super().__init__(why)
        self.value = value


def _go_int(text: str) -> int:
    sign = -1 if text.startswith("-") else 1
    body = text.lstrip("+-")
    if body[:2] in ("0x", "0X"):
        return sign * int(body[2:], 16)
    if body[:2] in ("0o", "0O"):
        return sign * int(body[2:], 8)
    if body[:2] in ("0b", "0B"):
        return sign * int(body[2:], 2)
    if len(body) > 1 and body.startswith("0"):
        return sign * int(body[1:], 8)
    return sign * int(body)


def _plain_v2(text: str) -> Any:
    """An untagged plain scalar as go-yaml v2 resolves it (YAML 1.1 booleans, Go number syntax,
    no sexagesimal numbers, timestamps kept as text)."""
    if text in _V2_NULL:
        return None
    if text in _V2_TRUE or text in _V2_FALSE:
        truth = text in _V2_TRUE
        if text.lower() not in ("true", "false"):
            raise _Disagree(truth, f"{text!r} is the boolean {str(truth).lower()} for kubectl apply but the "
                                   "string " + repr(text) + " for kubectl kustomize and docker compose")
        return truth
    if text in _V2_SPECIAL_FLOAT:
        return _V2_SPECIAL_FLOAT[text]
    if text[:1] in "+-.0123456789":
        plain = text.replace("_", "")
        if _GO_INT_RE.match(plain):
            value = _go_int(plain)
            if -(2 ** 63) <= value < 2 ** 64:
                return value
        if _V2_FLOAT_RE.match(plain):
            return float(plain)
        if _TIMESTAMP_RE.match(text):
            raise _Disagree(text, f"{text!r} is the text {text!r} for kubectl apply but a timestamp, "
                                  "rewritten as RFC 3339, for kubectl kustomize")
    return text


def _scalar(event: Any, kubectl: bool) -> Any:
    tag = event.tag
    if tag is None or tag == "!":
        if event.style or tag == "!":  # quoted, block or '!'-tagged scalars are always strings
            return event.value
        if kubectl:
            return _MERGE_KEY if event.value == "<<" else _plain_v2(event.value)
        tag = _resolver.resolve(yaml.ScalarNode, event.value, event.implicit)
        if tag == "tag:yaml.org,2002:timestamp":
            return event.value
    if tag == _STR:
        return event.value
    if tag == _MERGE:
        return _MERGE_KEY
    if tag == "tag:yaml.org,2002:null":
        return None
    node = yaml.ScalarNode(tag, event.value)
    try:
        if tag == "tag:yaml.org,2002:int":
            return _constructor.construct_yaml_int(node)
        if tag == "tag:yaml.org,2002:bool":
            return _constructor.construct_yaml_bool(node)
        if tag == "tag:yaml.org,2002:float":
            return _constructor.construct_yaml_float(node)
    except (ValueError, TypeError, yaml.YAMLError):
        return event.value
    if tag == "tag:yaml.org,2002:timestamp" and kubectl:
        raise _BadScalar(f"explicit !!timestamp {event.value!r}: kubectl sends it rewritten as RFC 3339 text")
    if tag == "tag:yaml.org,2002:binary":  # go-yaml decodes it: the value is the decoded text
        try:
            return base64.b64decode("".join(event.value.split()), validate=True).decode("utf-8")
        except (binascii.Error, ValueError) as exc:
            raise _BadScalar(f"!!binary value is not base64 of UTF-8 text ({exc})") from exc
    # timestamps stay strings (go-yaml v2 decodes them into strings for interface{}), and
    # unknown tags (!Ref, !foo, ...) keep the text, as both go-yaml versions do
    return event.value
