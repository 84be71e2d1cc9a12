"""Effective masks by explicit graph sweeps: exact for MLPs, a channel-level bound for CNNs.

These are a second, independent way to find the active weights (see
:mod:`ticketlab.masks.effective` for the definition), written as boolean reachability on the
layer graph and sharing no code with the linearised pass; the tests use them as oracles.

Both sweeps assume the layers are applied one after another -- each Conv2d/Linear reads
the previous one's output through parameter-free, elementwise or pooling steps -- with no
skip connections; they check what the shapes can tell and raise :class:`ConfigError`
otherwise. Layers or entries the mask does not cover count as kept.
"""

from __future__ import annotations

import torch
from torch import nn

from ticketlab.errors import ConfigError
from ticketlab.masks.mask import Mask, check_mask


def graph_effective_mask(model: nn.Module, mask: Mask) -> Mask:
    """Exact active mask of an MLP: a chain of ``nn.Linear`` layers.

    Forward sweep: the input units are reached; unit ``o`` of a layer is reached iff some
    kept weight ``(o, i)`` comes from a reached unit ``i``. Backward sweep: the output units
    reach the output; unit ``i`` does iff some kept weight ``(o, i)`` goes to a unit ``o``
    that does. A kept weight is active iff its source is reached and its target reaches
    the output; a kept bias iff its unit is reached and reaches the output.
    """
    layers = _linear_chain(model)
    check_mask(model, mask)
    _check_covered(mask, layers)
    kept = [_kept_matrix(name, layer.weight.shape, mask) for name, layer in layers]
    reached = [torch.ones(kept[0].shape[1], dtype=torch.bool)]
    for matrix in kept:
        reached.append((matrix & reached[-1][None, :]).any(dim=1))
    reaching = [torch.ones(kept[-1].shape[0], dtype=torch.bool)]
    for matrix in reversed(kept):
        reaching.insert(0, (matrix & reaching[0][:, None]).any(dim=0))
    return _select(mask, layers, kept, reached, reaching)


def channel_effective_mask(model: nn.Module, mask: Mask) -> Mask:
    """Channel-level active mask of a CNN chain: an upper bound of the exact active mask.

    The layers are ``nn.Conv2d`` (any groups) followed by ``nn.Linear`` layers; a Linear
    layer after a conv reads its output flattened channel-major, ``in_features`` being a
    multiple of the conv's channels. A kernel ``(o, i)`` connects channel ``i`` to channel
    ``o`` iff any of its entries is kept; then the MLP sweep runs on channels. Every kept
    entry of a kernel whose ends are reached and reaching counts as active, although
    padding and spatial positions may leave some of them dead: the exact active mask is a
    subset, i.e. exact effective sparsity >= this one's.
    """
    layers = _conv_chain(model)
    check_mask(model, mask)
    _check_covered(mask, layers)
    connections = [_channel_connections(name, layer, mask) for name, layer in layers]
    # reached[l]: units (channels or features) the input reaches, as layer l reads them;
    # reached[l + 1] and reaching[l + 1]: layer l's outputs.
    reached = [torch.ones(connections[0].shape[1], dtype=torch.bool)]
    for matrix in connections:
        reached.append(_unit_reached(matrix, reached[-1]))
    reaching = [torch.ones(connections[-1].shape[0], dtype=torch.bool)]
    for index in reversed(range(len(connections))):
        into = (connections[index] & reaching[0][:, None]).any(dim=0)
        if index > 0:
            # Where a Linear layer reads a flattened conv output, a channel reaches the
            # output iff any of its features does (elsewhere this view is a no-op).
            channels = connections[index - 1].shape[0]
            into = into.view(channels, -1).any(dim=1)
        reaching.insert(0, into)
    out: Mask = {}
    for index, ((name, layer), matrix) in enumerate(zip(layers, connections)):
        source, target = reached[index], reaching[index + 1]
        alive = matrix & _expand(source, matrix.shape[1])[None, :] & target[:, None]
        prefix = f"{name}." if name else ""
        if f"{prefix}weight" in mask:
            kept = mask[f"{prefix}weight"]
            per_kernel = _ungroup(alive, layer)
            per_kernel = per_kernel.view(*per_kernel.shape, *([1] * (kept.dim() - 2)))
            out[f"{prefix}weight"] = kept & per_kernel.to(kept.device)
        if f"{prefix}bias" in mask:
            kept = mask[f"{prefix}bias"]
            out[f"{prefix}bias"] = kept & (reached[index + 1] & target).to(kept.device)
    return {name: out[name] for name in mask}


