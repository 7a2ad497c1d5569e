"""Claims no user can write, and who may sign up, read from the template as CloudFormation expands
it: the app client's WriteAttributes, the authorizer's settings built from the resolved environment
(the real `AuthorizerSettings`, which refuses to start with a claim users could write), and the
user pool's sign-up switch, for each parameter set."""

from typing import Any

import pytest

from devtools.expand_template import expand
from devtools.template_values import Resolver
from todo_api.authorizer_settings import AuthorizerSettings


def _authorizer_environment(template: dict[str, Any]) -> dict[str, str]:
    variables = template["Resources"]["AuthorizerFunction"]["Properties"]["Environment"]["Variables"]
    resolved = Resolver(template).value(variables)
    return {name: str(value) for name, value in resolved.items()}


def _resolved(template: dict[str, Any], logical_id: str) -> dict[str, Any]:
    properties: dict[str, Any] = Resolver(template).value(template["Resources"][logical_id]["Properties"])
    return properties


@pytest.mark.parametrize("claim", ["custom:tenant", "cognito:groups", ""])
def test_with_the_stacks_user_pool_no_custom_attribute_is_writable_and_the_authorizer_starts(claim):
    template = expand({"TenantClaim": claim} if claim else {})
    client = _resolved(template, "UserPoolClient")
    assert client["WriteAttributes"] == ["email"]
    settings = AuthorizerSettings.from_environ(_authorizer_environment(template))
    assert settings.tenant_claim == (claim or None)
    assert settings.user_writable_attributes == ("email",)


def test_with_another_issuer_a_custom_claim_stops_the_authorizer():
    template = expand({"TokenIssuer": "https://issuer.example", "TokenAudience": "app", "TenantClaim": "custom:tenant"})
    with pytest.raises(ValueError, match="USER_WRITABLE_ATTRIBUTES must list"):
        AuthorizerSettings.from_environ(_authorizer_environment(template))


def test_with_another_issuer_a_claim_that_is_no_custom_attribute_is_accepted():
    template = expand({"TokenIssuer": "https://issuer.example", "TokenAudience": "app", "TenantClaim": "org_id"})
    assert AuthorizerSettings.from_environ(_authorizer_environment(template)).tenant_claim == "org_id"


@pytest.mark.parametrize(
    ("parameters", "admin_only"),
    [
        ({}, False),
        ({"Stage": "prod"}, True),
        ({"SelfSignUp": "false"}, True),
        ({"Stage": "prod", "SelfSignUp": "true"}, False),
    ],
)
def test_self_sign_up_is_open_on_dev_and_closed_on_prod_unless_the_parameter_says(parameters, admin_only):
    pool = _resolved(expand(parameters), "UserPool")
    assert pool["AdminCreateUserConfig"] == {"AllowAdminCreateUserOnly": admin_only}
