"""Fetch the pinned DynamoDB Local jar (what `make dynamodb-local` runs).

python -m devtools.emulator.dynamodb install
"""

from __future__ import annotations

import argparse
import sys

from devtools.emulator.dynamodb.install import DynamoDBLocalError, ensure_installed


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m devtools.emulator.dynamodb", description=__doc__.split("\n")[0])
    parser.add_argument("command", choices=["install"])
    parser.parse_args(argv)
    try:
        print(ensure_installed())
        return 0
    except DynamoDBLocalError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
