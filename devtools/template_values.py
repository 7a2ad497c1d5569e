"""Values of an expanded template (devtools/expand_template.py) as CloudFormation would resolve them.

Offline stand-ins: resources get ARNs in account 123456789012, us-east-1, named by their logical
id; parameters take their defaults (which `expand` sets to the values it was given); conditions
are evaluated. Enough of CloudFormation's intrinsics for the roles, policies and environments
that the tests read.
"""

from __future__ import annotations

import re
from typing import Any

ACCOUNT = "123456789012"
REGION = "us-east-1"


class Resolver:
    """CloudFormation's intrinsics, as far as the roles use them, with stand-in ARNs."""

    def __init__(self, template: dict[str, Any]) -> None:
        self.resources = template["Resources"]
        self.parameters = {name: p.get("Default", "") for name, p in template.get("Parameters", {}).items()}
        self.parameters |= {"AWS::Region": REGION, "AWS::AccountId": ACCOUNT, "AWS::Partition": "aws"}
        self.conditions = template.get("Conditions", {})
        self.mappings = template.get("Mappings", {})

    def arn(self, logical_id: str) -> str:
        kind = self.resources[logical_id]["Type"]
        if kind == "AWS::DynamoDB::Table":
            return f"arn:aws:dynamodb:{REGION}:{ACCOUNT}:table/{logical_id}"
        if kind == "AWS::IAM::Role":
            return f"arn:aws:iam::{ACCOUNT}:role/{logical_id}"
        return f"arn:aws:{kind.split('::')[1].lower()}:{REGION}:{ACCOUNT}:{logical_id}"

    def condition(self, name: str) -> bool:
        return bool(self.value(self.conditions[name]))

    def value(self, node: Any) -> Any:
        if isinstance(node, list):
            return [self.value(item) for item in node]
        if isinstance(node, str):
            # SAM CLI's offline language extensions turn a `Fn::Sub` that names only resources into
            # its bare text ("${TodoTable.Arn}/index/*"); CloudFormation substitutes it.
            return self._sub(node, {}, resources_only=True)
        if not isinstance(node, dict):
            return node
        if len(node) != 1:
            return {key: self.value(item) for key, item in node.items()}
        ((key, arg),) = node.items()
        if key == "Ref":
            return self.parameters.get(arg, arg)
        if key == "Fn::GetAtt":
            logical_id, attribute = arg if isinstance(arg, list) else arg.split(".", 1)
            assert attribute == "Arn", f"no stand-in for {logical_id}.{attribute}"
            return self.arn(logical_id)
        if key == "Fn::Sub":
            text, names = (arg, {}) if isinstance(arg, str) else (arg[0], self.value(arg[1]))
            return self._sub(text, names)
        if key == "Fn::FindInMap":
            name, top, second = self.value(arg)
            return self.mappings[name][top][second]
        if key == "Fn::Join":
            return arg[0].join(self.value(arg[1]))
        if key == "Fn::If":
            return self.value(arg[1] if self.condition(arg[0]) else arg[2])
        if key == "Fn::Equals":
            return self.value(arg[0]) == self.value(arg[1])
        if key == "Fn::Not":
            return not self.value(arg[0])
        if key == "Fn::And":
            return all(self.value(item) for item in arg)
        if key == "Fn::Or":
            return any(self.value(item) for item in arg)
        if key == "Condition":
            return self.condition(arg)
        return {key: self.value(arg)}

    def _sub(self, text: str, names: dict[str, Any], resources_only: bool = False) -> str:
        def one(match: re.Match[str]) -> str:
            name = match.group(1)
            if resources_only and name.partition(".")[0] not in self.resources:
                return match.group(0)  # an IAM policy variable such as ${aws:username}
            if name in names:
                return str(names[name])
            if name in self.parameters:
                return str(self.parameters[name])
            logical_id, _, attribute = name.partition(".")
            return self.arn(logical_id) if attribute == "Arn" else logical_id

        return re.sub(r"\$\{([^}!]+)\}", one, text)
