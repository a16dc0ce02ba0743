"""A registry client for the OCI distribution spec, on ``requests``.

- auth: anonymous, basic, and bearer tokens from the ``WWW-Authenticate`` challenge
  (realm, service, scope), tokens cached per host and scope; credentials from
  :mod:`supplychain.oci.auth` (env, docker config.json, credential helpers);
- retries with exponential backoff on 429, 5xx and dropped connections (bounded,
  ``Retry-After`` honoured up to a cap);
- redirects followed by hand: the ``Authorization`` header never crosses to another
  host (blob downloads redirect to object storage);
- plain HTTP only for loopback (127.0.0.0/8, ``localhost``, ``::1``) and hosts named
  in ``insecure_registries``;
- every manifest and blob checked against its digest (blobs while they stream).
"""

from __future__ import annotations

import hashlib
import ipaddress
import json
import random
import re
import threading
import time
from collections.abc import Callable, Iterable
from typing import IO, Any, cast
from urllib.parse import urlencode, urljoin, urlsplit

import requests

from supplychain import __version__
from supplychain.errors import InputError, NetworkError, RegistryError, VerificationError
from supplychain.oci.auth import Credentials, CredentialStore
from supplychain.oci.descriptor import (
    ALL_MANIFEST_TYPES,
    INDEX_TYPES,
    OCI_INDEX,
    Descriptor,
    VerifyingReader,
    digest_of,
    verify_bytes,
)
from supplychain.oci.reference import Reference, parse_reference, validate_digest

MAX_MANIFEST = 4 * 1024 * 1024
CHUNK = 8 * 1024 * 1024  # upload chunk size; blobs up to this size go in one PUT
RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})
MAX_REDIRECTS = 5
_NO_PROXY: dict[str, str | None] = {"http": None, "https": None}


class RegistryNotFound(RegistryError):
    """The registry answered 404 for a manifest, blob or repository."""


class RegistryAuthError(RegistryError):
    """401 / 403 from the registry or its token service."""


def is_loopback(host: str) -> bool:
    """``host`` (optionally with port) is localhost, 127.0.0.0/8 or ::1."""
    h = host
    if h.startswith("["):
        h = h[1 : h.find("]")] if "]" in h else h[1:]
    elif h.count(":") == 1:
        h = h.split(":", 1)[0]
    h = h.lower()
    if h == "localhost" or h.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(h).is_loopback
    except ValueError:
        return False


_CHALLENGE_PARAM = re.compile(r'\s*([A-Za-z0-9_.-]+)\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^\s,]*))\s*,?')


def parse_challenge(header: str) -> tuple[str, dict[str, str]]:
    """``Bearer realm="…",service="…",scope="…"`` → ("bearer", {...})."""
    header = header.strip()
    scheme, _, rest = header.partition(" ")
    params: dict[str, str] = {}
    pos = 0
    while pos < len(rest):
        m = _CHALLENGE_PARAM.match(rest, pos)
        if not m or m.end() == pos:
            break
        params[m.group(1).lower()] = m.group(2) if m.group(2) is not None else (m.group(3) or "")
        pos = m.end()
    return scheme.lower(), params


def _error_detail(resp: requests.Response) -> str:
    try:
        doc = resp.json()
    except (ValueError, RecursionError):
        text = resp.text.strip()[:200] if resp.content and len(resp.content) < 4096 else ""
        return f": {text}" if text else ""
    errs = doc.get("errors") if isinstance(doc, dict) else None
    if isinstance(errs, list) and errs:
        parts = []
        for e in errs[:3]:
            if isinstance(e, dict):
                parts.append(" ".join(str(x) for x in (e.get("code"), e.get("message")) if x))
        return ": " + "; ".join(parts) if parts else ""
    return ""


def _name_of(repo: str | Reference, registry: str | None) -> tuple[str, str]:
    """(registry host, repository path) from a Reference, "host/repo" or repo + registry=."""
    if isinstance(repo, Reference):
        return repo.registry, repo.repository
    if registry is not None:
        return registry, repo
    r = parse_reference(repo, default_tag=None)
    return r.registry, r.repository


