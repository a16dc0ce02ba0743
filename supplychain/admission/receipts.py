"""Gate receipts: the release pipeline's verdict, signed, so the cluster can admit without a registry call.

``supplychain gate ... --receipt-out receipt.json --receipt-key release.key`` writes, when the gate
passes, a DSSE envelope (payload type ``application/vnd.in-toto+json``) holding an in-toto statement:

- ``subject``: every image the gate passed, by name and sha256 digest;
- ``predicateType``: :data:`RECEIPT_PREDICATE`;
- ``predicate``: ``{"decision": "pass", "policy": {"digest": "sha256:..."}, "trustRoot": "...",
  "time": RFC 3339, "tool": "supplychain X.Y"}`` (``trustRoot``: what identifies the Sigstore trust
  root the signatures were verified with, :func:`supplychain.admission.gatecore.trust_version`).

Put the envelope (compact JSON) in the workload's (or its pod template's) annotation
:data:`RECEIPT_ANNOTATION`. The webhook, started with ``--receipt-key PUB``, admits an image of that
workload on the receipt alone when the signature verifies with one of its keys, the policy digest is
the webhook's own policy (or one given with ``--receipt-policy-digest``), its trust root is the
webhook's own (a gate run with ``--staging`` or another ``--trusted-root`` vouches for nothing
here), the receipt is not older
than ``--receipt-max-age`` and the image is referenced by a digest the receipt lists. Anything else
about a receipt (bad signature, stale, other policy) is ignored with a warning and the image is
verified in full, so a receipt can only save work, never widen what is admitted. The policy's rules
on the manifest itself (hardening, registries) are applied on every request either way.
"""

from __future__ import annotations

import base64
import datetime
import json
from collections.abc import Iterable
from dataclasses import dataclass

from supplychain.errors import InputError, SupplychainError
from supplychain.signing.dsse import (
    INTOTO_PAYLOAD_TYPE,
    STATEMENT_V1,
    Envelope,
    pae,
    parse_envelope,
    parse_statement,
)
from supplychain.signing.keys import PublicKey

RECEIPT_ANNOTATION = "supplychain.dev/gate-receipt"
RECEIPT_PREDICATE = "https://supplychain.dev/gate-receipt/v1"
MAX_RECEIPT = 256 * 1024  # Kubernetes caps all annotations of an object at 256 KiB
CLOCK_SKEW = datetime.timedelta(minutes=5)


def receipt_statement(images: Iterable[tuple[str, str]], policy_digest: str, *, trust_root: str | None = None,
                      now: datetime.datetime | None = None) -> bytes:
    """The in-toto statement of a passing gate run; ``images`` are (name, "sha256:hex") pairs."""
    from supplychain import __version__

    when = (now or datetime.datetime.now(datetime.UTC)).replace(microsecond=0)
    subjects = []
    seen: set[tuple[str, str]] = set()
    for name, digest in images:
        algo, _, hexd = digest.partition(":")
        if algo != "sha256" or len(hexd) != 64:
            raise InputError(f"receipt: {name} has no sha256 digest ({digest!r})")
        if (name, hexd) not in seen:
            seen.add((name, hexd))
            subjects.append({"name": name, "digest": {"sha256": hexd}})
    if not subjects:
        raise InputError("receipt: no image passed on its own evidence, nothing to write a receipt for "
                         "(an image that passed only on a waiver of a gate finding is never listed)")
    predicate: dict[str, object] = {"decision": "pass", "policy": {"digest": policy_digest},
                                    "time": when.isoformat().replace("+00:00", "Z"),
                                    "tool": f"supplychain {__version__}"}
    if trust_root is not None:
        predicate["trustRoot"] = trust_root
    statement = {
        "_type": STATEMENT_V1,
        "subject": subjects,
        "predicateType": RECEIPT_PREDICATE,
        "predicate": predicate,
    }
    return json.dumps(statement, sort_keys=True, separators=(",", ":")).encode()


