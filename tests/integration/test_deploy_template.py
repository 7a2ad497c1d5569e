"""What a deployment does, read from template.yaml as CloudFormation receives it (offline: SAM CLI's
AWS::LanguageExtensions expansion, which also resolves the parameters it can in Resources, then the
real SAM transform): which functions get a `live` alias and a canary, which alarms roll back what
and which alarms every function has, how an authorizer failure is answered and counted, and the
parameters that `sam local` needs."""

import json
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import boto3
import pytest
from moto.server import ThreadedMotoServer

from devtools.emulator.dynamodb import free_port
from devtools.emulator.template import document
from devtools.expand_template import expand
from devtools.loader import ROOT

API_FUNCTIONS = {
    "CreateTodoFunction",
    "GetTodoFunction",
    "ListTodosFunction",
    "UpdateTodoFunction",
    "DeleteTodoFunction",
    "DocsFunction",
    "ListActivityFunction",
}
FUNCTIONS = API_FUNCTIONS | {"AuthorizerFunction", "StreamConsumerFunction"}


@pytest.fixture(scope="module")
def prod() -> dict[str, Any]:
    resources: dict[str, Any] = expand({"Stage": "prod"})["Resources"]
    return resources


def _of_type(resources: dict[str, Any], kind: str) -> dict[str, Any]:
    return {name: res for name, res in resources.items() if res["Type"] == kind}


def _stage(resources: dict[str, Any]) -> dict[str, Any]:
    """The API's one stage (its logical id carries the stage name once the parameter is resolved)."""
    (stage,) = _of_type(resources, "AWS::ApiGateway::Stage").values()
    props: dict[str, Any] = stage["Properties"]
    return props


def _sub_text(value: Any) -> str:
    """The text of a `Fn::Sub`, or the string it became: the language extensions resolve the
    parameters and pseudo parameters, keeping `${Resource}` placeholders."""
    text: str = value["Fn::Sub"] if isinstance(value, dict) else value
    return text


def _alarm_names(group: dict[str, Any]) -> set[str]:
    return {alarm["Name"]["Ref"] for alarm in group["Properties"]["AlarmConfiguration"]["Alarms"]}


def test_the_authorizer_has_no_alias_because_api_gateway_invokes_its_unqualified_arn(prod):
    aliases = {res["Properties"]["FunctionName"]["Ref"] for res in _of_type(prod, "AWS::Lambda::Alias").values()}
    assert aliases == API_FUNCTIONS | {"StreamConsumerFunction"}
    groups = {name.removesuffix("DeploymentGroup") for name in _of_type(prod, "AWS::CodeDeploy::DeploymentGroup")}
    assert "AuthorizerFunction" not in groups
    versions = [res for res in _of_type(prod, "AWS::Lambda::Version").values()]
    assert all(v["Properties"]["FunctionName"]["Ref"] != "AuthorizerFunction" for v in versions)
    # ... which is what the API's authorizer calls: the function's own ARN, no qualifier.
    authorizer = prod["TodoApi"]["Properties"]["Body"]["securityDefinitions"]["ApiKeyAuthorizer"]
    uri = authorizer["x-amazon-apigateway-authorizer"]["authorizerUri"]["Fn::Sub"]
    assert uri[1] == {"__FunctionArn__": {"Fn::GetAtt": ["AuthorizerFunction", "Arn"]}}
    assert uri[0].endswith("/functions/${__FunctionArn__}/invocations")


def test_api_alarms_roll_back_only_the_api_functions(prod):
    groups = {
        name.removesuffix("DeploymentGroup"): _alarm_names(res)
        for name, res in _of_type(prod, "AWS::CodeDeploy::DeploymentGroup").items()
    }
    assert set(groups) == API_FUNCTIONS | {"StreamConsumerFunction"}
    for function in API_FUNCTIONS:
        own = function.removesuffix("Function") + "ErrorsAlarm"
        assert groups[function] == {"ApiErrorsAlarm", "ApiLatencyAlarm", own}, function
    assert groups["StreamConsumerFunction"] == {"StreamConsumerErrorsAlarm"}
    for name in set().union(*groups.values()):
        assert prod[name]["Type"] == "AWS::CloudWatch::Alarm", name


