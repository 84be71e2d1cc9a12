"""The five seed papers' experiments: where they live, how they run, one page for all.

``EXPERIMENTS`` is the one registry of them (``ticketlab reproduce`` runs their drivers;
:func:`write_experiments_report` gathers what they wrote). Each lives in
``experiments/<name>/`` of a source checkout: a driver (``run.py``, or a sweep file), a
README that sets our numbers beside the paper's, and ``results*/`` with tables and plots.
An experiment's ``readme.py`` (see :mod:`ticketlab.report.readme_blocks`) generates the
README's tables and its claims table from the results; the page counts the verdicts.
"""

from __future__ import annotations

import html
import re
import shutil
from dataclasses import dataclass
from pathlib import Path

import ticketlab
from ticketlab.atomic import atomic_write_text
from ticketlab.errors import ConfigError
from ticketlab.report.markdown_html import markdown_to_html
from ticketlab.report.readme_blocks import experiment_claims, update_readme, verdict_counts


@dataclass(frozen=True)
class Experiment:
    """One seed paper's experiment (``seed`` empty: an experiment beyond the seed papers)."""

    name: str
    seed: str
    title: str  # the paper, heading its section of the experiments page
    summary: str  # what our experiment does, one line of ``ticketlab reproduce --help``
    scales: tuple[str, ...]  # the --scale values it accepts; "cpu" is the default
    sweep: str | None = None  # a sweep file instead of a run.py driver
    jobs: bool = False  # its driver runs points in parallel (--jobs)
    scale_flag: bool = False  # its driver takes --scale (else every accepted scale is the same run)


EXPERIMENTS = {
    e.name: e
    for e in (
        # At the paper's own scale already (LeNet5, 50 epochs, n up to 30): cpu and full are one run.
        Experiment("cunha2022", "000", "da Cunha et al. (ICLR 2022): CNN tickets by random subset sum",
                   "LeNet5's conv layers from a random CNN, n = 5..30", ("cpu", "full")),
        Experiment("burkholz2022", "001", "Burkholz (ICML 2022): convolutional and residual networks",
                   "2L and L+1 constructions of sparse CNN and ResNet targets", ("cpu", "full"), scale_flag=True),
        Experiment("zhang2021", "002", "Zhang et al. (NeurIPS 2021): inertial-manifold compression",
                   "IMC against IMP and pruning at init", ("cpu", "full"), jobs=True, scale_flag=True),
        Experiment("vysogorets2023", "003", "Vysogorets & Kempe (2023): effective sparsity",
                   "the LeNet-300-100 pruning-at-init sweep, direct vs effective", ("cpu",),
                   sweep="sweep.toml", jobs=True),
        Experiment("varma2022", "004", "Varma et al. (NeurIPS 2022): data-efficient tickets",
                   "data-efficient tickets, clean and corrupted accuracy", ("cpu", "full"),
                   jobs=True, scale_flag=True),
        # Beyond the seeds: the methods lottery-ticket papers measure IMP against.
        Experiment("sparse_training", "", "Sparse training against IMP: GMP (Zhu & Gupta 2017), SET (Mocanu et al. "
                   "2018), RigL (Evci et al. 2020)", "GMP, SET, RigL and fixed masks against IMP, with training FLOPs",
                   ("cpu",), jobs=True),
    )
}


def experiments_root() -> Path:
    """``experiments/`` of the source checkout ticketlab runs from, or a one-line error."""
    root = Path(ticketlab.__file__).resolve().parents[1] / "experiments"
    if not root.is_dir():
        raise ConfigError(f"no experiments folder at {root}: reproduce and the experiments report need a source "
                          "checkout of ticketlab (git clone, then pip install -e .)")
    return root


def experiment(name: str) -> Experiment:
    """The experiment called ``name``, or a one-line error listing them."""
    if name not in EXPERIMENTS:
        raise ConfigError(f"unknown experiment '{name}'; choose from {', '.join(EXPERIMENTS)}")
    return EXPERIMENTS[name]


def result_folders(folder: Path) -> list[Path]:
    """``results/`` and ``results-<scale>/`` folders of an experiment that hold files."""
    return sorted(p for p in folder.glob("results*") if p.is_dir() and any(p.iterdir()))


def update_readmes(root: Path, *, check: bool = False) -> list[str]:
    """Regenerate (or with ``check`` only compare) the generated blocks of every experiment's
    README that has a ``readme.py``; returns the names of those that were stale."""
    return [name for name in EXPERIMENTS if update_readme(root / name, check=check)]


def verdict_line(folder: Path) -> str:
    """The page's line under an experiment's heading: its verdicts counted, or why there are none."""
    claims = experiment_claims(folder) if folder.is_dir() else None
    if claims is None:
        return "Verdicts: none generated yet (the experiment has no readme.py with a claims table)."
    return f"Verdicts over {len(claims)} claims of the paper: {verdict_counts(claims)} (the table at the end)."


