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


fake = FakeDynamoDB()
{patch}
import app


sys.path.append({root!r})  # only for the project's own Lambda context stand-in, then gone again
from devtools.local.context import LambdaContext

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
PATCH_BARE = "boto3.client = lambda *a, **k: fake"