class RegistryClient:
    """Talks to OCI registries. One client can serve many registries and threads."""

    def __init__(self, *, insecure_registries: Iterable[str] = (), credentials: CredentialStore | None = None,
                 session: requests.Session | None = None, timeout: tuple[float, float] = (15.0, 120.0),
                 max_retries: int = 4, backoff: float = 0.5, max_retry_after: float = 30.0) -> None:
        self.insecure = {h.lower() for h in insecure_registries}
        self.credentials = credentials if credentials is not None else CredentialStore()
        if session is None:
            session = requests.Session()
            # the gate checks images from many threads: keep enough connections per host
            adapter = requests.adapters.HTTPAdapter(pool_connections=16, pool_maxsize=32)
            session.mount("https://", adapter)
            session.mount("http://", adapter)
        self.session = session
        self.session.headers["User-Agent"] = f"supplychain/{__version__}"
        self.timeout = timeout
        self.max_retries = max_retries
        self.backoff = backoff
        self.max_retry_after = max_retry_after
        self._tokens: dict[tuple[str, str], tuple[str, float]] = {}
        self._basic: set[str] = set()  # hosts that asked for basic auth
        self._bearer: dict[str, dict[str, str]] = {}  # host -> challenge params
        self._lock = threading.Lock()
        self._no_referrers_api: set[str] = set()  # hosts whose referrers endpoint answered 404

    # ------------------------------------------------------------------ plumbing

    def _api_host(self, registry: str) -> str:
        return "registry-1.docker.io" if registry == "docker.io" else registry

    def _is_insecure(self, host: str) -> bool:
        """``host`` (with or without port) was named in ``insecure_registries``."""
        h = host.lower()
        if h in self.insecure:
            return True
        bare = h.rsplit(":", 1)[0] if h.count(":") == 1 or (h.startswith("[") and "]:" in h) else h
        return bare in self.insecure

    def _scheme(self, host: str) -> str:
        return "http" if (is_loopback(host) or self._is_insecure(host)) else "https"

    def _url(self, registry: str, path: str) -> str:
        host = self._api_host(registry)
        return f"{self._scheme(host)}://{host}{path}"

    def _creds(self, registry: str) -> Credentials | None:
        return self.credentials.get(registry)

    def _auth_header(self, registry: str, scope: str) -> str | None:
        host = self._api_host(registry)
        tok = self._tokens.get((host, scope))
        if tok is not None and tok[1] > time.monotonic():
            return f"Bearer {tok[0]}"
        if host in self._bearer:
            return None  # will be fetched on the 401 (or proactively below)
        if host in self._basic:
            creds = self._creds(registry)
            if creds is not None and creds.username is not None and creds.password is not None:
                return requests.auth._basic_auth_str(creds.username, creds.password)
        return None

    def _fetch_token(self, registry: str, challenge: dict[str, str], scope: str, what: str) -> str:
        host = self._api_host(registry)
        realm = challenge.get("realm")
        if not realm:
            raise RegistryAuthError(f"{what}: bearer challenge from {host} without a realm")
        realm_host = urlsplit(realm).netloc.rsplit("@", 1)[-1]
        if urlsplit(realm).scheme != "https" and not (is_loopback(realm_host) or self._is_insecure(realm_host)):
            raise RegistryAuthError(f"{what}: token service {realm} is not HTTPS; refusing to send credentials")
        params: list[tuple[str, str]] = []
        if challenge.get("service"):
            params.append(("service", challenge["service"]))
        scopes = [s for s in scope.split(" ") if s]
        for s in scopes:
            params.append(("scope", s))
        creds = self._creds(registry)
        if creds is not None and creds.identity_token:
            form = {"grant_type": "refresh_token", "refresh_token": creds.identity_token,
                    "service": challenge.get("service", ""), "scope": " ".join(scopes),
                    "client_id": "supplychain"}
            resp = self._send("POST", realm, what, data=form)
        else:
            auth = (creds.username, creds.password) if creds is not None and creds.username \
                and creds.password is not None else None
            url = realm + ("&" if "?" in realm else "?") + urlencode(params)
            resp = self._send("GET", url, what, basic=auth)
        if resp.status_code in (401, 403):
            raise RegistryAuthError(
                f"{what}: the token service of {registry} refused the "
                + ("credentials from " + creds.source if creds else "anonymous request")
                + f" (HTTP {resp.status_code}){_error_detail(resp)}",
                hint=f"log in with 'docker login {registry}', or set SUPPLYCHAIN_REGISTRY_USERNAME and "
                     "SUPPLYCHAIN_REGISTRY_PASSWORD",
            )
        if resp.status_code != 200:
            raise RegistryError(f"{what}: token service {realm} answered HTTP {resp.status_code}{_error_detail(resp)}")
        try:
            doc = resp.json()
        except (ValueError, RecursionError):
            raise RegistryError(f"{what}: token service {realm} did not return JSON") from None
        token = doc.get("token") or doc.get("access_token") if isinstance(doc, dict) else None
        if not isinstance(token, str) or not token:
            raise RegistryError(f"{what}: token service {realm} returned no token")
        expires = doc.get("expires_in")
        ttl = float(expires) if isinstance(expires, int | float) and expires > 0 else 60.0
        with self._lock:
            self._tokens[(host, scope)] = (token, time.monotonic() + max(ttl - 10, 5))
        return token

    def _send(self, method: str, url: str, what: str, *, headers: dict[str, str] | None = None,
              data: Any = None, stream: bool = False, basic: tuple[str, str] | None = None,
              authorization: str | None = None, retry: bool = True,
              params: dict[str, str] | None = None) -> requests.Response:
        """One request with retries and hand-followed redirects (auth dropped across hosts)."""
        hdrs = dict(headers or {})
        if authorization:
            hdrs["Authorization"] = authorization
        elif basic is not None:
            hdrs["Authorization"] = requests.auth._basic_auth_str(*basic)
        origin = urlsplit(url)
        attempt = 0
        cur_url, cur_method, cur_data = url, method, data
        if params:
            cur_url += ("&" if "?" in cur_url else "?") + urlencode(params)
        redirects = 0
        while True:
            self._check_scheme(cur_url, what)
            # loopback never goes through an HTTP(S)_PROXY from the environment
            proxies = _NO_PROXY if is_loopback(urlsplit(cur_url).netloc) else None
            try:
                resp = self.session.request(cur_method, cur_url, headers=hdrs, data=cur_data, stream=stream,
                                            timeout=self.timeout, allow_redirects=False,
                                            proxies=cast(Any, proxies))
            except (requests.ConnectionError, requests.Timeout, requests.exceptions.ChunkedEncodingError) as exc:
                if retry and attempt < self.max_retries and _replayable(cur_data):
                    self._sleep(attempt, None)
                    attempt += 1
                    continue
                raise NetworkError(
                    f"{what}: cannot reach {urlsplit(cur_url).netloc} ({type(exc).__name__}: {_short_exc(exc)})",
                    hint="check the registry address and your network; use --insecure-registry for plain HTTP",
                ) from exc
            if resp.status_code in RETRY_STATUSES and retry and attempt < self.max_retries and _replayable(cur_data):
                retry_after = resp.headers.get("Retry-After")
                resp.close()
                self._sleep(attempt, retry_after)
                attempt += 1
                continue
            if resp.status_code in (301, 302, 303, 307, 308) and "Location" in resp.headers:
                redirects += 1
                if redirects > MAX_REDIRECTS:
                    raise RegistryError(f"{what}: too many redirects")
                nxt = urljoin(cur_url, resp.headers["Location"])
                resp.close()
                new = urlsplit(nxt)
                if (new.scheme, new.netloc) != (origin.scheme, origin.netloc):
                    hdrs.pop("Authorization", None)  # never send credentials to another host
                if resp.status_code == 303 or (resp.status_code in (301, 302) and cur_method == "POST"):
                    cur_method, cur_data = "GET", None
                cur_url = nxt
                continue
            return resp

    def _check_scheme(self, url: str, what: str) -> None:
        parts = urlsplit(url)
        if parts.scheme == "https":
            return
        host = parts.netloc.rsplit("@", 1)[-1]
        if parts.scheme == "http" and (is_loopback(host) or self._is_insecure(host)):
            return
        raise RegistryError(
            f"{what}: refusing plain-HTTP request to {parts.netloc}",
            hint=f"only loopback registries use HTTP by default; pass --insecure-registry {parts.netloc} if you trust it",
        )

    def _sleep(self, attempt: int, retry_after: str | None) -> None:
        delay = self.backoff * (2**attempt) * (0.5 + random.random() / 2)
        if retry_after:
            try:
                delay = max(delay, min(float(retry_after), self.max_retry_after))
            except ValueError:
                pass
        time.sleep(min(delay, self.max_retry_after))

    def _request(self, method: str, registry: str, path: str, scope: str, what: str, *,
                 headers: dict[str, str] | None = None, data: Any = None, stream: bool = False,
                 params: dict[str, str] | None = None, url: str | None = None) -> requests.Response:
        """An authenticated registry request: answers a 401 challenge once."""
        target = url or self._url(registry, path)
        host = self._api_host(registry)
        auth = self._auth_header(registry, scope)
        if auth is None and host in self._bearer:
            auth = "Bearer " + self._fetch_token(registry, self._bearer[host], scope, what)
        resp = self._send(method, target, what, headers=headers, data=data, stream=stream,
                          authorization=auth, params=params)
        if resp.status_code != 401:
            return resp
        challenge = resp.headers.get("WWW-Authenticate", "")
        resp.close()
        scheme, cparams = parse_challenge(challenge)
        creds = self._creds(registry)
        if scheme == "bearer":
            with self._lock:
                self._bearer[host] = cparams
            token_scope = scope
            extra = cparams.get("scope")
            if extra and extra not in scope.split(" "):
                token_scope = f"{scope} {extra}"
            token = self._fetch_token(registry, cparams, token_scope, what)
            with self._lock:
                self._tokens[(host, scope)] = self._tokens[(host, token_scope)]
            auth = f"Bearer {token}"
        elif scheme == "basic":
            if creds is None or creds.username is None or creds.password is None:
                raise RegistryAuthError(
                    f"{what}: {registry} requires authentication (HTTP 401)",
                    hint=f"log in with 'docker login {registry}', or set SUPPLYCHAIN_REGISTRY_USERNAME and "
                         "SUPPLYCHAIN_REGISTRY_PASSWORD",
                )
            with self._lock:
                self._basic.add(host)
            auth = requests.auth._basic_auth_str(creds.username, creds.password)
        else:
            raise RegistryAuthError(f"{what}: {registry} answered 401 with an unsupported challenge {challenge!r}")
        if not _replayable(data):
            raise RegistryAuthError(f"{what}: {registry} asked for authentication during a streamed upload")
        resp = self._send(method, target, what, headers=headers, data=data, stream=stream,
                          authorization=auth, params=params)
        if resp.status_code == 401:
            resp.close()
            raise RegistryAuthError(
                f"{what}: {registry} refused the "
                + (f"credentials from {creds.source}" if creds else "anonymous token") + " (HTTP 401)",
                hint=f"log in with 'docker login {registry}', or set SUPPLYCHAIN_REGISTRY_USERNAME and "
                     "SUPPLYCHAIN_REGISTRY_PASSWORD",
            )
        return resp

    def _fail(self, resp: requests.Response, what: str) -> RegistryError:
        detail = _error_detail(resp)
        resp.close()
        if resp.status_code == 404:
            return RegistryNotFound(f"{what}: not found (HTTP 404){detail}")
        if resp.status_code in (401, 403):
            return RegistryAuthError(
                f"{what}: access denied (HTTP {resp.status_code}){detail}",
                hint="check that the repository exists and that your credentials may access it "
                     "(docker login, or SUPPLYCHAIN_REGISTRY_USERNAME/PASSWORD)",
            )
        return RegistryError(f"{what}: HTTP {resp.status_code}{detail}")

    @staticmethod
    def _scope(repository: str, actions: str = "pull") -> str:
        return f"repository:{repository}:{actions}"

    # ------------------------------------------------------------------ manifests

    def get_manifest(self, ref: Reference | str, accept: Iterable[str] = ALL_MANIFEST_TYPES) -> tuple[bytes, str, str]:
        """(bytes, media type, digest) of the manifest ``ref`` names; the digest is checked
        against the pinned digest, else against ``Docker-Content-Digest``."""
        r = ref if isinstance(ref, Reference) else parse_reference(ref)
        what = f"{r}"
        resp = self._request("GET", r.registry, f"/v2/{r.repository}/manifests/{r.reference}",
                             self._scope(r.repository), what, headers={"Accept": ", ".join(accept)}, stream=True)
        if resp.status_code != 200:
            raise self._fail(resp, f"{what}: GET manifest")
        try:
            data = resp.raw.read(MAX_MANIFEST + 1, decode_content=True)
        except Exception as exc:
            raise NetworkError(f"{what}: connection dropped while reading the manifest ({_short_exc(exc)})") from exc
        finally:
            resp.close()
        if len(data) > MAX_MANIFEST:
            raise RegistryError(f"{what}: manifest larger than {MAX_MANIFEST} bytes")
        media_type = resp.headers.get("Content-Type", "").split(";", 1)[0].strip()
        if data.lstrip()[:1] != b"{":
            # e.g. an HTML page from a proxy or web server: never pin, sign or scan its digest
            raise RegistryError(f"{what}: {r.registry} answered with {media_type or 'no content type'!r} "
                                "content, not a JSON image manifest")
        if media_type not in ALL_MANIFEST_TYPES:
            media_type = _body_media_type(data) or media_type
        if r.digest:
            verify_bytes(data, r.digest, f"{what}: manifest")
            digest = r.digest
        else:
            digest = digest_of(data)
            header = resp.headers.get("Docker-Content-Digest")
            if header and header.startswith("sha256:") and header != digest:
                raise VerificationError(
                    f"{what}: manifest digest {digest} does not match Docker-Content-Digest {header}")
        return data, media_type, digest

    def head_manifest(self, ref: Reference | str, accept: Iterable[str] = ALL_MANIFEST_TYPES
                      ) -> tuple[str, str, int] | None:
        """(digest, media type, size) from a HEAD request, or None when not found."""
        r = ref if isinstance(ref, Reference) else parse_reference(ref)
        resp = self._request("HEAD", r.registry, f"/v2/{r.repository}/manifests/{r.reference}",
                             self._scope(r.repository), str(r), headers={"Accept": ", ".join(accept)})
        resp.close()
        if resp.status_code == 404:
            return None
        if resp.status_code != 200:
            raise self._fail(resp, f"{r}: HEAD manifest")
        digest = resp.headers.get("Docker-Content-Digest") or r.digest or ""
        media_type = resp.headers.get("Content-Type", "").split(";", 1)[0].strip()
        try:
            size = int(resp.headers.get("Content-Length", "-1"))
        except ValueError:
            size = -1
        return digest, media_type, size

    def resolve_digest(self, ref: Reference | str) -> str:
        """The manifest digest a tag points at (HEAD, falling back to GET)."""
        r = ref if isinstance(ref, Reference) else parse_reference(ref)
        if r.digest:
            return r.digest
        head = self.head_manifest(r)
        if head is None:
            raise RegistryNotFound(f"{r}: manifest not found (HTTP 404)")
        if head[0]:
            validate_digest(head[0], f"{r}: Docker-Content-Digest")
            return head[0]
        return self.get_manifest(r)[2]

    def put_manifest(self, repo: str | Reference, ref_or_digest: str, data: bytes, media_type: str, *,
                     registry: str | None = None) -> str:
        """Upload a manifest under a tag or its digest; returns its digest."""
        reg, name = _name_of(repo, registry)
        digest = digest_of(data)
        if ":" in ref_or_digest and ref_or_digest.split(":", 1)[0].startswith("sha"):
            verify_bytes(data, ref_or_digest, f"{reg}/{name}@{ref_or_digest}: manifest to upload")
        what = f"{reg}/{name}:{ref_or_digest}" if "sha" not in ref_or_digest.split(":", 1)[0] \
            else f"{reg}/{name}@{ref_or_digest}"
        resp = self._request("PUT", reg, f"/v2/{name}/manifests/{ref_or_digest}", self._scope(name, "pull,push"),
                             what, headers={"Content-Type": media_type}, data=data)
        if resp.status_code not in (200, 201, 202):
            raise self._fail(resp, f"{what}: PUT manifest")
        resp.close()
        got = resp.headers.get("Docker-Content-Digest")
        if got and got.startswith("sha256:") and got != digest:
            raise VerificationError(f"{what}: registry stored the manifest as {got}, expected {digest}")
        return digest

    def delete_manifest(self, repo: str | Reference, digest: str, *, registry: str | None = None) -> None:
        reg, name = _name_of(repo, registry)
        validate_digest(digest)
        what = f"{reg}/{name}@{digest}"
        resp = self._request("DELETE", reg, f"/v2/{name}/manifests/{digest}", self._scope(name, "pull,push,delete"),
                             what)
        if resp.status_code not in (200, 202, 204):
            raise self._fail(resp, f"{what}: DELETE manifest")
        resp.close()

    # ------------------------------------------------------------------ blobs

    def open_blob(self, repo: str | Reference, descriptor: Descriptor | dict[str, Any], *,
                  registry: str | None = None, on_read: Callable[[int], None] | None = None) -> VerifyingReader:
        """A stream of the blob, verified against its digest and size while it is read
        (a mismatch raises VerificationError at the latest at end of stream)."""
        reg, name = _name_of(repo, registry)
        desc = descriptor if isinstance(descriptor, Descriptor) else Descriptor.from_dict(descriptor)
        return self._open_blob(reg, name, desc.digest, desc.size, on_read)

    def _open_blob(self, reg: str, name: str, digest: str, size: int | None,
                   on_read: Callable[[int], None] | None = None) -> VerifyingReader:
        validate_digest(digest)
        what = f"{reg}/{name}@{digest}"
        path = f"/v2/{name}/blobs/{digest}"
        resp = self._request("GET", reg, path, self._scope(name), what, stream=True)
        if resp.status_code != 200:
            raise self._fail(resp, f"{what}: GET blob")

        def reopen(offset: int) -> requests.Response:
            again = self._request("GET", reg, path, self._scope(name), what, stream=True,
                                  headers={"Range": f"bytes={offset}-"})
            if again.status_code != 206 or not again.headers.get("Content-Range", "").startswith(f"bytes {offset}-"):
                again.close()
                raise NetworkError(f"{what}: connection dropped and the registry cannot resume the download "
                                   f"(HTTP {again.status_code} to a Range request)")
            return again

        return VerifyingReader(_RawResponse(resp, what, reopen, self.max_retries), digest, size, f"{what}: blob",
                               on_read=on_read)

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
        resp = self._request("HEAD", reg, f"/v2/{name}/blobs/{digest}", self._scope(name), what)
        resp.close()
        if resp.status_code == 200:
            return True
        if resp.status_code == 404:
            return False
        raise self._fail(resp, f"{what}: HEAD blob")

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
        resp = self._request("POST", reg, f"/v2/{name}/blobs/uploads/", scope, what,
                             headers={"Content-Length": "0"})
        if resp.status_code not in (202, 201):
            raise self._fail(resp, f"{what}: start blob upload")
        resp.close()
        if resp.status_code == 201:
            return digest
        location = self._location(resp, reg, what)
        if isinstance(data, bytes | bytearray) and len(data) <= chunk_size:
            resp = self._request("PUT", reg, "", scope, what, url=location, params={"digest": digest},
                                 headers={"Content-Type": "application/octet-stream"}, data=bytes(data))
        else:
            stream: IO[bytes] | _BytesChunks = data if not isinstance(data, bytes | bytearray) \
                else _BytesChunks(bytes(data))
            h = hashlib.new(digest.split(":", 1)[0])
            offset = 0
            while True:
                chunk = stream.read(chunk_size)
                if not chunk:
                    break
                h.update(chunk)
                end = offset + len(chunk) - 1
                resp = self._request("PATCH", reg, "", scope, what, url=location, data=chunk,
                                     headers={"Content-Type": "application/octet-stream",
                                              "Content-Range": f"{offset}-{end}"})
                if resp.status_code != 202:
                    raise self._fail(resp, f"{what}: upload chunk at {offset}")
                resp.close()
                location = self._location(resp, reg, what)
                offset = end + 1
            got = f"{digest.split(':', 1)[0]}:{h.hexdigest()}"
            if size is not None and offset != size:
                self._request("DELETE", reg, "", scope, what, url=location).close()  # cancel the session
                raise VerificationError(f"blob to upload has {offset} bytes, not the expected {size}")
            if got != digest:
                self._request("DELETE", reg, "", scope, what, url=location).close()  # cancel the session
                raise VerificationError(f"blob to upload has digest {got}, not the expected {digest}")
            resp = self._request("PUT", reg, "", scope, what, url=location, params={"digest": digest},
                                 headers={"Content-Length": "0"})
        if resp.status_code not in (201, 204):
            raise self._fail(resp, f"{what}: finish blob upload")
        resp.close()
        return digest

    def _location(self, resp: requests.Response, reg: str, what: str) -> str:
        loc = resp.headers.get("Location")
        if not loc:
            raise RegistryError(f"{what}: registry gave no upload Location")
        return urljoin(self._url(reg, "/"), loc)

    def mount_blob(self, repo: str | Reference, digest: str, from_repo: str, *, registry: str | None = None) -> bool:
        """Cross-repository mount; True when the registry mounted it (201)."""
        reg, name = _name_of(repo, registry)
        validate_digest(digest)
        what = f"{reg}/{name}@{digest}"
        scope = f"{self._scope(name, 'pull,push')} {self._scope(from_repo)}"
        resp = self._request("POST", reg, f"/v2/{name}/blobs/uploads/", scope, what,
                             params={"mount": digest, "from": from_repo}, headers={"Content-Length": "0"})
        resp.close()
        if resp.status_code == 201:
            return True
        if resp.status_code == 202:
            loc = resp.headers.get("Location")
            if loc:  # the registry opened an upload session instead; cancel it
                self._request("DELETE", reg, "", scope, what, url=urljoin(self._url(reg, "/"), loc)).close()
            return False
        raise self._fail(resp, f"{what}: mount from {from_repo}")

    # ------------------------------------------------------------------ tags and referrers

    def list_tags(self, repo: str | Reference, *, registry: str | None = None, page_size: int | None = None) -> list[str]:
        """Every tag of the repository (following ``Link`` pagination)."""
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
            resp = self._request("GET", reg, "", self._scope(name), what, url=url, params=params)
            params = None
            if resp.status_code != 200:
                raise self._fail(resp, f"{what}: list tags")
            try:
                doc = resp.json()
            except (ValueError, RecursionError):
                raise RegistryError(f"{what}: tag list is not JSON") from None
            finally:
                resp.close()
            page = doc.get("tags") if isinstance(doc, dict) else None
            tags.extend(t for t in page or [] if isinstance(t, str))
            url = _next_link(resp, url)
        return tags

    def referrers(self, repo: str | Reference, digest: str, artifact_type: str | None = None, *,
                  registry: str | None = None) -> list[Descriptor]:
        """Descriptors of the manifests whose ``subject`` is ``digest``: the OCI 1.1 referrers
        API, or the referrers tag schema (``sha256-<hex>`` index) when the API answers 404."""
        reg, name = _name_of(repo, registry)
        validate_digest(digest)
        what = f"{reg}/{name}@{digest}"
        if self._api_host(reg) in self._no_referrers_api:
            return self._referrers_from_tag(reg, name, digest, artifact_type)
        url: str | None = self._url(reg, f"/v2/{name}/referrers/{digest}")
        params = {"artifactType": artifact_type} if artifact_type else None
        out: list[Descriptor] = []
        first = True
        while url:
            resp = self._request("GET", reg, "", self._scope(name), what, url=url, params=params,
                                 headers={"Accept": OCI_INDEX})
            params = None
            if first and resp.status_code in (404, 405):
                resp.close()
                with self._lock:  # the API is per registry: ask the tag schema from now on
                    self._no_referrers_api.add(self._api_host(reg))
                return self._referrers_from_tag(reg, name, digest, artifact_type)
            first = False
            if resp.status_code != 200:
                raise self._fail(resp, f"{what}: referrers")
            try:
                doc = resp.json()
            except (ValueError, RecursionError):
                raise RegistryError(f"{what}: referrers response is not JSON") from None
            finally:
                resp.close()
            out.extend(_index_entries(doc, what))
            url = _next_link(resp, url)
        if artifact_type:
            out = [d for d in out if d.artifact_type == artifact_type]
        return out

    @staticmethod
    def referrers_tag(digest: str) -> str:
        """The fallback tag for ``digest``: ``sha256-<hex>``."""
        algo, hexpart = validate_digest(digest).split(":", 1)
        return f"{algo}-{hexpart}"

    def _referrers_from_tag(self, reg: str, name: str, digest: str, artifact_type: str | None) -> list[Descriptor]:
        ref = Reference(reg, name, tag=self.referrers_tag(digest))
        try:
            data, _, _ = self.get_manifest(ref, accept=INDEX_TYPES)
        except RegistryNotFound:
            return []
        try:
            doc = json.loads(data)
        except (ValueError, RecursionError):
            raise RegistryError(f"{ref}: referrers tag does not hold JSON") from None
        out = _index_entries(doc, str(ref))
        if artifact_type:
            out = [d for d in out if d.artifact_type == artifact_type]
        return out

    def add_referrer_to_tag_index(self, repo: str | Reference, subject_digest: str, descriptor: Descriptor, *,
                                  registry: str | None = None) -> str:
        """Fallback write path: add ``descriptor`` (a manifest with ``subject``) to the
        ``sha256-<hex>`` tag index of ``subject_digest``; returns the new index digest."""
        reg, name = _name_of(repo, registry)
        ref = Reference(reg, name, tag=self.referrers_tag(subject_digest))
        entries: list[dict[str, Any]] = []
        try:
            data, _, _ = self.get_manifest(ref, accept=INDEX_TYPES)
            doc = json.loads(data)
            if isinstance(doc, dict) and isinstance(doc.get("manifests"), list):
                entries = [m for m in doc["manifests"] if isinstance(m, dict)]
        except RegistryNotFound:
            pass
        except (ValueError, RecursionError):
            entries = []
        if any(e.get("digest") == descriptor.digest for e in entries):
            return self.resolve_digest(ref)
        entries.append(descriptor.to_dict())
        index = {"schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": entries}
        raw = json.dumps(index, separators=(",", ":")).encode()
        return self.put_manifest(name, ref.tag or "", raw, OCI_INDEX, registry=reg)

    def ping(self, registry: str) -> None:
        """GET /v2/ (checks reachability and the API version)."""
        resp = self._send("GET", self._url(registry, "/v2/"), registry)
        resp.close()
        if resp.status_code not in (200, 401):
            raise RegistryError(f"{registry}: /v2/ answered HTTP {resp.status_code}; not an OCI registry?")


