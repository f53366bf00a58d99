"""Creates the template's table, queues, bucket, event rules and state machines in moto, under the names AWS
would use."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from mutabik_local.template import ACCOUNT, PARTITION, Template

__all__ = ["SqsMapping", "Stack"]


@dataclass(frozen=True)
class SqsMapping:
    """An SQS event source of a function, as template.yaml declares it."""

    function: str
    queue_url: str
    queue_arn: str
    batch_size: int
    report_failures: bool


@dataclass
class Stack:
    template: Template
    time_scale: float = 1.0  # shrinks visibility timeouts so retries happen in seconds, not minutes
    visibility: dict[str, int] = field(default_factory=dict)

    @property
    def region(self) -> str:
        return self.template.region

    def create(self, session: Any) -> None:
        """Create every supported resource. Other resources (alarms, roles, log groups) need no local twin."""
        self._assign_functions()
        self._create_tables(session.client("dynamodb"))
        self._create_queues(session.client("sqs"))
        self._create_rules(session.client("events"))
        self._create_buckets(session.client("s3"))
        self._create_state_machines(session.client("stepfunctions"))

    def _assign_functions(self) -> None:
        for logical in self.template.of_type("AWS::Serverless::Function"):
            name = f"{self.template.stack_name}-{logical}"
            arn = f"arn:{PARTITION}:lambda:{self.region}:{ACCOUNT}:function:{name}"
            self.template.physical[logical] = {"Ref": name, "Arn": arn}

    def _create_tables(self, client: Any) -> None:
        for logical, resource in self.template.of_type("AWS::DynamoDB::Table").items():
            props = self.template.resolve(resource.get("Properties", {}))
            name = props.get("TableName") or f"{self.template.stack_name}-{logical}"
            kwargs: dict[str, Any] = {
                "TableName": name,
                "KeySchema": props["KeySchema"],
                "AttributeDefinitions": props["AttributeDefinitions"],
                "BillingMode": props.get("BillingMode", "PAY_PER_REQUEST"),
            }
            if props.get("GlobalSecondaryIndexes"):
                kwargs["GlobalSecondaryIndexes"] = props["GlobalSecondaryIndexes"]
            client.create_table(**kwargs)
            ttl = props.get("TimeToLiveSpecification")
            if ttl:
                client.update_time_to_live(TableName=name, TimeToLiveSpecification=ttl)
            arn = client.describe_table(TableName=name)["Table"]["TableArn"]
            self.template.physical[logical] = {"Ref": name, "Arn": arn}

    def _create_queues(self, client: Any) -> None:
        queues = self.template.of_type("AWS::SQS::Queue")
        # Create every queue first, then set redrive policies: a DLQ must exist before it is named.
        for logical, resource in queues.items():
            props = resource.get("Properties", {})
            name = props.get("QueueName") or f"{self.template.stack_name}-{logical}"
            visibility = max(1, round(int(props.get("VisibilityTimeout", 30)) * self.time_scale))
            self.visibility[logical] = visibility
            attributes = {
                "VisibilityTimeout": str(visibility),
                "MessageRetentionPeriod": str(props.get("MessageRetentionPeriod", 345600)),
            }
            url = client.create_queue(QueueName=name, Attributes=attributes)["QueueUrl"]
            arn = client.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
            self.template.physical[logical] = {"Ref": url, "Arn": arn, "QueueName": name, "QueueUrl": url}
        for logical, resource in queues.items():
            policy = resource.get("Properties", {}).get("RedrivePolicy")
            if policy:
                resolved = self.template.resolve(policy)
                client.set_queue_attributes(
                    QueueUrl=self.template.ref(logical),
                    Attributes={
                        "RedrivePolicy": json.dumps(
                            {
                                "deadLetterTargetArn": resolved["deadLetterTargetArn"],
                                "maxReceiveCount": str(resolved["maxReceiveCount"]),
                            }
                        )
                    },
                )

    def _create_rules(self, client: Any) -> None:
        """EventBridge rules and their SQS targets. A rule's bus is created when missing: on AWS it is the
        partner bus Amazon's event source feeds; here a custom bus stands in, and `mutabik send` puts events
        on it (moto delivers matching events to SQS targets; it enforces no queue policy, so none is set)."""
        for logical, resource in self.template.of_type("AWS::Events::Rule").items():
            props = self.template.resolve(resource.get("Properties", {}))
            bus = str(props.get("EventBusName") or "default")
            try:
                client.describe_event_bus(Name=bus)
            except client.exceptions.ResourceNotFoundException:
                client.create_event_bus(Name=bus)
            name = props.get("Name") or f"{self.template.stack_name}-{logical}"
            arn = client.put_rule(
                Name=name,
                EventBusName=bus,
                EventPattern=json.dumps(props["EventPattern"]),
                State=props.get("State", "ENABLED"),
            )["RuleArn"]
            targets = [
                {"Id": target["Id"], "Arn": target["Arn"]}
                for target in props.get("Targets", [])
                if str(target["Arn"]).startswith(f"arn:{PARTITION}:sqs:")
            ]
            if targets:
                client.put_targets(Rule=name, EventBusName=bus, Targets=targets)
            self.template.physical[logical] = {"Ref": name, "Arn": arn, "EventBusName": bus}

    def _create_buckets(self, client: Any) -> None:
        for logical, resource in self.template.of_type("AWS::S3::Bucket").items():
            props = resource.get("Properties", {})
            name = props.get("BucketName") or f"{self.template.stack_name}-{logical}".lower()
            name = str(self.template.resolve(name))
            client.create_bucket(Bucket=name, CreateBucketConfiguration={"LocationConstraint": self.region})
            self.template.physical[logical] = {"Ref": name, "Arn": f"arn:{PARTITION}:s3:::{name}"}

    def _create_state_machines(self, client: Any) -> None:
        for logical, resource in self.template.of_type("AWS::Serverless::StateMachine").items():
            props = resource.get("Properties", {})
            definition = (self.template.root / props["DefinitionUri"]).read_text(encoding="utf-8")
            substitutions = self.template.resolve(props.get("DefinitionSubstitutions", {}))
            for name, value in substitutions.items():
                definition = definition.replace("${" + name + "}", str(value))
            arn = client.create_state_machine(
                name=f"{self.template.stack_name}-{logical}",
                definition=definition,
                roleArn=f"arn:{PARTITION}:iam::{ACCOUNT}:role/{logical}Role",
            )["stateMachineArn"]
            self.template.physical[logical] = {"Ref": arn, "Arn": arn, "Name": arn.rsplit(":", 1)[1]}

    # What the runtime reads back.
    def sqs_mappings(self) -> list[SqsMapping]:
        mappings = []
        for logical, resource in self.template.of_type("AWS::Serverless::Function").items():
            for event in resource.get("Properties", {}).get("Events", {}).values():
                if event.get("Type") != "SQS":
                    continue
                props = event["Properties"]
                arn = self.template.resolve(props["Queue"])
                queue = next(n for n, p in self.template.physical.items() if p.get("Arn") == arn)
                mappings.append(
                    SqsMapping(
                        function=logical,
                        queue_url=self.template.ref(queue),
                        queue_arn=arn,
                        batch_size=min(10, int(props.get("BatchSize", 10))),
                        report_failures="ReportBatchItemFailures" in props.get("FunctionResponseTypes", []),
                    )
                )
        return mappings

    def http_routes(self) -> list[tuple[str, str, str]]:
        """(method, path template, function) for every HttpApi event."""
        routes = []
        for logical, resource in self.template.of_type("AWS::Serverless::Function").items():
            for event in resource.get("Properties", {}).get("Events", {}).values():
                if event.get("Type") == "HttpApi":
                    props = event["Properties"]
                    routes.append((str(props.get("Method", "ANY")).upper(), str(props["Path"]), logical))
        return routes

    def schedules(self) -> dict[str, dict[str, Any]]:
        """EventBridge Scheduler schedules by logical id: their target ARN and input."""
        found = {}
        for logical, resource in self.template.of_type("AWS::Scheduler::Schedule").items():
            target = resource.get("Properties", {}).get("Target", {})
            found[logical] = {
                "target": self.template.resolve(target.get("Arn")),
                "input": self.template.resolve(target.get("Input", "{}")),
                "expression": resource.get("Properties", {}).get("ScheduleExpression", ""),
            }
        return found
