"""What a deployment does, read from template.yaml as CloudFormation receives it (the real SAM
transform, offline): which functions get a `live` alias and a canary, which alarms roll back what,
how an authorizer failure is answered and counted, and the parameters that `sam local` needs."""

import json
import re
from typing import Any

import pytest

from devtools.expand_template import expand

API_FUNCTIONS = {
    "CreateTodoFunction",
    "GetTodoFunction",
    "ListTodosFunction",
    "UpdateTodoFunction",
    "DeleteTodoFunction",
    "DocsFunction",
    "ListActivityFunction",
}


@pytest.fixture(scope="module")
def prod() -> dict[str, Any]:
    resources: dict[str, Any] = expand({"Stage": "prod"})["Resources"]
    return resources


def _of_type(resources: dict[str, Any], kind: str) -> dict[str, Any]:
    return {name: res for name, res in resources.items() if res["Type"] == kind}


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
    stage = prod["TodoApiStage"]["Properties"]
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
    assert alarm["Dimensions"] == [{"Name": dimension["Key"], "Value": {"Ref": "Stage"}}]
    assert alarm["Threshold"] == 1
    assert alarm["AlarmActions"] == [{"Ref": "AlarmTopic"}]


def test_the_access_log_carries_the_tenant(prod):
    stage = prod["TodoApiStage"]["Properties"]
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
        assert layer["Properties"]["CompatibleArchitectures"] == [{"Ref": "Architecture"}], name


def test_tracing_is_a_parameter_and_off_by_default():
    cfn = expand({})
    assert cfn["Parameters"]["EnableTracing"]["Default"] == "false"
    assert cfn["Conditions"]["TracingEnabled"] == {"Fn::Equals": [{"Ref": "EnableTracing"}, "true"]}
    for name, function in _of_type(cfn["Resources"], "AWS::Lambda::Function").items():
        assert function["Properties"]["TracingConfig"] == {
            "Mode": {"Fn::If": ["TracingEnabled", "Active", "PassThrough"]}
        }, name
    stage = next(iter(_of_type(cfn["Resources"], "AWS::ApiGateway::Stage").values()))
    assert stage["Properties"]["TracingEnabled"] == {"Fn::If": ["TracingEnabled", True, False]}


def _query_fields(query: str) -> set[str]:
    """The log fields a Logs Insights query reads: grouped by, aggregated, filtered."""
    fields: set[str] = set()
    for group in re.findall(r"\bby ([\w, ]+?)\s*(?:\||$)", query):
        fields |= {name.strip() for name in group.split(",")}
    fields |= set(re.findall(r"\bpct\((\w+),", query))
    fields |= set(re.findall(r"\bfilter (\w+)", query))
    return fields


def test_saved_queries_give_requests_errors_and_latency_per_tenant_and_route(prod):
    stage = prod["TodoApiStage"]["Properties"]
    line = _access_log_line(stage, **{"authorizer.tenant": "acme"})
    assert (line["status"], line["responseLatency"]) == (404, 12)  # numbers, so that Insights can compare them
    queries = {
        res["Properties"]["Name"]["Fn::Sub"].split("/")[-1]: res["Properties"]
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
    body = prod["Dashboard"]["Properties"]["DashboardBody"]["Fn::Sub"]
    widgets = json.loads(re.sub(r"\$\{([^}]+)\}", r"<\1>", body))["widgets"]
    logs = [w["properties"] for w in widgets if w["type"] == "log"]
    line = _access_log_line(prod["TodoApiStage"]["Properties"])
    assert len(logs) == 2
    for widget in logs:
        assert widget["query"].startswith("SOURCE '<ApiAccessLogGroup>' | ")
        assert {"tenant", "httpMethod", "resourcePath"} <= _query_fields(widget["query"]) <= set(line)
    assert any("pct(responseLatency, 99)" in w["query"] for w in logs)
    assert any("filter status >= 400" in w["query"] for w in logs)
