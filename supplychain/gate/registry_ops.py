"""What is attached to an image in its registry (cosign ``tree``), fetching it (``download``) and
promoting an image with everything attached to another registry (``copy``).

Attached artifacts are found three ways, as cosign and the OCI 1.1 spec place them:

* the referrers API (``/v2/<name>/referrers/<digest>``), or the referrers tag schema
  (a ``sha256-<hex>`` index) where the registry has no API -- :meth:`RegistryClient.referrers`;
* legacy cosign tags ``sha256-<hex>.sig`` (signatures), ``.att`` (attestations), ``.sbom``.

Sigstore bundles (``application/vnd.dev.sigstore.bundle*``) are classified by their predicate type
(``https://sigstore.dev/cosign/sign/v1`` is a signature, anything else an attestation; CycloneDX
and SPDX predicates are SBOM attestations). Signers shown by ``tree`` are what the artifact
*claims* (key hint, certificate identity): nothing here is verified -- ``download`` verifies
only when given verification options (through :func:`supplychain.signing.image.verify_image`).
"""

from __future__ import annotations

import base64
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from supplychain.errors import InputError, RegistryError
from supplychain.oci.descriptor import Descriptor
from supplychain.oci.mediatypes import ALL_MANIFEST_TYPES, INDEX_TYPES
from supplychain.oci.reference import Reference, parse_reference
from supplychain.oci.registry import RegistryClient, RegistryNotFound
from supplychain.signing.formats import cosign as cs

SIGN_PREDICATE = "https://sigstore.dev/cosign/sign/v1"
SBOM_PREDICATES = ("https://cyclonedx.org/bom", "https://spdx.dev/Document")
SBOM_ARTIFACTS = ("application/vnd.cyclonedx", "application/spdx", "text/spdx")
MAX_SMALL = 16 * 1024 * 1024  # bundles, envelopes, SBOM documents read into memory
KINDS = ("sig", "att", "sbom")


@dataclass
class Attached:
    """One artifact attached to an image."""

    kind: str  # "signature", "attestation", "sbom"
    source: str  # "referrer", "legacy .sig", "legacy .att", "legacy .sbom"
    digest: str  # the artifact's manifest digest
    media_type: str
    artifact_type: str | None
    size: int  # bytes of its layers
    predicate_type: str | None = None
    signer: str | None = None  # as claimed by the artifact (unverified)
    tag: str | None = None  # legacy tag
    layer: int | None = None  # legacy tags hold one artifact per layer
    blobs: list[dict[str, Any]] = field(default_factory=list, repr=False)

    @property
    def sbom(self) -> bool:
        return self.kind == "sbom" or (self.predicate_type or "").startswith(SBOM_PREDICATES)

    def as_dict(self) -> dict[str, Any]:
        return {"kind": self.kind, "source": self.source, "digest": self.digest, "media_type": self.media_type,
                "artifact_type": self.artifact_type, "size": self.size, "predicate_type": self.predicate_type,
                "signer": self.signer, "tag": self.tag, "layer": self.layer, "sbom": self.sbom}


@dataclass
class Tree:
    reference: str  # name@digest
    digest: str
    media_type: str
    size: int
    attached: list[Attached] = field(default_factory=list)

    def of(self, kind: str) -> list[Attached]:
        return [a for a in self.attached if a.kind == kind]

    def as_dict(self) -> dict[str, Any]:
        return {"reference": self.reference, "digest": self.digest, "media_type": self.media_type,
                "size": self.size, "signatures": [a.as_dict() for a in self.of("signature")],
                "attestations": [a.as_dict() for a in self.of("attestation")],
                "sboms": [a.as_dict() for a in self.attached if a.sbom]}


