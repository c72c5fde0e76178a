"""The one exception tree of decnet, the issue-code registry, and the exit codes.

                                exit  HTTP
    DecnetError                 1     400  the root; never raised itself (test_architecture.py)
    ├── UsageError              64    400  called wrongly: a bad argument the CLI parser could not
    │   │                                  catch (names/--all, a reserved name, an unusable --out)
    │   └── InvalidRequest      64    422  a request field is malformed; names the field
    ├── NotFound                1     404  no topology/host/run of that name (a host: not in the
    │                                      inventory)
    ├── InvalidTopology         1     400  validation found errors; carries the Issue list
    │   └── InvalidBatch        1     400  a batch of ops would leave the topology invalid
    ├── TopologyFileError       1     422  a topology file is malformed (line/column) or mistyped
    ├── Conflict                1     409  the state of what is named forbids the request (a run
    │   │                                  already finished)
    │   ├── AlreadyExists       1     409  the name is taken
    │   ├── VersionConflict     1     409  expected_version did not match; carries current/expected
    │   ├── IllegalTransition   1     409  a status change the lifecycle forbids, or lost a race
    │   ├── NotEditable         1     409  the topology's status forbids this edit/delete
    │   ├── Busy                1     409  a run for that topology is already queued or running
    │   └── AllocationError     1     409  a subnet pool or a LAN's address space is exhausted
    ├── EnvironmentProblem      1     503  Docker/compose/ansible, the inventory, the templates or
    │                                      a reconciler missing or unusable here; a disk unwritable
    ├── StoreError              1     503  the database is locked, not SQLite, read-only, full, …
    ├── RunFailed               1     500  an Ansible run could not even start
    ├── InternalError           1     500  decnet caught its own mistake (a rendered file that does
    │                                      not parse back, a caller breaking a contract): a bug
    ├── Unauthorized            1     401  no, a wrong, an expired or a revoked API token
    ├── Forbidden               1     403  the token may not do this (a viewer writing, an API
    │                                      token logging out as if it were a session)
    ├── PayloadTooLarge         1     413  a request body over the configured cap
    ├── RequestTimeout          1     408  a request body slower than the server waits for
    ├── MisdirectedRequest      1     421  a Host header the server does not answer to
    └── TooManyRequests         1     429  too many open streams for one token

Every raise names its category: a bare `DecnetError(...)` would be HTTP 400 with code `error`
whatever went wrong, so tests/test_architecture.py refuses one (and a class deriving from the root
outside this module).

`http_status` and `code` (the stable `error.code` of an API error body) are class attributes,
next to `exit_code`: the CLI and the HTTP API map errors from this one table. `details()` is the
data an API error body carries besides the message (the issue list, current/expected version).

Exit codes of every `decnet` command (README and docs/design.md repeat this table):

    0    ok
    1    error: any DecnetError above but UsageError, a failed deploy/teardown, validation
         errors, a host unreachable or unknown in `decnet drift`
    2    changes found: `decnet drift` found drift (Terraform's `-detailed-exitcode`)
    64   usage error: a missing argument, an unknown option, a bad value (sysexits EX_USAGE),
         from the CLI parser (mapped in decnet/cli/errors.py) or a UsageError
    130  interrupted (Ctrl-C)

One meaning per code: a script can tell "drift found" (2) from "called wrongly" (64). A failed
deploy is *not* an exception: it is a result (status `failed` with its reason), as ansible-runner
reports a failed playbook, and the command exits 1.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from decnet.models import Issue, Severity

EXIT_OK = 0
EXIT_ERROR = 1
EXIT_USAGE = 64
EXIT_DRIFT = 2
EXIT_INTERRUPTED = 130

# Stable issue codes (SPEC §4). Never renumber or rename: scripts match on them.
ISSUE_CODES: dict[str, str] = {
    "DMZ_MISSING": "the topology has no DMZ LAN",
    "DMZ_MULTIPLE": "more than one LAN is marked as DMZ",
    "LAN_UNREACHABLE": "a LAN is not connected to the DMZ through bridge deckies",
    "DECKY_NO_LAN": "a decky's home LAN is missing or it has no membership on it",
    "NAME_INVALID": "a name does not match ^[a-z][a-z0-9-]{0,62}$",
    "NAME_DUPLICATE": "two LANs or two deckies share a name",
    "MEMBERSHIP_UNKNOWN_LAN": "a membership names a LAN that does not exist",
    "MEMBERSHIP_DUPLICATE": "a decky is attached to the same LAN twice",
    "IP_INVALID": "an IP is not a valid IPv4 address",
    "IP_OUT_OF_SUBNET": "an IP lies outside its LAN's subnet",
    "IP_DUPLICATE": "two memberships of one LAN share an IP",
    "IP_RESERVED": "an IP is the network, broadcast or gateway (.1) address",
    "IP_MISSING": "a membership has no IP (the allocator did not run)",
    "SUBNET_INVALID": "a subnet is not an IPv4 CIDR of /16../29",
    "SUBNET_OVERLAP": "a subnet overlaps another LAN's, here or in a live topology on the host",
    "SUBNET_NOT_PRIVATE": "a subnet is not RFC 1918 private (without allow_public), or lies in a "
    "special range (loopback, multicast, link-local, unspecified, reserved, Docker's bridge)",
    "SERVICE_UNKNOWN": "a service is not in the catalogue",
    "SERVICE_DUPLICATE": "a decky lists a service twice",
    "SERVICE_CONFIG_UNDECLARED": "service_config names a service the decky does not run, or a key "
    "the service does not declare",
    "SERVICE_CONFIG_INVALID": "a service_config value has the wrong type",
    "SERVICE_CONFIG_CHARACTER": "a service_config string holds a character no container "
    "environment can carry (NUL, a lone surrogate)",
    "PORT_COLLISION": "a published host port clashes, within the topology or on the host",
    "PUBLISH_INVALID": "a publish entry is not host:container[/udp]",
    "PUBLISH_NOT_DMZ": "a decky that is not DMZ-homed publishes host ports",
    "HOST_UNKNOWN": "the target host is not in the inventory",
    "IMAGE_INVALID": "an image override is not a valid image reference",
    "ARCHETYPE_UNKNOWN": "a decky's archetype is not in the catalogue",
    # ops (SPEC §10): a reference in an op does not resolve, or a live topology cannot take it
    "OP_LAN_UNKNOWN": "an op names a LAN the topology does not have",
    "OP_DECKY_UNKNOWN": "an op names a decky the topology does not have",
    "OP_NAME_TAKEN": "an op adds or renames a LAN or decky to a name already in use",
    "OP_LAN_IN_USE": "remove_lan of a LAN that deckies are homed in",
    "OP_HOME_LAN": "detach_decky of a decky's home LAN",
    "OP_NOT_ATTACHED": "detach_decky of a LAN the decky is not attached to",
    "OP_ALREADY_ATTACHED": "attach_decky to a LAN the decky is already attached to",
    "OP_LIVE_FORBIDDEN": "a change a live topology cannot take (a LAN's subnet or DMZ flag)",
    "OP_FORCE_REQUIRED": "a live change that recreates a decky's base (forwarding flip, home "
    "move) without force",
    "ALLOCATION_FAILED": "no free subnet or address is left for what the ops add",
}


OP_CODES = frozenset({*(k for k in ISSUE_CODES if k.startswith("OP_")), "ALLOCATION_FAILED"})
"""The codes `decnet.core.edit` gives a batch of ops; the rest are the validator's."""


