"""supplychain serve admission: the deploy gate as a Kubernetes validating admission webhook."""

from __future__ import annotations

import re
from typing import Any

import click

from supplychain.cli.signopts import trust_options, trust_spec

_AGE = re.compile(r"^(\d+)([smhd])$")


def _age_seconds(text: str) -> float:
    m = _AGE.match(text.strip())
    if not m:
        from supplychain.errors import InputError

        raise InputError(f"--receipt-max-age {text!r}: give a number and a unit, e.g. 12h or 7d")
    return int(m.group(1)) * {"s": 1, "m": 60, "h": 3600, "d": 86400}[m.group(2)]


@click.command(
    "admission",
    epilog="""\b
Examples:
  # in the cluster, certificates from a Secret mounted at /tls (reloaded when rotated)
  supplychain serve admission --policy /policy/release.yaml --tls-cert /tls/tls.crt \\
      --tls-key /tls/tls.key --offline --trusted-root /trust/trusted_root.json
  # self-signed for a first install: writes the CA bundle for the webhook configuration
  supplychain serve admission --policy release.yaml --self-signed \\
      --service supplychain-admission --namespace supplychain --ca-bundle-out ca.pem
  # admit on signed gate receipts from the release pipeline (no registry call for those)
  supplychain serve admission --policy release.yaml --self-signed --receipt-key release.pub

The webhook answers POST /validate (AdmissionReview admission.k8s.io/v1) with the same policy
and decision code as `supplychain gate`: every policy rule on the object, then signatures,
attestations and SBOM rules per image, by digest only (tags are refused unless --resolve-tags).
It always fails closed: a malformed request, an image it cannot decide, an internal error or the
deadline (the API server's ?timeout= minus --deadline-margin) is a denial with a reason.
Decisions are cached by (digest, policy digest, trust root) for --cache-ttl seconds.
Also: GET /healthz, /readyz, /metrics (Prometheus). Manifests: deploy/ in the repository.""",
)
@click.option("--policy", "policy_path", required=True, type=click.Path(dir_okay=False, exists=True),
              metavar="FILE", help="The gate policy (the same file `supplychain gate` uses).")
@click.option("--host", default="0.0.0.0", show_default=True, help="Address to listen on.")
@click.option("--port", type=click.IntRange(0, 65535), default=8443, show_default=True, help="HTTPS port.")
@click.option("--tls-cert", type=click.Path(dir_okay=False, exists=True), metavar="FILE",
              help="PEM serving certificate (chain); re-read when it changes.")
@click.option("--tls-key", type=click.Path(dir_okay=False, exists=True), metavar="FILE",
              help="PEM private key of --tls-cert.")
@click.option("--self-signed", is_flag=True,
              help="Create a CA and a serving certificate for the service's DNS names and 127.0.0.1.")
@click.option("--service", default="supplychain-admission", show_default=True,
              help="Service name the API server calls (for --self-signed).")
@click.option("--namespace", default="supplychain", show_default=True,
              help="Namespace of that Service (for --self-signed).")
@click.option("--dns-name", "dns_names", multiple=True, metavar="NAME",
              help="Another DNS name for the --self-signed certificate (repeatable).")
@click.option("--ca-bundle-out", type=click.Path(dir_okay=False), metavar="FILE",
              help="Write the --self-signed CA (PEM) here, for the webhook's caBundle.")
@click.option("--cache-size", type=click.IntRange(0, 10_000_000), default=10_000, show_default=True,
              help="Image decisions kept (0: no cache).")
@click.option("--cache-ttl", type=click.FloatRange(0, 86400), default=300.0, show_default=True,
              help="Seconds a pass or fail decision is reused.")
@click.option("--undecided-ttl", type=click.FloatRange(0, 3600), default=10.0, show_default=True,
              help="Seconds an undecided answer (registry unreachable) is reused.")
@click.option("--deadline-margin", type=click.FloatRange(0, 30), default=1.0, show_default=True,
              help="Seconds kept back from the API server's timeout to answer in time.")
@click.option("--resolve-tags", is_flag=True,
              help="Resolve tag references to digests (reported) instead of refusing them.")
@click.option("--receipt-key", "receipt_keys", multiple=True, type=click.Path(dir_okay=False, exists=True),
              metavar="PUBLIC.pem", help="Admit on gate receipts signed by this key (repeatable).")
@click.option("--receipt-max-age", default="7d", show_default=True, metavar="AGE",
              help="Oldest receipt accepted (e.g. 12h, 7d).")
@click.option("--receipt-policy-digest", "receipt_policies", multiple=True, metavar="sha256:HEX",
              help="Also accept receipts made with this policy digest (repeatable).")
@click.option("--insecure-registry", "insecure", multiple=True, metavar="HOST",
              help="Talk plain HTTP to this registry (loopback registries are always allowed).")
@click.option("--workers", type=click.IntRange(1, 256), default=16, show_default=True,
              help="Images verified in parallel.")
