"""The IAM fences of every role, evaluated offline by a real IAM policy evaluator.

The template is expanded as CloudFormation would (SAM's translator, dev and prod parameters); each
role's inline policies (SAM's generated ones and any AWS::IAM::Policy attached to it), and the
per-tenant session policy that `todo_api.adapters.tenant_credentials` builds on top of
TenantDataRole, go to @cloud-copilot/iam-simulate (devtools/node/iam_simulate.cjs), which evaluates
them with AWS's rules: `ForAllValues` over `dynamodb:LeadingKeys`, `Null`, identity and session
policies together. Each request names an action, a table (or index) and the partition key it
touches; the expected answer is written below by hand, one row per principal.

A role, a table or a key shape added later is one row of PRINCIPALS or TARGETS.
"""

from __future__ import annotations

import copy
import json
import os
import subprocess
from typing import Any

import pytest

from devtools.expand_template import expand
from devtools.loader import ROOT
from devtools.template_values import ACCOUNT, Resolver
from todo_api.adapters.tenant_credentials import session_policy

NODE_MODULES = ROOT / ".local" / "node" / "node_modules"
EVALUATOR = ROOT / "devtools" / "node" / "iam_simulate.cjs"
HASH = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"  # a key's SHA-256
TENANT, OTHER = "acme", "globex"

ACTIONS = ["GetItem", "PutItem", "UpdateItem", "DeleteItem", "ConditionCheckItem", "Query", "Scan", "BatchWriteItem"]

# name: (table logical id, index or None, partition key or None: a request that names none)
TARGETS: dict[str, tuple[str, str | None, str | None]] = {
    "own todo": ("TodoTable", None, f"TENANT#{TENANT}"),
    "other todo": ("TodoTable", None, f"TENANT#{OTHER}"),
    "prefixed tenant's todo": ("TodoTable", None, f"TENANT#{TENANT}2"),  # acme2: a prefix never suffices
    "own todo by index": ("TodoTable", "ByCompleted", f"TENANT#{TENANT}"),
    "other todo by index": ("TodoTable", "ByCompleted", f"TENANT#{OTHER}"),
    "own feed": ("TodoTable", None, f"ACTIVITY#{TENANT}"),
    "other feed": ("TodoTable", None, f"ACTIVITY#{OTHER}"),
    "API key": ("TodoTable", None, f"APIKEY#{HASH}"),
    "own claim": ("IdempotencyTable", None, f"{TENANT}#{HASH}"),
    "other claim": ("IdempotencyTable", None, f"{OTHER}#{HASH}"),
    "todo-shaped claim": ("IdempotencyTable", None, f"TENANT#{TENANT}"),
    "no key": ("TodoTable", None, None),
    "a caller's usage": ("UsageTable", None, f"tenant#{TENANT}"),
}
INDEX_ACTIONS = {"Query", "Scan"}  # the only item actions whose resource may be an index

