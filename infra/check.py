"""Checks infra/template.yaml offline: cfn-lint first, then the SAM
translator transforms it as `sam package` + CloudFormation would, and what it
generates is checked.

Usage: python infra/check.py  (AWS_DEFAULT_REGION defaults to eu-west-3)
"""

import os
import sys
from pathlib import Path

from cfnlint.api import lint_file
from cfnlint.decode import cfn_yaml
from samtranslator.translator.transform import transform

TEMPLATE = Path(__file__).with_name("template.yaml")


class NoManagedPolicies:
    """The translator asks IAM for managed policy ARNs; offline, none are known."""

    def load(self):
        return {}


def iam_statements(role):
    for policy in role["Properties"].get("Policies", []):
        yield from policy["PolicyDocument"]["Statement"]


def main() -> int:
    os.environ.setdefault("AWS_DEFAULT_REGION", "eu-west-3")
    findings = lint_file(TEMPLATE)
    for finding in findings:
        print(f"cfn-lint: {finding}", file=sys.stderr)
    if findings:
        return 1
    print("cfn-lint: no findings")

    template = cfn_yaml.load(str(TEMPLATE))
    # What `sam package` does: local code folders become S3 artefacts.
    template["Globals"]["Function"]["CodeUri"] = "s3://binome-artifacts/functions.zip"
    for resource in template["Resources"].values():
        if resource["Type"] == "AWS::Serverless::Function":
            resource["Properties"]["CodeUri"] = "s3://binome-artifacts/functions.zip"

    output = transform(template, {}, NoManagedPolicies())
    resources = output["Resources"]
    by_type = {}
    for name, resource in resources.items():
        by_type.setdefault(resource["Type"], []).append(name)

    problems = []
    functions = by_type.get("AWS::Lambda::Function", [])
    if len(functions) != 13:
        problems.append(f"expected 13 Lambda functions, got {functions}")
    for name in functions:
        properties = resources[name]["Properties"]
        if properties.get("Architectures") != ["arm64"] or properties.get("Runtime") != "provided.al2023":
            problems.append(f"{name}: not provided.al2023 on arm64")
        if properties.get("LoggingConfig", {}).get("LogFormat") != "JSON":
            problems.append(f"{name}: logs are not JSON")
    mappings = by_type.get("AWS::Lambda::EventSourceMapping", [])
    if len(mappings) != 6:
        problems.append(f"expected 6 event source mappings (5 streams: mailer, routing, matching, campaigns, stats; 1 queue: campaigns), got {mappings}")
    for name in mappings:
        properties = resources[name]["Properties"]
        if properties.get("FunctionResponseTypes") != ["ReportBatchItemFailures"]:
            problems.append(f"{name}: batch item failures are not reported")
        if "StartingPosition" in properties:
            # A stream: failed batches are split, then set aside.
            if not properties.get("BisectBatchOnFunctionError"):
                problems.append(f"{name}: no bisect on error")
            if "OnFailure" not in properties.get("DestinationConfig", {}):
                problems.append(f"{name}: no on-failure destination")
        elif not properties.get("ScalingConfig", {}).get("MaximumConcurrency"):
            # A queue: its rate is bounded for the account; its DLQ is the queue's redrive policy.
            problems.append(f"{name}: no MaximumConcurrency")
    # A queue that triggers a function sets failed messages aside.
    for name in mappings:
        source = resources[name]["Properties"].get("EventSourceArn", {})
        queue = source.get("Fn::GetAtt", [None])[0] if isinstance(source, dict) else None
        if queue in by_type.get("AWS::SQS::Queue", []) and "RedrivePolicy" not in resources[queue]["Properties"]:
            problems.append(f"{queue}: a work queue without a dead-letter queue")
    for name in by_type.get("AWS::IAM::Role", []):
        for statement in iam_statements(resources[name]):
            if statement.get("Resource") == "*" and statement.get("Effect") == "Allow":
                actions = statement.get("Action")
                if any(str(a).startswith(("dynamodb:", "ses:", "sqs:")) for a in ([actions] if isinstance(actions, str) else actions)):
                    problems.append(f"{name}: {actions} on every resource")
    schedules = [name for name in by_type.get("AWS::Events::Rule", []) if "ScheduleExpression" in resources[name]["Properties"]]
    if len(schedules) != 5:
        problems.append(f"expected 5 schedules (routing sweep, nightly matching, mail leases, reminders, campaigns), got {schedules}")
    routes = sorted(resources[name]["Properties"]["RouteKey"] for name in by_type.get("AWS::ApiGatewayV2::Route", []))
    if not routes:
        # SAM inlines HTTP API routes in the OpenAPI body of the API.
        api = resources[by_type["AWS::ApiGatewayV2::Api"][0]]["Properties"]["Body"]
    routes = sorted(f"{method.upper()} {path}" for path, methods in api["paths"].items() for method in methods)
    print(f"SAM transform: {len(resources)} resources, routes: {', '.join(routes)}")
    for problem in problems:
        print(f"error: {problem}", file=sys.stderr)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
