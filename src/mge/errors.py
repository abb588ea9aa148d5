"""One exception tree for all of MGE, mapped once to CLI exit codes and HTTP statuses.

    MgeError
    ├── ConfigError            bad settings or command-line values
    ├── DatabaseError          the database cannot be reached or refused a statement
    │   └── MigrationError     unknown revision, failed migration, drift
    ├── AtomizeError           a path or file that cannot be atomized
    ├── GraphError             a dependency graph that cannot be built or loaded
    ├── PlanError              a masterplan that does not validate
    ├── ModelError             a model call that failed for good
    │   └── ProviderUnavailable  the provider cannot be used (no key, unreachable)
    ├── ValidationFailed       generated code failed its checks
    ├── SandboxUnavailable     generated code cannot be sandboxed here (and no opt-out)
    ├── InfrastructureFailure  the cluster, not the code, kept failing a task
    ├── BudgetExhausted        the run reached its cost cap
    ├── NotFound               a named thing does not exist
    ├── Conflict               the request clashes with the stored state
    └── Unauthorized           a service request without the right API token

Callers raise the most specific class; the CLI and the API read `exit_code` and
`http_status` from the class instead of keeping their own tables, so a new error
kind needs no change at either boundary.
"""

from __future__ import annotations

from typing import ClassVar


class MgeError(Exception):
    """Base of every error MGE reports to a person instead of a traceback."""

    exit_code: ClassVar[int] = 1
    http_status: ClassVar[int] = 400

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

    def __str__(self) -> str:
        return self.message


class ConfigError(MgeError):
    exit_code = 2
    http_status = 422


class DatabaseError(MgeError):
    exit_code = 3
    http_status = 503


class MigrationError(DatabaseError):
    exit_code = 3
    http_status = 500


class AtomizeError(MgeError):
    exit_code = 2
    http_status = 422


class GraphError(MgeError):
    exit_code = 2
    http_status = 422


class PlanError(MgeError):
    exit_code = 2
    http_status = 422


class ModelError(MgeError):
    exit_code = 4
    http_status = 502


class ProviderUnavailable(ModelError):
    exit_code = 4
    http_status = 503


class ValidationFailed(MgeError):
    exit_code = 1
    http_status = 422


class SandboxUnavailable(MgeError):
    exit_code = 2
    http_status = 503


class InfrastructureFailure(MgeError):
    """A task of a distributed run kept failing for reasons outside the code it
    checked (its worker or node died, every retry): never an atom's fault."""

    exit_code = 1
    http_status = 503


class BudgetExhausted(MgeError):
    exit_code = 5
    http_status = 402


class NotFound(MgeError):
    exit_code = 6
    http_status = 404


class Conflict(MgeError):
    exit_code = 7
    http_status = 409


class Unauthorized(MgeError):
    exit_code = 8
    http_status = 401


__all__ = [
    "AtomizeError",
    "BudgetExhausted",
    "ConfigError",
    "Conflict",
    "DatabaseError",
    "GraphError",
    "InfrastructureFailure",
    "MgeError",
    "MigrationError",
    "ModelError",
    "NotFound",
    "PlanError",
    "ProviderUnavailable",
    "SandboxUnavailable",
    "Unauthorized",
    "ValidationFailed",
]
