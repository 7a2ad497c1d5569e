"""The API as CloudFormation receives it (template.yaml through the SAM transform, offline): every
method but the docs requires a usage plan key, taken from the authorizer, and what API Gateway
answers for a missing key, an exhausted quota or a throttle is the contract's JSON error."""

import json

import pytest

from devtools.expand_template import expand

PUBLIC = {("/", "get"), ("/openapi.json", "get"), ("/docs", "get")}


@pytest.fixture(scope="module")
def api():
    return expand({})["Resources"]["TodoApi"]["Properties"]


def test_every_method_but_the_docs_requires_the_authorizer_and_a_usage_key(api):
    assert api["ApiKeySourceType"] == "AUTHORIZER"
    methods = {
        (path, method): op.get("security") for path, ops in api["Body"]["paths"].items() for method, op in ops.items()
    }
    assert set(methods) > PUBLIC
    for route, security in methods.items():
        if route[1] == "options":  # CORS preflights: answered by the gateway, no authorizer, no key
            assert security is None, route
        elif route in PUBLIC:
            assert security == [], route
        else:
            assert sorted(security, key=str) == [{"ApiKeyAuthorizer": []}, {"api_key": []}], route


@pytest.mark.parametrize(
    ("response_type", "status"), [("INVALID_API_KEY", "403"), ("QUOTA_EXCEEDED", "429"), ("THROTTLED", "429")]
)
def test_usage_plan_responses_are_json_errors(api, response_type, status):
    response = api["Body"]["x-amazon-apigateway-gateway-responses"][response_type]
    assert response["statusCode"] == status
    body = json.loads(response["responseTemplates"]["application/json"])
    assert isinstance(body["error"], str)
    assert body["error"]
    if status == "429":
        assert int(response["responseParameters"]["gatewayresponse.header.Retry-After"].strip("'")) > 0