BOTH_TENANTS_TODOS = ["own todo", "other todo", "prefixed tenant's todo"]
# principal: (role logical id, session tenant or None, {action: the targets it may reach})
PRINCIPALS: dict[str, tuple[str, str | None, dict[str, list[str]]]] = {
    "authorizer": (
        "AuthorizerFunctionRole",
        None,
        {"GetItem": ["API key"], "UpdateItem": ["a caller's usage"], "PutItem": ["a caller's usage"]},
    ),
    "create": (
        "CreateTodoFunctionRole",
        None,
        {
            "PutItem": [*BOTH_TENANTS_TODOS, "own claim", "other claim", "todo-shaped claim"],
            "UpdateItem": BOTH_TENANTS_TODOS,  # the tenant's count of todos, in the create's transaction
            "GetItem": ["own claim", "other claim", "todo-shaped claim"],
        },
    ),
    "get": ("GetTodoFunctionRole", None, {"GetItem": BOTH_TENANTS_TODOS}),
    "list": (
        "ListTodosFunctionRole",
        None,
        {"Query": [*BOTH_TENANTS_TODOS, "own todo by index", "other todo by index"]},
    ),
    "update": ("UpdateTodoFunctionRole", None, {"UpdateItem": BOTH_TENANTS_TODOS}),
    "delete": (
        "DeleteTodoFunctionRole",
        None,
        {"DeleteItem": BOTH_TENANTS_TODOS, "PutItem": BOTH_TENANTS_TODOS, "UpdateItem": BOTH_TENANTS_TODOS},
    ),
    "list activity": ("ListActivityFunctionRole", None, {"Query": ["own feed", "other feed"]}),
    "docs": ("DocsFunctionRole", None, {}),
    "deployments": ("CodeDeployServiceRole", None, {}),  # SAM's, for the canaries: no table access
    "stream consumer": (
        "StreamConsumerFunctionRole",
        None,
        {"PutItem": ["own feed", "other feed"], "GetItem": BOTH_TENANTS_TODOS},
    ),
    # The API functions' per-tenant session (TenantDataRole and the session policy of tenant acme):
    # only acme's todos, feed and claims.
    "tenant session": (
        "TenantDataRole",
        TENANT,
        {
            "GetItem": ["own todo", "own claim"],
            "PutItem": ["own todo", "own claim"],
            "UpdateItem": ["own todo"],
            "DeleteItem": ["own todo"],
            "Query": ["own todo", "own todo by index", "own feed"],
        },
    ),
}
# Roles that may assume TenantDataRole (its trust policy and their own policies, together).
TENANT_ROLE_ASSUMERS = {
    "CreateTodoFunctionRole",
    "GetTodoFunctionRole",
    "ListTodosFunctionRole",
    "UpdateTodoFunctionRole",
    "DeleteTodoFunctionRole",
    "ListActivityFunctionRole",
}
# AWS managed policies SAM attaches: logs, X-Ray and the stream's reads, no item action. A new
# one fails here, to be read and added to the matrix.
KNOWN_MANAGED = {
    "AWSLambdaBasicExecutionRole",
    "AWSLambdaDynamoDBExecutionRole",
    "AWSXrayWriteOnlyAccess",
    "AWSXRayDaemonWriteAccess",
    "AWSCodeDeployRoleForLambda",
}


# ----------------------------------------------------------------- the template's policies, resolved
def role_policies(template: dict[str, Any], role: str) -> list[dict[str, Any]]:
    """The role's inline policies and the AWS::IAM::Policy resources attached to it, resolved."""
    resolver = Resolver(template)
    resources = template["Resources"]
    properties = resources[role]["Properties"]
    managed = {resolver.value(arn).rsplit("/", 1)[-1] for arn in properties.get("ManagedPolicyArns", [])}
    assert managed <= KNOWN_MANAGED, f"{role}: managed policies not in the matrix: {managed - KNOWN_MANAGED}"
    policies = [
        {"name": p["PolicyName"], "policy": resolver.value(p["PolicyDocument"])} for p in properties.get("Policies", [])
    ]
    for name, resource in resources.items():
        if resource["Type"] == "AWS::IAM::Policy" and {"Ref": role} in resource["Properties"]["Roles"]:
            policies.append({"name": name, "policy": resolver.value(resource["Properties"]["PolicyDocument"])})
    return policies


