"""The gate as a release engineer runs it (issue 16 / 19): one decision over the whole policy, bad
input is bad input, one output option scheme, stdin, and "no decision" is never a yes or a no.

Every test runs the real CLI process; registry faults come from a loopback server of ours.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import run_cli

DIGEST = "sha256:" + "4f" * 32
HARDENED = ("{allowPrivilegeEscalation: false, runAsNonRoot: true, runAsUser: 10001, readOnlyRootFilesystem: true, "
            "capabilities: {drop: [ALL]}, seccompProfile: {type: RuntimeDefault}}")
# the namespace's default-deny NetworkPolicy (K8S-024) beside every pod
NETPOL = "---\napiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {name: deny}\nspec: {podSelector: {}}\n"


def _pod(image: str, security: str) -> str:
    return (f"apiVersion: v1\nkind: Pod\nmetadata:\n  name: app\nspec:\n  automountServiceAccountToken: false\n"
            f"  containers:\n    - name: app\n      image: {image}\n      securityContext: {security}\n{NETPOL}")


PRIVILEGED = "{privileged: true, allowPrivilegeEscalation: true, runAsUser: 0}"


def _policy(tmp_path: Path, registry: str, extra: str = "") -> Path:
    """A policy trusting ``registry`` whose gate findings about it are waived: the images pass
    without a registry, so what fails is the files."""
    p = tmp_path / "gate-policy.yaml"
    p.write_text(f"""version: 1
