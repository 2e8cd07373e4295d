"""The PyTorch side of benchmarks/train_vs_pytorch.py: LeNet-5, MobileNetV2 and a MiniLM-style
encoder as torch modules, and their export to ONNX with the same weights (torch.onnx's TorchScript
exporter, offline). PyTorch is a benchmark-only dependency (the `bench` extra).

Every parameter and buffer is redrawn from a seed before export so no two initializers are equal
(the exporter would merge equal ones, and a gradient could then not be named per weight). The
encoder is written with explicit parameters (x @ W + b, fixed head shapes) so its ONNX graph holds
the torch parameters under their own names: MatMul, Add, LayerNormalization, Gelu (opset 20),
Softmax, Gather for the token embedding.
"""

from __future__ import annotations

import io
import math

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn


class LeNet5(nn.Module):
    """LeNet-5 (ReLU, max pooling): [N, 1, 32, 32] -> [N, 10]."""

    def __init__(self) -> None:
        super().__init__()
        self.conv1, self.conv2 = nn.Conv2d(1, 6, 5), nn.Conv2d(6, 16, 5)
        self.fc1, self.fc2, self.fc3 = nn.Linear(400, 120), nn.Linear(120, 84), nn.Linear(84, 10)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = F.max_pool2d(F.relu(self.conv1(x)), 2)
        x = F.max_pool2d(F.relu(self.conv2(x)), 2)
        x = torch.flatten(x, 1)
        return self.fc3(F.relu(self.fc2(F.relu(self.fc1(x)))))