class DecnetError(Exception):
    """An expected failure. `str(err)` is the one-line cause; `hint` says what to do."""

    exit_code = EXIT_ERROR
    http_status = 400
    code = "error"
    field: str | None = None
    """The request field at fault (API error bodies), when one is."""

    def __init__(self, message: str, hint: str = "") -> None:
        super().__init__(message)
        self.hint = hint

    def details(self) -> dict[str, Any]:
        return {}


class UsageError(DecnetError):
    exit_code = EXIT_USAGE
    code = "usage"


class InvalidRequest(UsageError):
    """Input of the wrong shape: `field` is its path (`ops[2].lan`). A value that may be a
    secret is never echoed; a name is, cut short (`decnet.text.shown`)."""

    http_status = 422
    code = "invalid_request"

    def __init__(self, message: str, *, field: str, hint: str = "") -> None:
        super().__init__(message, hint)
        self.field = field


class NotFound(DecnetError):
    http_status = 404
    code = "not_found"


class Conflict(DecnetError):
    http_status = 409
    code = "conflict"


class AlreadyExists(Conflict):
    http_status = 409
    code = "already_exists"


class InvalidTopology(DecnetError):
    code = "invalid_topology"

    def __init__(self, issues: Sequence[Issue], subject: str = "topology") -> None:
        errors = [i for i in issues if i.severity is Severity.ERROR]
        first = errors[0] if errors else None
        detail = f": {first.code} at {first.path}: {first.message}" if first else ""
        more = f" (and {len(errors) - 1} more)" if len(errors) > 1 else ""
        super().__init__(
            f"{subject} is invalid{detail}{more}",
            hint="run `decnet topology validate` to list every problem",
        )
        self.issues = list(issues)

    def details(self) -> dict[str, Any]:
        return {"issues": [i.model_dump(mode="json") for i in self.issues]}


