"""Epoch time of LeNet-5 on Fashion-MNIST: memory-mapped uint8 images against in-memory tensors.

Both sides load Fashion-MNIST with ``load_data``: the in-memory side without a memory
budget (normalised float32 tensors), the mapped side with ``max_memory=1`` (uint8 ``.npy``
copies in a temporary user cache, memory-mapped and normalised batch by batch). Each epoch
trains a fresh LeNet-5 from the same seed with SGD over the same ``train_batches``
(crop+flip augmentation, same seed) and evaluates on the test set; the sides alternate
epoch by epoch in one process. The first losses must agree bit for bit.

With ``--png``, Fashion-MNIST is also written out as a folder of 70,000 PNG files and the
first ``load_data`` of it (decoding every image) is timed, in memory and mapped.

Target: mapped / in-memory <= 1.10 (median seconds per epoch). Run:
``python benchmarks/data_pipeline.py``.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import tempfile
import time
from pathlib import Path

import torch
import torch.nn.functional as F

from ticketlab.data import DataBundle, DataConfig, load_data, train_batches
from ticketlab.data.mapped import MappedImages
from ticketlab.models.build import build_model
from ticketlab.report import format_table
from ticketlab.training import evaluate


def epoch(data: DataBundle, epoch_index: int, batch_size: int) -> tuple[float, float]:
    """Seconds of one training epoch plus test evaluation, and the first batch's loss."""
    model = build_model("lenet5", data.info.image_shape, data.info.num_classes, seed=0)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.05, momentum=0.9)
    first = float("nan")
    start = time.perf_counter()
    model.train()
    for b, (x, y) in enumerate(
        train_batches(data.train, batch_size, seed=0, epoch=epoch_index, augment="crop+flip", crop_padding=2)
    ):
        loss = F.cross_entropy(model(x), y)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        if b == 0:
            first = loss.item()
    evaluate(model, data.test)
    return time.perf_counter() - start, first


def write_png_folder(root: Path, data: DataBundle) -> None:
    """The raw uint8 Fashion-MNIST splits as ``root/{train,test}/<class>/<i>.png``."""
    from PIL import Image

    for name, split in (("train", data.train), ("test", data.test)):
        assert isinstance(split.x, MappedImages)
        pixels, labels = split.x.images, split.y.tolist()
        rows = range(len(labels)) if split.x.rows is None else split.x.rows.tolist()
        for i, (row, label) in enumerate(zip(rows, labels)):
            folder = root / name / str(label)
            folder.mkdir(parents=True, exist_ok=True)
            Image.fromarray(pixels[row, 0]).save(folder / f"{i:05d}.png")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--epochs", type=int, default=3, help="epochs timed per side (default: 3)")
    parser.add_argument("--batch-size", type=int, default=128, help="batch size (default: 128)")
    parser.add_argument("--threads", type=int, default=2, help="torch CPU threads (default: 2)")
    parser.add_argument("--png", action="store_true", help="also time the first decode of a 70,000-image PNG folder")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    root = Path(tempfile.mkdtemp(prefix="data-pipeline-bench-"))
    os.environ["XDG_CACHE_HOME"] = str(root / "cache")  # a private cache: the mapped copy is written anew
    cfg = DataConfig(dataset="fashion-mnist")
    rows = []
    start = time.perf_counter()
    memory = load_data(cfg)
    rows.append(["load, in memory", f"{time.perf_counter() - start:.3f}", 1])
    start = time.perf_counter()
    mapped = load_data(cfg, max_memory=1)
    rows.append(["load, mapped (writes the .npy copy)", f"{time.perf_counter() - start:.3f}", 1])
    start = time.perf_counter()
    load_data(cfg, max_memory=1)
    rows.append(["load, mapped (cached copy)", f"{time.perf_counter() - start:.3f}", 1])
    assert isinstance(mapped.train.x, MappedImages) and isinstance(memory.train.x, torch.Tensor)
    times: dict[str, list[float]] = {"in memory": [], "memory-mapped": []}
    for e in range(args.epochs):
        sides = [("in memory", memory), ("memory-mapped", mapped)]
        losses = []
        for name, data in sides if e % 2 == 0 else sides[::-1]:
            seconds, loss = epoch(data, e, args.batch_size)
            times[name].append(seconds)
            losses.append(loss)
        assert losses[0] == losses[1], f"epoch {e}: first losses differ: {losses}"
    median = {k: statistics.median(v) for k, v in times.items()}
    rows += [[f"epoch, {k}", f"{v:.3f}", len(times[k])] for k, v in median.items()]
    if args.png:
        folder = root / "fashion-png"
        write_png_folder(folder, mapped)
        png = DataConfig(dataset=f"folder:{folder}")
        start = time.perf_counter()
        load_data(png)
        rows.append(["first decode of 70,000 PNGs, in memory", f"{time.perf_counter() - start:.3f}", 1])
        shutil.rmtree(root / "cache" / "ticketlab" / "folders", ignore_errors=True)
        start = time.perf_counter()
        load_data(png, max_memory=1)
        rows.append(["first decode of 70,000 PNGs, mapped", f"{time.perf_counter() - start:.3f}", 1])
    print(format_table(["what", "median s", "runs"], rows))
    ratio = median["memory-mapped"] / median["in memory"]
    print(f"\ntarget memory-mapped / in memory <= 1.10: measured {ratio:.3f} (LeNet-5, batch {args.batch_size}, "
          f"{args.epochs} epochs per side, {args.threads} threads)")
    shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