TITLE = "ticketlab: the five seed papers and sparse training, claim by claim"

STYLE = """
body { font-family: system-ui, sans-serif; max-width: 72rem; margin: 2rem auto; padding: 0 1rem; color: #222; }
table { border-collapse: collapse; margin: 1rem 0; font-size: 0.85rem; display: block; overflow-x: auto; }
th, td { border: 1px solid #ccc; padding: 0.25rem 0.5rem; }
th { background: #f3f3f3; }
img { max-width: 100%; border: 1px solid #eee; }
pre { background: #f6f6f6; padding: 0.6rem; overflow-x: auto; }
nav a { margin-right: 1rem; }
section { border-top: 2px solid #ddd; margin-top: 2rem; }
.missing { color: #a00; }
.verdicts { font-weight: bold; }
"""


def write_experiments_report(out: str | Path, root: Path | None = None) -> list[Path]:
    """``report.html`` and ``report.md`` in ``out``: every experiment's README (our numbers
    beside the paper's), then its result tables and plots; images copied to ``out/images``."""
    root = root or experiments_root()
    out = Path(out)
    images = out / "images"
    images.mkdir(parents=True, exist_ok=True)
    md_parts = [f"# {TITLE}\n"]
    html_parts = []
    nav = []
    for exp in EXPERIMENTS.values():
        folder = root / exp.name
        readme = folder / "README.md"
        copied: dict[str, str] = {}

        def link(target: str, folder: Path = folder, copied: dict[str, str] = copied) -> str:
            source = (folder / target).resolve()
            if source.suffix.lower() == ".png" and source.is_file():
                name = copy_name(folder, source)
                shutil.copyfile(source, images / name)
                copied[str(source)] = name
                return f"images/{name}"
            return target

        heading = f"Seed {exp.seed}: {exp.title}" if exp.seed else exp.title
        nav.append(f'<a href="#{exp.name}">{html.escape(exp.name)}</a>')
        body = [f'<section id="{exp.name}"><h1>{html.escape(heading)}</h1>']
        verdicts = verdict_line(folder)
        body.append(f'<p class="verdicts">{html.escape(verdicts)}</p>')
        md = [f"\n## {heading}\n", f"{verdicts}\n"]
        if readme.exists():
            text = readme.read_text(encoding="utf-8").split("\n", 1)[-1]  # its own title is replaced
            body.append(markdown_to_html(text, link))
            md.append(_relink(text, folder))
        else:
            note = f"Not run yet: `ticketlab reproduce {exp.name}` runs it."
            body.append(f'<p class="missing">{markdown_to_html(note)}</p>')
            md.append(note)
        for results in result_folders(folder):
            extra_png = [p for p in sorted(results.glob("*.png")) if str(p.resolve()) not in copied]
            tables = sorted(results.glob("*.md"))
            if not tables and not extra_png:
                continue
            body.append(f"<h2>{html.escape(results.name)}/</h2>")
            md.append(f"\n### {results.name}/\n")
            for table in tables:
                text = table.read_text(encoding="utf-8")
                body.append(f"<h3>{html.escape(table.name)}</h3>" + markdown_to_html(text, link))
                md.append(f"#### {table.name}\n\n{text}")
            for png in extra_png:
                target = link(str(png.relative_to(folder)))
                body.append(f'<figure><img alt="{html.escape(png.name)}" src="{target}">'
                            f"<figcaption>{html.escape(png.name)}</figcaption></figure>")
                md.append(f"![{png.name}]({target})\n")
        body.append("</section>")
        html_parts.append("\n".join(body))
        md_parts.append("\n".join(md))
    page = ("<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
            "<title>ticketlab: experiments</title>"
            f"<style>{STYLE}</style></head><body><h1>{html.escape(TITLE)}</h1>"
            f"<nav>{''.join(nav)}</nav>\n" + "\n".join(html_parts) + "\n</body></html>\n")
    written = [out / "report.html", out / "report.md"]
    atomic_write_text(written[0], page)
    atomic_write_text(written[1], "\n".join(md_parts) + "\n")
    return written


def copy_name(folder: Path, source: Path) -> str:
    """The name of an experiment's image in the report's ``images/`` (unique over experiments)."""
    return f"{folder.name}-{source.parent.name}-{source.name}"


def _relink(text: str, folder: Path) -> str:
    """Markdown with image links pointing at the copies in the report's ``images/``."""

    def fix(match: re.Match[str]) -> str:
        source = (folder / match[2]).resolve()
        if source.suffix.lower() == ".png" and source.is_file():
            return f"![{match[1]}](images/{copy_name(folder, source)})"
        return match[0]

    return re.sub(r"!\[([^\]]*)\]\(([^)\s]+)\)", fix, text)
