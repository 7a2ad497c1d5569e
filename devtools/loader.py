"""Load a function's handler module from its CodeUri under a unique module name.

Every function has an `app.py`; importing them all as `app` would make them collide, so each is
loaded as `functions_<logical id>` from its own file. The layer package must be importable
(`layers/shared` on `sys.path`, as the Makefile's PYTHONPATH and the test configuration set it).
"""

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

ROOT = Path(__file__).resolve().parent.parent
LAYER_DIR = ROOT / "layers" / "shared"


def ensure_layer_on_path() -> None:
    if str(LAYER_DIR) not in sys.path:
        sys.path.insert(0, str(LAYER_DIR))


def load_module(code_dir: Path, handler: str, name: str, *, fresh: bool = False) -> ModuleType:
    """Import `<code_dir>/<module>.py` (from a `module.function` handler) as module `name`."""
    ensure_layer_on_path()
    module_file = Path(code_dir) / (handler.rsplit(".", 1)[0].replace(".", "/") + ".py")
    if not fresh and name in sys.modules:
        return sys.modules[name]
    spec = importlib.util.spec_from_file_location(name, module_file)
    if spec is None or spec.loader is None:
        raise ImportError(f"cannot load {module_file}")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    try:
        spec.loader.exec_module(module)
    except BaseException:
        sys.modules.pop(name, None)
        raise
    return module
