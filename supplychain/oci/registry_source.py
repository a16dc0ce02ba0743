"""Images in a registry (``registry.example/repo:tag``, ``docker://``, ``registry:``), read
through :class:`~supplychain.oci.registry.RegistryClient`."""

from __future__ import annotations

from typing import TYPE_CHECKING

from supplychain.oci.descriptor import ALL_MANIFEST_TYPES, Descriptor, VerifyingReader
from supplychain.oci.reference import Reference
from supplychain.oci.source import ImageSource, ReadCallback

if TYPE_CHECKING:
    from supplychain.oci.registry import RegistryClient


class RegistrySource(ImageSource):
    kind = "registry"

    def __init__(self, ref: Reference, client: RegistryClient) -> None:
        self.ref = ref
        self.client = client
        self.label = str(ref)

    def top(self) -> tuple[bytes, str, str]:
        return self.client.get_manifest(self.ref, accept=ALL_MANIFEST_TYPES)

    def fetch_manifest(self, desc: Descriptor) -> tuple[bytes, str]:
        data, mt, _ = self.client.get_manifest(self.ref.with_digest(desc.digest), accept=ALL_MANIFEST_TYPES)
        return data, mt

    def open_blob(self, desc: Descriptor, on_read: ReadCallback | None = None) -> VerifyingReader:
        return self.client.open_blob(self.ref.repository, desc, on_read=on_read, registry=self.ref.registry)
