"""A registry client for the OCI distribution spec: manifests, blobs, uploads, tags, referrers.

The HTTP side (scheme policy, auth challenges and tokens bound to the host that asked,
retries, redirects, deadlines, size caps) is :mod:`supplychain.oci.transport` and
:mod:`supplychain.oci.challenge`; referrers are :mod:`supplychain.oci.referrers`. Here:

- a digest is only ever taken from a body that parses as a manifest or index of an accepted
  media type, and matches ``Docker-Content-Digest`` when the registry sends one;
- manifests, indexes, referrers and tag lists are read with size caps (4 MiB for manifests, as
  the OCI spec suggests) and retried like blobs when the connection drops mid-body;
- every blob is checked against its digest while it streams, and resumed after a drop;
- every registry failure is a RegistryError / NetworkError (exit 3) naming the registry.
"""

from __future__ import annotations

import functools
import hashlib
from collections.abc import Callable, Iterable
from typing import IO, Any, ParamSpec, TypeVar
from urllib.parse import urljoin, urlsplit

import requests

from supplychain.errors import NetworkError, RegistryError, VerificationError
from supplychain.oci import referrers
from supplychain.oci.answer import Answer, RegistryAuthError, RegistryNotFound, RegistryPreconditionFailed
from supplychain.oci.auth import CredentialStore
from supplychain.oci.blobstream import BytesChunks, RawStream
from supplychain.oci.challenge import AuthTransport, parse_challenge
from supplychain.oci.descriptor import (
    ALL_MANIFEST_TYPES,
    Descriptor,
    VerifyingReader,
    digest_of,
    manifest_media_type,
    verify_bytes,
)
from supplychain.oci.reference import Reference, parse_reference, validate_digest
from supplychain.oci.transport import MAX_ERROR_BODY, MAX_REDIRECTS, RETRY_STATUSES, is_loopback

__all__ = ["CHUNK", "MAX_MANIFEST", "MAX_REDIRECTS", "RETRY_STATUSES", "RegistryAuthError", "RegistryClient",
           "RegistryNotFound", "is_loopback", "parse_challenge"]

MAX_MANIFEST = 4 * 1024 * 1024
MAX_TAG_PAGE = 16 * 1024 * 1024
CHUNK = 8 * 1024 * 1024  # upload chunk size; blobs up to this size go in one PUT

P = ParamSpec("P")
T = TypeVar("T")


def _operation(fn: Callable[P, T]) -> Callable[P, T]:
    """Run the method under one deadline (connect, headers and body, retries included)."""

    @functools.wraps(fn)
    def run(*args: P.args, **kwargs: P.kwargs) -> T:
        client = args[0]
        assert isinstance(client, RegistryClient)
        with client.transport.operation():
            return fn(*args, **kwargs)

    return run


def _name_of(repo: str | Reference, registry: str | None) -> tuple[str, str]:
    """(registry host, repository path) from a Reference, "host/repo" or repo + registry=."""
    if isinstance(repo, Reference):
        return repo.registry, repo.repository
    if registry is not None:
        return registry, repo
    r = parse_reference(repo, default_tag=None)
    return r.registry, r.repository


