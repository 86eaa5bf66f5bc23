"""The two trainers of train_heads: the DYLUMO feature head (weighted MSE on the weak feature targets) and
the Emo-CLIM joint embedding (four SupCon losses on class-balanced batches). Both stop early on the val
split and return the best state."""

from __future__ import annotations

import numpy as np
import torch

from recommender.heads.nets import MLP, ClassBalancedSampler, emo_clim_loss, weighted_mse
from recommender.heads.track_inputs import AUDIO_DIM, FEATURE_NAMES, feature_weights

from .heads_data import Config
from .heads_eval import retrieval_metrics


def train_feature_head(
    x: np.ndarray, y: np.ndarray, tr: np.ndarray, va: np.ndarray, cfg: Config, log: list[str]
) -> MLP:
    torch.manual_seed(cfg.seed)
    weights = torch.from_numpy(feature_weights())
    xt, yt = torch.from_numpy(x), torch.from_numpy(y)
    net = MLP(x.shape[1], cfg.feature_hidden, y.shape[1], cfg.feature_dropout)
    opt = torch.optim.AdamW(net.parameters(), lr=cfg.feature_lr, weight_decay=cfg.feature_weight_decay)
    gen = torch.Generator().manual_seed(cfg.seed)
    best, best_state, stale = float("inf"), None, 0
    for epoch in range(cfg.feature_max_epochs):
        net.train()
        perm = torch.from_numpy(tr)[torch.randperm(len(tr), generator=gen)]
        for start in range(0, len(perm), cfg.feature_batch):
            b = perm[start : start + cfg.feature_batch]
            if len(b) < 2:
                continue
            loss = weighted_mse(net(xt[b]), yt[b], weights)
            opt.zero_grad()
            loss.backward()
            opt.step()
        net.eval()
        with torch.no_grad():
            val = float(weighted_mse(net(xt[va]), yt[va], weights)) if len(va) else -epoch
        if val < best - 1e-6:
            best, best_state, stale = val, {k: v.clone() for k, v in net.state_dict().items()}, 0
        else:
            stale += 1
            if stale >= cfg.feature_patience:
                break
    log.append(f"feature head: {epoch + 1} epochs, best val weighted MSE {best:.4f}")
    if best_state is not None:
        net.load_state_dict(best_state)
    return net.eval()


def _joint_val_mrr(
    photo_net: MLP, track_net: MLP, px: torch.Tensor, pl: np.ndarray, tx: torch.Tensor, tl: np.ndarray
) -> float:
    photo_net.eval()
    track_net.eval()
    with torch.no_grad():
        p = torch.nn.functional.normalize(photo_net(px), dim=1).numpy()
        t = torch.nn.functional.normalize(track_net(tx), dim=1).numpy()
    photo_net.train()
    track_net.train()
    return retrieval_metrics(p @ t.T, pl, tl)["mrr"]


def train_joint(
    photo_x: np.ndarray,
    photo_labels: np.ndarray,
    track_x: np.ndarray,
    track_labels: np.ndarray,
    split: dict[str, tuple[np.ndarray, np.ndarray]],
    cfg: Config,
    log: list[str],
) -> tuple[MLP, MLP]:
    """split: "train"/"val" -> (photo rows, track rows)."""
    torch.manual_seed(cfg.seed)
    photo_net = MLP(photo_x.shape[1], cfg.joint_hidden, cfg.joint_dim, cfg.joint_dropout)
    track_net = MLP(track_x.shape[1], cfg.joint_hidden, cfg.joint_dim, cfg.joint_dropout)
    track_net.zero_input_columns(track_x.shape[1] - AUDIO_DIM, track_x.shape[1])
    params = list(photo_net.parameters()) + list(track_net.parameters())
    opt = torch.optim.AdamW(params, lr=cfg.joint_lr, weight_decay=cfg.joint_weight_decay)
    p_tr, t_tr = split["train"]
    p_va, t_va = split["val"]
    sampler = ClassBalancedSampler([photo_labels[p_tr], track_labels[t_tr]], seed=cfg.seed)
    rng = np.random.default_rng(cfg.seed + 1)
    px, tx = torch.from_numpy(photo_x), torch.from_numpy(track_x)
    n_feat = len(FEATURE_NAMES)
    best, best_state, stale, step = -1.0, None, 0, 0
    for step in range(1, cfg.joint_max_steps + 1):
        slots, (pi, ti) = sampler.batch(cfg.joint_batch)
        tb = track_x[t_tr[ti]].copy()
        # Hide a few features (value -> 0, mask -> 1) so the missing mask means something.
        hide = rng.random((len(tb), n_feat)) < cfg.feature_dropout_augment
        tb[:, :n_feat][hide] = 0.0
        tb[:, n_feat : 2 * n_feat][hide] = 1.0
        labels = torch.from_numpy(slots)
        photos = torch.nn.functional.normalize(photo_net(px[p_tr[pi]]), dim=1)
        tracks = torch.nn.functional.normalize(track_net(torch.from_numpy(tb)), dim=1)
        loss, _ = emo_clim_loss(photos, labels, tracks, labels, cfg.tau)
        opt.zero_grad()
        loss.backward()
        opt.step()
        if step % cfg.joint_eval_every == 0:
            mrr = _joint_val_mrr(
                photo_net, track_net, px[p_va], photo_labels[p_va], tx[t_va], track_labels[t_va]
            )
            if mrr > best + 1e-4:
                best, stale = mrr, 0
                best_state = (
                    {k: v.clone() for k, v in photo_net.state_dict().items()},
                    {k: v.clone() for k, v in track_net.state_dict().items()},
                )
            else:
                stale += 1
                if stale >= cfg.joint_patience:
                    break
    log.append(
        f"joint embedding: {step} steps, best val image->music MRR {best:.4f} "
        f"(last loss {float(loss.detach()):.3f})"
    )
    if best_state is not None:
        photo_net.load_state_dict(best_state[0])
        track_net.load_state_dict(best_state[1])
    return photo_net.eval(), track_net.eval()
