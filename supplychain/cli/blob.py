"""supplychain sign blob / verify blob: Sigstore bundles for arbitrary files."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import click

from supplychain.cli.signopts import (
    format_option,
    identity_options,
    identity_spec,
    signer_options,
    signer_spec,
    trust_options,
    trust_spec,
    wants_json,
)

_DIGEST = re.compile(r"^(sha256|sha384|sha512):[0-9a-fA-F]+$")


@click.command(
    "blob",
    epilog="""\b
Examples:
  supplychain sign blob release.tar.gz --key cosign.key
  supplychain sign blob release.tar.gz                       # keyless: CI credentials or browser
  supplychain sign blob release.tar.gz --identity-token "$TOKEN" --bundle out.sigstore.json
  supplychain sign blob release.tar.gz --trust-config private-sigstore.json --identity-token "$TOKEN"
  supplychain sign blob release.tar.gz --key cosign.key --tlog-upload=false   # no Rekor entry

Writes a Sigstore bundle v0.3 (application/vnd.dev.sigstore.bundle.v0.3+json) to
FILE.sigstore.json unless --bundle is given. With --key the bundle holds a public-key hint and,
like cosign, the Rekor entry the signature was logged with (--rekor-url, default
https://rekor.sigstore.dev; --tlog-upload=false: none, and verifiers get no signing time).""",
)
@click.argument("file", type=click.Path(dir_okay=False, exists=True))
@click.option("--bundle", "bundle_path", type=click.Path(dir_okay=False), metavar="PATH",
              help="Where to write the bundle (default: FILE.sigstore.json).")
@signer_options
def sign_blob(file: str, bundle_path: str | None, **kwargs: Any) -> None:
    """Sign FILE into a Sigstore bundle (keyless, or with --key PRIVATE.pem)."""
    from supplychain.fileio import atomic_write
    from supplychain.signing.sign import describe_bundle, sign_file

    out = bundle_path or file + ".sigstore.json"
    data = sign_file(file, signer_spec(kwargs))
    atomic_write(out, data)
    click.echo(f"Wrote bundle {out}: {describe_bundle(data)}", err=True)


@click.command(
    "blob",
    epilog="""\b
Examples:
  supplychain verify blob release.tar.gz --key cosign.pub
  supplychain verify blob release.tar.gz --offline \\
      --cert-identity https://github.com/org/repo/.github/workflows/release.yml@refs/tags/v1.0 \\
      --cert-oidc-issuer https://token.actions.githubusercontent.com
  supplychain verify blob sha256:a0cf...01bf --bundle a.txt.sigstore.json --offline \\
      --cert-identity-regexp '^https://github.com/org/' --cert-oidc-issuer-regexp 'github'
  supplychain verify blob file.txt --trusted-root trusted_root.json --cert-identity me@example.com \\
      --cert-oidc-issuer https://accounts.google.com

Trust: --trusted-root FILE or --trust-config FILE as given; otherwise the production (or
--staging) root sigstore-python embeds with --offline, or refreshed over TUF without it.
--offline makes no network call. A key-signed bundle with a Rekor entry has its entry checked
too (against the trusted root). --format json prints what was verified as JSON.
Exit 0 verified, 1 not verified (one line says why), 2 unreadable or malformed input.""",
)
@click.argument("artifact", metavar="FILE|sha256:HEX")
@click.option("--bundle", "bundle_path", type=click.Path(dir_okay=False), metavar="PATH",
              help="Sigstore bundle to verify (default: FILE.sigstore.json).")
@identity_options
@trust_options
@format_option
def verify_blob(artifact: str, bundle_path: str | None, **kwargs: Any) -> None:
    """Verify FILE (or a sha256:HEX digest) against its Sigstore bundle."""
    from supplychain.errors import InputError
    from supplychain.fileio import read_bytes
    from supplychain.signing.formats.bundle import MAX_BUNDLE_BYTES
    from supplychain.signing.verifier import verify_bundle

    as_json = wants_json(kwargs)
    try:
        exists, is_file = Path(artifact).exists(), Path(artifact).is_file()
    except OSError as exc:  # e.g. a name longer than the file system allows
        raise InputError(f"{artifact}: cannot read: {exc.strerror}") from exc
    is_digest = bool(_DIGEST.match(artifact)) and not exists
    if bundle_path is None:
        if is_digest:
            raise InputError("verifying a digest needs --bundle PATH")
        bundle_path = artifact + ".sigstore.json"
    if not is_digest and not is_file:
        raise InputError(f"{artifact}: is a directory, expected a file" if exists else f"{artifact}: no such file")
    raw = read_bytes(bundle_path, what="bundle", limit=MAX_BUNDLE_BYTES)
    result = verify_bundle(
        raw,
        identity=identity_spec(kwargs),
        trust=trust_spec(kwargs),
        artifact_path=None if is_digest else artifact,
        digest=artifact if is_digest else None,
        source=bundle_path,
    )
    if as_json:
        import json

        click.echo(json.dumps({"verified": True, "artifact": artifact, "bundle": bundle_path, **result.as_dict()},
                              indent=2))
        return
    click.echo(f"Verified OK: {artifact} {result.summary()}")
    if result.payload_type is not None:
        click.echo(f"  payload type: {result.payload_type}")
        if result.statement is not None:
            for s in result.subjects:
                digests = ", ".join(f"{k}:{v}" for k, v in sorted(s.get("digest", {}).items()))
                click.echo(f"  subject: {s.get('name', '')} {digests}")
            click.echo(f"  predicate type: {result.predicate_type}")
