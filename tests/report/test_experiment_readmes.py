"""Generated README blocks: the committed READMEs match their results, and the machinery's rules."""

from __future__ import annotations

from pathlib import Path

import pytest

from ticketlab.errors import ConfigError
from ticketlab.report.experiments import EXPERIMENTS, experiments_root, update_readmes, verdict_line
from ticketlab.report.readme_blocks import Claim, claims_table, generated_blocks, render_readme, update_readme

ROOT = experiments_root()


@pytest.mark.parametrize("name", list(EXPERIMENTS))
def test_committed_readme_blocks_match_the_results(name: str) -> None:
    folder = ROOT / name
    blocks = generated_blocks(folder)
    if blocks is None:
        pytest.skip(f"{name} has no readme.py yet (issue 16)")
    assert "claims" in blocks, f"{name}/readme.py gives no claims table"
    text = (folder / "README.md").read_text(encoding="utf-8")
    assert render_readme(text, blocks) == text, (
        f"experiments/{name}/README.md is stale: run `ticketlab report --experiments --readmes`")
    assert text.rstrip().endswith("<!-- /generated:claims -->"), "the claims table ends the README"


GENERATOR = '''
from ticketlab.report.readme_blocks import Claim

def blocks(folder):
    value = (folder / "results" / "value.txt").read_text().strip()
    return {"value": f"The value is {value}."}

def claims(folder):
    return [Claim("it works", "1.0", "1.0", "reproduced", "same"), Claim("more", "qualitative", "-", "not tested", "later")]
'''

README = """# fake

Prose.

<!-- generated:value -->
stale
<!-- /generated:value -->

<!-- generated:claims -->
<!-- /generated:claims -->
"""


def cells(line: str) -> list[str]:
    return [c.strip() for c in line.strip().strip("|").split("|")]


def fake(tmp_path: Path) -> Path:
    folder = tmp_path / "zhang2021"
    (folder / "results").mkdir(parents=True)
    (folder / "results" / "value.txt").write_text("42\n")
    (folder / "readme.py").write_text(GENERATOR)
    (folder / "README.md").write_text(README)
    return folder


def test_update_rewrites_blocks_from_results_and_check_writes_nothing(tmp_path: Path) -> None:
    folder = fake(tmp_path)
    assert update_readme(folder, check=True) is True and (folder / "README.md").read_text() == README
    assert update_readmes(tmp_path, check=True) == ["zhang2021"]
    assert update_readme(folder) is True
    text = (folder / "README.md").read_text()
    assert "<!-- generated:value -->\nThe value is 42.\n<!-- /generated:value -->" in text
    rows = [cells(line) for line in text.splitlines() if line.startswith("| ")]
    assert rows == [["claim", "paper", "ours", "verdict", "reason"], ["it works", "1.0", "1.0", "**reproduced**", "same"],
                    ["more", "qualitative", "-", "**not tested**", "later"]]
    assert update_readme(folder) is False  # now current
    (folder / "results" / "value.txt").write_text("43\n")  # the results change: the block is stale
    assert update_readme(folder, check=True) is True
    assert verdict_line(folder) == "Verdicts over 2 claims of the paper: 1 reproduced, 1 not tested (the table at the end)."
    assert update_readme(tmp_path / "none") is None and "none generated yet" in verdict_line(tmp_path / "none")


@pytest.mark.parametrize(("text", "message"), [
    ("<!-- generated:value -->\nx\n", "is not closed"),
    ("<!-- generated:value -->\n<!-- /generated:value -->\n", "has no block 'other'"),
    ("<!-- generated:value -->\n<!-- /generated:value -->\n<!-- generated:other -->\n<!-- /generated:other -->\n"
     "<!-- generated:extra -->\n<!-- /generated:extra -->\n", "block 'extra' has no generator"),
    ("<!-- generated:value -->\n<!-- /generated:value -->\n" * 2 + "<!-- generated:other -->\n<!-- /generated:other -->\n",
     "appears twice"),
])
def test_bad_blocks_are_one_line_errors(text: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        render_readme(text, {"value": "v", "other": "o"})


def test_claims_need_a_known_verdict() -> None:
    with pytest.raises(ConfigError, match="choose from reproduced, partly, not reproduced, not tested"):
        Claim("c", "p", "o", "holds", "r")
    assert cells(claims_table([Claim("c", "p", "o", "partly", "r")]).splitlines()[2]) == ["c", "p", "o", "**partly**", "r"]


def test_readme_generator_that_cannot_read_its_results_is_a_one_line_error(tmp_path: Path) -> None:
    folder = fake(tmp_path)
    (folder / "results" / "value.txt").unlink()
    with pytest.raises(ConfigError, match="zhang2021/readme.py cannot read its results"):
        generated_blocks(folder)


def test_cli_check_and_bad_flags(cli) -> None:  # type: ignore[no-untyped-def]
    result = cli("report", "--experiments", "--readmes", "--check")
    assert result.code == 0, result.out + result.err
    assert cli("report", "--readmes").code == 2
    assert cli("report", "--experiments", "--check").code == 2