class RegistryClient:
    """Talks to OCI registries. One client can serve many registries and threads.

    ``timeout`` is the deadline of one operation in seconds (default: the environment's
    ``SUPPLYCHAIN_REGISTRY_TIMEOUT``, else 120); a (connect, total) pair is accepted too.
    """

    def __init__(self, *, insecure_registries: Iterable[str] = (), credentials: CredentialStore | None = None,
                 session: requests.Session | None = None, timeout: float | tuple[float, float] | None = None,
                 max_retries: int = 4, backoff: float = 0.5, max_retry_after: float = 30.0) -> None:
        connect, total = (timeout if isinstance(timeout, tuple) else (15.0, timeout))
        self.transport = AuthTransport(insecure_registries=insecure_registries, credentials=credentials,
                                       session=session, connect_timeout=connect, timeout=total,
                                       max_retries=max_retries, backoff=backoff, max_retry_after=max_retry_after)
        self.credentials = self.transport.credentials
        self.session = self.transport.session
        self._tokens = self.transport.auth.tokens
        self._scheme = self.transport.scheme
        self._check_scheme = self.transport.check_scheme
        self._no_referrers_api: set[str] = set()  # hosts whose referrers endpoint answered 404

    # ------------------------------------------------------------------ plumbing

    def _url(self, registry: str, path: str) -> str:
        return self.transport.url(registry, path)

    def _fetch(self, method: str, reg: str, url: str, scope: str, what: str, *, limit: int = MAX_ERROR_BODY,
               kind: str = "answer", headers: dict[str, str] | None = None, data: Any = None,
               params: dict[str, str] | None = None) -> Answer:
        """A request and its (capped) body; a connection dropped mid-body is retried."""
        return self.transport.fetch(
            lambda: self.transport.request(method, reg, url, scope, what, headers=headers, data=data, params=params),
            limit, what, kind=kind)

    @staticmethod
    def _fail(ans: Answer, what: str) -> RegistryError:
        detail = ans.detail()
        if ans.status == 404:
            return RegistryNotFound(f"{what}: not found (HTTP 404){detail}", codes=ans.error_codes())
        if ans.status == 412:
            return RegistryPreconditionFailed(f"{what}: changed since it was read (HTTP 412){detail}")
        if ans.status in (401, 403):
            return RegistryAuthError(
                f"{what}: access denied (HTTP {ans.status}){detail}",
                hint="check that the repository exists and that your credentials may access it "
                     "(docker login, or SUPPLYCHAIN_REGISTRY_USERNAME/PASSWORD)",
            )
        return RegistryError(f"{what}: HTTP {ans.status}{detail}")

    @staticmethod
    def _scope(repository: str, actions: str = "pull") -> str:
        return f"repository:{repository}:{actions}"

    # ------------------------------------------------------------------ manifests

    @_operation
    def get_manifest(self, ref: Reference | str, accept: Iterable[str] = ALL_MANIFEST_TYPES) -> tuple[bytes, str, str]:
        """(bytes, media type, digest) of the manifest ``ref`` names. The body must be a manifest
        or index of an ``accept``ed type; the digest is checked against the pinned digest, else
        against ``Docker-Content-Digest`` when the registry sends one."""
        r = ref if isinstance(ref, Reference) else parse_reference(ref)
        accepted = tuple(accept)
        what = f"{r}"
        ans = self._fetch("GET", r.registry, self._url(r.registry, f"/v2/{r.repository}/manifests/{r.reference}"),
                          self._scope(r.repository), what, limit=MAX_MANIFEST, kind="manifest",
                          headers={"Accept": ", ".join(accepted)})
        if ans.status != 200:
            raise self._fail(ans, f"{what}: GET manifest")
        content_type = ans.headers.get("Content-Type", "").split(";", 1)[0].strip()
        try:
            media_type = manifest_media_type(ans.body, content_type, accepted)
        except ValueError as exc:
            # e.g. an HTML or JSON page from a proxy or rate limiter: never pin, sign or scan its digest
            raise RegistryError(f"{what}: {r.registry} answered with {exc}") from None
        data = ans.body
        if r.digest:
            verify_bytes(data, r.digest, f"{what}: manifest")
            return data, media_type, r.digest
        digest = digest_of(data)
        header = ans.headers.get("Docker-Content-Digest")
        if header and header.startswith("sha256:") and header != digest:
            raise VerificationError(f"{what}: manifest digest {digest} does not match Docker-Content-Digest {header}")
        return data, media_type, digest

    @_operation
    def head_manifest(self, ref: Reference | str, accept: Iterable[str] = ALL_MANIFEST_TYPES
                      ) -> tuple[str, str, int] | None:
        """(digest, media type, size) from a HEAD request, or None when not found."""
        r = ref if isinstance(ref, Reference) else parse_reference(ref)
        ans = self._fetch("HEAD", r.registry, self._url(r.registry, f"/v2/{r.repository}/manifests/{r.reference}"),
                          self._scope(r.repository), str(r), headers={"Accept": ", ".join(accept)})
        if ans.status == 404:
            return None
        if ans.status != 200:
            raise self._fail(ans, f"{r}: HEAD manifest")
        digest = ans.headers.get("Docker-Content-Digest") or r.digest or ""
        media_type = ans.headers.get("Content-Type", "").split(";", 1)[0].strip()
        try:
            size = int(ans.headers.get("Content-Length", "-1"))
        except ValueError:
            size = -1
        return digest, media_type, size

    @_operation
    def resolve_digest(self, ref: Reference | str) -> str:
        """The manifest digest a tag points at: from HEAD when the registry names a digest and a
        manifest media type there, else from the body of a GET (checked to be a manifest)."""
        r = ref if isinstance(ref, Reference) else parse_reference(ref)
        if r.digest:
            return r.digest
        head = self.head_manifest(r)
        if head is None:
            raise RegistryNotFound(f"{r}: manifest not found (HTTP 404)")
        if head[0] and head[1] in ALL_MANIFEST_TYPES:
            validate_digest(head[0], f"{r}: Docker-Content-Digest")
            return head[0]
        return self.get_manifest(r)[2]

    def put_manifest(self, repo: str | Reference, ref_or_digest: str, data: bytes, media_type: str, *,
                     registry: str | None = None, if_match: str | None = None) -> str:
        """Upload a manifest under a tag or its digest; returns its digest. ``if_match``: an ETag
        the current manifest must still have (the registry answers 412 otherwise, where supported)."""
        return self._put_manifest(repo, ref_or_digest, data, media_type, registry=registry, if_match=if_match)[0]

    def push_referrer(self, repo: str | Reference, data: bytes, media_type: str, subject_digest: str,
                      descriptor: Descriptor, *, registry: str | None = None) -> str:
        """Upload a manifest that has a ``subject`` (by its digest) and make sure it is listed as a
        referrer of ``subject_digest``: a registry that answers ``OCI-Subject: <subject digest>``
        indexes it itself (OCI distribution 1.1) and nothing more is written; otherwise the
        referrers API or the ``sha256-<hex>`` tag index is updated (:meth:`add_referrer`)."""
        digest, ans = self._put_manifest(repo, digest_of(data), data, media_type, registry=registry)
        if ans.headers.get("OCI-Subject", "").strip() == subject_digest:
            return digest
        self.add_referrer(repo, subject_digest, descriptor, registry=registry)
        return digest

    def _put_manifest(self, repo: str | Reference, ref_or_digest: str, data: bytes, media_type: str, *,
                      registry: str | None = None, if_match: str | None = None) -> tuple[str, Answer]:
        reg, name = _name_of(repo, registry)
        digest = digest_of(data)
        if ":" in ref_or_digest and ref_or_digest.split(":", 1)[0].startswith("sha"):
            verify_bytes(data, ref_or_digest, f"{reg}/{name}@{ref_or_digest}: manifest to upload")
        what = f"{reg}/{name}:{ref_or_digest}" if "sha" not in ref_or_digest.split(":", 1)[0] \
            else f"{reg}/{name}@{ref_or_digest}"
        headers = {"Content-Type": media_type}
        if if_match:
            headers["If-Match"] = if_match
        ans = self._fetch("PUT", reg, self._url(reg, f"/v2/{name}/manifests/{ref_or_digest}"),
                          self._scope(name, "pull,push"), what, headers=headers, data=data)
        if ans.status not in (200, 201, 202):
            raise self._fail(ans, f"{what}: PUT manifest")
        got = ans.headers.get("Docker-Content-Digest")
        if got and got.startswith("sha256:") and got != digest:
            raise VerificationError(f"{what}: registry stored the manifest as {got}, expected {digest}")
        return digest, ans

    def delete_manifest(self, repo: str | Reference, digest: str, *, registry: str | None = None) -> None:
        reg, name = _name_of(repo, registry)
        validate_digest(digest)
        what = f"{reg}/{name}@{digest}"
        ans = self._fetch("DELETE", reg, self._url(reg, f"/v2/{name}/manifests/{digest}"),
                          self._scope(name, "pull,push,delete"), what)
        if ans.status not in (200, 202, 204):
            raise self._fail(ans, f"{what}: DELETE manifest")

    # ------------------------------------------------------------------ blobs

    def open_blob(self, repo: str | Reference, descriptor: Descriptor | dict[str, Any], *,
                  registry: str | None = None, on_read: Callable[[int], None] | None = None) -> VerifyingReader:
        """A stream of the blob, verified against its digest and size while it is read
        (a mismatch raises VerificationError at the latest at end of stream)."""
        reg, name = _name_of(repo, registry)
        desc = descriptor if isinstance(descriptor, Descriptor) else Descriptor.from_dict(descriptor)
        return self._open_blob(reg, name, desc.digest, desc.size, on_read)

    @_operation
    def _open_blob(self, reg: str, name: str, digest: str, size: int | None,
                   on_read: Callable[[int], None] | None = None) -> VerifyingReader:
        validate_digest(digest)
        what = f"{reg}/{name}@{digest}"
        url = self._url(reg, f"/v2/{name}/blobs/{digest}")
        resp = self.transport.request("GET", reg, url, self._scope(name), what)
        if resp.status_code != 200:
            raise self._fail(self.transport.answer(resp, MAX_ERROR_BODY, what), f"{what}: GET blob")

        def reopen(offset: int) -> requests.Response:
            with self.transport.operation():
                again = self.transport.request("GET", reg, url, self._scope(name), what,
                                               headers={"Range": f"bytes={offset}-"})
            if again.status_code not in (200, 206):
                again.close()
                raise NetworkError(f"{what}: connection dropped and the registry cannot resume the download "
                                   f"(HTTP {again.status_code} to a Range request)")
            return again

        stream = RawStream(resp, what, urlsplit(resp.url or url).netloc, seconds=self.transport.deadline,
                           reopen=reopen, retries=self.transport.max_retries, size=size)
        return VerifyingReader(stream, digest, size, f"{what}: blob", on_read=on_read)

    def get_blob_bytes(self, repo: str | Reference, descriptor: Descriptor | dict[str, Any] | str, *,
                       registry: str | None = None, max_size: int = 64 * 1024 * 1024) -> bytes:
        """The whole blob (verified). ``descriptor`` may be a bare digest (size unchecked)."""
        reg, name = _name_of(repo, registry)
        if isinstance(descriptor, str):
            digest, size = descriptor, None
        else:
            desc = descriptor if isinstance(descriptor, Descriptor) else Descriptor.from_dict(descriptor)
            digest, size = desc.digest, desc.size
        if size is not None and size > max_size:
            raise RegistryError(f"{reg}/{name}@{digest}: blob of {size} bytes is more than the {max_size} allowed")
        chunks: list[bytes] = []
        total = 0
        with self._open_blob(reg, name, digest, size) as stream:
            while True:
                chunk = stream.read(1 << 20)
                if not chunk:
                    break  # EOF: size and digest verified
                total += len(chunk)
                if total > max_size:
                    raise RegistryError(f"{reg}/{name}@{digest}: blob larger than {max_size} bytes")
                chunks.append(chunk)
        return b"".join(chunks)

    def blob_exists(self, repo: str | Reference, digest: str, *, registry: str | None = None) -> bool:
        reg, name = _name_of(repo, registry)
        return self._blob_exists(reg, name, digest)

    def _blob_exists(self, reg: str, name: str, digest: str) -> bool:
        validate_digest(digest)
        what = f"{reg}/{name}@{digest}"
        ans = self._fetch("HEAD", reg, self._url(reg, f"/v2/{name}/blobs/{digest}"), self._scope(name), what)
        if ans.status == 200:
            return True
        if ans.status == 404:
            return False
        raise self._fail(ans, f"{what}: HEAD blob")

    def upload_blob(self, repo: str | Reference, data: bytes | IO[bytes], digest: str, *,
                    registry: str | None = None, size: int | None = None, chunk_size: int = CHUNK) -> str:
        """Upload a blob (one PUT for bytes up to ``chunk_size``, else chunked PATCHes);
        skipped when the registry has it. A stream is hashed as it is sent and checked
        against ``digest`` (and ``size``, when given) before the upload is committed.
        Returns the digest."""
        reg, name = _name_of(repo, registry)
        validate_digest(digest)
        if isinstance(data, bytes | bytearray):
            verify_bytes(bytes(data), digest, f"blob {digest} to upload")
        if self._blob_exists(reg, name, digest):
            return digest
        what = f"{reg}/{name}@{digest}"
        scope = self._scope(name, "pull,push")
        ans = self._fetch("POST", reg, self._url(reg, f"/v2/{name}/blobs/uploads/"), scope, what,
                          headers={"Content-Length": "0"})
        if ans.status not in (202, 201):
            raise self._fail(ans, f"{what}: start blob upload")
        if ans.status == 201:
            return digest
        location = self._location(ans, reg, what)
        if isinstance(data, bytes | bytearray) and len(data) <= chunk_size:
            ans = self._fetch("PUT", reg, location, scope, what, params={"digest": digest},
                              headers={"Content-Type": "application/octet-stream"}, data=bytes(data))
        else:
            stream: IO[bytes] | BytesChunks = data if not isinstance(data, bytes | bytearray) \
                else BytesChunks(bytes(data))
            h = hashlib.new(digest.split(":", 1)[0])
            offset = 0
            while True:
                chunk = stream.read(chunk_size)
                if not chunk:
                    break
                h.update(chunk)
                end = offset + len(chunk) - 1
                ans = self._fetch("PATCH", reg, location, scope, what, data=chunk,
                                  headers={"Content-Type": "application/octet-stream",
                                           "Content-Range": f"{offset}-{end}"})
                if ans.status != 202:
                    raise self._fail(ans, f"{what}: upload chunk at {offset}")
                location = self._location(ans, reg, what)
                offset = end + 1
            got = f"{digest.split(':', 1)[0]}:{h.hexdigest()}"
            if (size is not None and offset != size) or got != digest:
                self._fetch("DELETE", reg, location, scope, what)  # cancel the session
                if size is not None and offset != size:
                    raise VerificationError(f"blob to upload has {offset} bytes, not the expected {size}")
                raise VerificationError(f"blob to upload has digest {got}, not the expected {digest}")
            ans = self._fetch("PUT", reg, location, scope, what, params={"digest": digest},
                              headers={"Content-Length": "0"})
        if ans.status not in (201, 204):
            raise self._fail(ans, f"{what}: finish blob upload")
        return digest

    def _location(self, ans: Answer, reg: str, what: str) -> str:
        loc = ans.headers.get("Location")
        if not loc:
            raise RegistryError(f"{what}: registry gave no upload Location")
        return urljoin(self._url(reg, "/"), loc)

    def mount_blob(self, repo: str | Reference, digest: str, from_repo: str, *, registry: str | None = None) -> bool:
        """Cross-repository mount; True when the registry mounted it (201)."""
        reg, name = _name_of(repo, registry)
        validate_digest(digest)
        what = f"{reg}/{name}@{digest}"
        scope = f"{self._scope(name, 'pull,push')} {self._scope(from_repo)}"
        ans = self._fetch("POST", reg, self._url(reg, f"/v2/{name}/blobs/uploads/"), scope, what,
                          params={"mount": digest, "from": from_repo}, headers={"Content-Length": "0"})
        if ans.status == 201:
            return True
        if ans.status == 202:
            loc = ans.headers.get("Location")
            if loc:  # the registry opened an upload session instead; cancel it
                self._fetch("DELETE", reg, urljoin(self._url(reg, "/"), loc), scope, what)
            return False
        raise self._fail(ans, f"{what}: mount from {from_repo}")

    # ------------------------------------------------------------------ tags and referrers

    def list_tags(self, repo: str | Reference, *, registry: str | None = None, page_size: int | None = None) -> list[str]:
        """Every tag of the repository (following ``Link`` pagination)."""
        import json

        reg, name = _name_of(repo, registry)
        what = f"{reg}/{name}"
        tags: list[str] = []
        url: str | None = self._url(reg, f"/v2/{name}/tags/list")
        params = {"n": str(page_size)} if page_size else None
        pages = 0
        while url:
            pages += 1
            if pages > 10000:
                raise RegistryError(f"{what}: tag list pagination does not end")
            ans = self._fetch("GET", reg, url, self._scope(name), what, params=params, limit=MAX_TAG_PAGE,
                              kind="tag list")
            params = None
            if ans.status != 200:
                raise self._fail(ans, f"{what}: list tags")
            try:
                doc = json.loads(ans.body)
            except (ValueError, RecursionError):
                raise RegistryError(f"{what}: tag list is not JSON") from None
            page = doc.get("tags") if isinstance(doc, dict) else None
            tags.extend(t for t in page or [] if isinstance(t, str))
            url = referrers.next_link(ans, url)
        return tags

    def referrers(self, repo: str | Reference, digest: str, artifact_type: str | None = None, *,
                  registry: str | None = None) -> list[Descriptor]:
        """Descriptors of the manifests whose ``subject`` is ``digest``: the OCI 1.1 referrers
        API, or the referrers tag schema (``sha256-<hex>`` index) when the API answers 404."""
        reg, name = _name_of(repo, registry)
        with self.transport.operation():
            return referrers.list_referrers(self, reg, name, digest, artifact_type)

    @staticmethod
    def referrers_tag(digest: str) -> str:
        """The fallback tag for ``digest``: ``sha256-<hex>``."""
        return referrers.referrers_tag(digest)

    def add_referrer(self, repo: str | Reference, subject_digest: str, descriptor: Descriptor, *,
                     registry: str | None = None) -> None:
        """List a just-pushed referrer (a manifest with ``subject``): nothing to do where the
        referrers API lists it, else add it to the ``sha256-<hex>`` tag index safely (see
        :func:`supplychain.oci.referrers.add_to_tag_index`)."""
        reg, name = _name_of(repo, registry)
        referrers.add_referrer(self, reg, name, subject_digest, descriptor)

    def add_referrer_to_tag_index(self, repo: str | Reference, subject_digest: str, descriptor: Descriptor, *,
                                  registry: str | None = None) -> str:
        """Add ``descriptor`` to the ``sha256-<hex>`` tag index of ``subject_digest`` (read, then a
        conditional write, then a re-read); returns the index digest."""
        reg, name = _name_of(repo, registry)
        return referrers.add_to_tag_index(self, reg, name, subject_digest, descriptor)

    def ping(self, registry: str) -> None:
        """GET /v2/ (checks reachability and the API version)."""
        with self.transport.operation():
            resp = self.transport.send("GET", self._url(registry, "/v2/"), registry)
            ans = self.transport.answer(resp, MAX_ERROR_BODY, registry)
        if ans.status not in (200, 401):
            raise RegistryError(f"{registry}: /v2/ answered HTTP {ans.status}; not an OCI registry?")