extends: default
trusted_registries: ["{registry}/**"]
waivers:
  - rule: "SC-GATE-*"
    image: "{registry}/**"
    reason: images of this test are not signed (the files are what is judged)
    expires: 2999-01-01
{extra}""")
    return p


def _json(r: Any) -> dict[str, Any]:
    doc: dict[str, Any] = json.loads(r.stdout)
    return doc


def test_gate_applies_every_rule_of_the_policy(tmp_path: Path) -> None:
    image = f"registry.example:5000/app:1.0@{DIGEST}"
    policy = _policy(tmp_path, "registry.example:5000")
    bad = tmp_path / "privileged.yaml"
    bad.write_text(_pod(image, PRIVILEGED))
    r = run_cli("gate", str(bad), "--policy", str(policy), "--format", "json")
    assert r.exit_code == 1, r.stdout + r.stderr
    doc = _json(r)
    assert doc["decision"] == "fail"
    assert [i["decision"] for i in doc["images"]] == ["pass"]  # the image itself is fine
    gate_rules = {(f["rule"], f["severity"], f["line"]) for f in doc["findings"]}
    assert {"K8S-001", "K8S-002", "K8S-004"} <= {rule for rule, _, _ in gate_rules}
    # the same rule ids, severities and positions as `policy check` with the same policy
    pc = run_cli("policy", "check", str(bad), "--policy", str(policy), "--json")
    assert pc.exit_code == 1
    assert gate_rules == {(f["rule"], f["severity"], f["line"]) for f in _json(pc)["findings"]}
    assert any("K8S-001" in e for e in doc["errors"])
    text = run_cli("gate", str(bad), "--policy", str(policy))
    assert text.exit_code == 1 and "K8S-001" in text.stdout and "gate: FAIL" in text.stdout
    assert "policy error(s) in the files read" in text.stderr
    # hardened: passes
    good = tmp_path / "hardened.yaml"
    good.write_text(_pod(image, HARDENED))
    r = run_cli("gate", str(good), "--policy", str(policy), "--json")
    assert r.exit_code == 0, r.stdout + r.stderr
    assert _json(r)["findings"] == []


def test_waivers_and_scope_apply_to_file_rules_as_in_policy_check(tmp_path: Path) -> None:
    image = f"registry.example:5000/app:1.0@{DIGEST}"
    bad = tmp_path / "privileged.yaml"
    bad.write_text(_pod(image, PRIVILEGED))
    waived = _policy(tmp_path, "registry.example:5000",
                     "  - rule: 'K8S-*'\n    path: '*privileged.yaml'\n    reason: legacy node agent (OPS-7)\n"
                     "    expires: 2999-01-01\n")
    r = run_cli("gate", str(bad), "--policy", str(waived), "--json")
    assert r.exit_code == 0, r.stdout + r.stderr
    assert {w["rule"] for w in _json(r)["waived"]} >= {"K8S-001", "K8S-002", "K8S-004"}
    assert run_cli("policy", "check", str(bad), "--policy", str(waived)).exit_code == 0
    # an image-only gate, said explicitly in the policy
    scoped = tmp_path / "image-only.yaml"
    scoped.write_text(_policy(tmp_path, "registry.example:5000").read_text()
                      + 'gate:\n  rules: ["SC-IMG-*", "SC-GATE-*", "SC-POL-*"]\n')
    r = run_cli("gate", str(bad), "--policy", str(scoped), "--json")
    assert r.exit_code == 0, r.stdout + r.stderr
    # and the scope never lets an untrusted image through
    other = tmp_path / "other.yaml"
    other.write_text(_pod(f"quay.io/evil/app:1@{DIGEST}", PRIVILEGED))
    r = run_cli("gate", str(other), "--policy", str(scoped), "--json")
    assert r.exit_code == 1
    assert {f["rule"] for f in _json(r)["images"][0]["findings"]} == {"SC-IMG-001"}


def test_policy_that_does_not_extend_the_default_says_so(tmp_path: Path) -> None:
    compose = tmp_path / "compose.yaml"
    compose.write_text(f"services:\n  web:\n    image: nginx:1.27@{DIGEST}\n    user: root\n"
                       "    security_opt: [no-new-privileges:true]\n    read_only: true\n    cap_drop: [ALL]\n")
    weak = tmp_path / "weak.yaml"
    weak.write_text("version: 1\ntrusted_registries: ['docker.io/library/*']\n")
    r = run_cli("policy", "check", str(compose), "--policy", str(weak), "--json")
    # CMP-008 is an error in the default policy, a warning by the rule's own default
    assert r.exit_code == 0, r.stderr
    assert "does not extend the packaged default" in r.stderr and "CMP-008 warning (default error)" in r.stderr
    assert "extends: default" in r.stderr
    strict = tmp_path / "strict.yaml"
    strict.write_text("version: 1\nextends: default\ntrusted_registries: ['docker.io/library/*']\n")
    r = run_cli("policy", "check", str(compose), "--policy", str(strict), "--json")
    assert r.exit_code == 1 and "warning:" not in r.stderr
    assert {(f["rule"], f["severity"]) for f in _json(r)["findings"]} == {("CMP-008", "error")}
    meant = tmp_path / "meant.yaml"
    meant.write_text("version: 1\nextends: none\ntrusted_registries: ['docker.io/library/*']\n")
    r = run_cli("policy", "check", str(compose), "--policy", str(meant))
    assert r.exit_code == 0 and "warning:" not in r.stderr
    # the gate says it too
    r = run_cli("gate", str(compose), "--policy", str(weak), "--json")
    assert "does not extend the packaged default" in r.stderr
    assert any("does not extend" in w for w in _json(r)["warnings"])
    # the shipped policies extend the default (or say they do not)
    repo = Path(__file__).resolve().parents[2] / "policies"
    for f in sorted(repo.glob("*.yaml")):
        if f.name != "default.yaml":
            assert "\nextends: " in f.read_text(), f


@pytest.mark.parametrize("arg", ["deplyment.yaml", "nginx:1.27", "ghcr.io/acme/app:1.0"])
def test_missing_path_is_bad_input_never_an_image(tmp_path: Path, arg: str) -> None:
    policy = _policy(tmp_path, "docker.io/library")
    r = run_cli("gate", arg, "--policy", str(policy), cwd=tmp_path)
    assert r.exit_code == 2, r.stdout + r.stderr
    assert f"{arg}: no such file or directory" in r.stderr and "Traceback" not in r.stderr
    assert r.stdout == ""


def test_gate_needs_a_path_or_an_image(tmp_path: Path) -> None:
    r = run_cli("gate", "--policy", str(_policy(tmp_path, "x.example")))
    assert r.exit_code == 2 and "--image REF" in r.stderr


def test_one_output_option_scheme(tmp_path: Path) -> None:
    image = f"registry.example:5000/app:1.0@{DIGEST}"
    f = tmp_path / "pod.yaml"
    f.write_text(_pod(image, HARDENED))
    policy = _policy(tmp_path, "registry.example:5000")
    for cmd in (["policy", "check"], ["gate"]):
        as_json = run_cli(*cmd, str(f), "--policy", str(policy), "--json")
        assert as_json.exit_code == 0, as_json.stderr
        assert set(_json(as_json)) >= {"findings", "waived", "summary"}
        fmt = run_cli(*cmd, str(f), "--policy", str(policy), "--format", "json")
        assert _json(fmt) == _json(as_json)
        sarif = run_cli(*cmd, str(f), "--policy", str(policy), "--format", "sarif")
        assert _json(sarif)["version"] == "2.1.0"
        both = run_cli(*cmd, str(f), "--policy", str(policy), "--json", "--format", "sarif")
        assert both.exit_code == 2 and "not both" in both.stderr


def test_stdin_for_policy_check_and_gate(tmp_path: Path) -> None:
    image = f"registry.example:5000/app:1.0@{DIGEST}"
    policy = _policy(tmp_path, "registry.example:5000")
    rendered = ("---\n# Source: chart/templates/deploy.yaml\n" + _pod(image, PRIVILEGED)).encode()
    r = run_cli("policy", "check", "-", "--policy", str(policy), "--json", input=rendered)
    assert r.exit_code == 1, r.stderr
    found = _json(r)["findings"]
    assert {f["file"] for f in found} == {"<stdin>"} and "K8S-001" in {f["rule"] for f in found}
    r = run_cli("gate", "-", "--policy", str(policy), "--json", input=rendered)
    assert r.exit_code == 1, r.stderr
    doc = _json(r)
    assert doc["images"][0]["image"] == image and doc["images"][0]["locations"][0]["file"] == "<stdin>"
    assert "K8S-001" in {f["rule"] for f in doc["findings"]}
    r = run_cli("gate", "-", "--policy", str(policy), "--json", input=_pod(image, HARDENED).encode())
    assert r.exit_code == 0, r.stdout + r.stderr
    r = run_cli("gate", "-", "--policy", str(policy), input=b"apiVersion: v1\nkind: [\n")
    assert r.exit_code == 2 and "<stdin>" in r.stderr and "Traceback" not in r.stderr


# --- no decision: registry faults ----------------------------------------------------------------

class _Fault(BaseHTTPRequestHandler):
    mode = "html"

    def log_message(self, *args: Any) -> None:
        pass

    def do_GET(self) -> None:
        mode = type(self).mode
        if mode == "html":
            body = b"<html><body>Service temporarily unavailable</body></html>"
            self.send_response(200)
            self.send_header("Content-Type", "text/html")
        elif mode == "503":
            body = b"busy"
            self.send_response(503)
            self.send_header("Retry-After", "0")
            self.send_header("Content-Type", "text/plain")
        elif self.path.startswith("/token"):  # "token": the token service fails
            body = b'{"errors": "token service down"}'
            self.send_response(500)
            self.send_header("Content-Type", "application/json")
        else:
            body = b'{"errors": [{"code": "UNAUTHORIZED"}]}'
            self.send_response(401)
            host = self.headers.get("Host")
            self.send_header("WWW-Authenticate", f'Bearer realm="http://{host}/token",service="fault"')
            self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    do_HEAD = do_GET


@pytest.fixture
def fault_server() -> Iterator[tuple[str, type[_Fault]]]:
    handler = type("Handler", (_Fault,), {"mode": "html"})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"127.0.0.1:{server.server_address[1]}", handler
    finally:
        server.shutdown()
        server.server_close()


def _signed_policy(tmp_path: Path, host: str) -> Path:
    p = tmp_path / "signed.yaml"
    p.write_text(f"""version: 1
