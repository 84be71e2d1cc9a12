"""README lists generated from the registries: current in README.md, rendered as written here."""

from __future__ import annotations

from pathlib import Path

import pytest

from ticketlab.errors import ConfigError
from ticketlab.pruning import SCORES, ScoreMethod
from ticketlab.pruning.scores.simple import magnitude
from ticketlab.registry import Registry
from ticketlab.report import registry_docs
from ticketlab.report.registry_docs import render_text, update_file

README = Path(__file__).resolve().parents[2] / "README.md"


@pytest.fixture()
def things(monkeypatch: pytest.MonkeyPatch) -> Registry[object]:
    registry: Registry[object] = Registry("thing")
    registry.add("one", 1, "the first")
    registry.add("two", lambda: 2)  # no description, and no docstring to take one from
    monkeypatch.setitem(registry_docs.SOURCES, "things", lambda: registry)
    return registry


def test_readme_blocks_match_the_registries() -> None:
    text = README.read_text(encoding="utf-8")
    for name in ("scores", "quotas", "models", "datasets", "branches", "constructions", "corruptions"):
        assert f"<!-- registry:{name} -->" in text, f"README.md has no {name} block"
    assert render_text(text) == text, "README.md is stale: run `ticketlab catalog --readme README.md`"


def test_blocks_render_as_written_out(things: Registry[object]) -> None:
    text = ("| cell (<!-- registry:things -->stale<!-- /registry:things -->) |\n"
            "- list:\n"
            "  <!-- registry:things -->\n"
            "  - `old`: stale\n"
            "  <!-- /registry:things -->\n"
            "after\n")
    assert render_text(text) == ("| cell (<!-- registry:things -->one, two<!-- /registry:things -->) |\n"
                                 "- list:\n"
                                 "  <!-- registry:things -->\n"
                                 "  - `one`: the first\n"
                                 "  - `two`\n"
                                 "  <!-- /registry:things -->\n"
                                 "after\n")
    assert render_text(render_text(text)) == render_text(text)


def test_a_newly_registered_score_reaches_the_scores_block() -> None:
    text = "<!-- registry:scores --><!-- /registry:scores -->"
    with SCORES.registered("test-extra", ScoreMethod(magnitude), "from a test"):
        assert render_text(text).endswith(", lamp, test-extra<!-- /registry:scores -->")
    assert "test-extra" not in render_text(text)


def test_bad_blocks_are_config_errors(things: Registry[object]) -> None:
    with pytest.raises(ConfigError, match="no <!-- /registry:things -->"):
        render_text("<!-- registry:things -->\n- `one`\n")
    with pytest.raises(ConfigError, match="unknown registry block 'nothing'"):
        render_text("<!-- registry:nothing --><!-- /registry:nothing -->")


def test_catalog_rewrites_and_checks_a_file(  # type: ignore[no-untyped-def]
    cli, tmp_path: Path, things: Registry[object]
) -> None:
    page = tmp_path / "page.md"
    page.write_text("names: <!-- registry:things -->zero<!-- /registry:things -->\n")
    assert cli("catalog", "--readme", str(page), "--check").code == 1
    assert page.read_text() == "names: <!-- registry:things -->zero<!-- /registry:things -->\n"
    assert cli("catalog", "--readme", str(page)).code == 0
    assert page.read_text() == "names: <!-- registry:things -->one, two<!-- /registry:things -->\n"
    assert cli("catalog", "--readme", str(page), "--check").code == 0
    assert update_file(page) is False


def test_catalog_lists_every_registry(cli, things: Registry[object]) -> None:  # type: ignore[no-untyped-def]
    result = cli("catalog")
    assert result.code == 0
    assert "things:\n  one: the first\n  two\n" in result.out
    for entry in SCORES:
        assert f"  {entry.name}: {entry.description}\n" in result.out
