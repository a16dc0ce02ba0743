"""Registry authentication: ``WWW-Authenticate`` challenges (basic, bearer), tokens from the
token service, credentials bound to the host that asked for them.

The registry's credentials go only to the registry and to the token service its own challenge
names. A host a request was redirected to (blob downloads go to object storage or a CDN) gets
only credentials the user has for that host, its tokens are cached under that host, and its
failures are reported as the redirect target's, not the registry's.
"""

from __future__ import annotations

import json
import re
import time
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode, urlsplit

import requests

from supplychain.errors import RegistryError
from supplychain.oci.answer import RegistryAuthError
from supplychain.oci.auth import Credentials, basic_auth_header
from supplychain.oci.transport import MAX_TOKEN_BODY, Transport, is_loopback, replayable

LOGIN_HINT = ("log in with 'docker login {host}', or set SUPPLYCHAIN_REGISTRY_USERNAME and "
              "SUPPLYCHAIN_REGISTRY_PASSWORD")


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


@dataclass
class _Auth:
    tokens: dict[tuple[str, str], tuple[str, float]] = field(default_factory=dict)
    basic: set[str] = field(default_factory=set)  # hosts that asked for basic auth
    bearer: dict[str, dict[str, str]] = field(default_factory=dict)  # host -> challenge params