extends: default
trusted_registries: ["{host}/**"]
signers:
  - name: release
    issuer: https://token.actions.githubusercontent.com
    subject_regexp: '^https://github\\.com/acme/'
""")
    return p


@pytest.mark.parametrize("mode", ["html", "token", pytest.param("503", marks=pytest.mark.slow)])
def test_unreadable_registry_is_no_decision(tmp_path: Path, fault_server: tuple[str, type[_Fault]],
                                            mode: str) -> None:
    host, handler = fault_server
    handler.mode = mode
    policy = _signed_policy(tmp_path, host)
    image = f"{host}/app:1.0@{DIGEST}"
    r = run_cli("gate", "--image", image, "--policy", str(policy), "--json", timeout=120)
    assert r.exit_code == 3, (r.exit_code, r.stdout, r.stderr)
    doc = _json(r)
    assert doc["decision"] == "undecided"
    assert [u["image"] for u in doc["undecided"]] == [image] and host in doc["undecided"][0]["reason"]
    assert doc["images"][0]["decision"] == "undecided" and doc["summary"]["undecided"] == 1
    assert "no decision for 1 image(s)" in r.stderr and image in r.stderr
    text = run_cli("gate", "--image", image, "--policy", str(policy), timeout=120)
    assert text.exit_code == 3 and "UNDECIDED" in text.stdout and "no decision:" in text.stdout
    assert "gate: UNDECIDED" in text.stdout


def test_violation_elsewhere_wins_over_no_decision(tmp_path: Path, fault_server: tuple[str, type[_Fault]]) -> None:
    """The answer is already no: exit 1 even though one image could not be decided."""
    host, _ = fault_server
    policy = _signed_policy(tmp_path, host)
    image = f"{host}/app:1.0@{DIGEST}"
    untrusted = tmp_path / "images.txt"
    untrusted.write_text(f"quay.io/evil/app:1@{DIGEST}\n")
    r = run_cli("gate", str(untrusted), "--image", image, "--policy", str(policy), "--json")
    assert r.exit_code == 1, r.stdout + r.stderr
    doc = _json(r)
    assert doc["decision"] == "fail"
    assert {i["image"]: i["decision"] for i in doc["images"]} == {
        image: "undecided", f"quay.io/evil/app:1@{DIGEST}": "fail"}
    assert [u["image"] for u in doc["undecided"]] == [image]
    # a waiver of SC-GATE-006 never turns "no decision" into a yes
    waived = tmp_path / "waive-006.yaml"
    waived.write_text(policy.read_text() + f"waivers:\n  - rule: SC-GATE-006\n    image: '{host}/**'\n"
                      "    reason: flaky mirror\n    expires: 2999-01-01\n")
    r = run_cli("gate", "--image", image, "--policy", str(waived), "--json")
    assert r.exit_code == 3, r.stdout + r.stderr
    assert _json(r)["images"][0]["decision"] == "undecided"


@pytest.mark.registry
def test_text_report_shows_why_an_attestation_failed(registry, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """A detached SBOM whose blob is missing from the registry: the text report says so, not only JSON."""
    from supplychain.oci.registry import RegistryClient
    from supplychain.signing.image import RegistryView, attest_image, sign_image
    from supplychain.signing.specs import SignerSpec
    from tests.image_signing.conftest import ENV, make_keypair
    from tests.imagebuild import File, build_image, push_image

    key = make_keypair(tmp_path, "release")
    view = RegistryView(RegistryClient())
    ref = f"{registry.host}/gatecli/detached:1.0"
    digest = push_image(view.client, ref, build_image([[File("app/x", b"detached")]]))
    bom = json.dumps({"bomFormat": "CycloneDX", "specVersion": "1.6", "version": 1,
                      "components": [{"type": "library", "name": f"c{i}", "version": "1"} for i in range(100)]})
    signer = SignerSpec(key_path=str(key.private))
    big = bom.encode()
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("SUPPLYCHAIN_PASSWORD", ENV["SUPPLYCHAIN_PASSWORD"])
        sign_image(ref, signer, registry=view)
        published = attest_image(ref, big, "https://cyclonedx.org/bom", signer, registry=view, detach_threshold=1024)
    assert published.detached_digest is not None
    # the SBOM blob disappears from the registry (garbage-collected, a broken mirror)
    import requests

    session = requests.Session()
    session.trust_env = False
    gone = session.delete(f"{registry.url}/v2/gatecli/detached/blobs/{published.detached_digest}", timeout=10)
    assert gone.status_code == 202, gone.text
    (tmp_path / "release.pub").write_bytes(key.public.read_bytes())
    policy = tmp_path / "p.yaml"
    policy.write_text(f"""version: 1