def _signer_of_bundle(bundle: dict[str, Any]) -> str | None:
    material = bundle.get("verificationMaterial") or {}
    if not isinstance(material, dict):
        return None
    key = material.get("publicKey")
    if isinstance(key, dict) and key.get("hint"):
        return f"key {key['hint']}"
    cert = material.get("certificate") or {}
    raw = cert.get("rawBytes") if isinstance(cert, dict) else None
    if raw is None:
        chain = (material.get("x509CertificateChain") or {}).get("certificates") or []
        raw = chain[0].get("rawBytes") if chain and isinstance(chain[0], dict) else None
    if isinstance(raw, str):
        return _cert_identity(base64.b64decode(raw), der=True)
    return "key" if key is not None else None


def _cert_identity(data: bytes, *, der: bool) -> str | None:
    try:
        from cryptography import x509

        cert = x509.load_der_x509_certificate(data) if der else x509.load_pem_x509_certificate(data)
        san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
        names = [str(v) for v in san.get_values_for_type(x509.RFC822Name)] + \
            [str(v) for v in san.get_values_for_type(x509.UniformResourceIdentifier)]
        issuer = None
        for ext in cert.extensions:
            if ext.oid.dotted_string in ("1.3.6.1.4.1.57264.1.1", "1.3.6.1.4.1.57264.1.8"):
                value = getattr(ext.value, "value", b"")
                issuer = value.decode("utf-8", "replace").lstrip("\x0c\x16").strip() if isinstance(value, bytes) else None
        return (names[0] if names else "certificate") + (f" (issuer {issuer})" if issuer else "")
    except Exception:
        return "certificate (unreadable)"


def _predicate_of_envelope(envelope: dict[str, Any]) -> tuple[str | None, dict[str, Any] | None]:
    try:
        statement = json.loads(base64.b64decode(envelope.get("payload", "")))
    except (ValueError, TypeError):
        return None, None
    if not isinstance(statement, dict):
        return None, None
    ptype = statement.get("predicateType")
    return (ptype if isinstance(ptype, str) else None), statement


class Registry:
    """The registry calls of these commands (one client, a few helpers)."""

    def __init__(self, client: RegistryClient) -> None:
        self.client = client

    def manifest(self, ref: Reference) -> tuple[bytes, str, str]:
        return self.client.get_manifest(ref, ALL_MANIFEST_TYPES)

    def blob(self, ref: Reference, desc: dict[str, Any], limit: int = MAX_SMALL) -> bytes:
        if int(desc.get("size", 0)) > limit:
            raise RegistryError(f"{ref.name}@{desc.get('digest')}: {desc.get('size')} bytes, more than {limit}")
        return self.client.get_blob_bytes(ref, desc)


def _layers(raw: bytes, what: str) -> list[dict[str, Any]]:
    try:
        doc = json.loads(raw)
    except ValueError:
        raise RegistryError(f"{what}: manifest is not JSON") from None
    layers = doc.get("layers") if isinstance(doc, dict) else None
    return [x for x in layers or [] if isinstance(x, dict)]


def tree(client: RegistryClient, reference: str, *, with_legacy: bool = True) -> Tree:
    """Everything attached to ``reference``'s digest (signers read, not verified)."""
    ref = parse_reference(reference)
    reg = Registry(client)
    raw, media_type, digest = reg.manifest(ref)
    at_digest = ref.with_digest(digest)
    out = Tree(f"{ref.name}@{digest}", digest, media_type, len(raw))
    for desc in client.referrers(ref, digest):
        out.attached.append(_from_referrer(reg, at_digest, desc))
    if with_legacy:
        tags = set(client.list_tags(ref))
        base = digest.replace(":", "-")
        for suffix, kind in ((".sig", "signature"), (".att", "attestation"), (".sbom", "sbom")):
            if base + suffix in tags:
                out.attached.extend(_from_legacy(reg, ref, base + suffix, kind))
    return out


