"""Choosing the manifest for a platform (``linux/arm64/v8``) from an image index."""

from __future__ import annotations

from supplychain.errors import InputError
from supplychain.oci.descriptor import Descriptor, Platform


def platform_of(desc: Descriptor) -> Platform | None:
    p = desc.platform
    if not p or not isinstance(p.get("os"), str) or not isinstance(p.get("architecture"), str):
        return None
    v = p.get("variant")
    return Platform(p["os"].lower(), p["architecture"].lower(), v.lower() if isinstance(v, str) else None)


def _norm_variant(arch: str, variant: str | None) -> str | None:
    if arch == "arm64" and variant in (None, "v8"):
        return "v8"
    if arch == "arm" and variant is None:
        return "v7"
    return variant


def select_platform(manifests: list[Descriptor], platform: Platform, what: str) -> Descriptor:
    """Pick the manifest for ``platform`` from an index's entries."""
    best: Descriptor | None = None
    for d in manifests:
        p = platform_of(d)
        if p is None or p.os != platform.os or p.architecture != platform.architecture:
            continue
        if platform.variant is not None:
            if _norm_variant(p.architecture, p.variant) != _norm_variant(platform.architecture, platform.variant):
                continue
            return d
        if _norm_variant(p.architecture, p.variant) == _norm_variant(platform.architecture, None):
            return d
        best = best or d
    if best is not None:
        return best
    have = sorted({str(p) for d in manifests if (p := platform_of(d)) and p.os != "unknown"})
    raise InputError(
        f"{what}: no image for platform {platform}",
        hint=("available platforms: " + ", ".join(have)) if have else "the index lists no platforms",
    )
