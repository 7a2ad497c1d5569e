"""The API as CloudFormation receives it (template.yaml through the SAM transform, offline): every
method but the docs goes through the authorizer and nothing else; no method requires an API
Gateway API key and the stack has no API Gateway API key, usage plan or usage plan key. Those
allow 10,000 keys per account and Region, which AWS does not raise: the authorizer's limiter
counts each tenant and user instead (docs/capacity.md). What API Gateway answers for the stage's
throttle is the contract's JSON error."""

import json

import pytest

from devtools.expand_template import expand

PUBLIC = {("/", "get"), ("/openapi.json", "get"), ("/docs", "get")}
KEY_MACHINERY = {"AWS::ApiGateway::ApiKey", "AWS::ApiGateway::UsagePlan", "AWS::ApiGateway::UsagePlanKey"}
CONFIGURATIONS = [{}, {"Stage": "prod", "EnableWaf": "true"}]


@pytest.fixture(scope="module", params=CONFIGURATIONS, ids=["dev", "prod-waf"])
def expanded(request):
    return expand(request.param)


@pytest.fixture(scope="module")
def api(expanded):
    return expanded["Resources"]["TodoApi"]["Properties"]


def test_every_method_but_the_docs_requires_the_authorizer_and_no_api_gateway_key(api):
    assert "ApiKeySourceType" not in api
    assert "api_key" not in api["Body"].get("securityDefinitions", {})
    methods = {
        (path, method): op.get("security") for path, ops in api["Body"]["paths"].items() for method, op in ops.items()
    }
    assert set(methods) > PUBLIC
    for route, security in methods.items():
        if route[1] == "options":  # CORS preflights: answered by the gateway, no authorizer
            assert security is None, route
        elif route in PUBLIC:  # SAM's marker for `Authorizer: NONE`: no authorizer, nothing required
            assert security == [{"NONE": []}], route
        else:
            assert security == [{"ApiKeyAuthorizer": []}], route


def test_the_stack_has_no_api_gateway_key_or_usage_plan(expanded):
    types = {resource["Type"] for resource in expanded["Resources"].values()}
    assert types & KEY_MACHINERY == set()
    assert "UsagePlanId" not in expanded.get("Outputs", {})
    assert not {"KeyRateLimit", "KeyBurstLimit", "KeyQuotaPerDay"} & set(expanded["Parameters"])


def test_the_authorizer_is_given_no_usage_key(expanded):
    variables = expanded["Resources"]["AuthorizerFunction"]["Properties"]["Environment"]["Variables"]
    assert "USERS_USAGE_KEY" not in variables


def test_no_gateway_response_of_usage_plans_remains(api):
    responses = api["Body"]["x-amazon-apigateway-gateway-responses"]
    assert "INVALID_API_KEY" not in responses
    assert "QUOTA_EXCEEDED" not in responses


def test_the_stage_throttle_answers_a_json_429_with_retry_after(api):
    response = api["Body"]["x-amazon-apigateway-gateway-responses"]["THROTTLED"]
    assert response["statusCode"] == "429"
    body = json.loads(response["responseTemplates"]["application/json"])
    assert body == {"error": "Too many requests"}
    assert int(response["responseParameters"]["gatewayresponse.header.Retry-After"].strip("'")) > 0
