"""The webhook's view of the gate: the same policy file and the same decision code as
``supplychain gate``, split into the two parts a webhook needs separately:

- :meth:`GateCore.judge_manifest`: the policy's rules on the admitted object itself (hardening
  rules, image reference rules), cheap and done for every request;
- :meth:`GateCore.judge_image`: signatures, attestations and SBOM rules for one image, the part that
  reads the registry and is cached by digest.
"""

from __future__ import annotations

import hashlib
import json
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

from supplychain.errors import InputError, SupplychainError
from supplychain.policy.images import parse_image
from supplychain.signing.specs import TrustSpec


@dataclass
class ImageVerdict:
    image: str
    passed: bool
    reasons: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    undecided: bool = False  # the registry could not be read: no decision (denied, cached briefly)
    digest: str | None = None

    @classmethod
    def refused(cls, image: str, reason: str) -> ImageVerdict:
        return cls(image, False, [reason])

    @classmethod
    def passed_by_receipt(cls, image: str, digest: str) -> ImageVerdict:
        return cls(image, True, digest=digest)


@dataclass
class ManifestVerdict:
    images: list[str]  # distinct image references, in order
    errors: list[str] = field(default_factory=list)  # "RULE: message" of error findings not about one image
    warnings: list[str] = field(default_factory=list)


