"""The experiments page: the Markdown renderer, the page's contents, and headless Chromium."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest

from ticketlab.report.experiments import EXPERIMENTS, write_experiments_report
from ticketlab.report.markdown_html import markdown_to_html

PNG = bytes.fromhex("89504e470d0a1a0a0000000d4948445200000001000000010806000000"
                    "1f15c4890000000d49444154789c63000100000500010d0a2db40000000049454e44ae426082")


def test_markdown_tables_code_lists_and_escaping() -> None:
    text = "\n".join([
        "# Title with `code`", "", "A **bold** and *em* line", "that continues.", "",
        "| name | value |", "|:-----|------:|", "| a<b | 1 |", "", "- one", "- two", "",
        "    python run.py --x <y>", "", "```", "<raw>", "```",
    ])
    got = markdown_to_html(text)
    assert "<h1>Title with <code>code</code></h1>" in got
    assert "<p>A <strong>bold</strong> and <em>em</em> line that continues.</p>" in got
    assert '<th style="text-align:left">name</th><th style="text-align:right">value</th>' in got
    assert '<td style="text-align:left">a&lt;b</td>' in got
    assert "<ul><li>one</li><li>two</li></ul>" in got
    assert "<pre><code>python run.py --x &lt;y&gt;</code></pre>" in got and "<pre><code>&lt;raw&gt;</code></pre>" in got


def test_markup_in_text_and_links_cannot_escape() -> None:
    got = markdown_to_html('<script>x</script> ![a"b](p"onerror="q.png)')
    assert "<script>" not in got and 'src="p&quot;onerror=&quot;q.png"' in got


def fake_root(tmp_path: Path) -> Path:
    root = tmp_path / "experiments"
    results = root / "cunha2022" / "results"
    results.mkdir(parents=True)
    (results / "errors.png").write_bytes(PNG)
    (results / "extra.png").write_bytes(PNG)
    (results / "summary.md").write_text("| n | error |\n|--:|--:|\n| 30 | 3.9e-4 |\n")
    (root / "cunha2022" / "README.md").write_text(
        "# old title\n\n| | seed 000 | here |\n|---|---|---|\n| error | 1e-3 | 3.9e-4 |\n\n![errors](results/errors.png)\n")
    return root


def test_page_has_every_experiment_its_tables_and_copied_plots(tmp_path: Path) -> None:
    out = tmp_path / "out"
    html_path, md_path = write_experiments_report(out, root=fake_root(tmp_path))
    page = html_path.read_text()
    for exp in EXPERIMENTS.values():
        assert f'id="{exp.name}"' in page and f"Seed {exp.seed}" in page
    assert "old title" not in page and "seed 000" in page and "3.9e-4" in page
    assert 'src="images/cunha2022-results-errors.png"' in page
    assert page.count("cunha2022-results-errors.png") == 1  # shown in the README, not again below
    assert "cunha2022-results-extra.png" in page  # a plot the README does not show
    assert "Not run yet: <code>ticketlab reproduce zhang2021</code>" in page
    for src in re.findall(r'src="([^"]+)"', page):
        assert (out / src).read_bytes() == PNG
    markdown = md_path.read_text()
    assert "![errors](images/cunha2022-results-errors.png)" in markdown and "| 30 | 3.9e-4 |" in markdown


def test_the_cli_builds_the_page_of_the_checkout(cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    result = cli("report", "--experiments", "--out", str(tmp_path))
    assert result.code == 0, result.err
    page = (tmp_path / "report.html").read_text()
    assert "Against the paper" in page  # the README of a finished experiment
    assert cli("report", "--experiments", "runs", "--out", str(tmp_path)).code == 2


CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")


def render(page: Path, shot: Path, profile: Path) -> str:
    """Headless Chromium's screenshot of ``page``; returns its console lines."""
    proc = subprocess.run(
        [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         f"--user-data-dir={profile}", "--enable-logging=stderr", "--v=0", "--window-size=1280,2400",
         f"--screenshot={shot}", page.as_uri()],
        capture_output=True, text=True, timeout=120,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    return [line for line in proc.stderr.splitlines() if ":CONSOLE" in line]


@pytest.mark.skipif(CHROMIUM is None, reason="Chromium is not installed (Debian package chromium)")
def test_page_renders_in_headless_chromium_without_console_errors(tmp_path: Path) -> None:
    html_path, _ = write_experiments_report(tmp_path / "out")
    shot = tmp_path / "report.png"
    console = render(html_path, shot, tmp_path / "profile")
    assert console == []
    assert shot.read_bytes()[:8] == PNG[:8] and shot.stat().st_size > 50_000  # a real page, not a blank one
    # The check itself can fail: a page that logs an error is caught.
    bad = tmp_path / "bad.html"
    bad.write_text('<html><body><script>console.error("broken")</script></body></html>')
    assert any('"broken"' in line for line in render(bad, tmp_path / "bad.png", tmp_path / "profile2"))


@pytest.mark.parametrize("text", ["| not a table", "|a|\n|b|", "#nospace", "    ", "```\nunclosed", "- "])
def test_every_line_is_consumed_whatever_it_holds(text: str) -> None:
    assert isinstance(markdown_to_html(text), str)  # terminates
