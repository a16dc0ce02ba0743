"""Findings, severities and the rule catalogue (stable ids, default severities, help text).

Rule ids are stable: ``SC-IMG-nnn`` for image references (any file kind), ``DF-nnn`` for
Dockerfiles, ``CMP-nnn`` for compose files, ``K8S-nnn`` for Kubernetes manifests and
``SC-POL-nnn`` for the policy file itself. New rules get new numbers; ids are never reused.
Other layers (the deploy gate, vulnerability and image checks) register their own rules with
:func:`register_rule` from an explicit registration function they call, never on import.

A :class:`Finding` is the one record every check produces; waivers
(:mod:`supplychain.policy.waivers`) and reports (:mod:`supplychain.policy.report`) take it.
Severities are the :class:`Severity` enum; a severity that is not one of its values is rejected
where it enters (``Severity.parse``, the ``Finding`` and ``Rule`` constructors) with ValueError,
never guessed at by a report writer.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any


class Severity(StrEnum):
    """How bad a finding is. A StrEnum: it compares equal to (and serialises as) its value."""

    NOTE = "note"
    WARNING = "warning"
    ERROR = "error"

    @property
    def rank(self) -> int:
        return _RANK[self]

    @classmethod
    def parse(cls, value: str | Severity) -> Severity:
        """The severity named ``value``; ValueError (naming the allowed ones) for anything else."""
        try:
            return cls(value)
        except ValueError:
            allowed = ", ".join(s.value for s in cls)
            raise ValueError(f"unknown severity {value!r} (expected one of: {allowed})") from None


_RANK = {Severity.NOTE: 1, Severity.WARNING: 2, Severity.ERROR: 3}
SEVERITIES = tuple(s.value for s in Severity)
SEVERITY_RANK: dict[str, int] = {s.value: _RANK[s] for s in Severity}


@dataclass(frozen=True, slots=True)
class Rule:
    id: str
    name: str  # short PascalCase name, used as SARIF rule name
    severity: Severity  # default severity
    summary: str  # one line: what is wrong
    help: str  # what to do instead, and why
    kind: str  # "image", "dockerfile", "compose", "kubernetes", "policy", "gate", ...

    def __post_init__(self) -> None:
        object.__setattr__(self, "severity", Severity.parse(self.severity))


@dataclass(slots=True)
class Finding:
    """One violation of one rule at one place (a file position, and the image when there is one)."""

    rule: str
    severity: Severity
    file: str
    line: int
    column: int | None
    message: str
    fix: str
    image: str | None = None  # the normalised image reference the finding is about, when there is one
    extra: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.severity = Severity.parse(self.severity)

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "rule": self.rule,
            "severity": self.severity.value,
            "file": self.file,
            "line": self.line,
            "column": self.column,
            "message": self.message,
            "fix": self.fix,
            "image": self.image,
        }
        return out

    def sort_key(self) -> tuple[str, int, int, str]:
        return (self.file, self.line, self.column or 0, self.rule)


RULES: dict[str, Rule] = {}


def register_rule(rule: Rule) -> Rule:
    """Add a rule to the catalogue (ids must be unique; registering the same rule again is a no-op)."""
    if rule.id in RULES and RULES[rule.id] != rule:
        raise ValueError(f"rule id {rule.id} is already registered")
    RULES[rule.id] = rule
    return rule


def _r(id: str, name: str, severity: str, kind: str, summary: str, help: str) -> None:
    register_rule(Rule(id, name, Severity.parse(severity), summary, help, kind))


# --- image references (all file kinds) ---------------------------------------------------------
_r("SC-IMG-001", "UntrustedRegistry", "error", "image",
   "Image comes from a registry or repository the policy does not trust.",
   "Use an image from a trusted registry (mirror it there first), or add the registry to "
   "trusted_registries in the policy / pass --trusted-registry GLOB.")
_r("SC-IMG-002", "ImageNotPinned", "error", "image",
   "Image is referenced by tag only, not pinned by digest.",
   "Pin the image by digest (image:tag@sha256:...) so every build and deploy gets the same bytes; "
   "`supplychain pin PATH` rewrites references in place.")
_r("SC-IMG-003", "MutableTag", "error", "image",
   "Image uses the `latest` tag or no tag at all.",
   "Use an explicit version tag plus a digest (image:1.2.3@sha256:...); `latest` changes under you.")
_r("SC-IMG-004", "UnresolvableImage", "warning", "image",
   "Image reference depends on a variable with no default and cannot be checked.",
   "Give the build argument / variable a default value (ARG BASE=image:tag@sha256:...) or pass "
   "--build-arg so the reference can be checked.")
_r("SC-IMG-005", "InvalidImageReference", "error", "image",
   "Image reference is not a valid reference.",
   "Write the reference as [registry/]repository[:tag][@sha256:digest].")

# --- Dockerfile -----------------------------------------------------------------------------------
_r("DF-001", "NoUser", "error", "dockerfile",
   "The final stage has no USER instruction, so the container runs as root.",
   "Add `USER <non-root uid>` (e.g. `USER 10001`) to the final stage after installing packages.")
_r("DF-002", "RootUser", "error", "dockerfile",
   "The final stage's USER is root (or uid 0).",
   "Switch to a non-root user at the end of the final stage, e.g. `USER 10001:10001`.")
_r("DF-003", "SecretInEnvOrArg", "error", "dockerfile",
   "A secret is set with ENV or ARG; it stays in the image config and build history.",
   "Use a BuildKit secret mount (`RUN --mount=type=secret,id=...`) at build time and inject "
   "runtime secrets from the orchestrator, never ENV/ARG.")
_r("DF-004", "SensitiveFileCopied", "error", "dockerfile",
   "COPY/ADD copies a .env file, private key or credentials file into the image.",
   "Do not copy secrets into images: add the file to .dockerignore and use a secret mount or "
   "runtime secret instead.")
_r("DF-005", "AddUrlWithoutChecksum", "warning", "dockerfile",
   "ADD downloads a URL without --checksum, so the content is not verified.",
   "Use `ADD --checksum=sha256:<hex> <url> <dest>` or download and verify in a RUN step.")
_r("DF-006", "CurlPipeShell", "error", "dockerfile",
   "A remote script is piped straight into a shell (curl ... | sh).",
   "Download the script, verify its checksum or signature, then run it; or use a package manager.")
_r("DF-007", "DatabasePortExposed", "warning", "dockerfile",
   "EXPOSE publishes a Redis or database port.",
   "Do not expose datastore ports from application images; keep databases on an internal "
   "network and connect through it.")
_r("DF-008", "UnpinnedPackageVersion", "warning", "dockerfile",
   "apt/apk/pip/npm installs packages without pinning their versions.",
   "Pin each package (apt-get install curl=8.5.0-2, apk add curl=8.5.0-r0, pip install x==1.2.3, "
   "npm install x@1.2.3) or install from a lock file, so rebuilds get the same packages.")
_r("DF-009", "AptInstallRecommends", "warning", "dockerfile",
   "apt-get install without --no-install-recommends pulls in packages nobody asked for.",
   "Add --no-install-recommends to apt-get install; list what you need explicitly.")
_r("DF-010", "AptListsNotCleaned", "warning", "dockerfile",
   "apt-get install without removing /var/lib/apt/lists in the same RUN leaves the package lists in the layer.",
   "End the same RUN with `&& rm -rf /var/lib/apt/lists/*` (or use a cache mount for /var/lib/apt).")
_r("DF-011", "PipelineWithoutPipefail", "warning", "dockerfile",
   "A RUN pipeline's failure is hidden: only the last command's exit status counts without pipefail.",
   "Start the RUN with `set -o pipefail &&` or set `SHELL [\"/bin/bash\", \"-o\", \"pipefail\", \"-c\"]`.")
_r("DF-012", "AddLocalFile", "warning", "dockerfile",
   "ADD of a local file or archive where COPY is meant (ADD silently unpacks local archives).",
   "Use COPY for local files; if unpacking an archive is intended, say so with an inline ignore.")
_r("DF-013", "Sudo", "error", "dockerfile",
   "RUN uses sudo.",
   "Build steps already run as the stage's USER; switch with USER root / USER <app> instead of sudo, "
   "and do not ship sudo in images.")
_r("DF-014", "RelativeWorkdir", "warning", "dockerfile",
   "WORKDIR is a relative path, which depends on every earlier WORKDIR.",
   "Use an absolute WORKDIR, e.g. `WORKDIR /app`.")
_r("DF-015", "MultipleCmdOrEntrypoint", "warning", "dockerfile",
   "A stage has more than one CMD or ENTRYPOINT; only the last one takes effect.",
   "Keep one CMD and at most one ENTRYPOINT per stage.")
_r("DF-016", "BuildContextSecret", "error", "dockerfile",
   "COPY/ADD of a directory sends a .env file, key or credentials file from the build context into "
   "the image, and no .dockerignore excludes it.",
   "Exclude the file in .dockerignore (e.g. `**/.env`, `**/*.pem`, `**/auth.json`), or copy only "
   "the files the image needs.")

# --- compose --------------------------------------------------------------------------------------
_r("CMP-001", "PrivilegedService", "error", "compose",
   "Service runs privileged.",
   "Remove `privileged: true`; grant only the specific capabilities the service needs with cap_add.")
_r("CMP-002", "DockerSocketMounted", "error", "compose",
   "The Docker socket is mounted into the service (root on the host).",
   "Do not mount /var/run/docker.sock; use a socket proxy with a minimal API allow-list if you must.")
_r("CMP-003", "HostNetwork", "error", "compose",
   "Service uses the host network namespace (network_mode: host).",
   "Use a bridge network and publish only the ports you need.")
_r("CMP-004", "HostPid", "error", "compose",
   "Service shares the host PID namespace (pid: host).",
   "Remove `pid: host`.")
_r("CMP-005", "DangerousCapability", "error", "compose",
   "Service adds ALL or SYS_ADMIN capabilities.",
   "Drop all capabilities (cap_drop: [ALL]) and add back only narrow ones such as NET_BIND_SERVICE.")
_r("CMP-006", "DatastorePortPublished", "error", "compose",
   "A Redis / database port is published on all host interfaces.",
   "Bind it to loopback (\"127.0.0.1:6379:6379\") or do not publish it; services reach it over "
   "the compose network.")
_r("CMP-007", "LiteralSecretInEnvironment", "error", "compose",
   "A secret is written literally in `environment`.",
   "Use compose `secrets:` or an env_file kept out of version control, or reference a variable "
   "(${DB_PASSWORD}).")
_r("CMP-008", "RootUser", "warning", "compose",
   "Service is configured to run as root (user: root / 0).",
   "Set `user:` to a non-root uid:gid, e.g. \"10001:10001\".")
_r("CMP-020", "NoUser", "warning", "compose",
   "Service has no `user:`, so it runs as the image's default user (often root).",
   "Set `user:` to a non-root uid:gid, e.g. \"10001:10001\".")
_r("CMP-021", "NoNewPrivilegesMissing", "warning", "compose",
   "Service does not set security_opt no-new-privileges, so setuid binaries can gain privileges.",
   "Add `security_opt: [\"no-new-privileges:true\"]` to the service.")
_r("CMP-022", "SecretInEnvFile", "error", "compose",
   "An env_file the service reads holds a literal secret (a password, token, or URL with a password).",
   "Keep secrets out of files next to the compose file: use compose `secrets:` or let the deploy "
   "environment provide the variable.")

# --- Kubernetes -----------------------------------------------------------------------------------
_r("K8S-001", "PrivilegedContainer", "error", "kubernetes",
   "Container runs privileged.",
   "Remove `securityContext.privileged: true`.")
_r("K8S-002", "PrivilegeEscalation", "error", "kubernetes",
   "allowPrivilegeEscalation is not set to false.",
   "Set `securityContext.allowPrivilegeEscalation: false` on every container.")
_r("K8S-003", "RunAsNonRootMissing", "error", "kubernetes",
   "Container may run as root: runAsNonRoot is not true and no non-zero runAsUser is set.",
   "Set `securityContext.runAsNonRoot: true` (pod or container level) and a non-zero runAsUser.")
_r("K8S-004", "RunAsRoot", "error", "kubernetes",
   "Container runs as uid 0 (runAsUser: 0).",
   "Use a non-zero runAsUser, e.g. 10001.")
_r("K8S-005", "DangerousHostPath", "error", "kubernetes",
   "A hostPath volume mounts the Docker/containerd socket or the host root filesystem.",
   "Remove the hostPath volume; use the Kubernetes API or a narrowly scoped volume instead.")
_r("K8S-006", "HostNetwork", "error", "kubernetes",
   "Pod uses the host network (hostNetwork: true).",
   "Remove `hostNetwork: true`; expose the pod through a Service.")
_r("K8S-007", "HostPidOrIpc", "error", "kubernetes",
   "Pod shares the host PID or IPC namespace.",
   "Remove `hostPID: true` / `hostIPC: true`.")
_r("K8S-008", "CapabilitiesNotDropped", "error", "kubernetes",
   "Container does not drop all Linux capabilities.",
   "Set `securityContext.capabilities.drop: [\"ALL\"]` and add back only what is needed.")
_r("K8S-009", "WritableRootFilesystem", "warning", "kubernetes",
   "readOnlyRootFilesystem is not set to true.",
   "Set `securityContext.readOnlyRootFilesystem: true`; mount an emptyDir where the app must write.")
_r("K8S-010", "LiteralSecretInEnv", "error", "kubernetes",
   "A secret is written literally as an env value.",
   "Store it in a Secret and use `valueFrom.secretKeyRef`.")
_r("K8S-011", "DangerousCapability", "error", "kubernetes",
   "Container adds ALL or SYS_ADMIN capabilities.",
   "Remove the capability from `securityContext.capabilities.add`.")

# hardening checklist (issue 14; logic in supplychain.policy.hardening)
_r("K8S-020", "SeccompProfileMissing", "error", "kubernetes",
   "Container has no RuntimeDefault or Localhost seccomp profile (pod or container level).",
   "Set `securityContext.seccompProfile: {type: RuntimeDefault}` on the pod (or each container).")
_r("K8S-021", "UnconfinedSecurityProfile", "error", "kubernetes",
   "A seccomp or AppArmor profile is Unconfined (securityContext or annotation).",
   "Use `type: RuntimeDefault` (or a Localhost profile) for seccompProfile and appArmorProfile.")
_r("K8S-022", "SensitiveHostPath", "error", "kubernetes",
   "A hostPath volume mounts a sensitive host directory (/etc, /root, /proc, /sys, /var/run, /var/lib/docker, ...).",
   "Remove the hostPath volume; use a ConfigMap, Secret, emptyDir or a CSI volume instead.")
_r("K8S-023", "ServiceAccountTokenMounted", "warning", "kubernetes",
   "The pod mounts a service-account token (automountServiceAccountToken is not false).",
   "Set `automountServiceAccountToken: false` on the pod spec unless the workload calls the Kubernetes API.")
_r("K8S-024", "NoDefaultDenyNetworkPolicy", "warning", "kubernetes",
   "A namespace has workloads but no default-deny NetworkPolicy among the checked manifests.",
   "Add a NetworkPolicy with `podSelector: {}` and `policyTypes: [Ingress]` (and Egress) to the namespace, "
   "then allow only the flows each workload needs; without one, lateral movement is open.")
_r("CMP-030", "UnconfinedSecurityProfile", "error", "compose",
   "Service disables seccomp or AppArmor (security_opt seccomp=unconfined / apparmor=unconfined).",
   "Remove the `unconfined` security_opt; the runtime's default profiles block dangerous syscalls.")
_r("CMP-031", "WritableRootFilesystem", "warning", "compose",
   "Service does not set `read_only: true`.",
   "Set `read_only: true` and mount a tmpfs or volume where the service must write.")
_r("CMP-032", "CapabilitiesNotDropped", "error", "compose",
   "Service does not drop all Linux capabilities (cap_drop: [ALL]).",
   "Add `cap_drop: [ALL]` and add back only what is needed with cap_add (e.g. NET_BIND_SERVICE).")
_r("CMP-033", "SensitiveHostPathMounted", "error", "compose",
   "A sensitive host path (/, /etc, /root, /proc, /sys, /var/run, /var/lib/docker, ...) is bind-mounted.",
   "Do not mount host system directories into containers; mount only the specific files the service needs, "
   "read-only.")
_r("CMP-034", "WritableAppDirectory", "error", "compose",
   "The application directory is bind-mounted writable into a service that is not a dev service.",
   "Ship the code in the image (or mount it `:ro`); keep writable bind mounts of the source tree to dev "
   "services, profiles or override files.")
_r("CMP-035", "DatastoreOnDefaultNetwork", "note", "compose",
   "A datastore publishes nothing but shares the default network with every other service.",
   "Put the datastore on an `internal: true` network shared only with the services that use it.")

# --- the policy itself ----------------------------------------------------------------------------
_r("SC-POL-001", "ExpiredWaiver", "error", "policy",
   "A waiver in the policy has expired.",
   "Fix the findings it waived, or renew the waiver with a new expiry date and a reason.")
_r("SC-POL-002", "InvalidInlineIgnore", "error", "policy",
   "A `# supplychain:ignore` comment names no rule id, an unknown rule, or gives no reason.",
   "Write `# supplychain:ignore RULE-ID[,RULE-ID] reason: why this is acceptable` next to (or on "
   "the line above) the finding.")

# The kinds of rule `policy check` applies (the rules it lists in a SARIF run); layers above add others.
POLICY_KINDS = frozenset({"image", "dockerfile", "compose", "kubernetes", "policy"})