extends: default
trusted_registries: ["{registry.host}/gatecli/**"]
signers:
  - name: release
    key: release.pub
attestations:
  - require: [cyclonedx]
""")
    image = f"{ref}@{digest}"
    r = run_cli("gate", "--image", image, "--policy", str(policy))
    assert r.exit_code == 1, r.stdout + r.stderr
    line = next(ln for ln in r.stdout.splitlines() if "SC-GATE-002" in ln)
    assert published.detached_digest in line and "cannot be fetched" in line, r.stdout


def test_gate_deadline_leaves_a_stalled_image_undecided(tmp_path: Path) -> None:
    """A registry that accepts the connection and never answers: with --deadline the run ends in
    time, the image is undecided (exit 3) and the reason names the gate's deadline."""
    import socket
    import time

    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(16)
    held: list[socket.socket] = []

    def accept() -> None:
        while True:
            try:
                conn, _ = listener.accept()
            except OSError:
                return
            held.append(conn)  # read nothing, answer nothing

    threading.Thread(target=accept, daemon=True).start()
    host = f"127.0.0.1:{listener.getsockname()[1]}"
    try:
        policy = _signed_policy(tmp_path, host)
        image = f"{host}/app:1.0@{DIGEST}"
        start = time.monotonic()
        r = run_cli("gate", "--image", image, "--policy", str(policy), "--deadline", "1.5", "--json", timeout=60)
        took = time.monotonic() - start
    finally:
        listener.close()
        for conn in held:
            conn.close()
    assert r.exit_code == 3, (r.exit_code, r.stdout, r.stderr)
    doc = _json(r)
    assert doc["images"][0]["decision"] == "undecided"
    assert "deadline of 1.5 s" in doc["undecided"][0]["reason"]
    assert took < 20, took
    bad = run_cli("gate", "--image", image, "--policy", str(policy), "--deadline", "0")
    assert bad.exit_code == 2 and "--deadline" in bad.stderr
