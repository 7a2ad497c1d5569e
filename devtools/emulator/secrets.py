"""Secrets Manager secrets of the template, made locally.

A function variable that is a dynamic reference to a secret of the template,
`{{resolve:secretsmanager:${<LogicalId>}:SecretString:<json key>}}` (as SAM CLI leaves a `!Sub` of
one), resolves from a local file instead of Secrets Manager: `secrets.json` beside the local data
(`.local/`, or DYNAMODB_LOCAL_DIR), made on first use as the secret's `GenerateSecretString` says
(the keys of its `SecretStringTemplate` as written, its `GenerateStringKey` random) and kept, mode
600, so values survive a restart. Delete the file to make new ones. A test writes its own first.
"""

from __future__ import annotations

import json
import os
import re
import secrets
import threading
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from devtools.emulator import state
from devtools.emulator.template import LocalServerError, LocalTemplate

REFERENCE = re.compile(r"\{\{resolve:secretsmanager:\$\{(?P<id>[A-Za-z0-9]+)\}:SecretString:(?P<key>[^:{}]+)\}\}")
_LOCK = threading.Lock()


class LocalSecrets:
    def __init__(self, resources: Mapping[str, Mapping[str, Any]], path: Path) -> None:
        self._resources = resources
        self._path = path

    def _generate(self, logical_id: str) -> dict[str, str]:
        resource = self._resources.get(logical_id, {})
        generate = resource.get("Properties", {}).get("GenerateSecretString")
        if resource.get("Type") != "AWS::SecretsManager::Secret" or not isinstance(generate, dict):
            raise LocalServerError(f"{logical_id} is no secret with GenerateSecretString: not resolvable locally")
        values = {k: str(v) for k, v in json.loads(generate.get("SecretStringTemplate", "{}")).items()}
        values[str(generate["GenerateStringKey"])] = secrets.token_urlsafe(int(generate.get("PasswordLength", 32)))
        return values

    def value(self, logical_id: str, key: str) -> str:
        with _LOCK:
            stored: dict[str, dict[str, str]] = (
                json.loads(self._path.read_text(encoding="utf-8")) if self._path.exists() else {}
            )
            if logical_id not in stored:
                stored[logical_id] = self._generate(logical_id)
                self._path.parent.mkdir(parents=True, exist_ok=True)
                descriptor = os.open(self._path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
                with os.fdopen(descriptor, "w", encoding="utf-8") as out:
                    json.dump(stored, out, indent=2)
        if key not in stored[logical_id]:
            raise LocalServerError(f"{logical_id} has no key {key!r} (in {self._path})")
        return stored[logical_id][key]

    def resolve(self, value: str) -> str:
        """`value` with every dynamic reference to a template's secret replaced by its local value."""
        return REFERENCE.sub(lambda match: self.value(match["id"], match["key"]), value)


def local_secrets(template: LocalTemplate) -> LocalSecrets:
    """The template's secrets, kept in the local state's `secrets.json` (`state.secrets_file()`)."""
    return LocalSecrets(template.resources, state.secrets_file())
