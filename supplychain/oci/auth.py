"""Registry credentials: environment, docker ``config.json`` / ``auth.json``, credential helpers.

Lookup order for a registry host:

1. ``SUPPLYCHAIN_REGISTRY_USERNAME`` / ``SUPPLYCHAIN_REGISTRY_PASSWORD`` (only for
   ``SUPPLYCHAIN_REGISTRY_HOST`` when that is set, else for every registry);
2. ``DOCKER_AUTH_CONFIG`` (a config.json document in the environment, as GitLab CI sets it),
   the auth file ``REGISTRY_AUTH_FILE`` (podman/skopeo), then ``$DOCKER_CONFIG/config.json``
   (default ``~/.docker/config.json``): ``credHelpers[host]``, then ``auths[host]``
   (``auth`` = base64 user:password, or ``username``/``password``, or ``identitytoken``),
   then ``credsStore``. Helpers are ``docker-credential-<name>`` programs on PATH,
   asked with ``get`` and the server URL on stdin.
"""

from __future__ import annotations

import base64
import json
import os
import shutil
import subprocess
import threading
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from supplychain.errors import InputError
from supplychain.vocab import DOCKER_HUB_ALIASES, DOCKER_HUB_AUTH_KEY

HUB_HOSTS = DOCKER_HUB_ALIASES
HUB_SERVER_URL = DOCKER_HUB_AUTH_KEY


@dataclass(frozen=True)
class Credentials:
    username: str | None = None
    password: str | None = None
    identity_token: str | None = None  # OAuth2 refresh token (docker "identitytoken")
    source: str = ""  # where they came from, for error messages (never the secret)

    def __repr__(self) -> str:
        return f"Credentials(username={self.username!r}, source={self.source!r})"


def basic_auth_header(username: str, password: str) -> str:
    """The ``Authorization`` value for HTTP basic auth (RFC 7617, UTF-8)."""
    return "Basic " + base64.b64encode(f"{username}:{password}".encode()).decode("ascii")


def _host_of(key: str) -> str:
    k = key.strip()
    if "://" in k:
        k = k.split("://", 1)[1]
    k = k.split("/", 1)[0]
    return k.lower()


def _is_hub(host: str) -> bool:
    return host in HUB_HOSTS


