"""The template of new instances (`worker.py --zygote`): what it loads ahead must be what an instance
then uses, and it relies on one private attribute of boto3 (`Session._session`, the botocore session
under boto3's default session), guarded here."""

from __future__ import annotations

import json
import subprocess
import sys

from devtools.emulator import zygote

PROBE = f"""
import json, os, sys
sys.path.insert(0, {str(zygote.WORKER.parent)!r})
os.environ.update(AWS_ACCESS_KEY_ID="x", AWS_SECRET_ACCESS_KEY="y", AWS_DEFAULT_REGION="eu-west-1")
import boto3
import botocore.loaders
import worker

worker._warm_sdk(sys.argv[1:])
loaded = []
original = botocore.loaders.JSONFileLoader.load_file
botocore.loaders.JSONFileLoader.load_file = lambda self, path: loaded.append(path) or original(self, path)
client = boto3.client("dynamodb", endpoint_url="http://127.0.0.1:9")
print(json.dumps({{"loaded": loaded, "region": client.meta.region_name}}))
"""


def probe(*services: str) -> dict[str, object]:
    result = subprocess.run(
        [sys.executable, "-c", PROBE, *services], capture_output=True, text=True, check=True, timeout=120
    )
    return json.loads(result.stdout.strip().splitlines()[-1])  # type: ignore[no-any-return]


def test_a_client_of_a_preloaded_service_reads_no_model_file_again() -> None:
    """boto3's default session, made by the template with DynamoDB's models loaded, is the one
    `boto3.client` uses: its first client parses no JSON file (and still takes the region of the
    instance's environment, resolved when the client is made)."""
    warmed = probe("dynamodb")
    assert warmed == {"loaded": [], "region": "eu-west-1"}
    cold = probe()  # the same without the template's work: the models are read then
    assert any("dynamodb" in str(path) for path in cold["loaded"])  # type: ignore[union-attr]


def test_the_services_are_those_the_runner_gives_a_local_endpoint() -> None:
    environment = {
        "AWS_ENDPOINT_URL_DYNAMODB": "http://127.0.0.1:8000",
        "AWS_ENDPOINT_URL_EVENTBRIDGE": "http://127.0.0.1:4010",
        "TABLE_NAME": "todos",
    }
    assert zygote.sdk_services(environment) == ["dynamodb", "events"]
