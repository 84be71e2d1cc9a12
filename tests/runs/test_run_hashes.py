"""Every run kind's directory names, pinned: a refactoring of the configs must not rename them.

Written before the run configs were reshaped onto one shared base; if one of these
changes, existing run directories are orphaned. Change them only on purpose.
"""

import pytest

from ticketlab.data import DataConfig
from ticketlab.pruning import PruneConfig
from ticketlab.runs.imc_run import IMCRunConfig
from ticketlab.runs.lottery_run import LotteryRunConfig
from ticketlab.runs.prune_run import PruneRunConfig
from ticketlab.runs.sparse_train_run import SparseTrainRunConfig
from ticketlab.runs.store import RunDirectory
from ticketlab.runs.strong_run import StrongConfig, StrongRunConfig
from ticketlab.runs.target_run import TargetRunConfig
from ticketlab.sparse import SparseConfig
from ticketlab.strong.anneal import AnnealConfig
from ticketlab.tickets import LotteryConfig
from ticketlab.training import TrainConfig

PINNED = {
    "prune-0c6aff9457024e4e": lambda: PruneRunConfig(),
    "prune-3fcb848060d2d2ce": lambda: PruneRunConfig(
        pruning=PruneConfig(method="synflow", quota="igq", sparsity=0.99, target="effective"),
        train=TrainConfig(duration="5ep"),
        seed=1,
    ),
    "lottery-842441d7239d071d": lambda: LotteryRunConfig(),
    "lottery-91038f439821816e": lambda: LotteryRunConfig(
        lottery=LotteryConfig(levels=3, prune_fraction=0.5, scope="layerwise", rewind="2ep"),
        data=DataConfig(per_class=50, val=1000),
    ),
    "target-d83a057576905af9": lambda: TargetRunConfig(anneal=AnnealConfig(density=0.1, scope="global")),
    "imc-ad3b2c166ee3ba82": lambda: IMCRunConfig(),
    "sparse-train-1a70a3f266222105": lambda: SparseTrainRunConfig(),
    "sparse-train-4e5e0d52c2031ce8": lambda: SparseTrainRunConfig(
        sparse=SparseConfig(method="rigl", sparsity=0.95), train=TrainConfig(duration="5ep"), seed=1,
    ),
    # Sparsity types and the ticket check's rewind point (issue 17): new fields, defaults unhashed.
    "sparse-train-79c7d8e2c31fdc21": lambda: SparseTrainRunConfig(
        sparse=SparseConfig(method="gmp", structure="2:4", sparsity=0.5), rewind="1ep",
    ),
    "prune-d2558fe98503f699": lambda: PruneRunConfig(pruning=PruneConfig(structure="channel")),
    "imc-spectrum-3f59cb3827f7ff57": lambda: IMCRunConfig(train=TrainConfig(batch_size=64)).spectrum_run(),
    # Renamed on purpose by --rescale (issue 15): the construction changed, and rescale is
    # always hashed so that directories built before it are not read as its results.
    "strong-ee04f66e1ba4a7c0": lambda: StrongRunConfig(
        "0123456789abcdef", "level-2", StrongConfig(construction="burkholz-2l", n=20), 3
    ),
}


@pytest.mark.parametrize("name", sorted(PINNED))
def test_run_directory_names_are_pinned(name: str, tmp_path) -> None:
    assert RunDirectory(tmp_path, PINNED[name]()).path.name == name
