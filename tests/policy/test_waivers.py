"""The one waiver matcher and the typed severities every check shares."""

from __future__ import annotations

import datetime
import json

import pytest

from supplychain.policy.config import Waiver
from supplychain.policy.findings import Finding, Rule, Severity
from supplychain.policy.images import parse_image
from supplychain.policy.report import OutputFormat, Report, Section, Waived, render
from supplychain.policy.waivers import find_waiver, path_matches, waiver_for

TODAY = datetime.date(2026, 6, 1)
LATER = datetime.date(2027, 1, 1)


def _w(rule: str = "K8S-*", *, path: str | None = None, image: str | None = None,
       expires: datetime.date = LATER) -> Waiver:
    return Waiver(rule=rule, reason="r", expires=expires, path=path, image=image)


def _f(rule: str = "K8S-001", file: str = "deploy/legacy/app.yaml", image: str | None = None) -> Finding:
    return Finding(rule, Severity.ERROR, file, 3, 5, "m", "fix", image=image)


@pytest.mark.parametrize(("pattern", "path", "hit"), [
    ("deploy/legacy/**", "deploy/legacy/app.yaml", True),
    ("./deploy/legacy/*", "deploy/legacy/app.yaml", True),
    ("deploy/*", "deploy/legacy/app.yaml", True),  # fnmatch: * crosses /
    ("*/dev/*", "x/dev/images.txt", True),
    ("deploy/prod/*", "deploy/legacy/app.yaml", False),
    ("deploy/[ab].yaml", "deploy/[ab].yaml", True),  # a literal [ matches too
    ("deploy/[ab].yaml", "deploy/a.yaml", True),
])
def test_path_globs(pattern: str, path: str, hit: bool) -> None:
    assert path_matches(pattern, path) is hit


def test_rule_path_image_and_expiry() -> None:
    assert waiver_for([_w(path="deploy/**")], _f(), TODAY) is not None
    assert waiver_for([_w(path="deploy/**", expires=datetime.date(2026, 5, 31))], _f(), TODAY) is None
    assert waiver_for([_w(path="deploy/**", expires=TODAY)], _f(), TODAY) is not None  # through that day
    assert waiver_for([_w("DF-*", path="deploy/**")], _f(), TODAY) is None
    # an image waiver never covers a finding about no image (fail closed)
    assert waiver_for([_w(image="docker.io/library/nginx")], _f(), TODAY) is None
    img = "docker.io/library/nginx:1.27"
    assert waiver_for([_w(image="docker.io/library/nginx")], _f(image=img), TODAY) is not None
    # a glob with a tag is matched against the full reference, the same for every caller
    assert waiver_for([_w(image="docker.io/library/nginx:1.*")], _f(image=img), TODAY) is not None
    assert waiver_for([_w(image="docker.io/library/nginx:2.*")], _f(image=img), TODAY) is None


def test_a_path_waiver_must_cover_every_use_of_an_image() -> None:
    w = [_w("SC-GATE-*", path="*/dev/*")]
    ref = parse_image("ghcr.io/acme/app:1")
    assert find_waiver(w, "SC-GATE-001", files=("a/dev/images.txt",), image=ref, today=TODAY) is not None
    assert find_waiver(w, "SC-GATE-001", files=("a/dev/images.txt", "a/prod/images.txt"), image=ref,
                       today=TODAY) is None
    assert find_waiver(w, "SC-GATE-001", files=(), image=ref, today=TODAY) is None


def test_unknown_severity_is_refused_where_it_enters() -> None:
    with pytest.raises(ValueError, match="unknown severity 'fatal'"):
        Finding("K8S-001", "fatal", "f", 1, None, "m", "fix")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="unknown severity"):
        Rule("X-1", "X", "critical", "s", "h", "x")  # type: ignore[arg-type]
    assert Finding("K8S-001", "warning", "f", 1, None, "m", "fix").severity is Severity.WARNING  # type: ignore[arg-type]
    assert [s.rank for s in (Severity.NOTE, Severity.WARNING, Severity.ERROR)] == [1, 2, 3]


def test_one_report_model_three_writers() -> None:
    kept = Finding("K8S-001", Severity.ERROR, "deploy/app.yaml", 3, 5, "privileged", "remove it",
                   image="ghcr.io/acme/app:1")
    gone = Waived(Finding("K8S-009", Severity.WARNING, "deploy/app.yaml", 4, None, "rw root", "set it"),
                  "legacy", LATER)
    report = Report(tool="supplychain test", findings=[kept], waived=[gone], summary={"n": 1},
                    verdict="FAILED: 1 error", passed=False,
                    sections=[Section("deploy/app.yaml", [kept], [gone], ["a note"], in_file=True)],
                    rule_ids=["K8S-001"])
    text = render(report, OutputFormat.TEXT)
    assert "deploy/app.yaml\n      a note\n" in text and "3:5" in text and "fix: remove it" in text
    assert "waived" in text and "legacy (until 2027-01-01)" in text and text.endswith("FAILED: 1 error\n")
    doc = json.loads(render(report, "json"))
    assert doc["findings"][0]["image"] == "ghcr.io/acme/app:1" and doc["waived"][0]["waiver"]["reason"] == "legacy"
    sarif = json.loads(render(report, OutputFormat.SARIF))
    run = sarif["runs"][0]
    assert [r["id"] for r in run["tool"]["driver"]["rules"]] == ["K8S-001", "K8S-009"]
    for rule in run["tool"]["driver"]["rules"]:
        assert rule["fullDescription"]["text"] and rule["helpUri"] and rule["help"]["markdown"]
    kept_res, gone_res = run["results"]
    assert kept_res["level"] == "error" and len(kept_res["partialFingerprints"]["supplychainFinding/v1"]) == 32
    moved = Finding("K8S-001", Severity.ERROR, "deploy/app.yaml", 30, 5, "privileged", "remove it",
                    image="ghcr.io/acme/app:1")
    report.findings = [moved]
    again = json.loads(render(report, OutputFormat.SARIF))["runs"][0]["results"][0]
    assert again["partialFingerprints"] == kept_res["partialFingerprints"]  # the line moved, the finding did not
    assert gone_res["partialFingerprints"] != kept_res["partialFingerprints"]
    assert gone_res["suppressions"][0]["justification"].startswith("legacy")
    with pytest.raises(ValueError):
        render(report, "xml")
