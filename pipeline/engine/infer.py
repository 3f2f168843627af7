"""Inference: a network's logits for a set of examples, an ensemble's mean probability, the top k."""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp
import torch
from tqdm import tqdm

from pipeline.engine.examples import Examples
from pipeline.method.model import TReaderXML
from pipeline.report import metrics


class ProbabilityMean:
    """The mean of several score matrices' sigmoid probabilities, kept as a logit: add logits one
    member at a time, read ``logits``. In log space throughout (log p and log(1 - p) summed with
    logaddexp), so saturated scores neither overflow nor round to 0 or 1."""

    def __init__(self):
        self.n, self.first, self.log_p, self.log_q = 0, None, None, None

    def add(self, logits: np.ndarray) -> None:
        x = logits.astype(np.float64)
        log_p, log_q = -np.logaddexp(0.0, -x), -np.logaddexp(0.0, x)  # log sigmoid(x), log sigmoid(-x)
        self.n += 1
        if self.n == 1:
            self.first, self.log_p, self.log_q = logits, log_p, log_q
        else:
            self.log_p, self.log_q = np.logaddexp(self.log_p, log_p), np.logaddexp(self.log_q, log_q)

    @property
    def logits(self) -> np.ndarray:
        """logit(mean p) = log(sum p) - log(sum (1 - p)); one member: its logits unchanged."""
        return self.first if self.n == 1 else (self.log_p - self.log_q).astype(np.float32)


def predict_logits(
    model: TReaderXML, data: Examples, device, batch_size: int = 64, bf16: bool = False, progress: bool = False
) -> np.ndarray:
    """Logits for every example (in the original order), batched by length."""
    model.eval()
    order = np.argsort(data.lengths(), kind="stable")
    out = np.zeros((len(data), model.cfg.n_labels), dtype=np.float32)
    with torch.no_grad(), torch.autocast(device.type, dtype=torch.bfloat16, enabled=bf16):
        for start in tqdm(range(0, len(order), batch_size), desc="predict", disable=not progress, unit="batch"):
            idx = order[start : start + batch_size]
            text, teacher, _ = data.tensors(idx, device)
            out[idx] = model(text, teacher, data.prior_batch(idx, device)).float().cpu().numpy()
    return out


def ensemble_logits(
    models: list[TReaderXML], data: Examples, device, bf16: bool = False, progress: bool = False
) -> np.ndarray:
    """An ensemble's scores: the logit of the mean of its members' probabilities (one member: its logits)."""
    mean = ProbabilityMean()
    for model in models:
        mean.add(predict_logits(model, data, device, bf16=bf16, progress=progress))
    return mean.logits


def top_k(logits: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """Indices and sigmoid scores of the k best labels per row, best first."""
    k = min(k, logits.shape[1])
    part = np.argpartition(-logits, k - 1, axis=1)[:, :k]
    vals = np.take_along_axis(logits, part, 1)
    order = np.argsort(-vals, axis=1, kind="stable")
    idx = np.take_along_axis(part, order, 1)
    return idx, 1.0 / (1.0 + np.exp(-np.take_along_axis(vals, order, 1)))


def evaluate_logits(
    logits: np.ndarray, y: sp.csr_matrix, inv_ps: np.ndarray | None = None, ks=(1, 3, 5)
) -> dict[str, float]:
    """P@k and nDCG@k (and PSP@k with ``inv_ps``) of the ranking ``logits`` against the labels ``y``."""
    idx, _ = top_k(logits, max(ks))
    return metrics.metrics_at_k(y, idx, inv_ps, ks)
