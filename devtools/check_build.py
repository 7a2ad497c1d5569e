"""Fail when a `.py` file of the build has no python3.13 bytecode beside it.

`make build` compiles `.aws-sam/build` with python3.13 (`compileall --invalidation-mode
unchecked-hash`), so that the Lambda runtime loads `__pycache__/<module>.cpython-313.pyc` instead of
compiling at every cold start. This counts the `.py` files without that `.pyc`.

    python3.13 devtools/check_build.py .aws-sam/build

Standard library only: it runs under the python3.13 that built the code, outside the dev venv.
"""

import argparse
import sys
from pathlib import Path

TAG = "cpython-313"


def missing_bytecode(root: Path) -> list[Path]:
    return sorted(
        source
        for source in root.rglob("*.py")
        if not (source.parent / "__pycache__" / f"{source.stem}.{TAG}.pyc").is_file()
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("build_dir", type=Path, nargs="?", default=Path(".aws-sam/build"))
    args = parser.parse_args(argv)
    if not args.build_dir.is_dir():
        print(f"{args.build_dir}: no build here (run make build)", file=sys.stderr)
        return 2
    sources = sum(1 for _ in args.build_dir.rglob("*.py"))
    missing = missing_bytecode(args.build_dir)
    for source in missing[:20]:
        print(f"no {TAG} bytecode: {source}", file=sys.stderr)
    if missing:
        print(f"{len(missing)} of {sources} .py files lack {TAG} bytecode", file=sys.stderr)
        return 1
    print(f"{args.build_dir}: all {sources} .py files have {TAG} bytecode")
    return 0


if __name__ == "__main__":
    sys.exit(main())