# The alarms every function has (template.yaml writes them once, as Fn::ForEach): what each one
# watches, by logical id. The authorizer's errors alarm differs (Lambda counts each rejected key).
UNIFORM_ALARM = {
    "Namespace": "AWS/Lambda",
    "Statistic": "Sum",
    "Period": 60,
    "EvaluationPeriods": 1,
    "Threshold": 1,
    "ComparisonOperator": "GreaterThanOrEqualToThreshold",
    "TreatMissingData": "notBreaching",
    "AlarmActions": [{"Ref": "AlarmTopic"}],
}


def _function_alarms(resources: dict[str, Any]) -> dict[tuple[str, str], str]:
    """(function logical id, metric) -> alarm logical id, for every alarm on Lambda's Errors or Throttles."""
    found: dict[tuple[str, str], str] = {}
    for name, alarm in _of_type(resources, "AWS::CloudWatch::Alarm").items():
        props = alarm["Properties"]
        if props.get("Namespace") != "AWS/Lambda" or props.get("MetricName") not in ("Errors", "Throttles"):
            continue
        (dimension,) = props["Dimensions"]
        assert dimension["Name"] == "FunctionName", name
        key = (dimension["Value"]["Ref"], props["MetricName"])
        assert key not in found, (name, found.get(key))
        found[key] = name
    return found


@pytest.mark.parametrize("stage", ["dev", "prod"])
def test_every_function_has_its_errors_and_throttles_alarms(stage):
    resources = expand({"Stage": stage})["Resources"]
    functions = set(_of_type(resources, "AWS::Lambda::Function"))
    assert functions == FUNCTIONS
    alarms = _function_alarms(resources)
    assert set(alarms) == {(f, metric) for f in FUNCTIONS for metric in ("Errors", "Throttles")}
    for (function, metric), name in alarms.items():
        assert name == f"{function.removesuffix('Function')}{metric}Alarm"
        props = resources[name]["Properties"]
        if (function, metric) == ("AuthorizerFunction", "Errors"):
            assert (props["Threshold"], props["Period"]) == (100, 300)
            continue
        assert {k: props.get(k) for k in UNIFORM_ALARM} == UNIFORM_ALARM, name
        assert props["AlarmDescription"].startswith(f"{function} "), name