def _from_referrer(reg: Registry, ref: Reference, desc: Descriptor) -> Attached:
    man_ref = ref.with_digest(desc.digest)
    raw, mt, _ = reg.manifest(man_ref)
    layers = _layers(raw, str(man_ref))
    size = sum(int(x.get("size", 0)) for x in layers)
    atype = desc.artifact_type
    ptype = desc.annotations.get("dev.sigstore.bundle.predicateType")
    signer = None
    kind = "attestation"
    if atype and atype.startswith("application/vnd.dev.sigstore.bundle") and layers:
        try:
            bundle = json.loads(reg.blob(ref, layers[0]))
        except (ValueError, RegistryError):
            bundle = {}
        if isinstance(bundle, dict):
            signer = _signer_of_bundle(bundle)
            env = bundle.get("dsseEnvelope")
            if ptype is None and isinstance(env, dict):
                ptype = _predicate_of_envelope(env)[0]
            if ptype is None and "messageSignature" in bundle:
                ptype = SIGN_PREDICATE
        kind = "signature" if ptype == SIGN_PREDICATE else "attestation"
    elif (atype and atype.startswith(SBOM_ARTIFACTS)) or any(
            str(x.get("mediaType", "")).startswith(SBOM_ARTIFACTS) for x in layers):
        kind = "sbom"
    elif atype and "signature" in atype:
        kind = "signature"
    return Attached(kind, "referrer", desc.digest, mt, atype, size, ptype, signer, blobs=layers)


def _from_legacy(reg: Registry, ref: Reference, tag: str, kind: str) -> list[Attached]:
    tag_ref = parse_reference(f"{ref.name}:{tag}")
    raw, mt, digest = reg.manifest(tag_ref)
    out: list[Attached] = []
    for i, layer in enumerate(_layers(raw, str(tag_ref))):
        ann = layer.get("annotations") or {}
        ptype = ann.get("predicateType") if kind == "attestation" else (SIGN_PREDICATE if kind == "signature" else None)
        signer = None
        cert = ann.get(cs.CERTIFICATE_ANNOTATION)
        bundle = ann.get("dev.sigstore.cosign/bundle")
        if isinstance(cert, str) and cert.strip():
            signer = _cert_identity(cert.encode(), der=False)
        elif kind != "sbom":
            signer = "key" if bundle or ann.get(cs.SIGNATURE_ANNOTATION) is not None else None
        out.append(Attached(kind, f"legacy {tag.rsplit('.', 1)[1] and '.' + tag.rsplit('.', 1)[1]}", digest, mt,
                            None, int(layer.get("size", 0)), ptype, signer, tag=tag, layer=i, blobs=[layer]))
    return out


def render_tree(t: Tree) -> str:
    lines = [f"Supply chain of {t.reference} ({t.media_type}, {t.size} B)"]
    groups = [("Signatures", t.of("signature")), ("Attestations", t.of("attestation")),
              ("SBOMs", [a for a in t.attached if a.sbom])]
    groups = [(n, items) for n, items in groups if items]
    if not groups:
        lines.append("└── nothing attached (no referrers, no .sig/.att/.sbom tags)")
    for gi, (name, items) in enumerate(groups):
        last_group = gi == len(groups) - 1
        lines.append(("└── " if last_group else "├── ") + f"{name} ({len(items)})")
        pad = "    " if last_group else "│   "
        for ii, a in enumerate(items):
            where = a.tag + (f"#{a.layer}" if a.layer is not None else "") if a.tag else a.digest
            bits = [a.predicate_type] if a.predicate_type and a.kind != "signature" else []
            bits += [f"{a.size} B", a.source]
            if a.signer:
                bits.append(f"signer (unverified): {a.signer}")
            lines.append(pad + ("└── " if ii == len(items) - 1 else "├── ") + f"{where}  " + ", ".join(bits))
    return "\n".join(lines)


# ---------------------------------------------------------------------------------------- download

