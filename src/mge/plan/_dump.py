"""Writing a plan as YAML that reads like the hand-written examples.

Short lists stay on one line (`files: [inventory/models.py]`), multi-line text
uses block style, keys keep the model's order, and empty optional fields are left
out, so a generated plan diffs well and round-trips through `parse_plan` unchanged.
"""

from __future__ import annotations

from typing import Any

import yaml

from mge.plan._models import Plan

# Fields that are written only when they hold something; the rest always appear,
# so that every task shows its `depends_on` and `tests`, as in the contract.
_OPTIONAL = {"description", "reference", "acceptance", "support", "assets"}
_OPTIONAL_IN_MILESTONE = {"description", "tests"}


class _PlanDumper(yaml.SafeDumper):
    pass


def _represent_str(dumper: yaml.SafeDumper, value: str) -> yaml.ScalarNode:
    if "\n" in value:
        return dumper.represent_scalar("tag:yaml.org,2002:str", value, style="|")
    return dumper.represent_scalar("tag:yaml.org,2002:str", value)


def _represent_list(dumper: yaml.SafeDumper, value: list[Any]) -> yaml.SequenceNode:
    flow = all(isinstance(item, str | int | float) for item in value)
    return dumper.represent_sequence("tag:yaml.org,2002:seq", value, flow_style=flow)


def _represent_dict(dumper: yaml.SafeDumper, value: dict[str, Any]) -> yaml.MappingNode:
    flow = bool(value) and all(isinstance(item, int | float) for item in value.values())
    return dumper.represent_mapping("tag:yaml.org,2002:map", value, flow_style=flow)


_PlanDumper.add_representer(str, _represent_str)
_PlanDumper.add_representer(list, _represent_list)
_PlanDumper.add_representer(dict, _represent_dict)


def _prune(data: dict[str, Any], optional: set[str]) -> dict[str, Any]:
    return {k: v for k, v in data.items() if not (k in optional and v in (None, "", []))}


def plan_to_data(plan: Plan) -> dict[str, Any]:
    """The plan as plain data in field order, empty optional fields left out."""
    data = _prune(plan.model_dump(mode="json"), _OPTIONAL)
    if data.get("test_runner") == "node":
        # The default: a plan of node:test suites reads as it did before runners.
        del data["test_runner"]
    if "assets" in data:
        data["assets"] = [_prune(asset, {"sha256"}) for asset in data["assets"]]
    data["phases"] = [
        {
            **_prune(phase, {"description"}),
            "milestones": [
                {
                    **_prune(milestone, _OPTIONAL_IN_MILESTONE),
                    "tasks": [
                        _prune(task, {"description", "interface"}) for task in milestone["tasks"]
                    ],
                }
                for milestone in phase["milestones"]
            ],
        }
        for phase in data["phases"]
    ]
    return data


def dump_plan(plan: Plan) -> str:
    """The plan as YAML text."""
    text = yaml.dump(
        plan_to_data(plan),
        Dumper=_PlanDumper,
        sort_keys=False,
        allow_unicode=True,
        width=100,
        default_flow_style=False,
    )
    return str(text)


__all__ = ["dump_plan", "plan_to_data"]
