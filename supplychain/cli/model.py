"""``supplychain sign model``, ``verify model`` and ``sbom model`` (OpenSSF model-signing format)."""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from typing import Any, TypeVar

import click

from supplychain.cli.common import sbom_output_options
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

F = TypeVar("F", bound=Callable[..., Any])


def _model_options(func: F) -> F:
    decorators = [
        click.option("--signature", metavar="FILE", type=click.Path(dir_okay=False),
                     help="Signature file (default: model.sig inside the model directory, or beside a "
                     "single-file model)."),
        click.option("--ignore-paths", "ignore_paths", multiple=True, metavar="PATH",
                     help="Leave this file or directory out (repeatable). Relative to the model "
                     "directory, or a path from here that lies inside it."),
        click.option("--ignore-git-paths/--no-ignore-git-paths", default=True, show_default=True,
                     help="Leave out .git, .gitattributes, .github and .gitignore (as model_signing does)."),
        click.option("--allow-symlinks", "--allow_symlinks", "allow_symlinks", is_flag=True,
                     help="Hash the files symbolic links point to instead of refusing them."),
        click.option("--threads", type=click.IntRange(1, 256), default=None, metavar="N",
                     help="Hashing threads (default: one per CPU)."),
    ]
    for deco in reversed(decorators):
        func = deco(func)
    return func


def _cert_chain_option(help_text: str) -> Callable[[F], F]:
    return click.option("--certificate-chain", "--certificate_chain", "certificate_chain", multiple=True,
                        type=click.Path(dir_okay=False, exists=True), metavar="PEM", help=help_text)


class _Progress:
    """A one-line progress bar on stderr, only when stderr is a terminal."""

    def __init__(self, label: str) -> None:
        self.label = label
        self.start = time.monotonic()
        self.enabled = sys.stderr.isatty()
        self.shown = False

    def __call__(self, done: int, total: int) -> None:
        if not self.enabled or total <= 0:
            return
        frac = done / total
        width = 30
        bar = "#" * int(frac * width) + "-" * (width - int(frac * width))
        dt = max(time.monotonic() - self.start, 1e-6)
        sys.stderr.write(f"\r{self.label} [{bar}] {frac * 100:5.1f}% {done / 1e9:6.2f}/{total / 1e9:.2f} GB "
                         f"{done / dt / 1e9:5.2f} GB/s")
        sys.stderr.flush()
        self.shown = True

    def close(self) -> None:
        if self.shown:
            sys.stderr.write("\n")
            sys.stderr.flush()


def _rate(nbytes: int, seconds: float) -> str:
    return f"{nbytes / 1e9:.2f} GB in {seconds:.2f} s"


@click.command(
    "model",
    epilog="""\b
Examples:
  supplychain sign model ./my-model --key cosign.key          # writes ./my-model/model.sig
  supplychain sign model ./my-model --key signing.key --signing-cert signing.crt \\
      --certificate-chain ca-chain.pem
  supplychain sign model ./my-model                           # keyless (Sigstore, OIDC)
  supplychain sign model model.safetensors --key cosign.key --signature model.safetensors.sig
  supplychain sign model ./my-model --key cosign.key --hash-algorithm blake3
  supplychain sign model ./my-model --key cosign.key --ignore-paths README.md

The signature is model_signing's format: `model_signing verify` accepts it.
Exit codes: 0 signed, 2 bad input, 3 Sigstore unreachable.""",
)
@click.argument("path", type=click.Path(exists=True, path_type=str))
@signer_options
@click.option("--signing-cert", "--signing-certificate", "--signing_certificate", "signing_cert",
              type=click.Path(dir_okay=False, exists=True), metavar="PEM",
              help="Sign with a certificate: the X.509 certificate of --key (certificate method).")
@_cert_chain_option("Intermediate / root certificates to put in the signature after --signing-cert "
                    "(repeatable, or one file with several).")
@_model_options
@click.option("--hash-algorithm", type=click.Choice(["sha256", "blake3"]), default="sha256", show_default=True,
              help="Digest of each file. sha256 is what every model_signing version and its CLI verify; "
              "blake3 is faster, verified by model_signing's Python API but not its CLI.")
@click.option("--shard-size", type=click.IntRange(min=1), default=None, metavar="BYTES",
              help="Shard serialization: one sha256 digest per BYTES of each file (faster for one huge "
              "file; model_signing verifies it only with a matching hashing config).")
def sign_model(path: str, signature: str | None, signing_cert: str | None, certificate_chain: tuple[str, ...],
               ignore_paths: tuple[str, ...], ignore_git_paths: bool, allow_symlinks: bool,
               threads: int | None, hash_algorithm: str, shard_size: int | None, **kwargs: Any) -> None:
    """Sign an ML model (a directory or a single file) in the OpenSSF model-signing format.

    Every file is hashed (in parallel, bounded memory) into an in-toto statement
    (predicate https://model_signing/signature/v1.0) signed into a Sigstore bundle:
    with --key (bare key), --key + --signing-cert [+ --certificate-chain]
    (certificate), or keyless through Sigstore. The ignored paths (git files, the
    signature itself, --ignore-paths) are recorded in the signature.
    """
    from supplychain.signing.model import sign_model as do_sign

    if kwargs.get("rekor_url") or kwargs.get("tlog_upload"):
        from supplychain.errors import InputError

        raise InputError("--tlog-upload / --rekor-url: model signatures made with --key are not logged "
                         "(the OpenSSF model-signing key and certificate methods have no log entry)")

    progress = _Progress("hashing")
    t0 = time.monotonic()
    try:
        res = do_sign(path, signer_spec(kwargs), signature=signature, signing_cert=signing_cert,
                      certificate_chain=certificate_chain, ignore_paths=ignore_paths,
                      ignore_git_paths=ignore_git_paths, allow_symlinks=allow_symlinks,
                      hash_algorithm=hash_algorithm, shard_size=shard_size, threads=threads, progress=progress)
    finally:
        progress.close()
    files = len(res.manifest.sizes)
    click.echo(f"Signed {res.manifest.model_name}: {files} file{'s' if files != 1 else ''}, "
               f"{_rate(res.total_bytes, time.monotonic() - t0)} ({res.method}, "
               f"{hash_algorithm}) -> {res.signature_path}", err=True)