def _linear_chain(model: nn.Module) -> list[tuple[str, nn.Linear]]:
    layers = [(n, m) for n, m in model.named_modules() if isinstance(m, (nn.Conv2d, nn.Linear))]
    if not layers:
        raise ConfigError("the graph sweep needs at least one Linear layer")
    for name, layer in layers:
        if not isinstance(layer, nn.Linear):
            raise ConfigError(
                f"the exact graph sweep handles chains of Linear layers only; '{name}' is "
                f"{type(layer).__name__}"
            )
    for (before, a), (after, b) in zip(layers, layers[1:]):
        if a.out_features != b.in_features:
            raise ConfigError(
                f"'{after}' reads {b.in_features} features but '{before}' gives {a.out_features}: "
                "not a chain of Linear layers"
            )
    return layers  # type: ignore[return-value]


def _conv_chain(model: nn.Module) -> list[tuple[str, nn.Module]]:
    layers = [(n, m) for n, m in model.named_modules() if isinstance(m, (nn.Conv2d, nn.Linear))]
    if not layers:
        raise ConfigError("the channel sweep needs at least one Conv2d or Linear layer")
    for (before, a), (after, b) in zip(layers, layers[1:]):
        given = a.out_channels if isinstance(a, nn.Conv2d) else a.out_features
        if isinstance(b, nn.Conv2d):
            if isinstance(a, nn.Linear):
                raise ConfigError(f"'{after}' is a Conv2d after the Linear layer '{before}': not a CNN chain")
            if b.in_channels != given:
                raise ConfigError(
                    f"'{after}' reads {b.in_channels} channels but '{before}' gives {given}: "
                    "not a chain (skip connections?)"
                )
        else:
            ok = b.in_features % given == 0 if isinstance(a, nn.Conv2d) else b.in_features == given
            if not ok:
                raise ConfigError(
                    f"'{after}' reads {b.in_features} features, which '{before}' ({given} "
                    "outputs) cannot give: not a chain"
                )
    return layers


def _check_covered(mask: Mask, layers: list[tuple[str, nn.Module]]) -> None:
    names = {f"{n}.{p}" if n else p for n, _ in layers for p in ("weight", "bias")}
    for name in mask:
        if name not in names:
            raise ConfigError(f"mask entry '{name}' is not the weight or bias of a Conv2d/Linear layer")


def _kept_matrix(name: str, shape: torch.Size, mask: Mask) -> torch.Tensor:
    key = f"{name}.weight" if name else "weight"
    if key in mask:
        return mask[key].cpu().bool()
    return torch.ones(tuple(shape), dtype=torch.bool)


def _channel_connections(name: str, layer: nn.Module, mask: Mask) -> torch.Tensor:
    """(out, in) bool: which channels (or features) a layer connects, groups expanded."""
    kept = _kept_matrix(name, layer.weight.shape, mask)
    if isinstance(layer, nn.Linear):
        return kept
    per_kernel = kept.flatten(2).any(dim=2)  # (out, in / groups)
    groups = layer.groups
    out_channels, in_per_group = per_kernel.shape
    out_per_group = out_channels // groups
    full = torch.zeros(out_channels, in_per_group * groups, dtype=torch.bool)
    for g in range(groups):
        rows = slice(g * out_per_group, (g + 1) * out_per_group)
        full[rows, g * in_per_group : (g + 1) * in_per_group] = per_kernel[rows]
    return full


def _ungroup(alive: torch.Tensor, layer: nn.Module) -> torch.Tensor:
    """Back from (out, in) channel connections to the weight's (out, in / groups) layout."""
    if isinstance(layer, nn.Linear) or layer.groups == 1:
        return alive
    out_channels = alive.shape[0]
    in_per_group = alive.shape[1] // layer.groups
    out_per_group = out_channels // layer.groups
    rows = [
        alive[o, (o // out_per_group) * in_per_group : (o // out_per_group + 1) * in_per_group]
        for o in range(out_channels)
    ]
    return torch.stack(rows)


def _expand(channels: torch.Tensor, width: int) -> torch.Tensor:
    """A channel vector as the features a Linear layer reads (channel-major flatten)."""
    if channels.numel() == width:
        return channels
    return channels.repeat_interleave(width // channels.numel())


def _unit_reached(matrix: torch.Tensor, source: torch.Tensor) -> torch.Tensor:
    return (matrix & _expand(source, matrix.shape[1])[None, :]).any(dim=1)


def _select(
    mask: Mask,
    layers: list[tuple[str, nn.Linear]],
    kept: list[torch.Tensor],
    reached: list[torch.Tensor],
    reaching: list[torch.Tensor],
) -> Mask:
    out: Mask = {}
    for index, (name, _) in enumerate(layers):
        prefix = f"{name}." if name else ""
        source, target = reached[index], reaching[index + 1]
        if f"{prefix}weight" in mask:
            entry = mask[f"{prefix}weight"]
            out[f"{prefix}weight"] = entry & (kept[index] & source[None, :] & target[:, None]).to(entry.device)
        if f"{prefix}bias" in mask:
            entry = mask[f"{prefix}bias"]
            out[f"{prefix}bias"] = entry & (reached[index + 1] & target).to(entry.device)
    return {name: out[name] for name in mask}
