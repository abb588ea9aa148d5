"""The execution engine: a plan in, a validated code base out, every step stored."""

from mge.execute.executor import (
    check_executor_database,
    check_ray_address,
    check_ray_installed,
)
from mge.execute.progress import CallbackProgress, FanOut, NullProgress, ProgressSink
from mge.execute.report import build_report, get_run
from mge.execute.service import create_run, execute_run, prepare_resume, run_report
from mge.execute.settings import RunSettings, build_settings, check_budget

__all__ = [
    "CallbackProgress",
    "FanOut",
    "NullProgress",
    "ProgressSink",
    "RunSettings",
    "build_report",
    "build_settings",
    "check_budget",
    "check_executor_database",
    "check_ray_address",
    "check_ray_installed",
    "create_run",
    "execute_run",
    "get_run",
    "prepare_resume",
    "run_report",
]
