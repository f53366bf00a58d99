"""Runs our Lambda handlers in-process, one invocation at a time per function, as one Lambda container would."""

from __future__ import annotations

import importlib.util
import threading
import time
import uuid
from dataclasses import dataclass, field
from types import ModuleType
from typing import Any

from mutabik_local.template import Template

__all__ = ["FunctionHost", "LambdaContext"]


@dataclass
class LambdaContext:
    """The context object Lambda passes a handler (the attributes Powertools reads)."""

    function_name: str
    invoked_function_arn: str
    timeout_seconds: int
    memory_limit_in_mb: int = 512
    function_version: str = "$LATEST"
    aws_request_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    log_group_name: str = ""
    log_stream_name: str = "local"
    _started: float = field(default_factory=time.monotonic)

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int((self.timeout_seconds - (time.monotonic() - self._started)) * 1000))


@dataclass
class _Function:
    logical: str
    name: str
    arn: str
    timeout: int
    module: ModuleType
    handler: Any
    lock: threading.Lock = field(default_factory=threading.Lock)


class FunctionHost:
    """Loads each function's handler from its CodeUri/Handler in template.yaml (after the environment is set)."""

    def __init__(self, template: Template) -> None:
        self.template = template
        self.functions: dict[str, _Function] = {}

    def load(self) -> None:
        for logical, resource in self.template.of_type("AWS::Serverless::Function").items():
            props = resource["Properties"]
            module_name, handler_name = str(props["Handler"]).rsplit(".", 1)
            path = self.template.root / str(props["CodeUri"]) / f"{module_name.replace('.', '/')}.py"
            spec = importlib.util.spec_from_file_location(f"mutabik_function_{logical}", path)
            if spec is None or spec.loader is None:
                raise RuntimeError(f"cannot load {logical} from {path}")
            module = importlib.util.module_from_spec(spec)
            spec.loader.exec_module(module)
            self.functions[logical] = _Function(
                logical=logical,
                name=self.template.ref(logical),
                arn=self.template.get_att(logical, "Arn"),
                timeout=self.template.function_timeout(logical),
                module=module,
                handler=getattr(module, handler_name),
            )

    def resolve_name(self, name_or_arn: str) -> str:
        """The logical id for a function name, ARN or logical id."""
        for function in self.functions.values():
            if name_or_arn in (function.logical, function.name, function.arn):
                return function.logical
        raise KeyError(f"no function {name_or_arn!r} in template.yaml")

    def invoke(self, logical: str, event: Any) -> Any:
        function = self.functions[logical]
        context = LambdaContext(function.name, function.arn, function.timeout)
        with function.lock:
            return function.handler(event, context)
