"""Sparse inference layers: Linear and Conv2d that store only their nonzero weights, for the CPU.

A layer keeps its weight matrix in CSR form as three buffers (``crow_indices``,
``col_indices``, ``values``), so its state dict holds only the nonzeros, plus ``bias``.
The kernels are built lazily from the buffers and rebuilt after ``load_state_dict`` or
``.to()``. Timed on a 2-core CPU (LeNet-300-100 at 98% sparsity, one thread): for one
row scipy's CSR matrix-vector kernel has the least overhead per call (torch's CSR kernel
is no faster than the dense layer there); for more rows torch's CSR ``addmm`` with int32
indices, on the transposed input, is as fast as scipy's and faster at large batches
(7x dense throughput at batch 256). A sparse layer hands on its output transposed
(column-major), the layout the next sparse layer reads fastest.

Inference only: inputs must be float32 CPU tensors, and outputs carry no gradient.

A plain ``nn.Sequential`` (or a subclass keeping its forward) whose children are all
sparse or dense Linear layers, ReLU, Flatten, Identity or eval-mode Dropout can be fused
(:func:`fuse_sequentials`): for a single example it then runs the whole chain on numpy
vectors, with no torch call per layer (about half the latency of the layer-by-layer
path). Tanh, Sigmoid and LeakyReLU are fusable too. Fusing swaps the container's class for a generated subclass, as
``torch.nn.utils.parametrize`` does, so save such modules through their state dict.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from typing import Any

import numpy as np
import scipy.sparse
import scipy.special
import torch
import torch.nn.functional as F
from torch import nn

try:  # the kernel behind csr_matrix @ vector, called without scipy's dispatch (~2 us a call)
    from scipy.sparse._sparsetools import csr_matvec as _csr_matvec
except ImportError:  # pragma: no cover - private module; fall back to the public operator
    _csr_matvec = None

_INT32_MAX = 2**31 - 1
_FLOAT32 = np.dtype(np.float32)


def check_input(x: torch.Tensor, who: str) -> None:
    """Raise ValueError unless ``x`` is a float32 CPU tensor (the sparse kernels' only input)."""
    if not isinstance(x, torch.Tensor) or x.dtype is not torch.float32 or not x.is_cpu:
        got = f"{x.dtype} on {x.device}" if isinstance(x, torch.Tensor) else type(x).__name__
        raise ValueError(f"{who} needs a float32 CPU tensor; got {got}")


class _CSRLayer(nn.Module):
    """Shared part: a (rows x cols) weight in CSR buffers, an optional bias, cached kernels."""

    crow_indices: torch.Tensor
    col_indices: torch.Tensor
    values: torch.Tensor
    bias: torch.Tensor | None

    def __init__(self, rows: int, cols: int, nnz: int, bias: bool) -> None:
        super().__init__()
        index = torch.int32 if max(rows + 1, cols, nnz) <= _INT32_MAX else torch.int64
        self.shape = (rows, cols)
        self.register_buffer("crow_indices", torch.zeros(rows + 1, dtype=index))
        self.register_buffer("col_indices", torch.zeros(nnz, dtype=index))
        self.register_buffer("values", torch.zeros(nnz))
        self.register_buffer("bias", torch.zeros(rows) if bias else None)
        self._cache: tuple[Any, ...] | None = None

    def _set_weight(self, matrix: torch.Tensor, bias: torch.Tensor | None) -> None:
        """Fill the buffers from a dense float32 CPU (rows x cols) matrix; zeros are dropped."""
        if matrix.dtype is not torch.float32 or matrix.device.type != "cpu":
            raise ValueError(f"needs float32 CPU weights; got {matrix.dtype} on {matrix.device}")
        csr = scipy.sparse.csr_matrix(matrix.detach().numpy())
        index = self.crow_indices.dtype
        self.crow_indices = torch.from_numpy(csr.indptr).to(index)
        self.col_indices = torch.from_numpy(csr.indices).to(index)
        self.values = torch.from_numpy(csr.data).clone()
        if bias is not None:
            self.bias = bias.detach().to(torch.float32).clone()
        self._cache = None

    @property
    def nnz(self) -> int:
        """Number of stored weights."""
        return self.values.numel()

    def _kernels(self) -> tuple[Any, ...]:
        """(torch CSR matrix, scipy CSR matrix, bias as numpy, bias as a column), built once from the buffers."""
        if self._cache is None:
            with warnings.catch_warnings():  # checked once: loaded indices out of bounds must not reach a kernel
                warnings.filterwarnings("ignore", message="Sparse CSR tensor support is in beta")
                matrix = torch.sparse_csr_tensor(self.crow_indices, self.col_indices, self.values, size=self.shape,
                                                 check_invariants=True)
            csr = scipy.sparse.csr_matrix(
                (self.values.numpy(), self.col_indices.numpy(), self.crow_indices.numpy()), shape=self.shape
            )
            bias = self.bias if self.bias is not None else torch.zeros(self.shape[0])
            matvec_args = (self.shape[0], self.shape[1], csr.indptr, csr.indices, csr.data)
            self._cache = (matrix, csr, bias.numpy(), bias[:, None], matvec_args)
        return self._cache

    def matvec(self, v: np.ndarray) -> np.ndarray:
        """W @ v + b for a float32 numpy vector ``v`` of length cols (a new array)."""
        if v.dtype is not _FLOAT32 or v.shape != self.shape[1:]:  # the C kernel checks no sizes
            raise ValueError(f"{type(self).__name__} needs a float32 vector of {self.shape[1]}; got {v.dtype} {v.shape}")
        _, csr, bias, _, matvec_args = self._cache or self._kernels()
        if _csr_matvec is None:
            return csr @ v + bias
        out = bias.copy()
        _csr_matvec(*matvec_args, v, out)
        return out

    def matmul(self, columns: torch.Tensor) -> torch.Tensor:
        """W @ columns + b[:, None] for a (cols x n) float32 tensor: torch's CSR kernel."""
        matrix, _, _, bias, _ = self._cache or self._kernels()
        return torch.addmm(bias, matrix, columns)

    def _apply(self, *args: Any, **kwargs: Any) -> Any:
        self._cache = None
        return super()._apply(*args, **kwargs)

    def _load_from_state_dict(self, *args: Any, **kwargs: Any) -> None:
        self._cache = None
        super()._load_from_state_dict(*args, **kwargs)

    def __getstate__(self) -> dict[str, Any]:
        return {**super().__getstate__(), "_cache": None}


class SparseLinear(_CSRLayer):
    """``nn.Linear`` with its nonzero weights in CSR buffers: y = x @ W^T + b for any leading shape."""

    def __init__(self, in_features: int, out_features: int, nnz: int = 0, bias: bool = True) -> None:
        super().__init__(out_features, in_features, nnz, bias)
        self.in_features, self.out_features = in_features, out_features

    @classmethod
    def from_dense(cls, linear: nn.Linear) -> SparseLinear:
        """The sparse form of ``linear`` (float32, CPU): its nonzero weights and its bias."""
        layer = cls(linear.in_features, linear.out_features, 0, linear.bias is not None)
        layer._set_weight(linear.weight, linear.bias)
        return layer

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if not isinstance(x, torch.Tensor) or x.dtype is not torch.float32 or not x.is_cpu:
            check_input(x, "SparseLinear")
        if x.ndim == 2 and x.shape[0] == 1 or x.ndim == 1:  # one row: scipy's matvec has the least overhead
            out = self.matvec((x.detach() if x.requires_grad else x).numpy().reshape(-1))
            return torch.from_numpy(out[None] if x.ndim == 2 else out)
        if x.ndim == 0 or x.shape[-1] != self.in_features:
            raise ValueError(f"SparseLinear expects {self.in_features} input features; got shape {tuple(x.shape)}")
        rows = x.detach().reshape(-1, self.in_features)
        return self.matmul(rows.t()).t().reshape(*x.shape[:-1], self.out_features)

    def extra_repr(self) -> str:
        return f"in_features={self.in_features}, out_features={self.out_features}, nnz={self.nnz}, " \
               f"bias={self.bias is not None}"


Pair = tuple[int, int]


def conv_padding(conv: nn.Conv2d) -> Pair:
    """``conv``'s padding as two ints; 'valid' is 0, symmetric 'same' is resolved, else ValueError."""
    if not isinstance(conv.padding, str):
        return (int(conv.padding[0]), int(conv.padding[1]))
    if conv.padding == "valid":
        return (0, 0)
    totals = [d * (k - 1) for d, k in zip(conv.dilation, conv.kernel_size)]
    if any(t % 2 for t in totals):
        raise ValueError("padding='same' with asymmetric padding")
    return (totals[0] // 2, totals[1] // 2)


class SparseConv2d(_CSRLayer):
    """``nn.Conv2d`` (groups=1, zero padding) as im2col (``F.unfold``) times a CSR (out x in*kh*kw) matrix.

    Timed here it beats the dense convolution only for one example and small layers;
    im2col's copies cost more than the skipped multiplications at larger batches.
    """

    def __init__(self, in_channels: int, out_channels: int, kernel_size: Pair, stride: Pair = (1, 1),
                 padding: Pair = (0, 0), dilation: Pair = (1, 1), nnz: int = 0, bias: bool = True) -> None:
        super().__init__(out_channels, in_channels * kernel_size[0] * kernel_size[1], nnz, bias)
        self.in_channels, self.out_channels = in_channels, out_channels
        self.kernel_size, self.stride = tuple(kernel_size), tuple(stride)
        self.padding, self.dilation = tuple(padding), tuple(dilation)

    @classmethod
    def from_dense(cls, conv: nn.Conv2d) -> SparseConv2d:
        """The sparse form of ``conv``; ValueError for groups > 1, non-zero padding modes, 'same' asymmetric."""
        if conv.groups != 1:
            raise ValueError(f"groups={conv.groups}")
        if conv.padding_mode != "zeros":
            raise ValueError(f"padding_mode={conv.padding_mode!r}")
        kernel, stride, dilation = conv.kernel_size, conv.stride, conv.dilation
        layer = cls(conv.in_channels, conv.out_channels, (kernel[0], kernel[1]), (stride[0], stride[1]),
                    conv_padding(conv), (dilation[0], dilation[1]), 0, conv.bias is not None)
        layer._set_weight(conv.weight.reshape(conv.out_channels, -1), conv.bias)
        return layer

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        check_input(x, "SparseConv2d")
        if x.dim() == 3:
            return self.forward(x.unsqueeze(0)).squeeze(0)
        if x.dim() != 4 or x.shape[1] != self.in_channels:
            raise ValueError(f"SparseConv2d expects (N, {self.in_channels}, H, W) input; got {tuple(x.shape)}")
        n, _, h, w = x.shape
        (kh, kw), (sh, sw), (ph, pw), (dh, dw) = self.kernel_size, self.stride, self.padding, self.dilation
        out_h, out_w = (h + 2 * ph - dh * (kh - 1) - 1) // sh + 1, (w + 2 * pw - dw * (kw - 1) - 1) // sw + 1
        matrix, _, _, bias, _ = self._cache or self._kernels()
        out = torch.empty(n, self.out_channels, out_h * out_w)
        x = x.detach()
        for i in range(n):  # one example at a time: its columns stay in cache, and no transposed copies
            columns = F.unfold(x[i:i + 1], self.kernel_size, self.dilation, self.padding, self.stride)[0]
            torch.addmm(bias, matrix, columns, out=out[i])
        return out.view(n, self.out_channels, out_h, out_w)

    def extra_repr(self) -> str:
        return f"{self.in_channels}, {self.out_channels}, kernel_size={self.kernel_size}, stride={self.stride}, " \
               f"padding={self.padding}, dilation={self.dilation}, nnz={self.nnz}, bias={self.bias is not None}"


# --- batch-1 fast path for chains of Linear layers -------------------------------------------

def _dense_matvec(layer: nn.Linear, v: np.ndarray) -> np.ndarray:
    out = layer.weight.detach().numpy() @ v
    return out if layer.bias is None else out + layer.bias.detach().numpy()


# numpy forms of elementwise modules (None: not here, run the ordinary forward)
_ELEMENTWISE: dict[type, Callable[[Any, np.ndarray], np.ndarray | None]] = {
    nn.ReLU: lambda m, v: np.maximum(v, np.float32(0)),
    nn.LeakyReLU: lambda m, v: np.where(v >= 0, v, v * np.float32(m.negative_slope)),
    nn.Tanh: lambda m, v: np.tanh(v),
    nn.Sigmoid: lambda m, v: scipy.special.expit(v),
    nn.Identity: lambda m, v: v,
    nn.Dropout: lambda m, v: None if m.training else v,
}
_FUSABLE = (SparseLinear, nn.Linear, nn.Flatten, *_ELEMENTWISE)


class FusedSequentialMixin:
    """Runs a single example (batch 1) through the chain on numpy vectors; anything else as usual."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.ndim < 2 or x.shape[0] != 1 or x.dtype is not torch.float32 or not x.is_cpu:
            return super().forward(x)  # type: ignore[misc]
        v, flat = (x.detach() if x.requires_grad else x).numpy().reshape(-1), x.ndim == 2
        for m in self._modules.values():  # type: ignore[attr-defined]
            kind = type(m)
            if kind is SparseLinear:
                if not flat:
                    return super().forward(x)  # type: ignore[misc]
                v = m.matvec(v)
            elif kind is nn.Linear:
                if not flat or m.weight.dtype is not torch.float32 or m.weight.device.type != "cpu":
                    return super().forward(x)  # type: ignore[misc]
                v = _dense_matvec(m, v)
            elif kind is nn.Flatten:
                if m.start_dim != 1 or m.end_dim != -1:
                    return super().forward(x)  # type: ignore[misc]
                flat = True
            else:
                op = _ELEMENTWISE.get(kind)
                v = None if op is None else op(m, v)
                if v is None:
                    return super().forward(x)  # type: ignore[misc]
        return torch.from_numpy(v[None]) if flat else super().forward(x)  # type: ignore[misc]


class FusedSequential(FusedSequentialMixin, nn.Sequential):
    """A fused plain ``nn.Sequential`` (a module-level class, so it pickles)."""


_FUSED_CLASSES: dict[type, type] = {nn.Sequential: FusedSequential}


def fusable(module: nn.Module) -> bool:
    """Whether ``module`` is an unfused Sequential (own forward) of fusable children with a SparseLinear."""
    children = list(module.children())
    return (isinstance(module, nn.Sequential) and type(module).forward is nn.Sequential.forward
            and all(type(c) in _FUSABLE for c in children) and any(type(c) is SparseLinear for c in children))


def fuse_sequentials(module: nn.Module) -> None:
    """Give every fusable Sequential in ``module`` (itself included) the batch-1 fast path, in place."""
    for m in list(module.modules()):
        if fusable(m):
            cls = type(m)
            if cls not in _FUSED_CLASSES:
                _FUSED_CLASSES[cls] = type(f"Fused{cls.__name__}", (FusedSequentialMixin, cls), {})
            m.__class__ = _FUSED_CLASSES[cls]
