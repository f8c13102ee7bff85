"""The landmark network: a small U-Net whose 68 heatmaps give the corners by soft-argmax (torch).

Only the training command imports this module (the ``[train]`` extra); inference runs the exported
ONNX graph with onnxruntime (:mod:`.inference`).

The network reads a film resized to ``(INPUT_ROWS, INPUT_COLUMNS)`` and returns, for each of the
68 corners (``AASCE_POINT_NAMES`` order), a heatmap of logits at stride :data:`STRIDE`. Training
fits each heatmap's spatial softmax to a Gaussian at its corner, with a small loss on the softmax's
expectation (integral regression, the DSNT of Nibali et al.); inference reads the expectation near
the peak, which is sub-pixel.

References
----------
Nibali A, He Z, Morgan S, Prendergast L. Numerical coordinate regression with convolutional
neural networks. arXiv:1801.07372, 2018.
Ronneberger O, Fischer P, Brox T. U-Net: convolutional networks for biomedical image
segmentation. MICCAI 2015.
"""

from __future__ import annotations

import torch
from torch import nn
from torch.nn import functional as F

from .inference import INPUT_COLUMNS, INPUT_ROWS, N_POINTS, STRIDE

__all__ = ["LandmarkNet", "CornerNet", "soft_argmax"]


def _block(c_in: int, c_out: int, stride: int = 1, dilation: int = 1) -> nn.Sequential:
    return nn.Sequential(
        nn.Conv2d(c_in, c_out, 3, stride=stride, padding=dilation, dilation=dilation, bias=False),
        nn.BatchNorm2d(c_out),
        nn.ReLU(inplace=True),
        nn.Conv2d(c_out, c_out, 3, padding=1, bias=False),
        nn.BatchNorm2d(c_out),
        nn.ReLU(inplace=True),
    )


