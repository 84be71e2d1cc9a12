"""Tickets as networks that really are smaller and faster: compact, sparse and ONNX exports.

- :func:`compact_model`: cut the dead units and channels out (:mod:`.compact`);
- :func:`sparsify`: Linear/Conv2d layers holding only their nonzeros, run by sparse kernels (:mod:`.sparse`);
- :func:`export_run`: a run's ticket exported and verified (``ticketlab export``), :func:`load_export` to read it.
"""

from typing import Any

from ticketlab.export.compact import Compacted, LayerCut, compact_model

__all__ = ["Compacted", "LayerCut", "compact_model", "export_run", "load_export", "sparsify"]


def __getattr__(name: str) -> Any:  # the run-level and sparse parts import the runs package: loaded on first use
    if name == "export_run":
        from ticketlab.export.run_export import export_run

        return export_run
    if name == "load_export":
        from ticketlab.export.archive import load_export

        return load_export
    if name == "sparsify":
        from ticketlab.export.sparse import sparsify

        return sparsify
    raise AttributeError(f"module 'ticketlab.export' has no attribute {name!r}")
