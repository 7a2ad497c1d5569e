"""Read `template.yaml` through SAM CLI's own YAML reader (CloudFormation tags included)."""

from collections.abc import Iterator
from functools import cache
from pathlib import Path
from typing import Any

from samcli.yamlhelper import yaml_parse

from devtools.loader import ROOT

TEMPLATE = ROOT / "template.yaml"


def read(path: Path | str) -> dict[str, Any]:
    parsed: dict[str, Any] = yaml_parse(Path(path).read_text(encoding="utf-8"))
    return parsed


@cache
def template() -> dict[str, Any]:
    return read(TEMPLATE)


def resources(kind: str, path: Path | str | None = None) -> dict[str, dict[str, Any]]:
    """The resources of one type: of `template.yaml` (read once), or of the template at `path`."""
    parsed = template() if path is None else read(path)
    return {name: res for name, res in parsed.get("Resources", {}).items() if res.get("Type") == kind}


def table_definition(logical_id: str) -> dict[str, Any]:
    return dict(template()["Resources"][logical_id]["Properties"])


def api_functions() -> Iterator[tuple[str, Path, str]]:
    """(logical id, code folder, handler) of every function with an Api event."""
    default_handler = template().get("Globals", {}).get("Function", {}).get("Handler", "app.lambda_handler")
    for name, res in sorted(resources("AWS::Serverless::Function").items()):
        props = res["Properties"]
        if any(e.get("Type") == "Api" for e in props.get("Events", {}).values()):
            yield name, ROOT / props["CodeUri"], props.get("Handler", default_handler)