def _sha256(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


def trust_version(trust: TrustSpec) -> str:
    """What identifies the trust root a decision was made with (part of the cache key)."""
    for path in (trust.trusted_root, trust.trust_config):
        if path:
            try:
                return _sha256(Path(path).read_bytes())
            except OSError as exc:
                raise InputError(f"cannot read {path}: {exc.strerror or exc}") from None
    return "embedded-staging" if trust.staging else "embedded-production"


CLIENT_MAX_AGE = 300.0  # seconds one registry client serves before a fresh one replaces it


class SharedClient:
    """One registry client for every image decision: its HTTP connections (and TLS sessions) are
    kept alive, each registry's auth challenge is answered once and its tokens reused until they
    expire (tokens are cached per registry host and repository scope, never lent to another host),
    and what a registry lacks (the referrers API) is learnt once instead of probed per image.

    The client is thread-safe (the CLI gate shares one across its worker threads too). It is
    replaced by a fresh one every ``max_age`` seconds, so a long-running webhook re-reads
    registry credentials, re-learns what each registry supports and does not keep tokens of
    repositories it no longer sees; decisions in flight finish with the client they started with.
    Only the client is shared: each decision still reads the registry through its own
    :class:`~supplychain.signing.image.RegistryView` (no manifest, referrer list or blob is
    carried over from one decision to the next).
    """

    def __init__(self, make: Callable[[], Any], *, max_age: float = CLIENT_MAX_AGE,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self._make = make
        self._max_age = max_age
        self._clock = clock
        self._lock = threading.Lock()
        self._client: Any = None
        self._born = 0.0
        self.created = 0

    def get(self) -> Any:
        with self._lock:
            now = self._clock()
            if self._client is None or now - self._born >= self._max_age:
                self._client = self._make()
                self._born = now
                self.created += 1
            return self._client


class GateCore:
    """One loaded gate policy, a registry client and a trust root, shared by all requests."""

    def __init__(self, policy_path: str, *, trust: TrustSpec | None = None,
                 insecure_registries: tuple[str, ...] = (), today: date | None = None) -> None:
        from supplychain.gate import load_gate_policy, register
        from supplychain.gate.policy import policy_digest
        from supplychain.oci.registry import RegistryClient
        from supplychain.signing.image import RegistryView

        register()
        try:
            raw = Path(policy_path).read_bytes()
        except OSError as exc:
            raise InputError(f"cannot read policy {policy_path}: {exc.strerror or exc}") from None
        self.policy_path = policy_path
        self.gate_policy = load_gate_policy(policy_path, raw)  # judged by the very bytes its digest names
        self.policy_digest = policy_digest(raw, self.gate_policy)
        self.trust = trust or TrustSpec()
        self.trust_version = trust_version(self.trust)
        self.insecure = insecure_registries
        self.clients = SharedClient(lambda: RegistryClient(insecure_registries=list(insecure_registries)))
        # a fresh view (and its cache) per decision, over the shared client
        self._view_factory: Callable[[], Any] = lambda: RegistryView(self.clients.get())
        self._today = today
        self.warm_up()

    def warm_up(self) -> None:
        """Pay the first-use costs (lazy imports of the policy rules, the signature and SBOM
        checks, the license parser) now, at start, rather than in the first requests, which
        would all wait on them: a rollout's first burst of cold decisions is what sees them."""
        from cryptography.hazmat.primitives import hashes
        from cryptography.hazmat.primitives.asymmetric import ec

        from supplychain.gate.sbom_rules import denied_license
        from supplychain.signing import image_bundles, image_verify  # noqa: F401 (imported for later)
        from supplychain.signing.formats import bundle  # noqa: F401

        self.judge_manifest({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "warm-up"},
                             "spec": {"containers": [{"name": "c", "image": "warm-up.invalid/x@sha256:" + "0" * 64}]}},
                            label="admission:warm-up")
        denied_license({"licenses": [{"license": {"id": "MIT"}}]}, ("warm-up",))
        ec.ECDSA(hashes.SHA256())  # imports cryptography's backend, as the first signature check would
        for entry in self.gate_policy.signers:
            try:
                entry.rule.loaded_keys()  # each decision loads them again: this only imports
            except SupplychainError:
                pass  # and a key that does not load fails the decisions that need it, as before

    @property
    def today(self) -> date:
        return self._today or date.today()

    # -- per request ------------------------------------------------------------------------
    def judge_manifest(self, obj: dict[str, Any], *, label: str) -> ManifestVerdict:
        """Every rule of the policy on the object, as `policy check` / `gate` apply them to a file
        named ``label`` (``admission:<namespace>/<Kind>/<name>``: path waivers can name it)."""
        from supplychain.policy.context import Collector
        from supplychain.policy.engine import check_text
        from supplychain.policy.findings import Severity
        from supplychain.policy.waivers import find_waiver, finding_image

        gp = self.gate_policy
        text = json.dumps(obj, indent=1, ensure_ascii=False)
        col = Collector(policy=gp.policy, file=label)
        check_text(text, "kubernetes", col)
        images: list[str] = []
        for use in col.images:
            if use.text not in images:
                images.append(use.text)
        errors: list[str] = []
        warnings: list[str] = []
        for f in col.findings:
            if f.rule.startswith("SC-IMG-") or not gp.applies(f.rule):
                continue  # reference rules are judged per image
            if find_waiver(gp.policy.waivers, f.rule, files=(f.file,), image=finding_image(f),
                           today=self.today) is not None:
                continue
            if f.severity is Severity.ERROR:
                errors.append(f"{f.rule}: {f.message}")
            elif f.severity is Severity.WARNING:
                warnings.append(f"{f.rule}: {f.message}")
        return ManifestVerdict(images, errors, warnings)

    @staticmethod
    def digest_of(image: str) -> str | None:
        try:
            return parse_image(image).digest
        except ValueError:
            return None

    @staticmethod
    def cache_key(image: str) -> str:
        try:
            return parse_image(image).normalized
        except ValueError:
            return image

    @staticmethod
    def receipt_key(image: str) -> str:
        """``name@sha256:hex`` as receipts list images (see receipts.ReceiptVerifier.admitted)."""
        try:
            ref = parse_image(image)
        except ValueError:
            return ""
        return f"{ref.name}@{ref.digest}" if ref.digest else ""

    # -- per image (cached by the engine) ---------------------------------------------------
    def judge_reference(self, image: str) -> ImageVerdict:
        """Only the policy's reference rules (registries, pins, tags): no registry call."""
        from supplychain.gate.decide import reference_findings
        from supplychain.gate.result import Location
        from supplychain.policy.findings import Severity
        from supplychain.policy.waivers import find_waiver

        try:
            ref = parse_image(image)
        except ValueError as exc:
            return ImageVerdict.refused(image, f"{image!r} is not a valid image reference ({exc})")
        reasons = []
        for f in reference_findings(self.gate_policy, image, Location(ADMISSION, 0, None, "admission")):
            if f.severity is Severity.ERROR and find_waiver(self.gate_policy.policy.waivers, f.rule, files=(f.file,),
                                                            image=ref, today=self.today) is None:
                reasons.append(f"{image}: {f.rule}: {f.message}")
        return ImageVerdict(image, not reasons, reasons, digest=ref.digest)

    def judge_image(self, image: str) -> ImageVerdict:
        """The gate's whole decision for one image (reference rules, signatures, attestations, SBOM)."""
        from supplychain.gate import decide_image
        from supplychain.gate.result import Location
        from supplychain.policy.findings import Severity

        d = decide_image(image, self.gate_policy, registry=self._view_factory(), trust=self.trust,
                         locations=[Location(ADMISSION, 0, None, "admission")], today=self.today)
        warnings = [f"{image}: {f.rule}: {f.message}" for f in d.findings if f.severity is Severity.WARNING]
        reasons = [f"{image}: {r}" for r in d.reasons]
        if d.undecided is not None and not reasons:
            reasons = [f"{image}: no decision: {d.undecided}"]
        return ImageVerdict(image, d.passed, reasons, warnings, d.undecided is not None, d.digest)


ADMISSION = "<admission>"
