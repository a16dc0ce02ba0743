"""Entry point: a click group whose subcommands are imported only when used.

Each command lives in its own module under ``supplychain.cli``; the table below maps a
command path to ``module:attribute`` plus a one-line summary, so ``supplychain --help``
lists everything without importing sigstore, model_signing or jsonschema.
"""

from __future__ import annotations

import errno
import importlib
import importlib.util
import os
import sys
import traceback
from typing import Any, NoReturn

import click

from supplychain import __version__
from supplychain.errors import EXIT_INPUT, EXIT_INTERNAL, SupplychainError

# command path -> (module:attr, short help). Groups are the keys with a trailing "".
COMMANDS: dict[str, tuple[str, str]] = {
    "sbom composer": ("supplychain.cli.sbom_composer:composer", "CycloneDX SBOM of a PHP Composer project."),
    "sbom image": ("supplychain.cli.sbom_image:image", "CycloneDX SBOM of a container image."),
    "sbom model": ("supplychain.cli.model:sbom_model", "CycloneDX SBOM of ML model weight files."),
    "sbom validate": ("supplychain.cli.sbom_tools:validate", "Validate an SBOM against the CycloneDX schema."),
    "sbom inspect": ("supplychain.cli.sbom_tools:inspect", "Summarise what an SBOM contains."),
    "sbom diff": ("supplychain.cli.sbom_tools:diff", "Compare two SBOMs."),
    "sbom dir": ("supplychain.cli.sbom_dir:sbom_dir", "CycloneDX SBOM of a directory or unpacked root filesystem."),
    "sbom convert": ("supplychain.cli.sbom_convert:convert", "Convert a CycloneDX SBOM to SPDX 2.3 JSON."),
    "keygen": ("supplychain.cli.keys:keygen", "Create an ECDSA P-256 signing key pair."),
    "sign blob": ("supplychain.cli.blob:sign_blob", "Sign a file into a Sigstore bundle."),
    "sign model": ("supplychain.cli.model:sign_model", "Sign ML model weights (OpenSSF model-signing)."),
    "sign image": ("supplychain.cli.image_sign:sign_image", "Sign a container image by digest."),
    "verify blob": ("supplychain.cli.blob:verify_blob", "Verify a file against its Sigstore bundle."),
    "verify model": ("supplychain.cli.model:verify_model", "Verify a signed ML model."),
    "verify image": ("supplychain.cli.image_sign:verify_image", "Verify an image's signatures and attestations."),
    "attest image": ("supplychain.cli.image_sign:attest_image", "Attach a signed attestation (SBOM, provenance) to an image."),
    "policy check": ("supplychain.cli.policy:check", "Check Dockerfiles, compose files and manifests against a policy."),
    "pin": ("supplychain.cli.pin:pin", "Pin image references to their digests."),
    "tree": ("supplychain.cli.registry_cmds:tree", "Show the signatures, attestations and SBOMs attached to an image."),
    "download": ("supplychain.cli.registry_cmds:download", "Download an image's attestations, SBOMs or signatures."),
    "copy": ("supplychain.cli.registry_cmds:copy", "Copy an image and everything attached to it to another registry."),
    "gate": ("supplychain.cli.gate:gate", "Deploy gate: policy, signatures and attestations for every image."),
    "vuln db import": ("supplychain.cli.vuln:db_import", "Import advisories (OSV exports, FriendsOfPHP)."),
    "vuln db status": ("supplychain.cli.vuln:db_status", "What the vulnerability database holds and how old it is."),
    "vuln scan": ("supplychain.cli.vuln:scan", "Scan an SBOM, Composer project or image for known vulnerabilities."),
    "serve admission": ("supplychain.cli.serve:admission", "The deploy gate as a Kubernetes admission webhook."),
    "serve certs": ("supplychain.cli.serve:certs", "Create a CA and serving certificate for the admission webhook."),
}

GROUP_HELP: dict[str, str] = {
    "sbom": "Create, validate, inspect and compare CycloneDX SBOMs.",
    "sign": "Sign files, ML models and container images with Sigstore.",
    "verify": "Verify Sigstore signatures of files, ML models and container images.",
    "attest": "Attach signed in-toto attestations to container images.",
    "policy": "Check release artefacts against a supply-chain policy.",
    "vuln": "Known vulnerabilities: advisory database, scans, VEX.",
    "db": "Manage the local vulnerability database.",
    "serve": "Run supplychain as a service (Kubernetes admission webhook).",
}


def _available(target: str) -> bool:
    module = target.split(":", 1)[0]
    try:
        return importlib.util.find_spec(module) is not None
    except ModuleNotFoundError:
        return False


