"""supplychain.policy.schema: the policy schema checked by jsonschema-rs, in the loader's words."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from supplychain.errors import InputError
from supplychain.policy.config import load_policy
from supplychain.policy.schema import schema_errors


def _errors(tmp_path: Path, text: str) -> list[str]:
    p = tmp_path / "policy.yaml"
    p.write_text(text)
    with pytest.raises(InputError) as exc:
        load_policy(p)
    assert exc.value.exit_code == 2
    return [line.strip().replace(f"{p}:", "") for line in str(exc.value).splitlines()[1:]]


def test_errors_come_in_file_order_with_lines(tmp_path: Path) -> None:
    errors = _errors(tmp_path, "version: 1\nimagez: 1\nimages:\n  require_digest: maybe\ntrusted_registries: 3\n")
    assert [e.split(": ", 1)[0] for e in errors] == ["2:9", "4:19", "5:21"]
    assert "imagez: unknown key 'imagez' (expected one of: " in errors[0]
    assert errors[1] == "4:19: images.require_digest: must be boolean, not str 'maybe'"
    assert errors[2] == "5:21: trusted_registries: must be array, not int 3"


def test_non_json_yaml_values(tmp_path: Path) -> None:
    # NaN is no number (it used to pass minimum/maximum, which it never fails)
    assert _errors(tmp_path, "version: 1\nsecrets:\n  entropy_threshold: .nan\n") == [
        "3:22: secrets.entropy_threshold: must be number, not float nan"]
    # infinity is a number above every bound
    assert _errors(tmp_path, "version: 1\nsecrets:\n  entropy_threshold: .inf\n") == [
        "3:22: secrets.entropy_threshold: must be at most 8"]
    # a key that is not a string is named as written, and is an invalid rule id (it used to crash the loader)
    [error] = _errors(tmp_path, "version: 1\nrules:\n  1: off\n")
    assert error.startswith("3:") and "invalid key 1:" in error


def test_patterns_are_ecma_262(tmp_path: Path) -> None:
    """``$`` matches only at the end: a glob with a trailing newline is not a glob."""
    [error] = _errors(tmp_path, 'version: 1\ntrusted_registries:\n  - "ghcr.io/acme/*\\n"\n')
    assert error.startswith("3:5: trusted_registries[0]: 'ghcr.io/acme/*\\n' does not match")


def test_one_error_per_wrong_value_and_choices() -> None:
    schema = {
        "type": "object",
        "properties": {
            "level": {"type": "string", "enum": ["a", "b"], "minLength": 1},
            "who": {"anyOf": [{"required": ["name"]}, {"required": ["key"]}]},
            "mode": {"description": "a mode name or a mapping", "anyOf": [{"type": "string"}, {"type": "object"}]},
            "size": {"anyOf": [{"type": "integer", "minimum": 1}, {"type": "string", "pattern": "^[0-9]+[kMG]$"}]},
        },
        "additionalProperties": False,
        "propertyNames": {"pattern": "^[a-z]+$"},
    }
    assert schema_errors({"level": 3}, schema) == [(("level",), "must be string, not int 3")]
    assert schema_errors({"level": "c"}, schema) == [(("level",), 'must be one of "a", "b", not str \'c\'')]
    assert schema_errors({"who": {}}, schema) == [(("who",), "needs at least one of 'name' or 'key'")]
    assert schema_errors({"mode": 1.5}, schema) == [(("mode",), "must be a mode name or a mapping, not float 1.5")]
    # the alternative of the value's own type explains
    assert schema_errors({"size": 0}, schema) == [(("size",), "must be at least 1")]
    assert schema_errors({"size": "big"}, schema) == [(("size",), "'big' does not match ^[0-9]+[kMG]$")]
    # an invalid key is reported once, as such, not also as unknown
    assert schema_errors({"Bad": 1}, schema) == [(("Bad",), "invalid key 'Bad': 'Bad' does not match ^[a-z]+$")]
    assert schema_errors({"extra": 1}, schema) == [
        (("extra",), "unknown key 'extra' (expected one of: level, mode, size, who)")]
    assert schema_errors({"level": "a", "who": {"key": "k"}, "mode": {}, "size": "3G"}, schema) == []


def test_deeply_nested_values_are_checked_not_crashed_on(tmp_path: Path) -> None:
    """500 levels (the YAML reader allows 512) under a key: the same one-line error as a flat value."""
    deep_list = "[" * 500 + "1" + "]" * 500
    assert _errors(tmp_path, f"version: 1\nrules:\n  DF-001: {deep_list}\n") == [
        "3:3: rules.DF-001: must be error | warning | note | off, or {severity: ..., enabled: true|false}, "
        "not a list"]
    deep_map = "{a: " * 500 + "1" + "}" * 500
    assert _errors(tmp_path, f"version: 1\nrules:\n  DF-001: {deep_map}\n") == [
        "3:12: rules.DF-001.a: unknown key 'a' (expected one of: enabled, severity)"]


_scalars = st.one_of(st.none(), st.booleans(), st.integers(), st.floats(), st.text(max_size=12),
                     st.sampled_from(["error", "off", "DF-001", "2030-01-01", "ghcr.io/**", "version"]))
_keys = st.one_of(st.sampled_from(["version", "rules", "waivers", "images", "secrets", "trusted_registries",
                                   "DF-001", "severity", "rule", "reason", "expires", "path", "image"]),
                  st.integers(), st.booleans(), st.none(), st.floats(), st.text(max_size=6))
_values = st.recursive(_scalars, lambda inner: st.lists(inner, max_size=4) | st.dictionaries(_keys, inner, max_size=4),
                       max_leaves=15)


@settings(max_examples=100, deadline=None)
@given(st.dictionaries(_keys, _values, max_size=6))
def test_any_yaml_value_gets_messages_not_a_crash(doc: dict[Any, Any]) -> None:
    from supplychain.policy.config import policy_schema

    errors = schema_errors(doc, policy_schema())
    for path, message in errors:
        assert isinstance(message, str) and message
        node: Any = doc  # every path leads into the document (the last step may name a missing key)
        for step in path[:-1]:
            node = node[step]