def raw_artifacts(client: RegistryClient, reference: str, what: str, predicate_type: str | None) -> list[bytes]:
    """The unverified content of the signatures, attestations or SBOMs of ``reference``:
    signature and attestation bundles / envelopes as stored, SBOM documents."""
    from supplychain.signing import attest as at

    t = tree(client, reference)
    ref = parse_reference(t.reference)
    reg = Registry(client)
    out: list[bytes] = []
    for a in t.attached:
        if what == "signature" and a.kind != "signature":
            continue
        if what == "attestation" and (a.kind != "attestation" or (
                predicate_type and not (a.predicate_type and at.same_predicate_type(a.predicate_type, predicate_type)))):
            continue
        if what == "sbom" and not a.sbom:
            continue
        for layer in a.blobs:
            data = reg.blob(ref, layer)
            if what == "sbom" and a.kind == "attestation":
                data = _sbom_of(data)
            elif a.source == "legacy .sig":
                data = _legacy_sig(data, layer)
            out.append(data)
    return out


def signature_content(client: RegistryClient, reference: str, locations: list[str]) -> list[bytes]:
    """The stored content of the signatures at ``locations`` (as verify_image names them: a
    referrer manifest digest, or ``tag#layer`` / ``digest#layer``), in the raw download's form."""
    t = tree(client, reference)
    ref = parse_reference(t.reference)
    reg = Registry(client)
    out: list[bytes] = []
    for a in t.of("signature"):
        for i, layer in enumerate(a.blobs):
            names = {f"{a.digest}#{i}", f"{a.tag}#{a.layer if a.layer is not None else i}"}
            if a.source == "referrer" and i == 0:
                names.add(a.digest)
            if not names & set(locations):
                continue
            data = reg.blob(ref, layer)
            if a.source == "legacy .sig":
                data = _legacy_sig(data, layer)
            out.append(data)
    return out


def _legacy_sig(payload: bytes, layer: dict[str, Any]) -> bytes:
    """A cosign legacy ``.sig`` layer as one JSON document: the signed payload (base64) with the
    signature and certificate its annotations carry."""
    ann = layer.get("annotations") or {}
    return json.dumps({"payload": base64.b64encode(payload).decode(),
                       "signature": ann.get(cs.SIGNATURE_ANNOTATION),
                       "cert": ann.get(cs.CERTIFICATE_ANNOTATION)}).encode()


def _sbom_of(data: bytes) -> bytes:
    """The predicate of an SBOM attestation (bundle or bare DSSE envelope), as JSON."""
    try:
        doc = json.loads(data)
    except ValueError:
        raise RegistryError("an SBOM attestation is not JSON") from None
    env = doc.get("dsseEnvelope", doc) if isinstance(doc, dict) else None
    if not isinstance(env, dict):
        raise RegistryError("an SBOM attestation has no DSSE envelope")
    _, statement = _predicate_of_envelope(env)
    if not statement or "predicate" not in statement:
        raise RegistryError("an SBOM attestation's statement has no predicate")
    return json.dumps(statement["predicate"], indent=2).encode() + b"\n"


# -------------------------------------------------------------------------------------------- copy

@dataclass
class CopyReport:
    source: str
    destination: str
    digest: str
    manifests: int = 0
    blobs_copied: int = 0
    blobs_mounted: int = 0
    blobs_present: int = 0
    attached: list[Attached] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {"source": self.source, "destination": self.destination, "digest": self.digest,
                "manifests": self.manifests, "blobs": {"copied": self.blobs_copied, "mounted": self.blobs_mounted,
                                                       "present": self.blobs_present},
                "attached": [a.as_dict() for a in self.attached]}


def parse_only(value: str | None) -> tuple[str, ...]:
    if not value:
        return ()
    items = tuple(v.strip() for v in value.split(",") if v.strip())
    bad = [v for v in items if v not in KINDS]
    if bad:
        raise InputError(f"--only {value!r}: unknown kind(s) {', '.join(bad)}", hint="use sig, att and/or sbom")
    return items


