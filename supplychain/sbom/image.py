"""CycloneDX SBOM of a container image: open it, squash its layers once, run every cataloger.

``image_bom(source)`` returns the root component (the image: type ``container``, the manifest
digest as version, a ``pkg:oci`` purl, config facts as properties) and the packages found.
The layers are streamed once with the union of all catalogers' ``wants``; nothing is extracted
to disk. Whiteouts are applied by the squasher, so a package deleted in an upper layer is not
reported. Config ``Env`` values are never copied (they can hold secrets): only variable names.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from typing import Any, Protocol

from supplychain.oci.fs import Analyze, MemoryTree, Select
from supplychain.oci.image import Image, open_image
from supplychain.oci.layers import LayerWatch, Progress, squash
from supplychain.sbom.catalogers import default_catalogers, run_catalogers, union_analyze, union_select
from supplychain.sbom.catalogers._util import make_purl
from supplychain.sbom.catalogers.base import CatalogContext, Cataloger
from supplychain.sbom.package import Package

__all__ = ["LayerPass", "catalog_image", "image_bom", "image_root_component"]

PREFIX = "supplychain:image:"


def _json_value(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


def image_root_component(image: Image, distro: str | None = None) -> Package:
    """The image as the SBOM's root component (metadata.component)."""
    ref = image.reference
    digest = image.manifest_digest
    if ref is not None:
        name = ref.name
        short = ref.repository.rsplit("/", 1)[-1].lower()
        repository_url = ref.name
    else:
        name = image.name
        if image.tag and name.endswith(":" + image.tag):
            name = name[: -len(image.tag) - 1]  # "layout:v1" -> "layout": the tag has its own field
        short = name.rsplit("/", 1)[-1].lower() or "image"
        repository_url = None
    purl = make_purl("oci", None, short, digest, {"repository_url": repository_url, "tag": image.tag})
    props: list[tuple[str, str]] = [
        (PREFIX + "manifest-digest", digest),
        (PREFIX + "manifest-media-type", image.media_type),
        (PREFIX + "config-digest", image.config_descriptor.digest),
        (PREFIX + "platform", image.platform),
    ]
    if image.index_digest:
        props.append((PREFIX + "index-digest", image.index_digest))
    if image.tag:
        props.append((PREFIX + "tag", image.tag))
    if image.digest_reference:
        props.append((PREFIX + "reference", image.digest_reference))
    if distro:
        props.append((PREFIX + "distro", distro))
    for i, layer in enumerate(image.layers):
        props.append((PREFIX + f"layer:{i}", layer.digest))
    cfg = image.config.get("config")
    if not isinstance(cfg, dict):
        cfg = {}
    user = cfg.get("User")
    props.append((PREFIX + "user", user if isinstance(user, str) and user else "(not set: runs as root)"))
    for key, prop in (("Entrypoint", "entrypoint"), ("Cmd", "cmd")):
        value = cfg.get(key)
        if isinstance(value, list) and value:
            props.append((PREFIX + prop, _json_value(value)))
        elif isinstance(value, str) and value:
            props.append((PREFIX + prop, value))
    for key, prop in (("WorkingDir", "workdir"), ("StopSignal", "stop-signal")):
        value = cfg.get(key)
        if isinstance(value, str) and value:
            props.append((PREFIX + prop, value))
    for key, prop in (("ExposedPorts", "exposed-port"), ("Volumes", "volume")):
        value = cfg.get(key)
        if isinstance(value, dict):
            props.extend((PREFIX + prop, str(k)) for k in sorted(value))
    env = cfg.get("Env")
    if isinstance(env, list):
        names = sorted({str(e).split("=", 1)[0] for e in env if isinstance(e, str) and e})
        props.extend((PREFIX + "env-name", n) for n in names)  # names only: values can be secrets
    health = cfg.get("Healthcheck")
    if isinstance(health, dict) and isinstance(health.get("Test"), list):
        props.append((PREFIX + "healthcheck", _json_value(health["Test"])))
    labels = cfg.get("Labels")
    if isinstance(labels, dict):
        for k in sorted(labels):
            if isinstance(labels[k], str):
                props.append((PREFIX + f"label:{k}", labels[k]))
    created = image.config.get("created")
    if isinstance(created, str) and created:
        props.append((PREFIX + "created", created))
    return Package(
        name=name,
        version=digest,
        purl=purl,
        type="container",
        ecosystem="oci",
        hashes={"SHA-256": digest.split(":", 1)[1]} if digest.startswith("sha256:") else {},
        properties=props,
        bom_ref=purl,
    )


def catalog_image(
    image: Image,
    *,
    catalogers: list[Cataloger] | None = None,
    progress: Progress | None = None,
    on_warning: Callable[[str], None] | None = None,
    also: LayerPass | None = None,
) -> tuple[Package, list[Package]]:
    """Squash ``image`` once for all catalogers and catalog it (the image stays open).

    ``also``: another check that reads the same single layer pass (the image secret and config
    checks): its ``select`` / ``analyze`` are combined with the catalogers' and it is the pass's
    ``watch``; it is handed the squashed tree when the pass ends."""
    cats = catalogers if catalogers is not None else default_catalogers()
    select, analyze = union_select(cats), union_analyze(cats)
    if also is not None:
        also.start(image)
        select, analyze = also.combine(select, analyze)
    tree = squash(image, select, progress=progress, analyze=analyze, watch=also)
    if also is not None:
        also.finish(tree)
    ctx = CatalogContext()
    packages, ctx = run_catalogers(tree, cats, ctx)
    if on_warning is not None:
        for note in [*tree.skipped(), *ctx.notes]:
            on_warning(note)
    root = image_root_component(image, ctx.distro.qualifier)
    root.dependencies = sorted({p.bom_ref for p in packages})
    return root, packages


class LayerPass(LayerWatch, Protocol):
    """A check riding along the SBOM's layer pass (see :func:`catalog_image`)."""

    def start(self, image: Image) -> None:
        """The image (manifest, config) about to be streamed."""

    def combine(self, select: Select, analyze: Analyze | None) -> tuple[Select, Analyze | None]:
        """The pass's select / analyze: the catalogers' ones (given) joined with this check's."""

    def finish(self, tree: MemoryTree) -> None:
        """The pass is over; ``tree`` is the squashed view."""


def image_bom(
    source: str,
    *,
    platform: str = "linux/amd64",
    insecure_registries: Iterable[str] = (),
    progress: Progress | None = None,
    on_warning: Callable[[str], None] | None = None,
    also: LayerPass | None = None,
) -> tuple[Package, list[Package]]:
    """Root component and packages of the image at ``source``.

    ``source``: a registry reference, ``oci:DIR[:TAG]``, ``oci-archive:FILE[:TAG]``,
    ``docker-archive:FILE[:NAME:TAG]`` or a bare path. ``progress(done, total, label)`` is called
    while layers stream; ``on_warning`` receives what was skipped (hostile members, unreadable
    metadata). Raises InputError / RegistryError from the image layer and InputError for a
    corrupt OS package database.
    """
    with open_image(source, platform=platform, insecure_registries=insecure_registries) as image:
        return catalog_image(image, progress=progress, on_warning=on_warning, also=also)
