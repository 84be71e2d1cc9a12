"""IMC's Hessian spectra: both ends of each block's spectrum, with the gap (if any) marked."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from ticketlab.plotting import pyplot, save_figure


def plot_spectrum(blocks: Sequence[dict[str, Any]], path: Path, title: str = "") -> Path:
    """One row per block: the smallest eigenvalues (left) and the largest (right) by rank.

    The gap lambda_N -> lambda_{N+1} found by the rule is shaded; the threshold 2 Lip(F) is
    given in the legend, so a missing gap can be read off as "every step narrower than that".
    """
    plt = pyplot()
    fig, axes = plt.subplots(len(blocks), 2, figsize=(10.4, 3.4 * len(blocks)), squeeze=False)
    for row, block in zip(axes, blocks):
        spec = block["spectrum"]
        d = int(block["d"])
        bottom, top = spec["bottom_eigenvalues"], spec["top_eigenvalues"]
        if spec["complete"]:  # everything known: split it in the middle of the drawing
            bottom, top = bottom[: len(bottom) // 2], bottom[len(bottom) // 2 :]
        ends = [
            (row[0], list(range(1, len(bottom) + 1)), bottom, "smallest: N (ascending)"),
            (row[1], list(range(d - len(top) + 1, d + 1)), top, "largest: N (ascending)"),
        ]
        threshold = 2 * block["lipschitz"]["value"]
        gap = block["gap"]
        for ax, index, values, label in ends:
            ax.plot(index, values, ".", markersize=4, color="tab:blue")
            ax.set_xlabel(label)
            ax.set_ylabel("eigenvalue")
            ax.grid(True, alpha=0.3)
            if gap is not None and index and index[0] <= gap["index"] < index[-1] + 1:
                ax.axhspan(gap["lower"], gap["upper"], color="tab:orange", alpha=0.3,
                           label=f"gap after N={gap['index']}: {gap['width']:.3g} > 2 Lip(F) = {threshold:.3g}")
                ax.legend(fontsize=8)
        heading = f"{block['block']} (d={d:,}); 2 Lip(F) = {threshold:.3g}" + ("" if gap else ": no gap wide enough")
        row[0].set_title(heading, fontsize=9, loc="left")
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    return save_figure(fig, path)