class LandmarkNet(nn.Module):
    """U-Net of five scales (stride 2 to 32) with a heatmap head at stride :data:`STRIDE`.

    Input ``(N, 1, INPUT_ROWS, INPUT_COLUMNS)`` normalised grey; output ``(N, 68, rows / STRIDE,
    columns / STRIDE)`` logits. The deepest scale (stride 32, dilated) sees the whole spine, which
    is what tells T7 from T8.
    """

    def __init__(self, width: int = 8) -> None:
        super().__init__()
        w = width
        self.enc1 = nn.Sequential(
            nn.Conv2d(1, w, 3, stride=2, padding=1, bias=False), nn.BatchNorm2d(w), nn.ReLU(True)
        )  # /2
        self.enc2 = _block(w, 2 * w, stride=2)  # /4
        self.enc3 = _block(2 * w, 3 * w, stride=2)  # /8
        self.enc4 = _block(3 * w, 4 * w, stride=2)  # /16
        self.enc5 = nn.Sequential(_block(4 * w, 6 * w, stride=2), _block(6 * w, 6 * w, dilation=2))  # /32
        self.dec4 = _block(6 * w + 4 * w, 4 * w)
        self.dec3 = _block(4 * w + 3 * w, 3 * w)
        # the finest decoder step is the costliest: a 1 x 1 squeeze before its one 3 x 3 convolution
        self.dec2 = nn.Sequential(
            nn.Conv2d(3 * w + 2 * w, 2 * w, 1, bias=False),
            nn.BatchNorm2d(2 * w),
            nn.ReLU(inplace=True),
            nn.Conv2d(2 * w, 2 * w, 3, padding=1, bias=False),
            nn.BatchNorm2d(2 * w),
            nn.ReLU(inplace=True),
        )
        self.head = nn.Conv2d(2 * w, N_POINTS, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        e1 = self.enc1(x)
        e2 = self.enc2(e1)
        e3 = self.enc3(e2)
        e4 = self.enc4(e3)
        e5 = self.enc5(e4)
        d4 = self.dec4(torch.cat([F.interpolate(e5, size=e4.shape[-2:], mode="nearest"), e4], 1))
        d3 = self.dec3(torch.cat([F.interpolate(d4, size=e3.shape[-2:], mode="nearest"), e3], 1))
        d2 = self.dec2(torch.cat([F.interpolate(d3, size=e2.shape[-2:], mode="nearest"), e2], 1))
        return self.head(d2)


class CornerNet(nn.Module):
    """The local stage: a U-Net of four scales (stride 2 to 16) on one vertebra's close-up.

    Input ``(N, 1, LOCAL_SIZE, LOCAL_SIZE)`` normalised grey (:func:`.local.cut_closeups`);
    output ``(N, 4, LOCAL_SIZE / LOCAL_STRIDE, LOCAL_SIZE / LOCAL_STRIDE)`` logits, one heatmap
    per corner of the vertebra at the close-up's centre (``sup.left, sup.right, inf.left,
    inf.right``). The deepest scale (stride 16, dilated) sees the neighbours, which is what tells
    the centre vertebra's endplates from theirs.
    """

    def __init__(self, width: int = 8) -> None:
        super().__init__()
        w = width
        self.enc1 = nn.Sequential(
            nn.Conv2d(1, w, 3, stride=2, padding=1, bias=False), nn.BatchNorm2d(w), nn.ReLU(True)
        )  # /2
        self.enc2 = _block(w, 2 * w, stride=2)  # /4
        self.enc3 = _block(2 * w, 3 * w, stride=2)  # /8
        self.enc4 = nn.Sequential(_block(3 * w, 4 * w, stride=2), _block(4 * w, 4 * w, dilation=2))  # /16
        self.dec3 = _block(4 * w + 3 * w, 3 * w)
        self.dec2 = _block(3 * w + 2 * w, 2 * w)
        self.dec1 = nn.Sequential(
            nn.Conv2d(2 * w + w, w, 1, bias=False),
            nn.BatchNorm2d(w),
            nn.ReLU(inplace=True),
            nn.Conv2d(w, w, 3, padding=1, bias=False),
            nn.BatchNorm2d(w),
            nn.ReLU(inplace=True),
        )
        self.head = nn.Conv2d(w, 4, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        e1 = self.enc1(x)
        e2 = self.enc2(e1)
        e3 = self.enc3(e2)
        e4 = self.enc4(e3)
        d3 = self.dec3(torch.cat([F.interpolate(e4, size=e3.shape[-2:], mode="nearest"), e3], 1))
        d2 = self.dec2(torch.cat([F.interpolate(d3, size=e2.shape[-2:], mode="nearest"), e2], 1))
        d1 = self.dec1(torch.cat([F.interpolate(d2, size=e1.shape[-2:], mode="nearest"), e1], 1))
        return self.head(d1)


def soft_argmax(logits: torch.Tensor, stride: int = STRIDE) -> tuple[torch.Tensor, torch.Tensor]:
    """Return the expected ``(x, y)`` in input pixels ``(N, K, 2)`` and the softmax maps.

    A heatmap cell ``(i, j)`` covers input pixels whose centre is ``stride * (j + 0.5) - 0.5``.
    """
    n, k, h, w = logits.shape
    prob = torch.softmax(logits.reshape(n, k, h * w), dim=-1).reshape(n, k, h, w)
    xs = (torch.arange(w, dtype=prob.dtype, device=prob.device) + 0.5) * stride - 0.5
    ys = (torch.arange(h, dtype=prob.dtype, device=prob.device) + 0.5) * stride - 0.5
    x = (prob.sum(2) * xs).sum(-1)
    y = (prob.sum(3) * ys).sum(-1)
    return torch.stack([x, y], -1), prob


def input_shape() -> tuple[int, int, int, int]:
    """The network's input shape for one film."""
    return (1, 1, INPUT_ROWS, INPUT_COLUMNS)
