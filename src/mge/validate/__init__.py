"""Validation of generated code at four levels, and the sandbox it runs in."""

from mge.validate.atomic import (
    STUB_MARK,
    Assembly,
    AtomSpec,
    AtomVerdict,
    CheckResult,
    declared_class_names,
    validate_atom,
)
from mge.validate.sandbox import Limits, SandboxResult, run_python

__all__ = [
    "STUB_MARK",
    "Assembly",
    "AtomSpec",
    "AtomVerdict",
    "CheckResult",
    "Limits",
    "SandboxResult",
    "declared_class_names",
    "run_python",
    "validate_atom",
]
