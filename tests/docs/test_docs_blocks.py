"""Every command of the docs, run: each page under docs/ and README.md, new pages included, is one
test that evaluates its code blocks in order (Sybil extracts them) against a `make start` server of
its own, started for the page by the fixture below on a free port with the demo key.

The conventions a page follows (docs/testing.md, "Commands in the docs are tested"):

- ```` ```console ````: a shell session. Each `$ ` line (with `\\` continuations) is a command, the
  lines up to the next `$ ` its expected output, compared as doctest compares (`...` matches
  anything, runs of whitespace are equal). A command without output lines must print nothing.
- ```` ```bash ````: a script, run with `set -euo pipefail`: it must exit 0; its output is not compared.
- ```` ```python ````: run in the page's namespace, with `API` and `KEY` set.
- ```` ```js ````: run by Node.js as an ES module, with `API` and `KEY` defined.
- ```` ```ts ````: only a snippet include (`--8<-- "devtools/node/client/<file>.ts"`) of a file that
  `make lint-openapi` compiles with `tsc --strict`.
- A block right after `<!-- docs: aws -->` needs an AWS account; one right after
  `<!-- docs: not-run <reason> -->` starts a server, runs the whole suite, or needs Docker: both
  are checked by `bash -n` (syntax) only.
- Blocks in other languages (`text`, `json`, `yaml`, `mermaid`) are not commands; a shell-like
  language the runner does not know (`sh`, `shell`, `zsh`, ...) fails the page.

Shell blocks of a page run one after the other in a working folder of their own (the repository's
top-level entries linked into it, so `make` and `.venv` work and files they write stay there);
variables set by one block are there in the next (`set -a`, the state kept by `export -p`).
`http://127.0.0.1:3000` in a block or its output stands for the page's server.
"""

from __future__ import annotations

import contextlib
import doctest
import os
import re
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from sybil import Example, Sybil
from sybil.parsers.markdown import CodeBlockParser, PythonCodeBlockParser
from sybil.parsers.markdown.lexers import FencedCodeBlockLexer

from devtools.loader import ROOT
from devtools.local.serve import Served, served

DOCS_URL = "http://127.0.0.1:3000"
DEMO_TENANT, DEMO_KEY = "demo", "local-dev-key"
MARKER = re.compile(r"<!--\s*docs:\s*(aws|not-run)(\s+[^-].*?)?\s*-->\s*$")
RUN_LANGUAGES = {"console", "bash", "python", "js"}
PLAIN_LANGUAGES = {"text", "json", "yaml", "mermaid", "ts"}
COMMAND_TIMEOUT = 300


def pages() -> list[Path]:
    """README.md and every Markdown page under docs/: a new page is picked up without a change here."""
    return [ROOT / "README.md", *sorted((ROOT / "docs").rglob("*.md"))]


class Page:
    """What the blocks of one page share: the server, the working folder and the shell's state."""

    def __init__(self, server: Served | None, work: Path) -> None:
        self.server = server
        self.work = work
        self.state = work / ".docs-shell-state"

    @property
    def url(self) -> str:
        assert self.server is not None, "a runnable block needs the page's server"
        return self.server.url

    def environment(self) -> dict[str, str]:
        """A clean environment (none of the test suite's AWS stand-ins), as a newcomer's shell has it,
        with the project's venv first on PATH and the page's server as the local store."""
        env = {
            "PATH": f"{ROOT / '.venv' / 'bin'}:{os.environ.get('PATH', '/usr/bin:/bin')}",
            "HOME": os.environ.get("HOME", str(self.work)),
            "LANG": "C.UTF-8",
            "TERM": "dumb",
        }
        if self.server is not None:
            env |= {"PORT": self.url.rsplit(":", 1)[1], "DYNAMODB_LOCAL_DIR": str(self.server.data_dir)}
        return env

    def localize(self, text: str) -> str:
        return text.replace(DOCS_URL, self.url) if self.server is not None else text

    def shell(self, script: str, strict: bool) -> subprocess.CompletedProcess[str]:
        """`script` in bash, after the state the page's earlier blocks left; the new state kept."""
        prologue = f"set -a\n[ -f {self.state} ] && source {self.state}\n"
        if strict:
            prologue += "set -euo pipefail\n"
        epilogue = f"\n__status=$?\nexport -p > {self.state}\nexit $__status\n"
        return subprocess.run(
            ["bash", "-c", prologue + self.localize(script) + epilogue],
            cwd=self.work,
            env=self.environment(),
            capture_output=True,
            text=True,
            timeout=COMMAND_TIMEOUT,
            check=False,
        )


def marker(example: Example) -> str | None:
    """`aws` or `not-run` when the block follows that marker, else None."""
    before = example.document.text[: example.start].rstrip().rsplit("\n", 1)[-1]
    found = MARKER.search(before)
    if not found:
        return None
    if found.group(1) == "not-run" and not (found.group(2) or "").strip():
        raise AssertionError(f"line {example.line}: `<!-- docs: not-run -->` needs a reason")
    return found.group(1)


def syntax_only(example: Example) -> bool:
    """Check a marked block with `bash -n`; True when it was marked (and so is not run)."""
    if marker(example) is None:
        return False
    source = example.parsed if example.region.lexemes.get("arguments") != "console" else commands_only(example.parsed)
    checked = subprocess.run(["bash", "-n"], input=source, capture_output=True, text=True, check=False)
    assert checked.returncode == 0, f"line {example.line}: not valid bash:\n{checked.stderr}"
    return True


