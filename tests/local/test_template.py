"""The one template reader reads what `sam local` reads, CloudFormation's language extensions included."""

from pathlib import Path

from devtools.emulator.template import LocalTemplate
from tests.local.conftest import ROOT, TEMPLATE

FOR_EACH = """
  Fn::ForEach::ScratchTables:
    - Name
    - [Alpha, Beta]
    - ${Name}ScratchTable:
        Type: AWS::DynamoDB::Table
        Properties:
          BillingMode: PAY_PER_REQUEST
          AttributeDefinitions:
            - AttributeName: id
              AttributeType: S
          KeySchema:
            - AttributeName: id
              KeyType: HASH
"""


def test_fn_for_each_tables_are_tables_of_the_local_store(tmp_path: Path) -> None:
    text = TEMPLATE.read_text(encoding="utf-8")
    both = "Transform:\n  - AWS::LanguageExtensions\n  - AWS::Serverless-2016-10-31"
    text = text.replace("Transform: AWS::Serverless-2016-10-31", both)
    text = text.replace("\nResources:\n", "\nResources:\n" + FOR_EACH, 1)
    copy = ROOT / f".template-foreach-{tmp_path.name}.yaml"  # beside the original: CodeUri stays valid
    copy.write_text(text, encoding="utf-8")
    try:
        names = LocalTemplate.load(copy).table_names()
    finally:
        copy.unlink()
    assert names["AlphaScratchTable"] == "todo-local-AlphaScratchTable"
    assert names["BetaScratchTable"] == "todo-local-BetaScratchTable"
    assert names["TodoTable"] == "todo-local-TodoTable"
