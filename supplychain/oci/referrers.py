"""OCI 1.1 referrers: the referrers API, and the referrers tag schema (an image index tagged
``sha256-<hex>`` listing the manifests whose ``subject`` is that digest) where the API is absent.

The tag index is shared state that other signers update too, so it is only ever changed from a
successful read of a valid index: a 404 means "no index yet" only when the registry says so in
the distribution error format (``MANIFEST_UNKNOWN``, or Harbor's ``NOT_FOUND``); the write is conditional (``If-Match`` with
the ETag the read gave, where the registry supports it) and is read back to confirm. Anything
else fails without writing, so one spurious answer can never replace 17 signatures with 1.
"""

from __future__ import annotations

import json
import re
from typing import TYPE_CHECKING, Any
from urllib.parse import urljoin

from supplychain.errors import InputError, RegistryError
from supplychain.oci.answer import Answer, RegistryPreconditionFailed
from supplychain.oci.descriptor import INDEX_TYPES, OCI_INDEX, Descriptor, digest_of, manifest_media_type
from supplychain.oci.reference import Reference, validate_digest

if TYPE_CHECKING:
    from supplychain.oci.registry import RegistryClient

MAX_INDEX = 4 * 1024 * 1024
MAX_PAGES = 1000
WRITE_ATTEMPTS = 4


def referrers_tag(digest: str) -> str:
    """The fallback tag for ``digest``: ``sha256-<hex>``."""
    algo, hexpart = validate_digest(digest).split(":", 1)
    return f"{algo}-{hexpart}"


def next_link(ans: Answer, cur: str) -> str | None:
    link = ans.headers.get("Link")
    if not link:
        return None
    m = re.search(r'<([^>]+)>\s*;\s*rel="?next"?', link)
    if not m:
        return None
    return urljoin(cur, str(m.group(1)))


def index_entries(doc: Any, what: str) -> list[Descriptor]:
    if not isinstance(doc, dict) or not isinstance(doc.get("manifests"), list):
        raise RegistryError(f"{what}: referrers answer is not an image index")
    out = []
    for i, m in enumerate(doc["manifests"]):
        try:
            out.append(Descriptor.from_dict(m, f"{what}: manifests[{i}]"))
        except InputError as exc:
            raise RegistryError(str(exc)) from exc
    return out


def _filter(out: list[Descriptor], artifact_type: str | None) -> list[Descriptor]:
    return [d for d in out if d.artifact_type == artifact_type] if artifact_type else out


def list_referrers(client: RegistryClient, reg: str, name: str, digest: str,
                   artifact_type: str | None) -> list[Descriptor]:
    validate_digest(digest)
    what = f"{reg}/{name}@{digest}"
    host = client.transport.api_host(reg)
    if host in client._no_referrers_api:
        return _filter(_from_tag(client, reg, name, digest), artifact_type)
    url: str | None = client._url(reg, f"/v2/{name}/referrers/{digest}")
    params = {"artifactType": artifact_type} if artifact_type else None
    out: list[Descriptor] = []
    pages = 0
    while url:
        ans = client._fetch("GET", reg, url, client._scope(name), what, params=params, limit=MAX_INDEX,
                            kind="referrers answer", headers={"Accept": OCI_INDEX})
        params = None
        if pages == 0 and ans.status in (404, 405):
            client._no_referrers_api.add(host)  # the API is per registry: ask the tag schema from now on
            return _filter(_from_tag(client, reg, name, digest), artifact_type)
        pages += 1
        if ans.status != 200:
            raise client._fail(ans, f"{what}: referrers")
        if pages > MAX_PAGES:
            raise RegistryError(f"{what}: referrers pagination does not end")
        try:
            doc = json.loads(ans.body)
        except (ValueError, RecursionError):
            raise RegistryError(f"{what}: referrers response is not JSON") from None
        out.extend(index_entries(doc, what))
        url = next_link(ans, url)
    return _filter(out, artifact_type)


def _from_tag(client: RegistryClient, reg: str, name: str, digest: str) -> list[Descriptor]:
    got = read_tag_index(client, Reference(reg, name, tag=referrers_tag(digest)))
    return [] if got is None else got[0]