def session(source: str) -> list[tuple[str, str]]:
    """A console block's (command, expected output) pairs."""
    pairs: list[tuple[str, list[str]]] = []
    continued = False
    for line in source.splitlines():
        if line.startswith("$ ") or (continued and pairs):
            text = line[2:] if line.startswith("$ ") and not continued else line
            if continued:
                pairs[-1] = (pairs[-1][0] + "\n" + text, pairs[-1][1])
            else:
                pairs.append((text, []))
            continued = text.endswith("\\")
        elif pairs:
            pairs[-1][1].append(line)
        else:
            raise AssertionError(f"a console block must start with a `$ ` command, not {line!r}")
    return [(command, "\n".join(output)) for command, output in pairs]


def commands_only(source: str) -> str:
    return "\n".join(command for command, _ in session(source))


CHECKER = doctest.OutputChecker()
FLAGS = doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE


def run_console(example: Example) -> None:
    if syntax_only(example):
        return
    page: Page = example.namespace["_page"]
    for command, expected in session(example.parsed):
        done = page.shell(command, strict=False)
        want = page.localize(expected).strip()
        got = done.stdout.strip()
        assert done.returncode == 0, (
            f"line {example.line}: `{command}` exited {done.returncode}\n{done.stdout}\n{done.stderr}"
        )
        assert CHECKER.check_output(want + "\n", got + "\n", FLAGS), (
            f"line {example.line}: `{command}` printed\n{got}\n\nbut the page says\n{want}\n\n(stderr)\n{done.stderr}"
        )


def run_bash(example: Example) -> None:
    if syntax_only(example):
        return
    page: Page = example.namespace["_page"]
    done = page.shell(example.parsed, strict=True)
    assert done.returncode == 0, f"line {example.line}: exited {done.returncode}\n{done.stdout}\n{done.stderr}"


def run_js(example: Example) -> None:
    page: Page = example.namespace["_page"]
    script = f"const API = {page.url!r}, KEY = {DEMO_KEY!r};\n" + example.parsed
    node = shutil.which("node")
    assert node, "Node.js runs the js blocks (it is needed for DynamoDB Local's first install too)"
    done = subprocess.run(
        [node, "--input-type=module"], input=script, capture_output=True, text=True, timeout=60, check=False
    )
    assert done.returncode == 0, f"line {example.line}: node exited {done.returncode}\n{done.stderr}"


SNIPPET = re.compile(r'^--8<-- "(devtools/node/client/[\w.-]+\.ts)"$')


def check_ts(example: Example) -> None:
    """A TypeScript block is the include of a file that `make lint-openapi` compiles, never a copy."""
    lines = example.parsed.strip().splitlines()
    found = SNIPPET.match(lines[0]) if len(lines) == 1 else None
    assert found, f"line {example.line}: a ts block must be one snippet include of devtools/node/client/*.ts"
    assert (ROOT / found.group(1)).is_file(), f"line {example.line}: {found.group(1)} does not exist"


def blocks_sybil() -> Sybil:
    return Sybil(
        parsers=[
            CodeBlockParser("console", run_console),
            CodeBlockParser("bash", run_bash),
            CodeBlockParser("js", run_js),
            CodeBlockParser("ts", check_ts),
            PythonCodeBlockParser(),
        ],
    )


def languages(path: Path) -> list[tuple[int, str]]:
    """Every fenced block's (line, language), by Sybil's own Markdown lexer."""
    document = Sybil(parsers=[]).parse(path)
    lexer = FencedCodeBlockLexer(language=r".*")
    return [(document.text.count("\n", 0, region.start) + 1, region.lexemes["language"]) for region in lexer(document)]


@contextlib.contextmanager
def workdir() -> Iterator[Path]:
    """A folder with the repository's top-level entries linked in: commands run as from a checkout."""
    with tempfile.TemporaryDirectory(prefix="todo-docs-") as folder:
        work = Path(folder)
        for entry in ROOT.iterdir():
            if entry.name not in {".git"}:
                (work / entry.name).symlink_to(entry)
        yield work


def needs_server(path: Path) -> bool:
    return any(language in RUN_LANGUAGES for _, language in languages(path))


@pytest.mark.parametrize("path", pages(), ids=lambda p: str(p.relative_to(ROOT)))
def test_every_block_of_the_page_runs(path: Path) -> None:
    unknown = [(line, lang) for line, lang in languages(path) if lang not in RUN_LANGUAGES | PLAIN_LANGUAGES]
    assert not unknown, f"{path.name}: code blocks in a language the docs runner does not know: {unknown}"
    document = blocks_sybil().parse(path)
    examples = list(document)
    expected = [line for line, lang in languages(path) if lang in RUN_LANGUAGES | {"ts"}]
    assert len(examples) == len(expected), f"{path.name}: blocks at lines {expected}, Sybil found {len(examples)}"
    with contextlib.ExitStack() as stack:
        work = stack.enter_context(workdir())
        server = None
        runnable = [e for e in examples if marker(e) is None and e.region.lexemes.get("arguments") != "ts"]
        if runnable:
            server = stack.enter_context(served({DEMO_TENANT: DEMO_KEY}, command=["make", "-s", "start"]))
        page = Page(server, work)
        document.namespace.update(_page=page, API=server.url if server else DOCS_URL, KEY=DEMO_KEY)
        before = set(sys.modules)
        sys.path.insert(0, str(work))
        try:
            for example in examples:
                example.evaluate()
        finally:
            sys.path.remove(str(work))
            for name in set(sys.modules) - before:  # a client generated in `work` goes with it
                if str(work) in str(getattr(sys.modules[name], "__file__", "") or ""):
                    del sys.modules[name]