@pytest.fixture(scope="module")
def packaged(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """The template as `sam package` writes it, the one `sam deploy` uploads to CloudFormation
    (code uploaded to an S3 stand-in, moto's server; samconfig.toml's settings apply)."""
    port = free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    try:
        endpoint = f"http://127.0.0.1:{port}"
        boto3.client("s3", endpoint_url=endpoint, region_name="us-east-1").create_bucket(Bucket="artifacts")
        output = tmp_path_factory.mktemp("package") / "packaged.yaml"
        sam = Path(sys.executable).with_name("sam")
        env = {**os.environ, "AWS_ENDPOINT_URL": endpoint, "SAM_CLI_TELEMETRY": "0"}
        command = [str(sam), "package", "--s3-bucket", "artifacts", "--output-template-file", str(output)]
        done = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
        assert done.returncode == 0, done.stderr[-3000:]
    finally:
        server.stop()
    return document(output)


def test_the_packaged_template_keeps_the_language_extensions_for_cloudformation(packaged):
    # CloudFormation runs AWS::LanguageExtensions (Fn::ForEach) first, then the SAM transform.
    assert packaged["Transform"] == ["AWS::LanguageExtensions", "AWS::Serverless-2016-10-31"]
    assert [name for name in packaged["Resources"] if name.startswith("Fn::ForEach::")] == [
        "Fn::ForEach::FunctionErrorsAlarms",
        "Fn::ForEach::FunctionThrottlesAlarms",
    ]
    code = {
        name: res["Properties"].get("CodeUri") or res["Properties"].get("ContentUri")
        for name, res in packaged["Resources"].items()
        if isinstance(res, dict) and res["Type"] in ("AWS::Serverless::Function", "AWS::Serverless::LayerVersion")
    }
    assert set(code) == FUNCTIONS | {"SharedLayer", "AuthLayer"}
    assert all(str(uri).startswith("s3://artifacts/") for uri in code.values()), code
    # ... and expanded as CloudFormation will, it has every function's alarms, as template.yaml does.
    deployed = expand({"Stage": "prod"}, packaged)["Resources"]
    assert _function_alarms(deployed) == _function_alarms(expand({"Stage": "prod"})["Resources"])
    assert len(_function_alarms(deployed)) == 2 * len(FUNCTIONS)


def test_prod_shifts_traffic_by_canary(prod):
    for name, group in _of_type(prod, "AWS::CodeDeploy::DeploymentGroup").items():
        config = group["Properties"]["DeploymentConfigName"]
        assert "Canary10Percent5Minutes" in json.dumps(config), name


def test_an_authorizer_failure_is_a_500_not_retryable_storage_trouble(prod):
    responses = prod["TodoApi"]["Properties"]["Body"]["x-amazon-apigateway-gateway-responses"]
    failure = responses["AUTHORIZER_FAILURE"]
    assert failure["statusCode"] == "500"
    assert json.loads(failure["responseTemplates"]["application/json"]) == {"error": "Internal server error"}
    assert "gatewayresponse.header.Retry-After" not in failure.get("responseParameters", {})


# What API Gateway puts for the variables that are always numbers (unquoted in the format).
NUMBERS = {"status": "404", "responseLatency": "12"}


def _access_log_line(stage_props: dict[str, Any], **values: str) -> dict[str, Any]:
    """The stage's access log format with `$context.<name>` replaced as API Gateway would."""
    line = stage_props["AccessLogSetting"]["Format"]

    def value(match: re.Match[str]) -> str:
        return values.get(match.group(1), NUMBERS.get(match.group(1), "-"))

    parsed: dict[str, Any] = json.loads(re.sub(r"\$context\.([A-Za-z.]+)", value, line))
    return parsed


def test_authorizer_failures_are_counted_from_the_access_log_and_alarmed(prod):
    stage = _stage(prod)
    line = _access_log_line(stage, **{"error.responseType": "AUTHORIZER_FAILURE", "stage": "prod"})
    (metric_filter,) = _of_type(prod, "AWS::Logs::MetricFilter").values()
    assert metric_filter["Properties"]["LogGroupName"] == {"Ref": "ApiAccessLogGroup"}
    assert stage["AccessLogSetting"]["DestinationArn"] == {"Fn::GetAtt": ["ApiAccessLogGroup", "Arn"]}
    # Every field the filter reads is a field of the log line, with the value the filter expects.
    pattern = metric_filter["Properties"]["FilterPattern"]
    compared = re.findall(r'\$\.(\w+) = "(\w+)"', pattern)
    assert ("errorType", "AUTHORIZER_FAILURE") in compared
    assert ("errorType", "AUTHORIZER_CONFIGURATION_ERROR") in compared
    assert line["errorType"] == "AUTHORIZER_FAILURE"
    (transformation,) = metric_filter["Properties"]["MetricTransformations"]
    (dimension,) = transformation["Dimensions"]
    assert line[dimension["Value"].removeprefix("$.")] == "prod"
    alarm = prod["AuthorizerFailuresAlarm"]["Properties"]
    assert (alarm["Namespace"], alarm["MetricName"]) == (
        transformation["MetricNamespace"],
        transformation["MetricName"],
    )
    assert alarm["Dimensions"] == [{"Name": dimension["Key"], "Value": "prod"}]
    assert alarm["Threshold"] == 1
    assert alarm["AlarmActions"] == [{"Ref": "AlarmTopic"}]


def test_the_access_log_carries_the_tenant(prod):
    stage = _stage(prod)
    line = _access_log_line(stage, **{"authorizer.tenant": "acme", "resourcePath": "/todos/{todo_id}"})
    assert line["tenant"] == "acme"
    assert line["resourcePath"] == "/todos/{todo_id}"


@pytest.mark.parametrize("architecture", ["arm64", "x86_64"])
def test_one_parameter_sets_the_architecture_of_every_function_and_the_layer(architecture):
    resources = expand({"Architecture": architecture, "FunctionTimeout": "60"})["Resources"]
    functions = _of_type(resources, "AWS::Lambda::Function")
    assert len(functions) == len(API_FUNCTIONS) + 2
    for name, function in functions.items():
        assert function["Properties"]["Architectures"] == [{"Ref": "Architecture"}], name
        assert function["Properties"]["Timeout"] == {"Ref": "FunctionTimeout"}, name
    layers = _of_type(resources, "AWS::Lambda::LayerVersion")
    assert [name.rstrip("0123456789abcdef") for name in sorted(layers)] == ["AuthLayer", "SharedLayer"]
    for name, layer in layers.items():
        assert layer["Properties"]["CompatibleArchitectures"] == [architecture], name


def test_tracing_is_a_parameter_and_off_by_default():
    cfn = expand({})
    assert cfn["Parameters"]["EnableTracing"]["Default"] == "false"
    assert cfn["Conditions"]["TracingEnabled"] == {"Fn::Equals": ["false", "true"]}
    for name, function in _of_type(cfn["Resources"], "AWS::Lambda::Function").items():
        assert function["Properties"]["TracingConfig"] == {
            "Mode": {"Fn::If": ["TracingEnabled", "Active", "PassThrough"]}
        }, name
    assert _stage(cfn["Resources"])["TracingEnabled"] is False
    assert _stage(expand({"EnableTracing": "true"})["Resources"])["TracingEnabled"] is True


def _query_fields(query: str) -> set[str]:
    """The log fields a Logs Insights query reads: grouped by, aggregated, filtered."""
    fields: set[str] = set()
    for group in re.findall(r"\bby ([\w, ]+?)\s*(?:\||$)", query):
        fields |= {name.strip() for name in group.split(",")}
    fields |= set(re.findall(r"\bpct\((\w+),", query))
    fields |= set(re.findall(r"\bfilter (\w+)", query))
    return fields


def test_saved_queries_give_requests_errors_and_latency_per_tenant_and_route(prod):
    stage = _stage(prod)
    line = _access_log_line(stage, **{"authorizer.tenant": "acme"})
    assert (line["status"], line["responseLatency"]) == (404, 12)  # numbers, so that Insights can compare them
    queries = {
        _sub_text(res["Properties"]["Name"]).split("/")[-1]: res["Properties"]
        for res in _of_type(prod, "AWS::Logs::QueryDefinition").values()
    }
    assert set(queries) == {
        "requests-per-tenant-and-route",
        "errors-per-tenant-and-route",
        "latency-per-tenant-and-route",
    }
    for name, query in queries.items():
        assert query["LogGroupNames"] == [{"Ref": "ApiAccessLogGroup"}], name
        fields = _query_fields(query["QueryString"])
        assert {"tenant", "httpMethod", "resourcePath"} <= fields, name
        assert fields <= set(line), (name, fields - set(line))
    assert "filter status >= 400" in queries["errors-per-tenant-and-route"]["QueryString"]
    latency = queries["latency-per-tenant-and-route"]["QueryString"]
    assert "pct(responseLatency, 50)" in latency
    assert "pct(responseLatency, 99)" in latency


def test_the_dashboard_shows_the_per_tenant_figures(prod):
    body = _sub_text(prod["Dashboard"]["Properties"]["DashboardBody"])
    widgets = json.loads(re.sub(r"\$\{([^}]+)\}", r"<\1>", body))["widgets"]
    logs = [w["properties"] for w in widgets if w["type"] == "log"]
    line = _access_log_line(_stage(prod))
    assert len(logs) == 2
    for widget in logs:
        assert widget["query"].startswith("SOURCE '<ApiAccessLogGroup>' | ")
        assert {"tenant", "httpMethod", "resourcePath"} <= _query_fields(widget["query"]) <= set(line)
    assert any("pct(responseLatency, 99)" in w["query"] for w in logs)
    assert any("filter status >= 400" in w["query"] for w in logs)


def test_the_prod_waf_log_redacts_every_credential_header():
    resources = expand({"Stage": "prod", "EnableWaf": "true"})["Resources"]
    (logging,) = _of_type(resources, "AWS::WAFv2::LoggingConfiguration").values()
    redacted = {field["SingleHeader"]["Name"].lower() for field in logging["Properties"]["RedactedFields"]}
    assert redacted == {"x-api-key", "authorization"}


@pytest.mark.parametrize(("minutes", "expected"), [(None, 15), ("5", 5)])
def test_the_access_token_lifetime_is_a_parameter_with_a_short_default(minutes, expected):
    parameters = {"Stage": "prod"} | ({"AccessTokenMinutes": minutes} if minutes else {})
    resources = expand(parameters)["Resources"]
    (client,) = _of_type(resources, "AWS::Cognito::UserPoolClient").values()
    props = client["Properties"]
    assert props["TokenValidityUnits"]["AccessToken"] == "minutes"
    assert int(props["AccessTokenValidity"]) == expected
    declared = document()["Parameters"]["AccessTokenMinutes"]
    assert declared["MinValue"] == 5  # Cognito's minimum