class LazyGroup(click.Group):
    """A group whose subcommands come from COMMANDS and are imported on first use."""

    def __init__(self, *args: Any, prefix: str = "", **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.prefix = prefix

    def _children(self) -> dict[str, tuple[str | None, str]]:
        children: dict[str, tuple[str | None, str]] = {}
        for path, (target, short) in COMMANDS.items():
            if not path.startswith(self.prefix):
                continue
            rest = path[len(self.prefix) :].split(" ")
            if len(rest) == 1:
                if _available(target):
                    children[rest[0]] = (target, short)
            else:
                sub_prefix = self.prefix + rest[0] + " "
                if any(
                    p.startswith(sub_prefix) and _available(t) for p, (t, _) in COMMANDS.items()
                ):
                    children.setdefault(rest[0], (None, GROUP_HELP.get(rest[0], "")))
        return children

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(set(super().list_commands(ctx)) | set(self._children()))

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        existing = super().get_command(ctx, cmd_name)
        if existing is not None:
            return existing
        entry = self._children().get(cmd_name)
        if entry is None:
            return None
        target, short = entry
        if target is None:
            group = LazyGroup(name=cmd_name, help=short, prefix=self.prefix + cmd_name + " ")
            return group
        module_name, attr = target.split(":", 1)
        module = importlib.import_module(module_name)
        command = getattr(module, attr)
        if not isinstance(command, click.Command):
            raise TypeError(f"{target} is not a click command")
        return command

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        rows = [(name, short) for name, (_, short) in sorted(self._children().items())]
        if rows:
            with formatter.section("Commands"):
                formatter.write_dl(rows)


@click.group(
    cls=LazyGroup,
    context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100},
    epilog="""\b
Examples:
  supplychain sbom composer path/to/project -o bom.json
  supplychain sbom image docker.io/library/php:8.3-cli -o image.cdx.json
  supplychain sign blob release.tar.gz --key cosign.key
  supplychain policy check deploy/ --policy policies/default.yaml
  supplychain gate deploy/ --policy policies/release.yaml --offline

Exit codes: 0 ok, 1 verification failed or policy violated, 2 bad input or usage,
3 registry or network failure (the gate: no decision), 70 internal error (a bug).""",
)
@click.version_option(__version__, prog_name="supplychain")
@click.option("--debug", is_flag=True, help="Show a full traceback on errors.")
@click.pass_context
def cli(ctx: click.Context, debug: bool) -> None:
    """Software supply-chain security for container and PHP/AI releases.

    SBOMs (CycloneDX), Sigstore signing and verification for files, ML models and
    images, release policy checks, and a deploy gate that answers yes or no.
    """
    ctx.ensure_object(dict)
    ctx.obj["debug"] = debug


def main(argv: list[str] | None = None) -> None:
    """Run the CLI, mapping SupplychainError to its exit code without a traceback."""
    args = sys.argv[1:] if argv is None else argv
    debug = "--debug" in args or os.environ.get("SUPPLYCHAIN_DEBUG") == "1"
    from supplychain.fileio import track_inputs

    track_inputs()  # an output file may not replace an input file of the same command
    try:
        rv = cli.main(args=args, prog_name="supplychain", standalone_mode=False)
    except SupplychainError as exc:
        if debug:
            traceback.print_exc()
        click.echo(f"error: {exc.message}", err=True)
        if exc.hint:
            click.echo(f"hint: {exc.hint}", err=True)
        sys.exit(exc.exit_code)
    except click.exceptions.Abort:
        click.echo("aborted", err=True)
        sys.exit(130)
    except click.ClickException as exc:
        exc.show()
        sys.exit(exc.exit_code)
    except click.exceptions.Exit as exc:
        sys.exit(exc.exit_code)
    except KeyboardInterrupt:
        click.echo("interrupted", err=True)
        sys.exit(130)
    except BrokenPipeError:
        # stdout closed early (e.g. piped into `head`): not an error worth a traceback
        try:
            sys.stdout = open(os.devnull, "w")
        finally:
            sys.exit(0)
    except OSError as exc:
        if exc.filename is None and exc.errno in _OUTPUT_ERRNOS and _raised_by_echo(exc):
            # click.echo into a full disk or a dead terminal: no file name to blame but stdout
            if debug:
                traceback.print_exc()
            try:
                sys.stdout = open(os.devnull, "w")  # nothing more can be written there
            finally:
                click.echo(f"error: standard output: cannot write: {exc.strerror}", err=True)
                sys.exit(EXIT_INPUT)
        _internal_error(exc, debug)
    except Exception as exc:
        _internal_error(exc, debug)
    sys.exit(rv if isinstance(rv, int) else 0)


_OUTPUT_ERRNOS = {errno.ENOSPC, errno.EIO, errno.EFBIG, errno.EDQUOT}


def _raised_by_echo(exc: BaseException) -> bool:
    """True when ``exc`` came out of click.echo (printing the result), not from a file we were writing."""
    echo_code = click.utils.echo.__code__
    return any(frame.f_code is echo_code for frame, _ in traceback.walk_tb(exc.__traceback__))


def _internal_error(exc: Exception, debug: bool) -> NoReturn:
    if debug:
        traceback.print_exc()
    click.echo(
        f"error: internal error: {type(exc).__name__}: {exc} (rerun with --debug for a traceback)",
        err=True,
    )
    sys.exit(EXIT_INTERNAL)