# ----------------------------------------------------------------- the evaluator
def evaluate(simulations: list[dict[str, Any]]) -> list[str]:
    if not (NODE_MODULES / "@cloud-copilot" / "iam-simulate").is_dir():
        pytest.fail("@cloud-copilot/iam-simulate is not installed: run `make node-tools`")
    result = subprocess.run(
        ["node", str(EVALUATOR)],
        input=json.dumps(simulations),
        capture_output=True,
        text=True,
        env={**os.environ, "NODE_PATH": str(NODE_MODULES)},
        timeout=300,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    answers = json.loads(result.stdout)
    errors = [(s["request"], a["errors"]) for s, a in zip(simulations, answers, strict=True) if "errors" in a]
    assert not errors, f"the evaluator refused requests: {errors[:3]}"
    return [a["result"] for a in answers]


def _principal_arn(role: str, session: str | None) -> str:
    return f"arn:aws:sts::{ACCOUNT}:assumed-role/{role}/{session or 'lambda'}"


def cells() -> list[tuple[str, str, str]]:
    return [
        (principal, action, target)
        for principal in PRINCIPALS
        for action in ACTIONS
        for target, (_, index, _) in TARGETS.items()
        if index is None or action in INDEX_ACTIONS
    ]


def simulation(template: dict[str, Any], principal: str, action: str, target: str) -> dict[str, Any]:
    role, tenant, _ = PRINCIPALS[principal]
    table, index, key = TARGETS[target]
    resource = Resolver(template).arn(table) + (f"/index/{index}" if index else "")
    request = {
        "principal": _principal_arn(role, tenant),
        "action": f"dynamodb:{action}",
        "resource": {"resource": resource, "accountId": ACCOUNT},
        "contextVariables": {"dynamodb:LeadingKeys": [key]} if key else {},
    }
    found: dict[str, Any] = {
        "request": request,
        "identityPolicies": role_policies(template, role),
        "serviceControlPolicies": [],
        "resourceControlPolicies": [],
    }
    if tenant is not None:
        found["sessionPolicy"] = session_policy(tenant, "TodoTable", "IdempotencyTable")
    return found


def mismatches(template: dict[str, Any]) -> list[str]:
    grid = cells()
    results = evaluate([simulation(template, *cell) for cell in grid])
    wrong = []
    for (principal, action, target), result in zip(grid, results, strict=True):
        expected = target in PRINCIPALS[principal][2].get(action, [])
        if (result == "Allowed") != expected:
            wrong.append(f"{principal}: {action} on {target}: {result}, expected {'allow' if expected else 'deny'}")
    return wrong


PARAMETER_SETS = {"dev": {}, "prod": {"Stage": "prod"}}


@pytest.fixture(scope="module", params=sorted(PARAMETER_SETS))
def template(request: pytest.FixtureRequest) -> dict[str, Any]:
    return expand(PARAMETER_SETS[request.param])


def test_every_role_and_the_tenant_session_reach_only_their_keys(template):
    assert mismatches(template) == []


def test_the_matrix_covers_every_role_of_the_template(template):
    roles = {name for name, res in template["Resources"].items() if res["Type"] == "AWS::IAM::Role"}
    assert roles == {role for role, _, _ in PRINCIPALS.values()}


def test_only_the_api_functions_may_assume_the_tenant_role(template):
    roles = sorted({role for role, _, _ in PRINCIPALS.values()} - {"TenantDataRole"})
    resolver = Resolver(template)
    trust = resolver.value(template["Resources"]["TenantDataRole"]["Properties"]["AssumeRolePolicyDocument"])
    simulations = [
        {
            "request": {
                "principal": resolver.arn(role),
                "action": "sts:AssumeRole",
                "resource": {"resource": resolver.arn("TenantDataRole"), "accountId": ACCOUNT},
                "contextVariables": {},
            },
            "identityPolicies": role_policies(template, role),
            "serviceControlPolicies": [],
            "resourceControlPolicies": [],
            "resourcePolicy": trust,
        }
        for role in roles
    ]
    allowed = {role for role, result in zip(roles, evaluate(simulations), strict=True) if result == "Allowed"}
    assert allowed == TENANT_ROLE_ASSUMERS


def _without_conditions(template: dict[str, Any], role: str) -> dict[str, Any]:
    broken = copy.deepcopy(template)
    for policy in broken["Resources"][role]["Properties"]["Policies"]:
        for statement in policy["PolicyDocument"]["Statement"]:
            statement.pop("Condition", None)
    return broken


@pytest.mark.parametrize("role", ["AuthorizerFunctionRole", "CreateTodoFunctionRole", "StreamConsumerFunctionRole"])
def test_the_matrix_notices_a_role_that_loses_its_leading_keys_condition(template, role):
    wrong = mismatches(_without_conditions(template, role))
    assert wrong, "the evaluator allowed nothing more without the condition"
    assert {line.split(":")[0] for line in wrong} == {p for p, (r, _, _) in PRINCIPALS.items() if r == role}
