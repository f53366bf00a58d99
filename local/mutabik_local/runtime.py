"""The local runtime: moto on 127.0.0.1, the template's resources in it, our handlers serving them."""

from __future__ import annotations

import json
import logging
import os
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from mutabik_local.functions import FunctionHost
from mutabik_local.http_api import HttpApi
from mutabik_local.lambda_api import LambdaApi
from mutabik_local.pollers import QueuePoller
from mutabik_local.stack import Stack
from mutabik_local.template import Template

__all__ = ["STATE_FILE", "LocalRuntime"]

log = logging.getLogger("mutabik.local")

#: Where a running runtime tells the other `mutabik` commands how to reach it.
STATE_FILE = Path(".local/runtime.json")
REGION = "eu-central-1"


@dataclass
class LocalRuntime:
    root: Path
    stack_name: str = "mutabik-local"
    api_port: int = 0
    time_scale: float = 1.0
    poll: bool = True  # tests may step the queues themselves
    log_level: str = "WARNING"
    env: dict[str, str] = field(default_factory=dict)
    pollers: dict[str, QueuePoller] = field(default_factory=dict)
    extra_state: dict[str, Any] = field(default_factory=dict)  # what else `mutabik` commands should know (fakes)

    def start(self) -> LocalRuntime:
        from moto.core.config import default_user_config
        from moto.server import ThreadedMotoServer

        # moto runs state machines only when told so before they are created.
        default_user_config["stepfunctions"]["execute_state_machine"] = True
        logging.getLogger("werkzeug").setLevel(logging.ERROR)  # moto's request log
        self.moto = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
        self.moto.start()
        host, port = self.moto.get_host_and_port()
        self.endpoint = f"http://{host}:{port}"
        self._set_env(
            {
                "AWS_ENDPOINT_URL": self.endpoint,
                "AWS_ACCESS_KEY_ID": "testing",
                "AWS_SECRET_ACCESS_KEY": "testing",
                "AWS_SESSION_TOKEN": "testing",
                "AWS_DEFAULT_REGION": REGION,
                "AWS_REGION": REGION,
            }
        )
        import boto3
        from mutabik.store import clients

        clients.reset()
        self.session = boto3.Session(region_name=REGION)
        self.template = Template(self.root / "template.yaml", self.stack_name, REGION)
        self.stack = Stack(self.template, time_scale=self.time_scale)
        self.stack.create(self.session)
        self._set_env(self._function_env())
        self.host = FunctionHost(self.template)
        self.host.load()
        self.lambda_api = LambdaApi(self.host)
        self.lambda_api.start()
        # moto's Step Functions executor invokes Lambda at localhost:$MOTO_PORT: point it at our handlers.
        self._set_env({"MOTO_PORT": str(self.lambda_api.port)})
        self.http = HttpApi(self.host, self.stack.http_routes(), self.api_port)
        self.http.start()
        self.sqs = self.session.client("sqs")
        for mapping in self.stack.sqs_mappings():
            self.pollers[mapping.function] = QueuePoller(mapping, self.host, self.sqs, REGION)
        if self.poll:
            for poller in self.pollers.values():
                poller.start()
        return self

    def stop(self) -> None:
        for poller in self.pollers.values():
            if poller.thread.is_alive():
                poller.stop()
        self.http.stop()
        self.lambda_api.stop()
        self.moto.stop()

    def __enter__(self) -> LocalRuntime:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def _set_env(self, values: dict[str, str]) -> None:
        self.env.update(values)
        os.environ.update(values)

    def _function_env(self) -> dict[str, str]:
        """The union of every function's environment: one process hosts them all, so one name must mean
        one value across functions (it does: they share one stack)."""
        merged: dict[str, str] = {}
        for logical in self.template.of_type("AWS::Serverless::Function"):
            for name, value in self.template.function_env(logical).items():
                if name in merged and merged[name] != value:
                    raise RuntimeError(f"{name} differs between functions; the local runtime cannot host both")
                merged[name] = value
        merged["POWERTOOLS_LOG_LEVEL"] = self.log_level
        merged["POWERTOOLS_METRICS_DISABLED"] = "true"
        merged["SECRETS_MAX_AGE"] = "0"
        # Retries wait seconds locally, as the scaled visibility timeouts do.
        merged["RETRY_BASE_SECONDS"] = str(max(1, round(10 * self.time_scale)))
        return merged

    # What the other commands and the tests use.
    @property
    def webhook_base(self) -> str:
        return f"{self.http.url}/v1/webhooks"

    def resource(self, logical: str, attribute: str = "Ref") -> str:
        return self.template.physical[logical][attribute]

    def write_state(self, path: Path | None = None) -> Path:
        target = path or (self.root / STATE_FILE)
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(
            json.dumps(
                {
                    "pid": os.getpid(),
                    "api": self.http.url,
                    "env": self.env,
                    "resources": self.template.physical,
                    "schedules": self.stack.schedules(),
                    **self.extra_state,
                },
                indent=2,
            )
        )
        return target

    def queue_depths(self) -> dict[str, int]:
        depths = {}
        for logical in self.template.of_type("AWS::SQS::Queue"):
            attributes = self.sqs.get_queue_attributes(
                QueueUrl=self.resource(logical),
                AttributeNames=[
                    "ApproximateNumberOfMessages",
                    "ApproximateNumberOfMessagesNotVisible",
                    "ApproximateNumberOfMessagesDelayed",
                ],
            )["Attributes"]
            depths[logical] = sum(int(v) for v in attributes.values())
        return depths

    def settle(self, timeout: float = 60.0, *, ignore: tuple[str, ...] = ("IngestDLQ", "PushDLQ")) -> bool:
        """Wait until every working queue is empty and no handler is busy; False on timeout."""
        return wait_until(
            lambda: (
                not any(p.busy.is_set() for p in self.pollers.values())
                and all(depth == 0 for name, depth in self.queue_depths().items() if name not in ignore)
            ),
            timeout,
        )


def wait_until(condition: Callable[[], Any], timeout: float, interval: float = 0.2) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(interval)
    return bool(condition())
