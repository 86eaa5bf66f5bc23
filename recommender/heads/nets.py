"""Training-side pieces (torch): the MLP, DYLUMO's weighted MSE, SupCon losses, class-balanced batches."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch
from torch import nn

from .model import MLPParams


class MLP(nn.Module):
    """Linear -> BatchNorm -> ReLU -> Dropout -> Linear (Emo-CLIM's projection head shape)."""

    def __init__(self, in_dim: int, hidden: int, out_dim: int, dropout: float = 0.5) -> None:
        super().__init__()
        self.fc1 = nn.Linear(in_dim, hidden)
        self.bn = nn.BatchNorm1d(hidden)
        self.drop = nn.Dropout(dropout)
        self.fc2 = nn.Linear(hidden, out_dim)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc2(self.drop(torch.relu(self.bn(self.fc1(x)))))

    def zero_input_columns(self, start: int, stop: int) -> None:
        """Zero the first-layer weights of inputs [start, stop) (a reserved, always-zero slot)."""
        with torch.no_grad():
            self.fc1.weight[:, start:stop] = 0.0

    def params(self) -> MLPParams:
        """The numpy inference form (weights transposed to (in, out))."""

        def a(t: torch.Tensor) -> np.ndarray:
            return t.detach().cpu().numpy().astype(np.float32)

        bn = self.bn
        assert bn.running_mean is not None and bn.running_var is not None
        return MLPParams(
            w1=a(self.fc1.weight).T.copy(),
            b1=a(self.fc1.bias),
            bn_mean=a(bn.running_mean),
            bn_var=a(bn.running_var),
            bn_gamma=a(bn.weight),
            bn_beta=a(bn.bias),
            w2=a(self.fc2.weight).T.copy(),
            b2=a(self.fc2.bias),
        )


def weighted_mse(pred: torch.Tensor, target: torch.Tensor, weights: torch.Tensor) -> torch.Tensor:
    """DYLUMO's feature loss: per-feature squared error times its weight, averaged (weights sum to 1)."""
    w = weights / weights.sum()
    return (((pred - target) ** 2) * w).sum(dim=1).mean()


def supcon(
    anchors: torch.Tensor,
    anchor_labels: torch.Tensor,
    contrast: torch.Tensor,
    contrast_labels: torch.Tensor,
    tau: float = 0.07,
    same_set: bool = False,
) -> torch.Tensor:
    """Supervised contrastive loss (Khosla et al. 2020), anchors against a contrast set.

    Inputs are L2-normalised. For each anchor, the positives are the contrast items with its label;
    the loss is minus the mean log-probability of its positives under a softmax over the contrast set.
    same_set: anchors and contrast are the same items (image->image, music->music), so each anchor is
    removed from its own contrast set. Anchors without a positive are skipped."""
    logits = anchors @ contrast.T / tau
    positives = (anchor_labels[:, None] == contrast_labels[None, :]).float()
    if same_set:
        self_mask = torch.eye(len(anchors), dtype=torch.bool, device=anchors.device)
        logits = logits.masked_fill(self_mask, float("-inf"))
        positives = positives.masked_fill(self_mask, 0.0)
    log_prob = logits - torch.logsumexp(logits, dim=1, keepdim=True)
    log_prob = log_prob.masked_fill(positives == 0, 0.0)  # also clears -inf on the diagonal
    counts = positives.sum(dim=1)
    has = counts > 0
    if not bool(has.any()):
        return anchors.sum() * 0.0
    return -((log_prob.sum(dim=1)[has]) / counts[has]).mean()


def emo_clim_loss(
    photos: torch.Tensor,
    photo_labels: torch.Tensor,
    tracks: torch.Tensor,
    track_labels: torch.Tensor,
    tau: float,
) -> tuple[torch.Tensor, dict[str, float]]:
    """The four SupCon losses, 0.25 each: image->music, music->image, image->image, music->music."""
    parts = {
        "image_music": supcon(photos, photo_labels, tracks, track_labels, tau),
        "music_image": supcon(tracks, track_labels, photos, photo_labels, tau),
        "image_image": supcon(photos, photo_labels, photos, photo_labels, tau, same_set=True),
        "music_music": supcon(tracks, track_labels, tracks, track_labels, tau, same_set=True),
    }
    total = 0.25 * sum(parts.values(), torch.zeros(()))
    return total, {k: float(v.detach()) for k, v in parts.items()}


class ClassBalancedSampler:
    """Class-balanced batches (Emo-CLIM): for each slot pick a class uniformly, then an item of it.

    With several modalities (photos and tracks), each slot draws one item per modality of the same
    class, so slot i's photo and track share a label."""

    def __init__(self, labels: Sequence[np.ndarray], seed: int = 0) -> None:
        self.rng = np.random.default_rng(seed)
        common = set(np.unique(labels[0]).tolist())
        for other in labels[1:]:
            common &= set(np.unique(other).tolist())
        if not common:
            raise ValueError("no class is present in every modality")
        self.classes = np.array(sorted(common), dtype=np.int64)
        self.members = [{int(c): np.flatnonzero(lab == c) for c in self.classes} for lab in labels]

    def batch(self, size: int) -> tuple[np.ndarray, list[np.ndarray]]:
        """(classes of the slots, indices per modality), each of length size."""
        slots = self.rng.choice(self.classes, size=size)
        picks = []
        for members in self.members:
            idx = np.empty(size, dtype=np.int64)
            for c in np.unique(slots):
                where = np.flatnonzero(slots == c)
                idx[where] = self.rng.choice(members[int(c)], size=len(where))
            picks.append(idx)
        return slots, picks
