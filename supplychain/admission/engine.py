"""The admission decision: one AdmissionReview in, allow or deny with reasons out.

The same policy file and the same gate code as ``supplychain gate`` decide (see
:mod:`supplychain.admission.gatecore`); this module adds what only a webhook needs:

- **fail closed, always**: a malformed request, an object with image fields the gate does not
  understand, a tag reference (unless ``resolve_tags``), an image the gate could not decide, an
  internal error, or a deadline reached before every image is decided is a *denial* with a reason;
- **a deadline per request**, derived from the ``?timeout=`` the API server sends (minus a margin):
  the answer comes before the API server gives up, so its ``failurePolicy`` is never what decides;
- **a decision cache** keyed by (image digest, policy digest, trust-root version, day) with single flight,
  so repeated and concurrent requests for one digest cost one verification;
- **receipts**: a workload annotated with a gate receipt signed by a key the webhook trusts is
  admitted on the receipt for the images it lists (:mod:`supplychain.admission.receipts`), with no
  registry call; the manifest's own policy rules are still applied.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from dataclasses import dataclass, field
from typing import Any

from supplychain.admission.cache import DecisionCache, Entry
from supplychain.admission.gatecore import GateCore, ImageVerdict, ManifestVerdict
from supplychain.admission.receipts import RECEIPT_ANNOTATION, ReceiptVerifier
from supplychain.admission.review import AdmissionRequest, AdmissionResponse, new_ephemeral_only

SKIPPED_OPERATIONS = ("DELETE", "CONNECT")
MIN_BUDGET = 0.2  # seconds: below this there is no point starting a verification


@dataclass
class Metrics:
    """Counters the server exports (``/metrics``); kept here so tests can read them directly."""

    decisions: dict[str, int] = field(default_factory=lambda: {"allow": 0, "deny": 0, "error": 0})
    cache_hits: int = 0
    cache_misses: int = 0
    registry_errors: int = 0
    deadline_denials: int = 0
    observe_latency: Callable[[float], None] | None = None


@dataclass
class ImageAnswer:
    image: str
    verdict: ImageVerdict | None  # None: not decided (deadline)
    cached: bool = False
    age: float = 0.0  # seconds since the evidence was gathered
    by_receipt: bool = False


def _object_has_images(value: Any, depth: int = 0) -> bool:
    """Whether ``value`` holds an ``image`` (or ``images``) field with a string anywhere."""
    if depth > 64:
        return True  # deeper than any workload: treat as suspicious
    if isinstance(value, dict):
        for k, v in value.items():
            if k in ("image", "images") and (isinstance(v, str) or (isinstance(v, list) and v)):
                return True
            if _object_has_images(v, depth + 1):
                return True
    elif isinstance(value, list):
        return any(_object_has_images(v, depth + 1) for v in value)
    return False


def _image_strings(obj: dict[str, Any]) -> set[str]:
    """Every string an ``image`` / ``images`` field (or an image volume's ``image.reference``) of
    the object holds, outside its own ``metadata`` and ``status``."""
    out: set[str] = set()
    stack: list[tuple[Any, int]] = [({k: v for k, v in obj.items() if k not in ("metadata", "status")}, 0)]
    while stack:
        value, depth = stack.pop()
        if depth > 64:
            continue  # _object_has_images already treats such depth as suspicious
        if isinstance(value, dict):
            for k, v in value.items():
                if k == "image" and isinstance(v, str):
                    out.add(v)
                elif k == "image" and isinstance(v, dict) and isinstance(v.get("reference"), str):
                    out.add(v["reference"])
                elif k == "images" and isinstance(v, list):
                    out.update(x for x in v if isinstance(x, str))
                stack.append((v, depth + 1))
        elif isinstance(value, list):
            stack.extend((v, depth + 1) for v in value)
    return out


class AdmissionEngine:
    """Decides AdmissionReview requests with one gate policy. Thread-safe."""

    def __init__(self, core: GateCore, *, cache: DecisionCache[ImageVerdict] | None = None,
                 resolve_tags: bool = False, receipts: ReceiptVerifier | None = None,
                 workers: int = 16, default_timeout: float = 10.0, margin: float = 1.0) -> None:
        self.core = core
        self.cache: DecisionCache[ImageVerdict] = cache if cache is not None else DecisionCache()
        self.resolve_tags = resolve_tags
        self.receipts = receipts
        self.default_timeout = default_timeout
        self.margin = margin
        self.metrics = Metrics()
        self._pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="admission-verify")
        self._lock = threading.Lock()

    def close(self) -> None:
        self._pool.shutdown(wait=False, cancel_futures=True)

    # -- the deadline ---------------------------------------------------------------------
    def budget(self, timeout: float | None) -> float:
        """Seconds this request may take: the API server's timeout minus a safety margin."""
        total = self.default_timeout if timeout is None else timeout
        return max(MIN_BUDGET, min(total - self.margin, total * 0.8))

    # -- the decision ---------------------------------------------------------------------
    def review(self, req: AdmissionRequest, *, timeout: float | None = None) -> AdmissionResponse:
        started = time.monotonic()
        deadline = started + self.budget(timeout)
        try:
            response = self._review(req, deadline)
        except Exception as exc:
            self._count("error")
            return self._deny(req, f"internal error while deciding {req.display}: {type(exc).__name__}: {exc}",
                              code=500, audit={"decision": "error"})
        self._count("allow" if response.allowed else "deny")
        if self.metrics.observe_latency is not None:
            self.metrics.observe_latency(time.monotonic() - started)
        return response

    def _count(self, what: str) -> None:
        with self._lock:
            self.metrics.decisions[what] = self.metrics.decisions.get(what, 0) + 1

    def _audit(self, decision: str, ages: list[float] | None = None, hits: int = 0, receipts: int = 0
               ) -> dict[str, str]:
        audit = {"decision": decision, "policy-digest": self.core.policy_digest,
                 "trust-root": self.core.trust_version}
        if ages:
            audit["evidence-age"] = f"{max(ages):.0f}s"
        audit["cache-hits"] = str(hits)
        if receipts:
            audit["receipt-images"] = str(receipts)
        return audit

    def _deny(self, req: AdmissionRequest, message: str, *, code: int = 403,
              warnings: list[str] | None = None, audit: dict[str, str] | None = None) -> AdmissionResponse:
        return AdmissionResponse(uid=req.uid, allowed=False, code=code,
                                 message=f"supplychain: {req.display} denied: {message}",
                                 warnings=warnings or [], audit=audit or self._audit("deny"))

    def _review(self, req: AdmissionRequest, deadline: float) -> AdmissionResponse:
        if req.operation in SKIPPED_OPERATIONS:
            return AdmissionResponse(uid=req.uid, allowed=True, audit=self._audit("allow"))
        obj = req.object
        if obj is None:
            return self._deny(req, f"{req.operation} request without an object")
        reduced = new_ephemeral_only(req)
        if reduced is not None:
            obj = reduced
        manifest = self.core.judge_manifest(obj, label=f"admission:{req.namespace or '-'}/{req.kind}/{req.name or '-'}")
        if not manifest.images and _object_has_images(obj):
            return self._deny(req, f"{req.gvk} has image fields that the gate does not understand; "
                                   "it cannot be verified (fail closed)")
        unjudged = sorted(_image_strings(obj) - set(manifest.images))
        if unjudged:  # e.g. a CRD kind named *List: the manifest reader judged only its `items`
            return self._deny(req, f"{req.gvk} names images the gate did not judge ({', '.join(unjudged[:5])}); "
                                   "they cannot be verified (fail closed)")
        receipt_digests: set[str] = set()
        receipt_note = ""
        if self.receipts is not None:
            annotation = self._annotation(obj)
            if annotation is not None:
                receipt_digests, receipt_note = self.receipts.admitted(annotation, self.core.policy_digest,
                                                                       trust_root=self.core.trust_version)
        answers = self._judge_images(manifest, receipt_digests, deadline)
        return self._answer(req, manifest, answers, receipt_note)

    @staticmethod
    def _annotation(obj: dict[str, Any]) -> str | None:
        """The receipt annotation of the object or of its pod template."""
        candidates: list[Any] = [obj.get("metadata")]
        spec = obj.get("spec")
        if isinstance(spec, dict):
            tmpl = spec.get("template")
            if isinstance(tmpl, dict):
                candidates.append(tmpl.get("metadata"))
            job = spec.get("jobTemplate")
            if isinstance(job, dict) and isinstance(job.get("spec"), dict):
                jt = job["spec"].get("template")
                if isinstance(jt, dict):
                    candidates.append(jt.get("metadata"))
        for meta in candidates:
            if isinstance(meta, dict) and isinstance(meta.get("annotations"), dict):
                value = meta["annotations"].get(RECEIPT_ANNOTATION)
                if isinstance(value, str):
                    return value
        return None

    def _judge_images(self, manifest: ManifestVerdict, receipt_digests: set[str], deadline: float
                      ) -> list[ImageAnswer]:
        pending: list[tuple[str, Future[tuple[Future[Entry[ImageVerdict]], bool]]]] = []
        answers: list[ImageAnswer] = []
        for image in manifest.images:
            ref_digest = self.core.digest_of(image)
            if ref_digest is None and not self.resolve_tags:
                answers.append(ImageAnswer(image, ImageVerdict.refused(
                    image, f"{image}: tag reference: the webhook verifies images by digest only; pin it "
                           "(`supplychain pin`) or run the webhook with --resolve-tags")))
                continue
            if ref_digest is not None and self.core.receipt_key(image) in receipt_digests:
                # the receipt stands in for signatures and attestations, never for the policy's
                # reference rules (trusted registries, pins), which cost no registry call
                answers.append(ImageAnswer(image, self.core.judge_reference(image), by_receipt=True))
                continue
            # the day is part of the key: waivers and allow-list entries apply through their
            # `expires` day, and a pass that rested on one must not outlive it
            key = (self.core.cache_key(image), self.core.policy_digest, self.core.trust_version,
                   self.core.today.isoformat())
            # a tag (--resolve-tags) names another digest once it is moved: its decision is about the
            # digest the tag named then, so it is never answered from, nor kept in, the cache
            by_digest = ref_digest is not None
            hit = self.cache.get(key) if by_digest else None
            if hit is not None:  # the common case answers without a thread hand-off
                with self._lock:
                    self.cache.hits += 1
                    self.metrics.cache_hits += 1
                answers.append(ImageAnswer(image, hit.value, cached=True, age=max(0.0, time.time() - hit.wall)))
                continue

            def compute(image: str = image) -> tuple[ImageVerdict, bool]:
                verdict = self.core.judge_image(image)
                return verdict, verdict.undecided

            def start(key: Any = key, compute: Callable[[], tuple[ImageVerdict, bool]] = compute,
                      store: bool = by_digest) -> tuple[Future[Entry[ImageVerdict]], bool]:
                return self.cache.get_or_compute(key, compute, store=store)

            pending.append((image, self._pool.submit(start)))
        for image, outer in pending:
            remaining = deadline - time.monotonic()
            try:
                inner, cached = outer.result(timeout=max(0.0, remaining))
                entry = inner.result(timeout=max(0.0, deadline - time.monotonic()))
            except FutureTimeout:
                with self._lock:
                    self.metrics.deadline_denials += 1
                answers.append(ImageAnswer(image, None))
                continue
            except Exception as exc:
                answers.append(ImageAnswer(image, ImageVerdict.refused(
                    image, f"{image}: internal error while verifying: {type(exc).__name__}: {exc}")))
                continue
            with self._lock:
                if cached:
                    self.metrics.cache_hits += 1
                else:
                    self.metrics.cache_misses += 1
                if entry.value.undecided:
                    self.metrics.registry_errors += 1
            answers.append(ImageAnswer(image, entry.value, cached=cached, age=max(0.0, time.time() - entry.wall)))
        return answers

    def _answer(self, req: AdmissionRequest, manifest: ManifestVerdict, answers: list[ImageAnswer],
                receipt_note: str) -> AdmissionResponse:
        reasons: list[str] = [f"{f}" for f in manifest.errors]
        warnings: list[str] = list(manifest.warnings)
        for a in answers:
            if a.verdict is None:
                reasons.append(f"{a.image}: no decision before the admission deadline (registry slow or "
                               "unreachable); denied, retry shortly")
            elif not a.verdict.passed:
                reasons.extend(a.verdict.reasons or [f"{a.image}: denied"])
            warnings.extend(a.verdict.warnings if a.verdict is not None else [])
        if receipt_note:
            warnings.append(receipt_note)
        ages = [a.age for a in answers if a.verdict is not None and not a.by_receipt]
        hits = sum(1 for a in answers if a.cached)
        by_receipt = sum(1 for a in answers if a.by_receipt)
        if reasons:
            lines = "; ".join(reasons)
            return self._deny(req, lines, warnings=warnings, audit=self._audit("deny", ages, hits, by_receipt))
        return AdmissionResponse(uid=req.uid, allowed=True, warnings=warnings,
                                 audit=self._audit("allow", ages, hits, by_receipt))


def canonical(obj: Any) -> str:
    return json.dumps(obj, sort_keys=True, separators=(",", ":"))
