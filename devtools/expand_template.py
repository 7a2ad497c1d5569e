"""Expand `template.yaml` to plain CloudFormation offline, with the real SAM translator.

Scanners that do not know SAM (checkov) read the result. This is what CloudFormation's
`AWS::Serverless-2016-10-31` transform does, run in process, with no AWS credentials: local
`CodeUri`/`ContentUri` folders become placeholder S3 URIs (as `sam validate` does), and the
managed-policy map is empty (the template names managed policies by ARN, never by name).

    python -m devtools.expand_template --output .aws-sam/scan/prod.json Stage=prod

`NAME=VALUE` arguments are parameter values: the translator resolves them where SAM does
(`DeploymentPreference`, `AutoPublishAlias`, ...) and they become the parameters' defaults in the
output, so that a scanner evaluating conditions sees that stage. Resource `Metadata` (the scanners'
suppressions) is kept on the resources generated from it.
"""

import argparse
import copy
import json
import logging
import sys
from pathlib import Path
from typing import Any

from boto3.session import Session
from samcli.lib.cfn_language_extensions.sam_integration import expand_language_extensions
from samcli.lib.intrinsic_resolver.intrinsics_symbol_table import IntrinsicsSymbolTable
from samtranslator.parser.parser import Parser  # type: ignore[import-untyped]
from samtranslator.public.exceptions import InvalidDocumentException  # type: ignore[import-untyped]
from samtranslator.translator.translator import Translator  # type: ignore[import-untyped]

from devtools.emulator.template import TEMPLATE, document

PLACEHOLDER_BUCKET = "s3://placeholder-bucket/"
LOCAL_URIS = {
    "AWS::Serverless::Function": "CodeUri",
    "AWS::Serverless::LayerVersion": "ContentUri",
}


def _placeholder(uri: Any) -> Any:
    return f"{PLACEHOLDER_BUCKET}{uri.strip('/')}" if isinstance(uri, str) and not uri.startswith("s3://") else uri


def with_s3_uris(sam: dict[str, Any]) -> dict[str, Any]:
    """A copy of the template whose local code folders are placeholder S3 URIs."""
    sam = copy.deepcopy(sam)
    function_globals = sam.get("Globals", {}).get("Function", {})
    if "CodeUri" in function_globals:
        function_globals["CodeUri"] = _placeholder(function_globals["CodeUri"])
    for resource in sam.get("Resources", {}).values():
        prop = LOCAL_URIS.get(resource.get("Type", ""))
        if prop and prop in resource.get("Properties", {}):
            resource["Properties"][prop] = _placeholder(resource["Properties"][prop])
    return sam


def expand(overrides: dict[str, str], template: dict[str, Any] | None = None) -> dict[str, Any]:
    """`template.yaml` (or `template`, such as the one `sam package` wrote) as CloudFormation expands it."""
    # Without CloudFormation's feature-toggle config the translator warns once per function.
    logging.getLogger("samtranslator.feature_toggle.feature_toggle").setLevel(logging.ERROR)
    written = document() if template is None else copy.deepcopy(template)
    unknown = set(overrides) - set(written.get("Parameters", {}))
    if unknown:
        raise SystemExit(f"unknown parameters: {', '.join(sorted(unknown))}")
    parameter_values = {**IntrinsicsSymbolTable.DEFAULT_PSEUDO_PARAM_VALUES, **overrides}
    # CloudFormation runs AWS::LanguageExtensions (Fn::ForEach, ...) before the SAM transform.
    expanded = expand_language_extensions(written, parameter_values=parameter_values, enabled=True)
    sam = with_s3_uris(expanded.expanded_template)
    # The session only names the region (the ARN partition follows from it); nothing is called.
    session = Session(region_name=parameter_values["AWS::Region"])
    translator = Translator(managed_policy_map=None, sam_parser=Parser(), boto_session=session)
    try:
        cfn: dict[str, Any] = translator.translate(
            sam, parameter_values=parameter_values, passthrough_metadata=True, get_managed_policy_map=dict
        )
    except InvalidDocumentException as error:
        causes = "; ".join(str(cause) for cause in error.causes)
        raise SystemExit(f"{TEMPLATE.name}: SAM transform failed: {causes}") from error
    for name, value in overrides.items():
        cfn["Parameters"][name]["Default"] = value
    return cfn


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--output", type=Path, required=True, help="where to write the CloudFormation JSON")
    parser.add_argument("parameters", nargs="*", metavar="NAME=VALUE", help="parameter values")
    args = parser.parse_args(argv)
    overrides = dict(item.split("=", 1) for item in args.parameters)
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(expand(overrides), indent=1, sort_keys=True) + "\n", encoding="utf-8")
    print(f"{TEMPLATE.name} -> {args.output} ({' '.join(args.parameters) or 'defaults'})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