class AuthTransport(Transport):
    """A transport that answers 401 challenges."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.auth = _Auth()

    def _creds_for(self, registry: str, host: str) -> Credentials | None:
        """Credentials of ``host``: the registry's own for its API host, else the host's own."""
        if host == self.api_host(registry):
            return self.credentials.get(registry)
        return self.credentials.get(host, named_only=True)

    def cached_auth(self, registry: str, scope: str, what: str) -> str | None:
        host = self.api_host(registry)
        tok = self.auth.tokens.get((host, scope))
        if tok is not None and tok[1] > time.monotonic():
            return f"Bearer {tok[0]}"
        if host in self.auth.bearer:
            return "Bearer " + self.fetch_token(registry, host, self.auth.bearer[host], scope, what)
        if host in self.auth.basic:
            creds = self._creds_for(registry, host)
            if creds is not None and creds.username is not None and creds.password is not None:
                return basic_auth_header(creds.username, creds.password)
        return None

    def fetch_token(self, registry: str, host: str, challenge: dict[str, str], scope: str, what: str) -> str:
        """A bearer token for ``host`` from the realm ``host``'s own challenge named, asked with
        ``host``'s credentials (never another host's)."""
        who = host if host == self.api_host(registry) else f"{host} (redirected to from {registry})"
        realm = challenge.get("realm")
        if not realm:
            raise RegistryAuthError(f"{what}: bearer challenge from {who} without a realm")
        parts = urlsplit(realm)
        realm_host = parts.netloc.rsplit("@", 1)[-1]
        if parts.scheme not in ("http", "https") or not realm_host:
            raise RegistryAuthError(f"{what}: bearer challenge from {who} names an invalid realm {realm!r}")
        if parts.scheme != "https" and not (is_loopback(realm_host) or self.is_insecure(realm_host)):
            raise RegistryAuthError(f"{what}: token service {realm} of {who} is not HTTPS; "
                                    "refusing to send credentials")
        creds = self._creds_for(registry, host)
        scopes = [s for s in scope.split(" ") if s]
        if creds is not None and creds.identity_token:
            form = {"grant_type": "refresh_token", "refresh_token": creds.identity_token,
                    "service": challenge.get("service", ""), "scope": " ".join(scopes),
                    "client_id": "supplychain"}

            def make() -> requests.Response:
                return self.send("POST", realm, what, data=form)
        else:
            params: list[tuple[str, str]] = []
            if challenge.get("service"):
                params.append(("service", challenge["service"]))
            params.extend(("scope", s) for s in scopes)
            auth = basic_auth_header(creds.username, creds.password) if creds is not None and creds.username \
                and creds.password is not None else None
            url = realm + (("&" if "?" in realm else "?") + urlencode(params) if params else "")

            def make() -> requests.Response:
                return self.send("GET", url, what, authorization=auth)
        ans = self.fetch(make, MAX_TOKEN_BODY, f"{what}: token service {realm_host}", kind="token answer")
        if ans.status in (401, 403):
            raise RegistryAuthError(
                f"{what}: the token service of {who} refused the "
                + ("credentials from " + creds.source if creds else "anonymous request")
                + f" (HTTP {ans.status}){ans.detail()}",
                hint=LOGIN_HINT.format(host=registry if host == self.api_host(registry) else host),
            )
        if ans.status != 200:
            raise RegistryError(f"{what}: token service {realm} of {who} answered HTTP {ans.status}{ans.detail()}")
        try:
            doc = json.loads(ans.body)
        except (ValueError, RecursionError):
            raise RegistryError(f"{what}: token service {realm} of {who} did not return JSON") from None
        token = (doc.get("token") or doc.get("access_token")) if isinstance(doc, dict) else None
        if not isinstance(token, str) or not token or any(c in token for c in "\r\n"):
            raise RegistryError(f"{what}: token service {realm} of {who} returned no token")
        expires = doc.get("expires_in")
        ttl = float(expires) if isinstance(expires, int | float) and expires > 0 else 60.0
        with self._lock:
            self.auth.tokens[(host, scope)] = (token, time.monotonic() + max(ttl - 10, 5))
        return token

    def request(self, method: str, registry: str, url: str, scope: str, what: str, *,
                headers: dict[str, str] | None = None, data: Any = None,
                params: dict[str, str] | None = None) -> requests.Response:
        """An authenticated request: answers one 401 challenge of each host that sends one (the
        registry, then perhaps the host a download was redirected to), each with its own
        credentials."""
        auth = self.cached_auth(registry, scope, what)
        resp = self.send(method, url, what, headers=headers, data=data, authorization=auth, params=params)
        answered: set[str] = set()
        while resp.status_code == 401:
            final = resp.url or url
            asker = urlsplit(final).netloc
            challenge = resp.headers.get("WWW-Authenticate", "")
            resp.close()
            own = asker == self.api_host(registry)
            who = registry if own else f"{asker} (redirected to from {registry})"
            hint = LOGIN_HINT.format(host=registry if own else asker)
            creds = self._creds_for(registry, asker)
            if asker in answered:
                raise RegistryAuthError(
                    f"{what}: {who} refused the "
                    + (f"credentials from {creds.source}" if creds else "anonymous token") + " (HTTP 401)",
                    hint=hint,
                )
            answered.add(asker)
            auth = self._answer(registry, asker, challenge, scope, what, who, hint, creds)
            if not replayable(data):
                raise RegistryAuthError(f"{what}: {who} asked for authentication during a streamed upload")
            if own:
                resp = self.send(method, url, what, headers=headers, data=data, authorization=auth, params=params)
            else:  # straight to the redirect target, with its own credentials only
                resp = self.send(method, final, what, headers=headers, data=data, authorization=auth)
        return resp

    def _answer(self, registry: str, asker: str, challenge: str, scope: str, what: str, who: str, hint: str,
                creds: Credentials | None) -> str:
        """The Authorization value that answers ``asker``'s challenge."""
        own = asker == self.api_host(registry)
        scheme, cparams = parse_challenge(challenge)
        if scheme == "bearer":
            if own:
                with self._lock:
                    self.auth.bearer[asker] = cparams
            else:
                tok = self.auth.tokens.get((asker, scope))
                if tok is not None and tok[1] > time.monotonic():
                    return f"Bearer {tok[0]}"
            token_scope = scope
            extra = cparams.get("scope")
            if extra and extra not in scope.split(" "):
                token_scope = f"{scope} {extra}"
            token = self.fetch_token(registry, asker, cparams, token_scope, what)
            with self._lock:
                self.auth.tokens[(asker, scope)] = self.auth.tokens[(asker, token_scope)]
            return f"Bearer {token}"
        if scheme == "basic":
            if creds is None or creds.username is None or creds.password is None:
                raise RegistryAuthError(f"{what}: {who} requires authentication (HTTP 401)", hint=hint)
            if own:
                with self._lock:
                    self.auth.basic.add(asker)
            return basic_auth_header(creds.username, creds.password)
        shown = "".join(ch for ch in challenge if ch.isprintable())[:120]
        raise RegistryAuthError(f"{what}: {who} answered 401 with an unsupported challenge {shown!r}")