def _conv_bn(cin: int, cout: int, k: int, stride: int = 1, groups: int = 1, act: bool = True):
    layers: list[nn.Module] = [
        nn.Conv2d(cin, cout, k, stride, k // 2, groups=groups, bias=False),
        nn.BatchNorm2d(cout),
    ]
    return nn.Sequential(*layers, nn.ReLU6()) if act else nn.Sequential(*layers)


class InvertedResidual(nn.Module):
    def __init__(self, cin: int, cout: int, stride: int, expand: int) -> None:
        super().__init__()
        hidden = cin * expand
        layers = [_conv_bn(cin, hidden, 1)] if expand != 1 else []
        layers += [
            _conv_bn(hidden, hidden, 3, stride, hidden),
            _conv_bn(hidden, cout, 1, act=False),
        ]
        self.block = nn.Sequential(*layers)
        self.residual = stride == 1 and cin == cout

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.block(x) if self.residual else self.block(x)


class MobileNetV2(nn.Module):
    """MobileNetV2 (width 1.0, Sandler et al. 2018): [N, 3, 224, 224] -> [N, classes]."""

    SETTINGS = [(1, 16, 1, 1), (6, 24, 2, 2), (6, 32, 3, 2), (6, 64, 4, 2), (6, 96, 3, 1),
                (6, 160, 3, 2), (6, 320, 1, 1)]  # fmt: skip

    def __init__(self, classes: int = 1000) -> None:
        super().__init__()
        layers: list[nn.Module] = [_conv_bn(3, 32, 3, 2)]
        cin = 32
        for t, c, n, s in self.SETTINGS:
            for i in range(n):
                layers.append(InvertedResidual(cin, c, s if i == 0 else 1, t))
                cin = c
        layers.append(_conv_bn(cin, 1280, 1))
        self.features = nn.Sequential(*layers)
        self.classifier = nn.Linear(1280, classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = F.adaptive_avg_pool2d(self.features(x), 1)
        return self.classifier(torch.flatten(x, 1))


class Encoder(nn.Module):
    """A MiniLM-style encoder: token + position embeddings, post-norm transformer layers
    (self-attention, GELU MLP), mean pooling, a classifier: int64 [N, T] -> [N, classes]."""

    def __init__(  # fmt: skip
        self,
        batch: int,
        seq: int,
        vocab: int = 1000,
        hidden: int = 128,
        heads: int = 4,
        layers: int = 2,
        mlp: int = 512,
        classes: int = 2,
    ) -> None:
        super().__init__()
        self.shape = (batch, seq, heads, hidden // heads)
        p = lambda *s: nn.Parameter(torch.zeros(*s))  # noqa: E731
        self.tok, self.pos = p(vocab, hidden), p(seq, hidden)
        self.ln0 = nn.LayerNorm(hidden)
        self.blocks = nn.ModuleList()
        for _ in range(layers):
            block = nn.Module()
            for name, (a, b) in {"q": (hidden, hidden), "k": (hidden, hidden),
                                 "v": (hidden, hidden), "o": (hidden, hidden),
                                 "up": (hidden, mlp), "down": (mlp, hidden)}.items():  # fmt: skip
                setattr(block, f"{name}_w", p(a, b))
                setattr(block, f"{name}_b", p(b))
            block.ln1, block.ln2 = nn.LayerNorm(hidden), nn.LayerNorm(hidden)
            self.blocks.append(block)
        self.head_w, self.head_b = p(hidden, classes), p(classes)

    def _heads(self, x: torch.Tensor) -> torch.Tensor:  # [N, T, H*D] -> [N, H, T, D]
        return x.reshape(self.shape).transpose(1, 2)

    def forward(self, ids: torch.Tensor) -> torch.Tensor:
        n, t, h, d = self.shape
        x = self.ln0(F.embedding(ids, self.tok) + self.pos)
        for blk in self.blocks:
            q = self._heads(x @ blk.q_w + blk.q_b)
            k = self._heads(x @ blk.k_w + blk.k_b)
            v = self._heads(x @ blk.v_w + blk.v_b)
            att = torch.softmax((q @ k.transpose(2, 3)) * (1.0 / math.sqrt(d)), dim=-1)
            ctx = (att @ v).transpose(1, 2).reshape(n, t, h * d)
            x = blk.ln1(x + ctx @ blk.o_w + blk.o_b)
            x = blk.ln2(x + F.gelu(x @ blk.up_w + blk.up_b) @ blk.down_w + blk.down_b)
        return x.mean(dim=1) @ self.head_w + self.head_b


def randomise(model: nn.Module, seed: int) -> None:
    """Redraws every float parameter and buffer: He-like weights, distinct small biases, BatchNorm
    and LayerNorm scales near 1, running variances in [0.5, 1.5]."""
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, t in [*model.named_parameters(), *model.named_buffers()]:
            if not t.is_floating_point():
                continue
            u = torch.rand(t.shape, generator=g, dtype=t.dtype)
            if name.endswith("running_var"):
                t.copy_(0.5 + u)
            elif t.ndim == 1 and name.endswith("weight"):
                t.copy_(0.8 + 0.4 * u)  # norm scales
            elif t.ndim == 1 or name.endswith("running_mean"):
                t.copy_(0.2 * u - 0.1)
            else:
                fan_in = t[0].numel() if t.ndim == 4 else t.shape[0 if "_w" in name else -1]
                t.copy_((2 * u - 1) * math.sqrt(6.0 / max(fan_in, 1)))


def export_onnx(model: nn.Module, example: torch.Tensor, input_name: str) -> bytes:
    """The model (in eval mode, weights as they are) as ONNX opset 20, parameters named as in
    torch; BatchNormalization stays a node (no folding)."""
    model.eval()
    buf = io.BytesIO()
    torch.onnx.export(
        model,
        (example,),
        buf,
        dynamo=False,
        opset_version=20,
        do_constant_folding=False,
        input_names=[input_name],
        output_names=["logits"],
        dynamic_axes=None,
    )
    return buf.getvalue()


def build(name: str, batch: int, seed: int = 0) -> tuple[nn.Module, np.ndarray, np.ndarray, str]:
    """(module, input batch, labels, input name) for "lenet", "mobilenet_v2" or "encoder"."""
    rng = np.random.default_rng(seed)
    if name == "lenet":
        model: nn.Module = LeNet5()
        x = rng.random((batch, 1, 32, 32), dtype=np.float32)
        classes, input_name = 10, "image"
    elif name == "mobilenet_v2":
        model, classes, input_name = MobileNetV2(), 1000, "image"
        x = rng.standard_normal((batch, 3, 224, 224), dtype=np.float32)
    elif name == "encoder":
        model, classes, input_name = Encoder(batch, 128), 2, "ids"
        x = rng.integers(0, 1000, (batch, 128), dtype=np.int64)
    else:
        raise ValueError(f"unknown model {name!r}")
    randomise(model, seed)
    return model, x, rng.integers(0, classes, batch, dtype=np.int64), input_name