@click.command(
    "model",
    epilog="""\b
Examples:
  supplychain verify model ./my-model --key cosign.pub
  supplychain verify model ./my-model --certificate-chain ca-cert.pem
  supplychain verify model ./my-model --cert-identity alice@example.com \\
      --cert-oidc-issuer https://accounts.google.com
  supplychain verify model ./my-model --cert-identity-regexp '.*@example\\.com' \\
      --cert-oidc-issuer https://accounts.google.com --trusted-root trusted_root.json --offline
  supplychain verify model ./old-model --key key.pub --ignore-paths ignore-me

Verifies signatures from model_signing v0.2 to v1.1 (and ours). On a mismatch every
added, removed and changed file is listed.
Exit codes: 0 verified, 1 verification failed, 2 bad input, 3 Sigstore unreachable.""",
)
@click.argument("path", type=click.Path(exists=True, path_type=str))
@identity_options
@trust_options
@_cert_chain_option("Trusted CA certificates for a certificate-method signature (repeatable).")
@_model_options
@click.option("--ignore-unsigned-files", "--ignore_unsigned_files", "ignore_unsigned_files", is_flag=True,
              help="Check only the files the signature lists; ignore any others.")
@format_option
def verify_model(path: str, signature: str | None, certificate_chain: tuple[str, ...],
                 ignore_paths: tuple[str, ...], ignore_git_paths: bool, allow_symlinks: bool,
                 threads: int | None, ignore_unsigned_files: bool, **kwargs: Any) -> None:
    """Verify an ML model against its OpenSSF model-signing signature.

    The signature is checked with --key PUBLIC.pem, --certificate-chain CA.pem, or a
    keyless identity (--cert-identity[-regexp] and --cert-oidc-issuer[-regexp]); then
    every file is re-hashed and compared with the signed manifest.
    """
    from supplychain.signing.model import verify_model as do_verify

    as_json = wants_json(kwargs)
    progress = _Progress("hashing")
    t0 = time.monotonic()
    try:
        res = do_verify(path, identity_spec(kwargs, require=not certificate_chain), trust_spec(kwargs), signature=signature,
                        certificate_chain=certificate_chain, ignore_paths=ignore_paths,
                        ignore_git_paths=ignore_git_paths, allow_symlinks=allow_symlinks,
                        ignore_unsigned_files=ignore_unsigned_files, threads=threads, progress=progress)
    finally:
        progress.close()
    for w in res.warnings:
        click.echo(f"warning: {w}", err=True)
    if as_json:
        import json

        click.echo(json.dumps({"verified": True, "model": path, "signature": str(res.signature_path),
                               "method": res.method, "signer": res.signer, "files": res.files,
                               "bytes": res.total_bytes, "warnings": res.warnings}, indent=2))
        return
    click.echo(f"Verified {path}: {res.files} file{'s' if res.files != 1 else ''} match {res.signature_path} "
               f"({res.method}; signer: {res.signer}; {_rate(res.total_bytes, time.monotonic() - t0)})")


@click.command(
    "model",
    epilog="""\b
Examples:
  supplychain sbom model ./my-model -o model.cdx.json
  supplychain sbom model ./my-model --hash-algorithm blake3 --output-format xml
  supplychain sbom model model.safetensors --output-reproducible

One machine-learning-model component per weight file (safetensors, gguf, onnx,
pt/pth/bin, h5, ...) and one file component per other file, with the digests a
model signature holds. Exit codes: 0 ok, 2 bad input.""",
)
@click.argument("path", type=click.Path(exists=True, path_type=str))
@click.option("--hash-algorithm", type=click.Choice(["sha256", "blake3"]), default="sha256", show_default=True,
              help="Digest of each file.")
@click.option("--ignore-paths", "ignore_paths", multiple=True, metavar="PATH",
              help="Leave this file or directory out (repeatable).")
@click.option("--ignore-git-paths/--no-ignore-git-paths", default=True, show_default=True,
              help="Leave out .git, .gitattributes, .github and .gitignore.")
@click.option("--allow-symlinks", is_flag=True, help="Hash the files symbolic links point to.")
@click.option("--threads", type=click.IntRange(1, 256), default=None, metavar="N",
              help="Hashing threads (default: one per CPU).")
@sbom_output_options
def sbom_model(path: str, hash_algorithm: str, ignore_paths: tuple[str, ...], ignore_git_paths: bool,
               allow_symlinks: bool, threads: int | None, spec_version: str, output_format: str,
               output: str | None, output_reproducible: bool) -> None:
    """CycloneDX SBOM of ML model files (a model directory or one weight file)."""
    from supplychain.fileio import write_output
    from supplychain.gate.model_sbom import model_packages
    from supplychain.sbom.cyclonedx import render_bom

    progress = _Progress("hashing")
    try:
        root, packages = model_packages(path, hash_algorithm=hash_algorithm, ignore_paths=ignore_paths,
                                        ignore_git_paths=ignore_git_paths, allow_symlinks=allow_symlinks,
                                        threads=threads, progress=progress)
    finally:
        progress.close()
    data = render_bom(root, packages, spec_version=spec_version, fmt=output_format,
                      reproducible=output_reproducible)
    write_output(data, output)
