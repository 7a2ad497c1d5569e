"""Programs run under `valgrind --tool=callgrind` by the benchmark, in a runtime-only python3.13.

Each is started with `-S` and a `sys.path` of exactly: the function's folder, the layer's
`python/` folder and a site-packages holding boto3 alone, as in Lambda.
"""

IMPORT = """
import sys
sys.path[:0] = {path!r}
import app
"""

BARE_HANDLER = """
import boto3

client = boto3.client("dynamodb")


def lambda_handler(event, context):
    item = client.get_item(TableName="t", Key={"PK": {"S": event["pathParameters"]["todo_id"]}})
    return {"statusCode": 200, "body": str(item)}
"""

# A warm loop: `count` invocations after a warm-up, with a DynamoDB client that answers from
# memory (no moto, no network), so only the function's own work is counted.
WARM = """
import json, sys
sys.path[:0] = {path!r}
import boto3

ITEM = {{
    "PK": {{"S": "TENANT#demo"}}, "SK": {{"S": "TODO#01JD7Z6ZQ4N8Y3T5V2W9X0ABCD"}},
    "LSI1SK": {{"S": "C#0#01JD7Z6ZQ4N8Y3T5V2W9X0ABCD"}}, "entity": {{"S": "todo"}}, "tenant": {{"S": "demo"}},
    "id": {{"S": "01JD7Z6ZQ4N8Y3T5V2W9X0ABCD"}}, "title": {{"S": "Read a book"}}, "completed": {{"BOOL": False}},
    "created_at": {{"S": "2026-11-27T10:15:00.123Z"}}, "updated_at": {{"S": "2026-11-27T10:15:00.123Z"}},
    "version": {{"N": "1"}},
}}


class FakeDynamoDB:
    def get_item(self, **kwargs):
        return {{"Item": ITEM}}

    def put_item(self, **kwargs):
        return {{}}

    def transact_write_items(self, **kwargs):  # a create: the todo and its tenant's count
        return {{}}


fake = FakeDynamoDB()
{patch}
import app


sys.path.append({root!r})  # only for the project's own Lambda context stand-in, then gone again
from devtools.emulator.context import LambdaContext

sys.path.remove({root!r})

context = LambdaContext("bench", 512, 10)
event = json.load(open({event!r}))
for _ in range(20):
    result = app.lambda_handler(dict(event), context)
assert result["statusCode"] in (200, 201), result
for _ in range({count}):
    app.lambda_handler(dict(event), context)
"""

PATCH_APP = "import todo_api.wiring\ntodo_api.wiring.dynamodb = lambda: fake"

# The API functions as on AWS, on per-tenant STS sessions (TENANT_ROLE_ARN): STS answers from
# memory; `cold` builds a real boto3 client for each tenant's credentials (then answers from
# memory too), so a request of a tenant new to the container counts what that costs in-process.
# (Inserted into WARM as a value: single braces.)
PATCH_SCOPED = """
import datetime, os
os.environ["TENANT_ROLE_ARN"] = "arn:aws:iam::123456789012:role/bench-TenantDataRole"
from todo_api.adapters import clients


class FakeSTS:
    def assume_role(self, **kwargs):
        expires = datetime.datetime.now(datetime.UTC) + datetime.timedelta(hours=1)
        credentials = {"AccessKeyId": "ASIABENCH", "SecretAccessKey": "s", "SessionToken": "t", "Expiration": expires}
        return {"Credentials": credentials}


real_client = clients.dynamodb_client
clients.sts_client = lambda: FakeSTS()
clients.dynamodb_client = lambda credentials=None: (real_client(credentials), fake)[1]
"""

# A warm loop in which every call (`cold`) or none comes from a tenant new to the container.
WARM_TENANTS = WARM.replace(
    "for _ in range({count}):\n    app.lambda_handler(dict(event), context)",
    "for n in range({count}):\n"
    "    if {cold!r}:\n"
    "        event['requestContext']['authorizer']['tenant'] = 'bench' + str(n)\n"
    "    app.lambda_handler(dict(event), context)",
)
PATCH_BARE = "boto3.client = lambda *a, **k: fake"

# The authorizer's cold start with the JOSE library: its handler, then the token module that a
# first bearer token imports (joserfc, cryptography), from its own layer.
IMPORT_AUTHORIZER = """
import sys
sys.path[:0] = {path!r}
import app
import todo_api.adapters.tokens
"""

# Warm authorizer invocations with a bearer token: `count` calls after a warm-up, the issuer's key
# set in memory (no HTTP). `fresh` empties the verified-token cache before each call, so every
# call verifies the signature and the claims (a token this container has not seen yet).
WARM_BEARER = """
import json, sys
sys.path[:0] = {path!r}
from joserfc import jwt
from joserfc.jwk import KeySet, RSAKey
import app
from todo_api import wiring
from todo_api.adapters.tokens import Jwks, TokenVerifier
from todo_api.domain.auth import TokenPolicy, TtlCache
import time

key = RSAKey.import_key(json.loads({key!r}))
ISSUER = "https://issuer.example"
policy = TokenPolicy(ISSUER, "bench-client", tenant_claim="custom:tenant")
jwks = Jwks(ISSUER, "https://issuer.example/jwks.json", fetch=lambda url: KeySet([key]).as_dict(private=False))
verifier = TokenVerifier(policy, jwks)
wiring.token_verifier = lambda: verifier
now = int(time.time())
claims = {{"iss": ISSUER, "sub": "bench-user", "client_id": "bench-client", "token_use": "access",
          "iat": now, "nbf": now, "exp": now + 3600}}
token = jwt.encode({{"alg": "RS256", "kid": key.kid}}, claims, key, algorithms=["RS256"])

sys.path.append({root!r})  # only for the project's own Lambda context stand-in, then gone again
from devtools.emulator.context import LambdaContext

sys.path.remove({root!r})
context = LambdaContext("bench", 512, 10)

event = json.load(open({event!r}))
event["headers"].pop("x-api-key", None)
event["headers"]["Authorization"] = "Bearer " + token
fresh = {fresh!r}
for _ in range(20):
    result = app.lambda_handler(dict(event), context)
assert result["context"]["tenant"] == "user#bench-user", result
for _ in range({count}):
    if fresh:
        verifier._cache = TtlCache(time.monotonic)
    app.lambda_handler(dict(event), context)
"""
