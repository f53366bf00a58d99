"""Reads template.yaml (CloudFormation tags included) and resolves what the local runtime needs from it."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

__all__ = ["Template", "load_template"]

ACCOUNT = "123456789012"
PARTITION = "aws"


class _CfnLoader(yaml.SafeLoader):
    """YAML with CloudFormation's short-form tags, read as their long form (`!Ref X` → {"Ref": "X"})."""


def _construct(loader: _CfnLoader, suffix: str, node: yaml.Node) -> dict[str, Any]:
    name = "Ref" if suffix == "Ref" else ("Condition" if suffix == "Condition" else f"Fn::{suffix}")
    if isinstance(node, yaml.ScalarNode):
        value: Any = loader.construct_scalar(node)
        if suffix == "GetAtt":
            value = str(value).split(".", 1)
    elif isinstance(node, yaml.SequenceNode):
        value = loader.construct_sequence(node, deep=True)
    elif isinstance(node, yaml.MappingNode):
        value = loader.construct_mapping(node, deep=True)
    else:
        raise yaml.constructor.ConstructorError(None, None, f"unexpected node for !{suffix}", node.start_mark)
    return {name: value}


_CfnLoader.add_multi_constructor("!", _construct)


def load_template(path: Path) -> dict[str, Any]:
    with path.open(encoding="utf-8") as handle:
        loaded: dict[str, Any] = yaml.load(handle, Loader=_CfnLoader)  # noqa: S506 - a SafeLoader subclass
    return loaded


@dataclass
class Template:
    """The template with a resolver for Ref, GetAtt, Sub, If, Join … over the physical ids we assign."""

    path: Path
    stack_name: str
    region: str
    body: dict[str, Any] = field(init=False)
    physical: dict[str, dict[str, str]] = field(default_factory=dict)  # logical id → {"Ref": …, "Arn": …}

    def __post_init__(self) -> None:
        self.body = load_template(self.path)

    @property
    def root(self) -> Path:
        return self.path.parent

    @property
    def resources(self) -> dict[str, dict[str, Any]]:
        return dict(self.body.get("Resources", {}))

    def of_type(self, cfn_type: str) -> dict[str, dict[str, Any]]:
        """The resources of a type that this stack has: a resource whose Condition is false is not created."""
        return {
            name: r
            for name, r in self.resources.items()
            if r.get("Type") == cfn_type and ("Condition" not in r or self.condition(r["Condition"]))
        }

    def parameter(self, name: str) -> str:
        """The template's `Metadata.MutabikLocal.ParameterValues` value if it gives one (a stand-in for what
        only AWS has), else the parameter's default."""
        local = self.body.get("Metadata", {}).get("MutabikLocal", {}).get("ParameterValues", {})
        if name in local:
            return str(local[name])
        return str(self.body.get("Parameters", {}).get(name, {}).get("Default", ""))

    def pseudo(self, name: str) -> str | None:
        return {
            "AWS::Region": self.region,
            "AWS::AccountId": ACCOUNT,
            "AWS::Partition": PARTITION,
            "AWS::StackName": self.stack_name,
            "AWS::URLSuffix": "amazonaws.com",
            "AWS::NoValue": None,
        }.get(name, "")

    def ref(self, name: str) -> Any:
        if name.startswith("AWS::"):
            return self.pseudo(name)
        if name in self.body.get("Parameters", {}):
            return self.parameter(name)
        return self.physical.get(name, {}).get("Ref", f"{self.stack_name}-{name}")

    def get_att(self, name: str, attribute: str) -> str:
        return self.physical.get(name, {}).get(attribute, f"arn:{PARTITION}:local:{self.region}:{ACCOUNT}:{name}")

    def condition(self, name: str) -> bool:
        return bool(self.resolve(self.body.get("Conditions", {}).get(name, False)))

    def resolve(self, value: Any) -> Any:
        if isinstance(value, list):
            return [self.resolve(v) for v in value]
        if not isinstance(value, dict):
            return value
        if len(value) != 1:
            return {k: self.resolve(v) for k, v in value.items()}
        ((key, arg),) = value.items()
        if key == "Ref":
            return self.ref(arg)
        if key == "Fn::GetAtt":
            name, attribute = arg if isinstance(arg, list) else str(arg).split(".", 1)
            return self.get_att(name, attribute)
        if key == "Fn::Sub":
            text, extra = (arg, {}) if isinstance(arg, str) else (arg[0], self.resolve(arg[1]))
            return re.sub(r"\$\{([^}!]+)\}", lambda m: str(self._sub(m.group(1), extra)), text)
        if key == "Fn::Join":
            return str(arg[0]).join(str(self.resolve(v)) for v in self.resolve(arg[1]))
        if key == "Fn::If":
            return self.resolve(arg[1] if self.condition(arg[0]) else arg[2])
        if key == "Fn::Equals":
            return self.resolve(arg[0]) == self.resolve(arg[1])
        if key == "Fn::Not":
            return not self.resolve(arg[0])
        if key == "Fn::And":
            return all(self.resolve(v) for v in arg)
        if key == "Fn::Or":
            return any(self.resolve(v) for v in arg)
        if key == "Condition":
            return self.condition(arg)
        if key == "Fn::Select":
            return self.resolve(arg[1])[int(arg[0])]
        if key == "Fn::FindInMap":
            mapping, top, second = (self.resolve(a) for a in arg)
            return self.body["Mappings"][mapping][top][second]
        return {key: self.resolve(arg)}

    def _sub(self, name: str, extra: dict[str, Any]) -> Any:
        if name in extra:
            return extra[name]
        if "." in name and not name.startswith("AWS::"):
            logical, attribute = name.split(".", 1)
            return self.get_att(logical, attribute)
        return self.ref(name)

    # Serverless resources, as the runtime needs them.
    def globals_env(self) -> dict[str, Any]:
        return dict(self.body.get("Globals", {}).get("Function", {}).get("Environment", {}).get("Variables", {}))

    def function_env(self, logical: str) -> dict[str, str]:
        props = self.resources[logical].get("Properties", {})
        variables = {**self.globals_env(), **props.get("Environment", {}).get("Variables", {})}
        resolved = {k: self.resolve(v) for k, v in variables.items()}
        return {k: str(v) for k, v in resolved.items() if v is not None}

    def function_timeout(self, logical: str) -> int:
        props = self.resources[logical].get("Properties", {})
        default = self.body.get("Globals", {}).get("Function", {}).get("Timeout", 3)
        return int(props.get("Timeout", default))
