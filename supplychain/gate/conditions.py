"""CEL conditions on attestation predicates (as Kyverno / Sigstore policy-controller write them).

In the gate policy, an ``attestations:`` entry may carry ``conditions``, keyed by one of its
required types; each is a CEL expression (or ``{expression, message}``) over:

* ``predicate`` -- the verified predicate document (a map);
* ``predicateType`` -- its type URI;
* ``signer`` -- ``{kind, identity, issuer, key}`` of who signed the attestation;
* ``image`` -- the image's digest reference;
* ``now`` -- the current time (a CEL timestamp).

A required attestation passes when at least one trusted attestation of the type makes every one
of its conditions true. A condition that errors (a missing field, a wrong type) or gives anything
but ``true`` is not met (fail closed). Expressions are compiled when the policy is loaded: a
syntax error, or a reference to an unknown variable or function, is an input error naming the
entry (``policy check`` and ``gate`` both refuse the policy).

Examples::

    predicate.runDetails.builder.id == "https://github.com/actions/runner/github-hosted"
    timestamp(predicate.metadata.timestamp) > now - duration("720h")        # SBOM <= 30 days old
    !predicate.scanner.result.exists(v, v.severity in ["CRITICAL", "HIGH"])
"""

from __future__ import annotations

import datetime
import json
from dataclasses import dataclass
from typing import Any

from supplychain.errors import InputError

VARIABLES = ("predicate", "predicateType", "signer", "image", "now")


def _short(exc: BaseException) -> str:
    text = str(exc.args[0]) if exc.args else str(exc)
    return text.split(" (in activation", 1)[0].strip()[:300]


@dataclass(frozen=True)
class Condition:
    type: str  # predicate type URI
    expression: str
    message: str | None
    program: Any  # celpy Runner

    def evaluate(self, activation: dict[str, Any]) -> str | None:
        """None when the condition holds, else why not."""
        from celpy import celtypes
        from celpy.evaluation import CELEvalError

        try:
            result = self.program.evaluate(activation)
        except CELEvalError as exc:
            return f"{self.message or self.expression}: {_short(exc)}"
        except Exception as exc:
            return f"{self.message or self.expression}: evaluation failed: {type(exc).__name__}: {_short(exc)}"
        if isinstance(result, CELEvalError):
            return f"{self.message or self.expression}: {_short(result)}"
        if result is True or (isinstance(result, celtypes.BoolType) and bool(result)):
            return None
        if isinstance(result, (bool, celtypes.BoolType)):
            return self.message or f"{self.expression} is false"
        return f"{self.message or self.expression}: gave {result!r}, not a boolean"


def _sample() -> dict[str, Any]:
    return activation(b"{}", "https://example.invalid/type", None, "example.invalid/x@sha256:" + "0" * 64)


def compile_condition(expression: str, type_uri: str, message: str | None, where: str) -> Condition:
    """Compile one CEL expression; InputError naming ``where`` for a bad one."""
    import celpy
    from celpy.celparser import CELParseError
    from celpy.evaluation import CELEvalError

    env = celpy.Environment()
    try:
        ast = env.compile(expression)
        program = env.program(ast)
    except CELParseError as exc:
        raise InputError(f"{where}: invalid CEL expression {expression!r}: {_short(exc)}",
                         hint="see https://github.com/google/cel-spec for the syntax") from None
    except Exception as exc:
        raise InputError(f"{where}: invalid CEL expression {expression!r}: {_short(exc)}") from None
    # a dry run on an empty predicate: unknown variables and functions show up now, not at deploy time
    try:
        program.evaluate(_sample())
    except CELEvalError as exc:
        if "undeclared reference" in _short(exc):
            raise InputError(f"{where}: CEL expression {expression!r}: {_short(exc)}",
                             hint="the variables are " + ", ".join(VARIABLES)) from None
    except Exception:
        pass
    return Condition(type_uri, expression, message, program)


def activation(predicate: bytes, predicate_type: str, signer: dict[str, Any] | None, image: str,
               now: datetime.datetime | None = None) -> dict[str, Any]:
    """The CEL variables for one attestation."""
    from celpy import celtypes
    from celpy.adapter import json_to_cel

    try:
        doc = json.loads(predicate)
    except ValueError:
        doc = None
    when = now or datetime.datetime.now(datetime.UTC)
    signer_doc = {k: v for k, v in (signer or {}).items() if isinstance(v, (str, int, bool)) or v is None}
    return {
        "predicate": json_to_cel(doc),
        "predicateType": celtypes.StringType(predicate_type),
        "signer": json_to_cel(signer_doc),
        "image": celtypes.StringType(image),
        "now": celtypes.TimestampType(when),
    }


def parse_conditions(entry: Any, types: tuple[str, ...], where: str) -> list[Condition]:
    """The ``conditions`` of an ``attestations:`` entry (keyed by a type it requires)."""
    from supplychain.signing import attest as at

    raw = entry.get("conditions")
    if not raw:
        return []
    out: list[Condition] = []
    for key, items in raw.items():
        try:
            type_uri = at.predicate_type_for(str(key))
        except InputError as exc:
            raise exc.with_prefix(f"{where}.conditions") from exc
        if not any(at.same_predicate_type(type_uri, t) for t in types):
            raise InputError(f"{where}.conditions.{key}: {key} is not among the entry's `require` types",
                             hint="conditions apply to a required attestation; add the type to `require`")
        for i, item in enumerate(items if isinstance(items, list) else [items]):
            spot = f"{where}.conditions.{key}[{i}]"
            if isinstance(item, str):
                out.append(compile_condition(item, type_uri, None, spot))
            else:
                out.append(compile_condition(str(item["expression"]), type_uri,
                                             str(item["message"]) if item.get("message") else None, spot))
    return out
