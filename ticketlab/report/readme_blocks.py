"""Generated blocks of the experiments' READMEs: every number comes from the result files.

A README holds blocks from ``<!-- generated:NAME -->`` to ``<!-- /generated:NAME -->``, each
marker on a line of its own. An experiment plugs in with ``experiments/<name>/readme.py``
beside its driver, which defines

- ``blocks(folder: Path) -> dict[str, str]``: the Markdown of each block, computed from the
  files under ``folder`` (``results*/summary.json``, ``summary.csv`` ...), and
- ``claims(folder: Path) -> list[Claim]`` (optional): the paper's claims with our verdicts,
  rendered as the block ``claims`` (each README ends with it) and counted on the page.

``ticketlab report --experiments --readmes`` rewrites the blocks (``--check`` only compares),
and ``tests/report/test_experiment_readmes.py`` fails while a committed block is stale. A
block in the README that the generator does not give, or the reverse, is an error.
"""

from __future__ import annotations

import importlib.util
import re
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType

from ticketlab.atomic import atomic_write_text
from ticketlab.errors import ConfigError
from ticketlab.text import format_table

VERDICTS = ("reproduced", "partly", "not reproduced", "not tested")
GENERATOR = "readme.py"

_BLOCK = re.compile(r"^<!-- generated:(?P<name>[\w-]+) -->\n(?P<body>.*?)^<!-- /generated:(?P=name) -->$",
                    re.DOTALL | re.MULTILINE)
_OPENING = re.compile(r"<!-- generated:([\w-]+) -->")


@dataclass(frozen=True)
class Claim:
    """One claim of a paper: its number (or "qualitative"), ours, the verdict and why."""

    claim: str
    paper: str
    ours: str
    verdict: str
    reason: str

    def __post_init__(self) -> None:
        if self.verdict not in VERDICTS:
            raise ConfigError(f"verdict '{self.verdict}' of claim '{self.claim}': choose from {', '.join(VERDICTS)}")


def claims_table(claims: Iterable[Claim]) -> str:
    """The claims as a Markdown table: claim, paper, ours, verdict, reason."""
    rows = [[c.claim, c.paper, c.ours, f"**{c.verdict}**", c.reason] for c in claims]
    return format_table(["claim", "paper", "ours", "verdict", "reason"], rows, markdown=True)


def verdict_counts(claims: Iterable[Claim]) -> str:
    """``2 reproduced, 1 partly, ...`` in the order of :data:`VERDICTS`, zero counts left out."""
    counts = Counter(c.verdict for c in claims)
    return ", ".join(f"{counts[v]} {v}" for v in VERDICTS if counts[v]) or "no claims"


def load_generator(folder: Path) -> ModuleType | None:
    """``folder/readme.py`` as a module, or None when the experiment has none yet."""
    path = folder / GENERATOR
    if not path.is_file():
        return None
    spec = importlib.util.spec_from_file_location(f"ticketlab_readme_{folder.name}", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    if not callable(getattr(module, "blocks", None)):
        raise ConfigError(f"{path} defines no blocks(folder) function")
    return module


def experiment_claims(folder: Path) -> list[Claim] | None:
    """The claims of the experiment in ``folder``, or None when it gives none."""
    module = load_generator(folder)
    if module is None or not callable(getattr(module, "claims", None)):
        return None
    return list(module.claims(folder))


def generated_blocks(folder: Path) -> dict[str, str] | None:
    """Block name -> Markdown for the experiment in ``folder``; None without a generator."""
    module = load_generator(folder)
    if module is None:
        return None
    try:
        blocks = dict(module.blocks(folder))
        if callable(getattr(module, "claims", None)):
            blocks["claims"] = claims_table(module.claims(folder))
    except (OSError, KeyError, ValueError) as exc:
        raise ConfigError(f"{folder.name}/{GENERATOR} cannot read its results: {exc!r}") from exc
    return blocks


def render_readme(text: str, blocks: Mapping[str, str], source: str = "README.md") -> str:
    """``text`` with every generated block's body replaced by ``blocks[name]``."""
    found = [m.group("name") for m in _BLOCK.finditer(text)]
    opened = _OPENING.findall(text)
    if sorted(found) != sorted(opened):
        unclosed = next(name for name in opened if opened.count(name) != found.count(name))
        raise ConfigError(f"{source}: <!-- generated:{unclosed} --> is not closed by <!-- /generated:{unclosed} --> "
                          "on a line of its own")
    duplicated = sorted({n for n in found if found.count(n) > 1})
    unknown = sorted(set(found) - set(blocks))
    missing = sorted(set(blocks) - set(found))
    if duplicated or unknown or missing:
        problem = (f"block '{duplicated[0]}' appears twice" if duplicated else
                   f"block '{unknown[0]}' has no generator" if unknown else f"has no block '{missing[0]}'")
        raise ConfigError(f"{source}: {problem} (generated: {', '.join(sorted(blocks)) or 'none'})")

    def fill(match: re.Match[str]) -> str:
        name = match.group("name")
        body = blocks[name].strip("\n")
        return f"<!-- generated:{name} -->\n{body}\n<!-- /generated:{name} -->"

    return _BLOCK.sub(fill, text)


def update_readme(folder: Path, *, check: bool = False) -> bool | None:
    """Regenerate ``folder/README.md``'s blocks (unless ``check``): True when they were stale,
    None when the experiment has no generator."""
    blocks = generated_blocks(folder)
    if blocks is None:
        return None
    readme = folder / "README.md"
    if not readme.is_file():
        raise ConfigError(f"{folder.name} has a {GENERATOR} but no README.md")
    text = readme.read_text(encoding="utf-8")
    fresh = render_readme(text, blocks, f"{folder.name}/README.md")
    if fresh != text and not check:
        atomic_write_text(readme, fresh)
    return fresh != text