@click.option("--no-tls", is_flag=True, hidden=True, help="Plain HTTP (tests and local benchmarks only).")
@trust_options
def admission(policy_path: str, host: str, port: int, tls_cert: str | None, tls_key: str | None,
              self_signed: bool, service: str, namespace: str, dns_names: tuple[str, ...],
              ca_bundle_out: str | None, cache_size: int, cache_ttl: float, undecided_ttl: float,
              deadline_margin: float, resolve_tags: bool, receipt_keys: tuple[str, ...],
              receipt_max_age: str, receipt_policies: tuple[str, ...], insecure: tuple[str, ...],
              workers: int, no_tls: bool, **kwargs: Any) -> None:
    """Serve the deploy gate as a Kubernetes validating admission webhook."""
    import datetime

    from supplychain.admission.cache import DecisionCache
    from supplychain.admission.engine import AdmissionEngine
    from supplychain.admission.gatecore import GateCore
    from supplychain.admission.receipts import ReceiptVerifier
    from supplychain.admission.server import bind, serve
    from supplychain.admission.tls import ReloadingContext, make_self_signed, service_names, write_self_signed
    from supplychain.errors import InputError
    from supplychain.fileio import write_output

    modes = sum([bool(tls_cert or tls_key), self_signed, no_tls])
    if modes != 1:
        raise InputError("give --tls-cert and --tls-key, or --self-signed (exactly one way to serve TLS)")
    if bool(tls_cert) != bool(tls_key):
        raise InputError("--tls-cert and --tls-key go together")
    if ca_bundle_out and not self_signed:
        raise InputError("--ca-bundle-out goes with --self-signed")
    verifier = None
    if receipt_keys:
        from supplychain.signing.keys import load_public_key

        verifier = ReceiptVerifier([load_public_key(k) for k in receipt_keys],
                                   datetime.timedelta(seconds=_age_seconds(receipt_max_age)),
                                   frozenset(receipt_policies))
    elif receipt_policies:
        raise InputError("--receipt-policy-digest goes with --receipt-key")
    core = GateCore(policy_path, trust=trust_spec(kwargs), insecure_registries=insecure)
    engine = AdmissionEngine(core, cache=DecisionCache(max_entries=cache_size, ttl=cache_ttl,
                                                       undecided_ttl=undecided_ttl),
                             resolve_tags=resolve_tags, receipts=verifier, workers=workers,
                             margin=deadline_margin)
    tls = None
    if self_signed:
        material = make_self_signed([*service_names(service, namespace), *dns_names])
        cert, key = write_self_signed(material)
        if ca_bundle_out:
            write_output(material.ca_pem.decode("ascii"), ca_bundle_out)
        tls = ReloadingContext(cert, key).current
    elif tls_cert and tls_key:
        tls = ReloadingContext(tls_cert, tls_key).current
    server = bind(host, port, engine, tls)
    serve(server)


@click.command(
    "certs",
    epilog="""\b
Examples:
  supplychain serve certs --out-dir tls/ --service supplychain-admission --namespace supplychain
  kubectl -n supplychain create secret tls supplychain-admission-tls \\
      --cert tls/tls.crt --key tls/tls.key
  kubectl patch validatingwebhookconfiguration supplychain-gate --type json -p \\
      "[{\\"op\\":\\"add\\",\\"path\\":\\"/webhooks/0/clientConfig/caBundle\\",\\"value\\":\\"$(base64 -w0 tls/ca.pem)\\"}]"

Writes ca.pem (the caBundle), tls.crt and tls.key (mode 0600) for the webhook Service's DNS
names (<service>, <service>.<namespace>, .svc, .svc.cluster.local) and 127.0.0.1. Use a
certificate manager in production and rotate by replacing the Secret: the server re-reads
--tls-cert / --tls-key when they change.""",
)
@click.option("--out-dir", required=True, type=click.Path(file_okay=False), metavar="DIR",
              help="Directory for ca.pem, tls.crt and tls.key (created if missing).")
@click.option("--service", default="supplychain-admission", show_default=True, help="Service name.")
@click.option("--namespace", default="supplychain", show_default=True, help="Service namespace.")
@click.option("--dns-name", "dns_names", multiple=True, metavar="NAME", help="Another DNS name (repeatable).")
@click.option("--days", type=click.IntRange(1, 3650), default=365, show_default=True, help="Validity in days.")
def certs(out_dir: str, service: str, namespace: str, dns_names: tuple[str, ...], days: int) -> None:
    """Create a CA and a serving certificate for the admission webhook."""
    from pathlib import Path

    from supplychain.admission.tls import make_self_signed, service_names, write_self_signed
    from supplychain.errors import InputError
    from supplychain.fileio import write_output

    material = make_self_signed([*service_names(service, namespace), *dns_names], days=days)
    try:
        cert, key = write_self_signed(material, out_dir)
    except OSError as exc:
        raise InputError(f"cannot write certificates to {out_dir}: {exc.strerror or exc}") from None
    write_output(material.ca_pem.decode("ascii"), str(Path(out_dir) / "ca.pem"))
    click.echo(f"wrote {Path(out_dir) / 'ca.pem'} (caBundle), {cert}, {key}")