class CredentialStore:
    """Finds credentials for a registry host; results are cached per host."""

    def __init__(self, *, env: Mapping[str, str] | None = None, config_paths: list[Path] | None = None) -> None:
        self.env = dict(os.environ if env is None else env)
        if config_paths is None:
            config_paths = []
            if self.env.get("REGISTRY_AUTH_FILE"):
                config_paths.append(Path(self.env["REGISTRY_AUTH_FILE"]))
            docker_dir = self.env.get("DOCKER_CONFIG")
            if docker_dir:
                config_paths.append(Path(docker_dir) / "config.json")
            else:
                config_paths.append(Path(self.env.get("HOME") or Path.home()) / ".docker" / "config.json")
        self.config_paths = config_paths
        self._cache: dict[str, Credentials | None] = {}
        self._configs: list[tuple[Path, dict[str, Any]]] | None = None
        self._load_lock = threading.Lock()

    def _load(self) -> list[tuple[Path, dict[str, Any]]]:
        """The config documents, read once. The store may be shared by threads (the admission
        webhook's one registry client): the list is published only when every file is read, so
        no lookup meanwhile sees part of it (and keeps "no credentials" for its host)."""
        with self._load_lock:
            if self._configs is None:
                self._configs = self._read_configs()
            return self._configs

    def _read_configs(self) -> list[tuple[Path, dict[str, Any]]]:
        configs: list[tuple[Path, dict[str, Any]]] = []
        inline = self.env.get("DOCKER_AUTH_CONFIG")
        if inline:
            try:
                doc = json.loads(inline)
            except (ValueError, RecursionError) as exc:
                raise InputError(f"DOCKER_AUTH_CONFIG: not valid JSON ({exc})") from exc
            if isinstance(doc, dict):
                configs.append((Path("$DOCKER_AUTH_CONFIG"), doc))
        for p in self.config_paths:
            try:
                raw = p.read_bytes()
            except FileNotFoundError:
                continue
            except OSError as exc:
                raise InputError(f"{p}: cannot read registry credentials ({exc.strerror})") from exc
            try:
                doc = json.loads(raw)
            except (ValueError, RecursionError) as exc:
                raise InputError(f"{p}: not valid JSON ({exc})", hint="fix or remove the file") from exc
            if isinstance(doc, dict):
                configs.append((p, doc))
        return configs

    def get(self, host: str, *, named_only: bool = False) -> Credentials | None:
        """Credentials for ``host``. ``named_only``: only credentials configured for that very
        host (for a host a download was redirected to): the environment's username and password
        without ``SUPPLYCHAIN_REGISTRY_HOST`` are meant for the registries the user names, never
        for object storage or a CDN."""
        host = host.lower()
        key = ("named:" if named_only else "") + host
        if key not in self._cache:
            self._cache[key] = self._find(host, named_only)
        return self._cache[key]

    def _find(self, host: str, named_only: bool = False) -> Credentials | None:
        user = self.env.get("SUPPLYCHAIN_REGISTRY_USERNAME")
        pw = self.env.get("SUPPLYCHAIN_REGISTRY_PASSWORD")
        only = self.env.get("SUPPLYCHAIN_REGISTRY_HOST")
        if named_only and not only:
            user = None
        if user and pw is not None and (not only or _host_of(only) == host
                                        or (_is_hub(host) and _is_hub(_host_of(only)))):
            return Credentials(user, pw, source="SUPPLYCHAIN_REGISTRY_USERNAME/PASSWORD")
        for path, doc in self._load():
            helpers = doc.get("credHelpers")
            if isinstance(helpers, dict):
                for key, helper in helpers.items():
                    if isinstance(helper, str) and self._match(key, host):
                        found = run_helper(helper, self._server_url(host, key))
                        if found is not None:
                            return found
            auths = doc.get("auths")
            if isinstance(auths, dict):
                for key, entry in auths.items():
                    if isinstance(entry, dict) and self._match(key, host):
                        creds = _from_auth_entry(entry, f"{path} auths[{key}]")
                        if creds is not None:
                            return creds
            store = doc.get("credsStore")
            if isinstance(store, str) and store:
                found = run_helper(store, HUB_SERVER_URL if _is_hub(host) else host)
                if found is not None:
                    return found
        return None

    @staticmethod
    def _match(key: str, host: str) -> bool:
        k = _host_of(key)
        return k == host or (_is_hub(k) and _is_hub(host))

    @staticmethod
    def _server_url(host: str, key: str) -> str:
        return HUB_SERVER_URL if _is_hub(host) else key


def _from_auth_entry(entry: dict[str, Any], where: str) -> Credentials | None:
    token = entry.get("identitytoken")
    auth = entry.get("auth")
    user, pw = entry.get("username"), entry.get("password")
    if isinstance(auth, str) and auth:
        try:
            decoded = base64.b64decode(auth + "=" * (-len(auth) % 4)).decode("utf-8")
        except (ValueError, UnicodeDecodeError) as exc:
            raise InputError(f"{where}: 'auth' is not base64 of user:password") from exc
        if ":" not in decoded:
            raise InputError(f"{where}: 'auth' is not base64 of user:password")
        user, pw = decoded.split(":", 1)
    if isinstance(token, str) and token:
        return Credentials(user if isinstance(user, str) else None, None, token, source=where)
    if isinstance(user, str) and user and isinstance(pw, str):
        return Credentials(user, pw, source=where)
    return None


def run_helper(name: str, server_url: str) -> Credentials | None:
    """Ask ``docker-credential-<name> get``; None when it has nothing for ``server_url``."""
    exe = shutil.which(f"docker-credential-{name}")
    if exe is None:
        return None
    try:
        proc = subprocess.run([exe, "get"], input=server_url.encode(), capture_output=True, timeout=30)
    except (OSError, subprocess.TimeoutExpired):
        return None
    if proc.returncode != 0:
        return None  # "credentials not found in native keychain"
    try:
        doc = json.loads(proc.stdout)
    except (ValueError, RecursionError):
        return None
    if not isinstance(doc, dict):
        return None
    user, secret = doc.get("Username"), doc.get("Secret")
    if not isinstance(secret, str) or not secret:
        return None
    src = f"docker-credential-{name}"
    if user == "<token>":
        return Credentials(None, None, secret, source=src)
    return Credentials(user if isinstance(user, str) else None, secret, source=src)
