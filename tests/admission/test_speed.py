"""What makes cold decisions fast, and that none of it changes a decision: remembered license
answers, one shared registry client, paced verifications, predicates kept parsed."""

from __future__ import annotations

from supplychain.gate.sbom_rules import MAX_CACHED_LICENSE, _denied_cached, denied_license


def _comp(*licenses: str) -> dict[str, object]:
    return {"name": "c", "licenses": [{"expression": x} for x in licenses]}


def test_remembered_license_answers_depend_on_the_deny_list_and_the_string() -> None:
    _denied_cached.cache_clear()
    agpl = _comp("AGPL-3.0-only")
    assert denied_license(agpl, ("AGPL-*",)) == "AGPL-3.0-only (denied: AGPL-3.0-only by 'AGPL-*')"
    assert denied_license(agpl, ("GPL-*",)) is None  # same string, other list: asked again
    assert denied_license(agpl, ("AGPL-*",)) is not None  # and the first answer still holds
    assert denied_license(_comp("MIT OR AGPL-3.0-only"), ("AGPL-*",)) is None  # one acceptable choice
    assert denied_license(_comp("MIT AND AGPL-3.0-only"), ("AGPL-*",)) is not None
    assert denied_license(_comp("MIT", "AGPL-3.0-only"), ("AGPL-*",)) is not None  # every entry applies
    info = _denied_cached.cache_info()
    assert info.hits >= 1 and info.currsize == 5
    # a long text is judged each time, never kept; a denied id inside it still denies
    text = "Permission is hereby granted " * 20 + " AGPL-3.0-only"
    assert len(text) > MAX_CACHED_LICENSE
    assert denied_license(_comp(text), ("AGPL-*",)) is not None
    assert _denied_cached.cache_info().currsize == 5