class InvalidBatch(InvalidTopology):
    """A batch of ops refused: reference errors (`OP_*` codes at `ops[i]…`) or the topology
    they would produce fails validation. Nothing was written."""

    code = "invalid_batch"

    def __init__(self, issues: Sequence[Issue], subject: str = "batch") -> None:
        super().__init__(issues, subject=subject)
        self.hint = "fix the ops; `decnet mutate NAME … --plan` lists every problem"


class TopologyFileError(DecnetError):
    http_status = 422
    code = "invalid_document"

    def __init__(
        self,
        message: str,
        *,
        line: int | None = None,
        column: int | None = None,
        field: str | None = None,
        source: str = "topology file",
    ) -> None:
        where = f"{source}"
        if line is not None:
            where += f":{line}" + (f":{column}" if column is not None else "")
        prefix = f"{where}: " + (f"{field}: " if field else "")
        super().__init__(prefix + message, hint="see docs/topology-file.md for the format")
        self.line, self.column, self.field = line, column, field

    def details(self) -> dict[str, Any]:
        return {"line": self.line, "column": self.column}


class VersionConflict(Conflict):
    http_status = 409
    code = "version_conflict"

    def __init__(self, name: str, current: int, expected: int) -> None:
        super().__init__(
            f"topology {name!r} is at version {current}, not the expected {expected}",
            hint="reload the topology and retry with the current version",
        )
        self.current, self.expected = current, expected

    def details(self) -> dict[str, Any]:
        return {"current": self.current, "expected": self.expected}


class IllegalTransition(Conflict):
    http_status = 409
    code = "illegal_transition"

    def __init__(self, name: str, current: str, wanted: str, reason: str = "") -> None:
        why = f" ({reason})" if reason else ""
        super().__init__(
            f"topology {name!r} cannot go from {current} to {wanted}{why}",
            hint="check `decnet status NAME`; a stuck deploy recovers with --force",
        )
        self.current, self.wanted = current, wanted

    def details(self) -> dict[str, Any]:
        return {"status": str(self.current), "wanted": str(self.wanted)}


class NotEditable(Conflict):
    http_status = 409
    code = "not_editable"


class Busy(Conflict):
    http_status = 409
    code = "busy"


class AllocationError(Conflict):
    http_status = 409
    code = "allocation_failed"


class EnvironmentProblem(DecnetError):
    http_status = 503
    code = "environment"


class StoreError(DecnetError):
    """The database file cannot be used as it is (decnet/store/db.py maps SQLite's errors)."""

    http_status = 503
    code = "store"


class RunFailed(DecnetError):
    http_status = 500
    code = "run_failed"


class InternalError(DecnetError):
    """A check of decnet's own work failed: a bug, reported as one (cause, and where)."""

    http_status = 500
    code = "internal"


class Unauthorized(DecnetError):
    http_status = 401
    code = "unauthorized"


class Forbidden(DecnetError):
    http_status = 403
    code = "forbidden"


class PayloadTooLarge(DecnetError):
    http_status = 413
    code = "payload_too_large"


class RequestTimeout(DecnetError):
    http_status = 408
    code = "request_timeout"


class MisdirectedRequest(DecnetError):
    http_status = 421
    code = "misdirected_request"


class TooManyRequests(DecnetError):
    http_status = 429
    code = "too_many_requests"