def copy_image(client: RegistryClient, source: str, destination: str, *, only: tuple[str, ...] = (),
               progress: Callable[[str], None] | None = None) -> CopyReport:
    """Copy an image and everything attached to it; manifests are copied byte for byte, so every
    digest stays the same. Blobs are mounted from the source repository when both are on the
    same registry (where it allows), else streamed. With ``only``, just those attached kinds."""
    src = parse_reference(source)
    dst = parse_reference(destination, default_tag=None)
    t = tree(client, source)
    report = CopyReport(source, destination, t.digest)
    say = progress or (lambda _m: None)
    src_at = src.with_digest(t.digest)
    if not only:
        _copy_manifest(client, src_at, dst, t.digest, report)
        tag = dst.tag or (src.tag if not dst.digest else None)
        raw, mt, _ = client.get_manifest(src_at)
        if tag:
            client.put_manifest(dst, tag, raw, mt)
        say(f"copied {src.name}@{t.digest} -> {dst.name}" + (f":{tag}" if tag else ""))
    wanted = {"sig": "signature", "att": "attestation", "sbom": "sbom"}
    kinds = {wanted[k] for k in only} if only else set(wanted.values())
    done_tags: set[str] = set()
    for a in t.attached:
        if a.kind not in kinds and not (a.sbom and "sbom" in kinds):
            continue
        report.attached.append(a)
        if a.source == "referrer":
            _copy_manifest(client, src.with_digest(a.digest), dst, a.digest, report)
            client.add_referrer(dst, t.digest, Descriptor(a.media_type, a.digest, _manifest_size(client, src, a),
                                                          annotations=_referrer_annotations(client, src, t.digest, a),
                                                          artifact_type=a.artifact_type))
            say(f"copied {a.kind} {a.digest}")
        elif a.tag and a.tag not in done_tags:
            done_tags.add(a.tag)
            _copy_manifest(client, src.with_digest(a.digest), dst, a.digest, report)
            raw, mt, _ = client.get_manifest(src.with_digest(a.digest))
            client.put_manifest(dst, a.tag, raw, mt)
            say(f"copied {a.tag}")
    return report


def _manifest_size(client: RegistryClient, src: Reference, a: Attached) -> int:
    raw, _mt, _ = client.get_manifest(src.with_digest(a.digest))
    return len(raw)


def _referrer_annotations(client: RegistryClient, src: Reference, subject: str, a: Attached) -> dict[str, str]:
    for desc in client.referrers(src, subject):
        if desc.digest == a.digest:
            return dict(desc.annotations)
    return {}


def _copy_manifest(client: RegistryClient, src: Reference, dst: Reference, digest: str, report: CopyReport) -> None:
    """Copy the manifest ``digest`` (and, for an index, its manifests) with its blobs, by digest."""
    raw, mt, got = client.get_manifest(src.with_digest(digest))
    doc = json.loads(raw)
    if mt in INDEX_TYPES:
        for child in doc.get("manifests") or []:
            _copy_manifest(client, src, dst, str(child["digest"]), report)
    else:
        blobs = [doc.get("config"), *list(doc.get("layers") or [])]
        for desc in blobs:
            if isinstance(desc, dict) and desc.get("digest"):
                _copy_blob(client, src, dst, desc, report)
    if client.head_manifest(dst.with_digest(got)) is None:
        client.put_manifest(dst, got, raw, mt)
    report.manifests += 1


def _copy_blob(client: RegistryClient, src: Reference, dst: Reference, desc: dict[str, Any],
               report: CopyReport) -> None:
    digest = str(desc["digest"])
    if client.blob_exists(dst, digest):
        report.blobs_present += 1
        return
    if src.registry == dst.registry and src.repository != dst.repository:
        try:
            if client.mount_blob(dst, digest, src.repository):
                report.blobs_mounted += 1
                return
        except RegistryNotFound:
            pass
    size = int(desc.get("size", -1))
    if 0 <= size <= MAX_SMALL:
        client.upload_blob(dst, client.get_blob_bytes(src, desc), digest)
    else:  # streamed: verified against its digest while read, and again by the upload before it commits
        stream = client.open_blob(src, desc)
        try:
            client.upload_blob(dst, stream, digest, size=size if size >= 0 else None)  # type: ignore[arg-type]
        finally:
            stream.close()
    report.blobs_copied += 1
