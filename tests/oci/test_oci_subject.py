"""OCI distribution 1.1: a registry that indexes referrers itself answers the manifest PUT with
``OCI-Subject: <subject digest>``; the client then writes no referrers tag index (issue 9)."""

from __future__ import annotations

import json
import uuid

from supplychain.oci.descriptor import OCI_EMPTY, OCI_MANIFEST, Descriptor, digest_of
from tests.oci.conftest import AuthRegistry
from tests.oci.faultproxy import FaultProxy, Upstream
from tests.oci.test_registry_faults import EMPTY_JSON_DIGEST, _client, _listed


def _manifest(subject: str) -> bytes:
    return json.dumps({"schemaVersion": 2, "mediaType": OCI_MANIFEST, "artifactType": "application/x-test",
                       "config": {"mediaType": OCI_EMPTY, "digest": EMPTY_JSON_DIGEST, "size": 2},
                       "layers": [{"mediaType": OCI_EMPTY, "digest": EMPTY_JSON_DIGEST, "size": 2}],
                       "subject": {"mediaType": OCI_MANIFEST, "digest": subject, "size": 10},
                       "annotations": {"n": uuid.uuid4().hex}}).encode()


def _push(proxy: FaultProxy, reg: AuthRegistry, subject: str) -> str:
    client = _client()
    repo = f"{proxy.host}/{reg.repo}"
    client.upload_blob(repo, b"{}", EMPTY_JSON_DIGEST)
    raw = _manifest(subject)
    d = Descriptor(OCI_MANIFEST, digest_of(raw), len(raw), artifact_type="application/x-test")
    return client.push_referrer(repo, raw, OCI_MANIFEST, subject, d)


def _with_subject(value: str) -> object:
    def rewrite(up: Upstream) -> Upstream:
        return Upstream(up.status, up.reason, [*up.headers, ("OCI-Subject", value)], up.body)
    return rewrite


def test_oci_subject_header_means_no_tag_index(proxy: FaultProxy, auth_registry: AuthRegistry) -> None:
    subject = "sha256:" + uuid.uuid4().hex * 2
    proxy.add("rewrite", method="PUT", path=r"/manifests/sha256:", times=None, rewrite=_with_subject(subject))
    _push(proxy, auth_registry, subject)
    assert not proxy.requests(r"/manifests/sha256-", "PUT")  # the registry indexed it itself
    assert not proxy.requests(r"/referrers/", "GET")


def test_without_or_with_another_oci_subject_the_tag_index_lists_it(proxy: FaultProxy,
                                                                    auth_registry: AuthRegistry) -> None:
    subject = "sha256:" + uuid.uuid4().hex * 2
    digest = _push(proxy, auth_registry, subject)
    assert _listed(auth_registry, subject) == [digest]
    other = "sha256:" + uuid.uuid4().hex * 2
    proxy.add("rewrite", method="PUT", path=r"/manifests/sha256:", times=None,
              rewrite=_with_subject("sha256:" + "0" * 64))  # names another subject: not an acknowledgement
    digest2 = _push(proxy, auth_registry, other)
    assert _listed(auth_registry, other) == [digest2]
