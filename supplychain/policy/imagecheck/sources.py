"""`policy check` arguments that name images (as `sbom image` takes them), and checking them."""

from __future__ import annotations

import datetime
import os
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from supplychain.errors import InputError
from supplychain.policy.config import Policy, Waiver
from supplychain.policy.findings import Finding

_PREFIXES = ("oci:", "oci-archive:", "docker-archive:", "docker://", "registry:")


def is_image_source(arg: str) -> bool:
    """``oci:DIR``, ``oci-archive:FILE``, ``docker-archive:FILE``, ``docker://REF``, an OCI layout
    directory, a tar archive, or (when no such file exists) a registry reference with a registry,
    repository path, tag or digest (``ghcr.io/acme/app:1``, ``nginx:1.27``). Anything else is a path."""
    if arg == "-":
        return False
    if arg.startswith(_PREFIXES):
        return True
    if os.path.isdir(arg):
        return os.path.isfile(os.path.join(arg, "oci-layout"))
    if os.path.isfile(arg):
        try:
            with open(arg, "rb") as fh:
                head = fh.read(512)
        except OSError:
            return False
        return len(head) == 512 and head[257:262] == b"ustar"
    if os.path.exists(arg) or any(c.isspace() for c in arg) or not ("/" in arg or ":" in arg or "@" in arg):
        return False
    from supplychain.oci.reference import parse_reference

    try:
        parse_reference(arg)
    except InputError:
        return False
    return not arg.startswith(("/", "./", "../", "~"))


@dataclass
class ImageResult:
    source: str
    findings: list[Finding] = field(default_factory=list)
    waived: list[tuple[Finding, Waiver]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    summary: dict[str, object] = field(default_factory=dict)


def check_image_source(source: str, policy: Policy, *, platform: str = "linux/amd64",
                       insecure_registries: Iterable[str] = (), base_layers: int = 1,
                       today: datetime.date | None = None,
                       progress: Callable[[int, int, str], None] | None = None) -> ImageResult:
    """Scan one image (secrets in every layer, config) and apply the policy's waivers."""
    from supplychain.oci.image import open_image
    from supplychain.policy.imagecheck import register
    from supplychain.policy.imagecheck.scan import scan_image, waive

    register()
    with open_image(source, platform=platform, insecure_registries=insecure_registries) as image:
        scan = scan_image(image, policy, base_layers=base_layers, progress=progress)
        tree_notes = list(scan.notes())
    found = scan.findings(source)
    kept, waived = waive(found, policy.waivers, today)
    return ImageResult(source, kept, waived, tree_notes, scan.summary())