def sign_receipt(statement: bytes, private_key: object, keyid: str = "") -> str:
    """A compact DSSE envelope (JSON text) over ``statement`` signed with ``private_key``."""
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import ec, ed25519

    data = pae(INTOTO_PAYLOAD_TYPE, statement)
    if isinstance(private_key, ec.EllipticCurvePrivateKey):
        from supplychain.signing.keys import hash_for_key

        h = {"sha256": hashes.SHA256(), "sha384": hashes.SHA384(), "sha512": hashes.SHA512()}[
            hash_for_key(private_key)]
        sig = private_key.sign(data, ec.ECDSA(h))
    elif isinstance(private_key, ed25519.Ed25519PrivateKey):
        sig = private_key.sign(data)
    else:
        raise InputError("receipt: the signing key must be an ECDSA or Ed25519 private key")
    env = {"payloadType": INTOTO_PAYLOAD_TYPE, "payload": base64.b64encode(statement).decode("ascii"),
           "signatures": [{"keyid": keyid, "sig": base64.b64encode(sig).decode("ascii")}]}
    return json.dumps(env, separators=(",", ":"))


@dataclass
class ReceiptVerifier:
    keys: list[PublicKey]
    max_age: datetime.timedelta = datetime.timedelta(days=7)
    extra_policy_digests: frozenset[str] = frozenset()

    def admitted(self, annotation: str, policy_digest: str, *, trust_root: str | None = None,
                 now: datetime.datetime | None = None) -> tuple[set[str], str]:
        """The images a receipt admits as ``name@sha256:hex`` (names normalised), and a warning
        when the receipt is ignored. ``trust_root``: the receipt must name this trust root."""
        try:
            return self._admitted(annotation, policy_digest, now or datetime.datetime.now(datetime.UTC),
                                  trust_root), ""
        except (SupplychainError, ValueError, KeyError, TypeError) as exc:
            return set(), f"gate receipt ignored ({exc}); images verified in full"

    def _admitted(self, annotation: str, policy_digest: str, now: datetime.datetime,
                  trust_root: str | None = None) -> set[str]:
        raw = annotation.encode("utf-8")
        if len(raw) > MAX_RECEIPT:
            raise ValueError(f"receipt larger than {MAX_RECEIPT} bytes")
        from supplychain.signing.wire import load_untrusted_json

        env: Envelope = parse_envelope(load_untrusted_json(raw, limit=MAX_RECEIPT, what="gate receipt"),
                                       "gate receipt")
        if env.payload_type != INTOTO_PAYLOAD_TYPE:
            raise ValueError(f"payload type {env.payload_type!r} is not in-toto")
        data = env.pae()
        if not any(k.verify(s.sig, data) for s in env.signatures for k in self.keys):
            raise ValueError("signature does not verify with any --receipt-key")
        st = parse_statement(env.payload)
        if st.predicate_type != RECEIPT_PREDICATE:
            raise ValueError(f"predicate type {st.predicate_type!r} is not a gate receipt")
        pred = st.predicate
        if not isinstance(pred, dict) or pred.get("decision") != "pass":
            raise ValueError("the receipt's decision is not pass")
        policy = pred.get("policy")
        digest = policy.get("digest") if isinstance(policy, dict) else None
        if digest != policy_digest and digest not in self.extra_policy_digests:
            raise ValueError(f"made with policy {digest}, not this webhook's {policy_digest}")
        if trust_root is not None and pred.get("trustRoot") != trust_root:
            raise ValueError(f"made with trust root {pred.get('trustRoot')}, not this webhook's {trust_root}")
        when_text = pred.get("time")
        if not isinstance(when_text, str):
            raise ValueError("no time")
        when = datetime.datetime.fromisoformat(when_text.replace("Z", "+00:00"))
        if when.tzinfo is None:
            raise ValueError("time without a time zone")
        if when > now + CLOCK_SKEW:
            raise ValueError(f"made in the future ({when_text})")
        if now - when > self.max_age:
            raise ValueError(f"older than {self.max_age} (made {when_text})")
        admitted: set[str] = set()
        for name, d in st.subjects:
            if isinstance(d.get("sha256"), str):
                admitted.add(f"{normalized_name(name)}@sha256:{d['sha256'].lower()}")
        return admitted


def normalized_name(name: str) -> str:
    """``nginx`` -> ``docker.io/library/nginx``: receipts and pods may spell a name differently."""
    from supplychain.policy.images import parse_image

    try:
        return parse_image(name.split("@", 1)[0]).name
    except ValueError:
        return name
