"""supplychain keygen: an ECDSA P-256 key pair for key-based signing."""

from __future__ import annotations

import click


@click.command(
    "keygen",
    epilog="""\b
Examples:
  SUPPLYCHAIN_PASSWORD=... supplychain keygen                 # cosign.key + cosign.pub
  supplychain keygen --output-key-prefix release              # release.key + release.pub
  supplychain sign blob app.tar.gz --key cosign.key
  supplychain verify blob app.tar.gz --key cosign.pub

The private key is PKCS#8 PEM encrypted with the password from $SUPPLYCHAIN_PASSWORD (or a
prompt, asked twice); it is written atomically with mode 0600. Existing files are kept
unless --force is given.""",
)
@click.option("--output-key-prefix", default="cosign", show_default=True, metavar="PREFIX",
              help="Write PREFIX.key (private) and PREFIX.pub (public).")
@click.option("--force", is_flag=True, help="Replace existing key files.")
def keygen(output_key_prefix: str, force: bool) -> None:
    """Create an ECDSA P-256 signing key pair (PEM, private key password-encrypted)."""
    from supplychain.signing.keys import generate_keypair

    paths = generate_keypair(output_key_prefix, force=force)
    click.echo(f"Private key written to {paths.private}", err=True)
    click.echo(f"Public key written to {paths.public}", err=True)
