"""The docs function's cold start: Powertools' OpenAPI models (pydantic, the biggest import of the
Swagger UI helpers) load with the first /docs page, not with the function. `make bench` counts the
instructions (`init_instructions_ratio`); this pins down the import that the figure depends on."""

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
MODELS = "aws_lambda_powertools.event_handler.openapi.models"


def _loaded_after(code: str) -> set[str]:
    script = (
        "import json, sys\n"
        f"sys.path[:0] = [{str(ROOT / 'functions/docs')!r}, {str(ROOT / 'layers/shared')!r}]\n"
        "import app\n"
        f"{code}\n"
        "print(json.dumps(sorted(sys.modules)))\n"
    )
    env = {"PATH": "/usr/bin:/bin", "AWS_DEFAULT_REGION": "us-east-1", "POWERTOOLS_SERVICE_NAME": "todo-api"}
    run = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, env=env, check=True)
    return set(json.loads(run.stdout))


def test_the_docs_function_starts_without_the_openapi_models():
    loaded = _loaded_after("")
    assert "app" in loaded
    assert MODELS not in loaded


def test_the_first_docs_page_loads_them_and_renders_swagger_ui():
    loaded = _loaded_after("assert 'SwaggerUIBundle' in app.swagger_page('/dev')")
    assert MODELS in loaded