def _short_exc(exc: BaseException) -> str:
    text = str(exc)
    return text if len(text) < 200 else text[:200] + "…"


def _replayable(data: Any) -> bool:
    return data is None or isinstance(data, bytes | bytearray | str | dict)


def _body_media_type(data: bytes) -> str | None:
    try:
        doc = json.loads(data)
    except (ValueError, RecursionError):
        return None
    if isinstance(doc, dict):
        mt = doc.get("mediaType")
        if isinstance(mt, str) and mt:
            return mt
        if "manifests" in doc:
            return OCI_INDEX
        if "layers" in doc:
            return "application/vnd.oci.image.manifest.v1+json"
    return None


def _index_entries(doc: Any, what: str) -> list[Descriptor]:
    if not isinstance(doc, dict) or not isinstance(doc.get("manifests"), list):
        raise RegistryError(f"{what}: referrers answer is not an image index")
    out = []
    for i, m in enumerate(doc["manifests"]):
        try:
            out.append(Descriptor.from_dict(m, f"{what}: manifests[{i}]"))
        except InputError as exc:
            raise RegistryError(str(exc)) from exc
    return out


def _next_link(resp: requests.Response, cur: str) -> str | None:
    link = resp.headers.get("Link")
    if not link:
        return None
    m = re.search(r'<([^>]+)>\s*;\s*rel="?next"?', link)
    if not m:
        return None
    return urljoin(cur, str(m.group(1)))