def read_tag_index(client: RegistryClient, ref: Reference
                   ) -> tuple[list[Descriptor], dict[str, Any], str | None, str] | None:
    """(entries, index document, ETag, digest) of the referrers tag index, or None when the
    registry says (``MANIFEST_UNKNOWN``) that there is none; RegistryError for anything else."""
    what = str(ref)
    url = client._url(ref.registry, f"/v2/{ref.repository}/manifests/{ref.tag}")
    ans = client._fetch("GET", ref.registry, url, client._scope(ref.repository), what, limit=MAX_INDEX,
                        kind="referrers tag index", headers={"Accept": ", ".join(INDEX_TYPES)})
    if ans.status == 404:
        if {"MANIFEST_UNKNOWN", "NOT_FOUND"}.intersection(ans.error_codes()):  # NOT_FOUND: Harbor
            return None
        raise RegistryError(f"{what}: {ref.registry} answered HTTP 404 without saying MANIFEST_UNKNOWN"
                            f"{ans.detail()}; cannot tell whether the referrers tag index exists")
    if ans.status != 200:
        raise client._fail(ans, f"{what}: GET referrers tag index")
    content_type = ans.headers.get("Content-Type", "").split(";", 1)[0].strip()
    try:
        media_type = manifest_media_type(ans.body, content_type, INDEX_TYPES)
    except ValueError as exc:
        raise RegistryError(f"{what}: the referrers tag index is {exc}") from None
    digest = digest_of(ans.body)
    header = ans.headers.get("Docker-Content-Digest")
    if header and header.startswith("sha256:") and header != digest:
        raise RegistryError(f"{what}: index digest {digest} does not match Docker-Content-Digest {header}")
    doc = json.loads(ans.body)
    doc.setdefault("mediaType", media_type)
    return index_entries(doc, what), doc, ans.headers.get("ETag"), digest


def add_to_tag_index(client: RegistryClient, reg: str, name: str, subject_digest: str,
                     descriptor: Descriptor) -> str:
    """Add ``descriptor`` to the ``sha256-<hex>`` tag index of ``subject_digest`` (see the module
    docstring); returns the digest of the index that lists it."""
    ref = Reference(reg, name, tag=referrers_tag(subject_digest))
    with client.transport.operation():
        for _attempt in range(WRITE_ATTEMPTS):
            current = read_tag_index(client, ref)
            if current is None:
                entries: list[Descriptor] = []
                doc: dict[str, Any] = {"schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": []}
                etag = None
            else:
                entries, doc, etag, digest = current
                if any(e.digest == descriptor.digest for e in entries):
                    return digest
            new = dict(doc)
            new["manifests"] = [*doc["manifests"], descriptor.to_dict()]
            raw = json.dumps(new, separators=(",", ":")).encode()
            try:
                client.put_manifest(name, ref.tag or "", raw, str(doc["mediaType"]), registry=reg, if_match=etag)
            except RegistryPreconditionFailed:
                continue  # another writer changed it since our read: read again
            confirm = read_tag_index(client, ref)
            if confirm is not None:
                listed = {e.digest for e in confirm[0]}
                if descriptor.digest in listed and all(e.digest in listed for e in entries):
                    return confirm[3]
            # a concurrent writer replaced the index between our read and write: merge again
    raise RegistryError(f"{ref}: could not add referrer {descriptor.digest} to the referrers tag index "
                        f"(it changed under every one of {WRITE_ATTEMPTS} attempts; concurrent writers?)",
                        hint="retry")


def add_referrer(client: RegistryClient, reg: str, name: str, subject_digest: str,
                 descriptor: Descriptor) -> None:
    """List a just-pushed referrer: nothing to do where the referrers API (or the tag index)
    already lists it; else add it to the tag index safely."""
    with client.transport.operation():
        listed = list_referrers(client, reg, name, subject_digest, None)
        if any(d.digest == descriptor.digest for d in listed):
            return
        add_to_tag_index(client, reg, name, subject_digest, descriptor)
