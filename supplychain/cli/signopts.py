"""Identity, trust and signer options shared by sign/verify blob, model and image, and gate."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar

import click

from supplychain.vocab import OutputFormat

if TYPE_CHECKING:  # imported where used: the decorators stay cheap for commands that load this module
    from supplychain.signing.policy import SignerPolicy
    from supplychain.signing.specs import SignerSpec, TrustSpec

F = TypeVar("F", bound=Callable[..., Any])


def _apply(func: F, decorators: list[Callable[[F], F]]) -> F:
    for deco in reversed(decorators):
        func = deco(func)
    return func


def format_option(func: F) -> F:
    """--format text|json (--json: the same as --format json)."""
    func = click.option("--json", "as_json", is_flag=True, help="The same as --format json.")(func)
    return click.option("--format", "output_format", type=click.Choice([OutputFormat.TEXT.value, OutputFormat.JSON.value]), default=None,
                        help="Report format (default text).")(func)


def wants_json(kwargs: dict[str, Any]) -> bool:
    fmt, flag = kwargs.pop("output_format", None), kwargs.pop("as_json", False)
    if flag and fmt == "text":
        from supplychain.errors import InputError

        raise InputError("give --json or --format text, not both")
    return bool(flag) or fmt == "json"


def identity_options(func: F) -> F:
    """--cert-identity[-regexp], --cert-oidc-issuer[-regexp] (cosign spellings too), --key."""
    return _apply(
        func,
        [
            click.option("--cert-identity", "--certificate-identity", "cert_identity", metavar="SUBJECT",
                         help="Exact signer identity (email or URI) the certificate must carry."),
            click.option("--cert-identity-regexp", "--certificate-identity-regexp", "cert_identity_regexp",
                         metavar="REGEX", help="Regular expression the signer identity must match."),
            click.option("--cert-oidc-issuer", "--certificate-oidc-issuer", "cert_oidc_issuer", metavar="URL",
                         help="Exact OIDC issuer of the signer's identity."),
            click.option("--cert-oidc-issuer-regexp", "--certificate-oidc-issuer-regexp",
                         "cert_oidc_issuer_regexp", metavar="REGEX",
                         help="Regular expression the OIDC issuer must match."),
            click.option("--key", "key", type=click.Path(dir_okay=False), metavar="PUBLIC.pem",
                         help="Verify against this PEM public key instead of a keyless identity."),
        ],
    )


def trust_options(func: F) -> F:
    """--trusted-root, --trust-config, --staging, --offline."""
    return _apply(
        func,
        [
            click.option("--trusted-root", type=click.Path(dir_okay=False, exists=True), metavar="FILE",
                         help="Sigstore trusted_root.json to verify against (hermetic)."),
            click.option("--trust-config", type=click.Path(dir_okay=False, exists=True), metavar="FILE",
                         help="Sigstore ClientTrustConfig JSON for a private Sigstore instance."),
            click.option("--staging", is_flag=True, help="Use the Sigstore staging instance's trust root."),
            click.option("--offline", is_flag=True,
                         help="Make no network call: use the embedded or given trust root as is."),
        ],
    )


def signer_options(func: F) -> F:
    """--key PRIVATE.pem, or keyless: --identity-token, --staging, --trust-config."""
    return _apply(
        func,
        [
            click.option("--key", "key", type=click.Path(dir_okay=False, exists=True), metavar="PRIVATE.pem",
                         envvar="COSIGN_KEY",
                         help="Sign with this PEM private key (default $COSIGN_KEY; password from "
                         "SUPPLYCHAIN_PASSWORD or COSIGN_PASSWORD, else a prompt). Without it, sign keyless "
                         "with Sigstore."),
            click.option("--identity-token", envvar="SIGSTORE_ID_TOKEN", metavar="JWT",
                         help="OIDC identity token for keyless signing (default: $SIGSTORE_ID_TOKEN, then "
                         "ambient CI credentials, then the browser flow on a terminal)."),
            click.option("--staging", is_flag=True, help="Sign with the Sigstore staging instance."),
            click.option("--trust-config", type=click.Path(dir_okay=False, exists=True), metavar="FILE",
                         help="Sigstore ClientTrustConfig JSON for a private Sigstore instance."),
            click.option("--tlog-upload", type=click.BOOL, default=None, metavar="BOOL",
                         help="With --key: log the signature to Rekor, as cosign does (default true; "
                         "--tlog-upload=false for air-gapped use: verifiers then get no signing time)."),
            click.option("--rekor-url", metavar="URL",
                         help="With --key: the Rekor v1 log to use (default https://rekor.sigstore.dev)."),
        ],
    )


def identity_spec(kwargs: dict[str, Any], *, require: bool = True) -> SignerPolicy:
    """The expected signer; contradictory options are a usage error (exit 2), never silently ignored.
    (Validation is :meth:`SignerPolicy.create`'s, shared with gate policy files.)"""
    from supplychain.signing.policy import SignerPolicy

    return SignerPolicy.create(
        key=kwargs.get("key"),
        identity=kwargs.get("cert_identity"),
        identity_regexp=kwargs.get("cert_identity_regexp"),
        issuer=kwargs.get("cert_oidc_issuer"),
        issuer_regexp=kwargs.get("cert_oidc_issuer_regexp"),
        require=require,
    )


def trust_spec(kwargs: dict[str, Any]) -> TrustSpec:
    """What to trust; two trust sources at once are a usage error (exit 2), checked before any work."""
    given = [opt for opt, on in (("--trusted-root", kwargs.get("trusted_root") is not None),
                                 ("--trust-config", kwargs.get("trust_config") is not None),
                                 ("--staging", bool(kwargs.get("staging")))) if on]
    if len(given) > 1:
        from supplychain.errors import InputError

        raise InputError(f"give one of {' / '.join(given)}, not several (each names the Sigstore instance to trust)")
    from supplychain.signing.specs import TrustSpec

    return TrustSpec(
        trusted_root=kwargs.get("trusted_root"),
        trust_config=kwargs.get("trust_config"),
        staging=bool(kwargs.get("staging")),
        offline=bool(kwargs.get("offline")),
    )


def signer_spec(kwargs: dict[str, Any]) -> SignerSpec:
    """How to sign; keyless-only options given with --key are a usage error (exit 2)."""
    if kwargs.get("key") is not None:
        from supplychain.errors import InputError

        ctx = click.get_current_context(silent=True)
        token_given = kwargs.get("identity_token") is not None and (
            ctx is None or ctx.get_parameter_source("identity_token") != click.core.ParameterSource.ENVIRONMENT)
        given = [opt for opt, on in (("--identity-token", token_given), ("--staging", bool(kwargs.get("staging"))),
                                     ("--trust-config", kwargs.get("trust_config") is not None)) if on]
        if given:
            raise InputError(f"give --key (sign with a key) or {' / '.join(given)} (keyless signing), not both")
    if kwargs.get("staging") and kwargs.get("trust_config") is not None:
        from supplychain.errors import InputError

        raise InputError("give --staging or --trust-config, not both (each names the Sigstore instance to use)")
    if kwargs.get("key") is None and (kwargs.get("tlog_upload") is False or kwargs.get("rekor_url")):
        from supplychain.errors import InputError

        raise InputError("--tlog-upload / --rekor-url apply to --key signing; keyless signatures are always "
                         "logged to the Sigstore instance's Rekor")
    if kwargs.get("tlog_upload") is False and kwargs.get("rekor_url"):
        from supplychain.errors import InputError

        raise InputError("give --tlog-upload=false or --rekor-url, not both")
    from supplychain.signing.specs import SignerSpec

    return SignerSpec(
        legacy_tags=bool(kwargs.get("legacy_tags")),
        tlog_upload=kwargs.get("tlog_upload"),
        rekor_url=kwargs.get("rekor_url"),
        key_path=kwargs.get("key"),
        identity_token=kwargs.get("identity_token"),
        staging=bool(kwargs.get("staging")),
        trust_config=kwargs.get("trust_config"),
    )