class _RawResponse:
    """``resp.raw`` as a file: undecoded bytes. A dropped connection is resumed with a
    Range request (bounded); when that is impossible it becomes NetworkError."""

    def __init__(self, resp: requests.Response, what: str,
                 reopen: Callable[[int], requests.Response] | None = None, retries: int = 0) -> None:
        self._resp = resp
        self._what = what
        self._reopen = reopen
        self._retries = retries
        self._offset = 0

    def read(self, n: int = -1) -> bytes:
        while True:
            try:
                data: bytes = self._resp.raw.read(None if n < 0 else n, decode_content=False)
                self._offset += len(data)
                return data
            except Exception as exc:
                self._resp.close()
                if self._reopen is None or self._retries <= 0:
                    raise NetworkError(
                        f"{self._what}: connection dropped while reading ({_short_exc(exc)})") from exc
                self._retries -= 1
                self._resp = self._reopen(self._offset)

    def close(self) -> None:
        self._resp.close()


class _BytesChunks:
    def __init__(self, data: bytes) -> None:
        self._data = memoryview(data)
        self._pos = 0

    def read(self, n: int = -1) -> bytes:
        end = len(self._data) if n < 0 else self._pos + n
        out = bytes(self._data[self._pos : end])
        self._pos += len(out)
        return out

