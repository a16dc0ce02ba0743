"""The Kubernetes ``AdmissionReview`` v1 protocol (``admission.k8s.io/v1``): requests in, responses out.

What the API server sends (``request``): ``uid``, ``kind`` (group/version/kind of the object),
``resource``, ``subResource``, ``name``, ``namespace``, ``operation`` (CREATE, UPDATE, DELETE,
CONNECT), ``object``, ``oldObject``, ``dryRun``. What it expects back (``response``): the same
``uid``, ``allowed``, and for a denial a ``status`` with ``code`` and ``message``; ``warnings`` are
shown to the client (kubectl prints them), ``auditAnnotations`` land in the audit log.

Only the parsing and the answer's shape live here; the decision is :mod:`supplychain.admission.engine`.
Every malformed field is a :class:`ReviewError` naming it (the server answers it with HTTP 400 and
never with ``allowed: true``).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

API_VERSION = "admission.k8s.io/v1"
KIND = "AdmissionReview"
MAX_REVIEW_BYTES = 3 * 1024 * 1024  # etcd's request limit is 1.5 MiB; object + oldObject fit twice
MAX_WARNINGS = 20
MAX_WARNING_CHARS = 240  # the API server truncates longer warnings
MAX_MESSAGE_CHARS = 4000


class ReviewError(ValueError):
    """The body is not an AdmissionReview v1 request we can judge."""


@dataclass
class AdmissionRequest:
    uid: str
    kind: str  # e.g. "Deployment"
    group: str  # "" for the core group
    version: str
    operation: str
    namespace: str
    name: str
    sub_resource: str
    object: dict[str, Any] | None
    old_object: dict[str, Any] | None
    dry_run: bool

    @property
    def gvk(self) -> str:
        gv = f"{self.group}/{self.version}" if self.group else self.version
        return f"{gv}/{self.kind}"

    @property
    def display(self) -> str:
        where = f"{self.namespace}/" if self.namespace else ""
        return f"{self.kind} {where}{self.name or '(generated name)'}"


@dataclass
class AdmissionResponse:
    uid: str
    allowed: bool
    message: str = ""
    code: int = 200
    warnings: list[str] = field(default_factory=list)
    audit: dict[str, str] = field(default_factory=dict)

    def review(self) -> dict[str, Any]:
        """The whole ``AdmissionReview`` answer."""
        response: dict[str, Any] = {"uid": self.uid, "allowed": self.allowed}
        if not self.allowed or self.message:
            message = self.message
            if len(message) > MAX_MESSAGE_CHARS:
                message = message[: MAX_MESSAGE_CHARS - 20] + " ... (truncated)"
            response["status"] = {"code": self.code if not self.allowed else 200, "message": message}
            if not self.allowed:
                response["status"]["reason"] = "Forbidden" if self.code == 403 else "InternalError"
        warnings = [w if len(w) <= MAX_WARNING_CHARS else w[: MAX_WARNING_CHARS - 3] + "..."
                    for w in self.warnings[:MAX_WARNINGS]]
        if len(self.warnings) > MAX_WARNINGS:
            warnings.append(f"... and {len(self.warnings) - MAX_WARNINGS} more")
        if warnings:
            response["warnings"] = warnings
        if self.audit:
            response["auditAnnotations"] = dict(self.audit)
        return {"apiVersion": API_VERSION, "kind": KIND, "response": response}


def _str(value: Any, name: str, *, required: bool = False) -> str:
    if value is None:
        if required:
            raise ReviewError(f"request.{name} is missing")
        return ""
    if not isinstance(value, str):
        raise ReviewError(f"request.{name} must be a string, not {type(value).__name__}")
    return value


def _obj(value: Any, name: str) -> dict[str, Any] | None:
    if value is None:
        return None
    if not isinstance(value, dict):
        raise ReviewError(f"request.{name} must be an object, not {type(value).__name__}")
    return value


def parse_review(body: bytes) -> AdmissionRequest:
    """Parse and check an ``AdmissionReview`` v1 request body."""
    if len(body) > MAX_REVIEW_BYTES:
        raise ReviewError(f"AdmissionReview of {len(body)} bytes exceeds the {MAX_REVIEW_BYTES}-byte limit")
    try:
        doc = json.loads(body)
    except (ValueError, RecursionError) as exc:
        raise ReviewError(f"body is not JSON ({type(exc).__name__})") from None
    if not isinstance(doc, dict):
        raise ReviewError("body is not a JSON object")
    if doc.get("apiVersion") != API_VERSION or doc.get("kind") != KIND:
        raise ReviewError(f"expected apiVersion {API_VERSION!r} kind {KIND!r}, got "
                          f"{doc.get('apiVersion')!r} {doc.get('kind')!r}")
    req = doc.get("request")
    if not isinstance(req, dict):
        raise ReviewError("request is missing or not an object")
    uid = _str(req.get("uid"), "uid", required=True)
    if not uid:
        raise ReviewError("request.uid is empty")
    kind = req.get("kind")
    if not isinstance(kind, dict):
        raise ReviewError("request.kind is missing or not an object")
    operation = _str(req.get("operation"), "operation", required=True)
    if operation not in ("CREATE", "UPDATE", "DELETE", "CONNECT"):
        raise ReviewError(f"request.operation {operation!r} is not CREATE, UPDATE, DELETE or CONNECT")
    dry_run = req.get("dryRun", False)
    if dry_run is None:
        dry_run = False
    if not isinstance(dry_run, bool):
        raise ReviewError("request.dryRun must be a boolean")
    return AdmissionRequest(
        uid=uid,
        kind=_str(kind.get("kind"), "kind.kind", required=True),
        group=_str(kind.get("group"), "kind.group"),
        version=_str(kind.get("version"), "kind.version"),
        operation=operation,
        namespace=_str(req.get("namespace"), "namespace"),
        name=_str(req.get("name"), "name"),
        sub_resource=_str(req.get("subResource"), "subResource"),
        object=_obj(req.get("object"), "object"),
        old_object=_obj(req.get("oldObject"), "oldObject"),
        dry_run=dry_run,
    )


def uid_of(body: bytes) -> str:
    """The request uid of a body that may not parse as a whole (for error answers), or ``""``."""
    try:
        doc = json.loads(body)
        uid = doc["request"]["uid"]
        return uid if isinstance(uid, str) else ""
    except Exception:
        return ""


def new_ephemeral_only(req: AdmissionRequest) -> dict[str, Any] | None:
    """For an UPDATE of a Pod's ``ephemeralcontainers`` subresource: the pod reduced to the
    ephemeral containers that the update adds (the pod's other containers were judged when it was
    created). ``None`` for every other request."""
    if req.sub_resource != "ephemeralcontainers" or req.kind != "Pod" or req.object is None:
        return None
    spec = req.object.get("spec")
    if not isinstance(spec, dict):
        return None
    old: set[str] = set()
    if req.old_object is not None:
        old_spec = req.old_object.get("spec")
        if isinstance(old_spec, dict) and isinstance(old_spec.get("ephemeralContainers"), list):
            old = {json.dumps(c, sort_keys=True) for c in old_spec["ephemeralContainers"]}
    ephemeral = spec.get("ephemeralContainers")
    # anything not present unchanged in oldObject is judged (a changed entry counts as added)
    added = [c for c in ephemeral if json.dumps(c, sort_keys=True) not in old] \
        if isinstance(ephemeral, list) else []
    reduced_spec = {k: v for k, v in spec.items() if k not in ("containers", "initContainers",
                                                                "ephemeralContainers")}
    # a Pod needs containers; keep the list empty so only the added ephemeral ones are judged
    reduced_spec["containers"] = []
    reduced_spec["ephemeralContainers"] = added
    return {**req.object, "spec": reduced_spec}
