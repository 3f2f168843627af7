"""The TReaderXML network (Section 3.2), read top to bottom against the paper.

    Encoding    one word embedding for text and teacher tokens, initialised from `embed`
    Reading     per branch: MMHSA / MHSA layers with or without the residual (Eq. 3-15)
    Interaction concatenate the branches (Eq. 16), one MMHSA layer, bottleneck W^HB (Eq. 17), pool
    Predicting  one linear layer to every label; sigmoid scores (Eq. 18, read with Eq. 19)
    Loss        per-label binary cross-entropy with logits (Eq. 19)

MMHSA is multi-head self-attention with a causal (upper-triangular) mask and a tanh
output projection; MHSA is the same without the causal mask. Both always mask padding
keys, so a padded position never carries attention.

Not in the paper: with ``ModelConfig.norm`` (params `model.norm`) a LayerNorm follows
every attention layer (after its residual, in Reading and in Interaction); padded
positions stay zero. With ``ModelConfig.residual = "all"`` (params `model.residual`) the
residual R wraps every layer of a "+R" Reading, not only the first. With
``ModelConfig.teacher_prior`` (params `model.teacher_prior`) the teacher set's vote shares
also reach the output directly: logit_l += w_l * share_l, one learnt weight per label.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import torch
import torch.nn as nn
import torch.nn.functional as F

from pipeline.errors import ConfigError

READINGS = ("none", "MMHSA+R", "MHSA+R", "MHSA+R+MMHSA", "MMHSA+MHSA", "MMHSA+R+MHSA")
POOLS = ("max", "mean")
RESIDUALS = ("first", "all")


def check_reading(reading: str) -> str:
    if reading not in READINGS:
        raise ConfigError(f"unknown reading {reading!r}; valid readings: {', '.join(READINGS)}")
    return reading


@dataclass
class ModelConfig:
    vocab_size: int
    n_labels: int
    d_model: int = 300  # = the word embedding size (paper)
    n_heads: int = 4  # paper: h = 4; d_k = d_model // h (Eq. 3)
    reading: str = "MMHSA+R+MHSA"  # the full model (Table 3, config 6)
    teacher: bool = True  # False: no teacher branch (Table 3, config 0)
    bottleneck: int = 512  # width of W^HB (Eq. 17)
    pool: str = "max"  # how the interaction sequence becomes one vector (the paper does not say)
    dropout: float = 0.2  # on the embeddings and the pooled vector
    attention_dropout: float = 0.0  # on the attention weights; 0 lets attention run as one fused kernel (README)
    norm: bool = False  # LayerNorm after every attention layer (and its residual); not in the paper
    residual: str = (
        "first"  # first: R wraps a "+R" Reading's first layer (Eq. 14-15) | all: every layer (not in the paper)
    )
    teacher_prior: bool = False  # add w_l * (teacher vote share of l) to each logit; not in the paper
    freeze_embedding: bool = False
    sparse_embedding: bool = True

    def __post_init__(self):
        check_reading(self.reading)
        if self.pool not in POOLS:
            raise ConfigError(f"pool must be one of {POOLS}, got {self.pool!r}")
        if self.residual not in RESIDUALS:
            raise ConfigError(f"residual must be one of {RESIDUALS}, got {self.residual!r}")
        for name in ("dropout", "attention_dropout"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 <= value < 1:
                raise ConfigError(f"model.{name} must be a number in [0, 1), got {value!r}")
        if self.d_model % self.n_heads:
            raise ConfigError(f"d_model ({self.d_model}) must be divisible by n_heads ({self.n_heads})")

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict) -> "ModelConfig":
        return cls(**{k: v for k, v in d.items() if k in cls.__dataclass_fields__})

    @classmethod
    def from_params(cls, model: dict, **fixed) -> "ModelConfig":
        """From a `model` parameter section (the dataset's own values already merged in,
        ``settings.resolve``), with ``fixed`` (shapes, `reading`, `teacher`) on top."""
        prior = model.get("teacher_prior", False)
        if not isinstance(prior, bool):
            raise ConfigError(
                f"model.teacher_prior must be true or false; got {prior!r} "
                "(a value for one dataset goes in that dataset's own section: reuters21578: {model: {teacher_prior: true}})"
            )
        return cls.from_dict({**model, **fixed})


class SelfAttention(nn.Module):
    """MMHSA (``causal=True``, Eq. 3-13) or MHSA (``causal=False``)."""

    def __init__(self, d_model: int, n_heads: int, causal: bool, dropout: float = 0.0):
        super().__init__()
        self.h, self.d_k, self.causal, self.dropout = n_heads, d_model // n_heads, causal, dropout
        self.qkv = nn.Linear(d_model, 3 * d_model, bias=False)  # W^q, W^k, W^v (Eq. 4-6)
        self.w_mh = nn.Linear(d_model, d_model)  # W^MH (Eq. 12-13)

    def forward(self, x: torch.Tensor, keep: torch.Tensor) -> torch.Tensor:
        """x: (B, T, d); keep: (B, T) True for real tokens. Returns (B, T, d)."""
        b, t, d = x.shape
        q, k, v = self.qkv(x).view(b, t, 3, self.h, self.d_k).permute(2, 0, 3, 1, 4)  # each (B, h, T, d_k)
        allowed = keep[:, None, None, :]  # padding keys are masked (-inf before softmax)
        if self.causal:  # Eq. 8-9: W^mask upper-triangular -> a position sees itself and earlier ones
            allowed = allowed & torch.ones(t, t, dtype=torch.bool, device=x.device).tril()
        # a query with no allowed key (an all-padding row) would give NaN: let it see key 0, then zero it below
        allowed = allowed | ~allowed.any(-1, keepdim=True) & (torch.arange(t, device=x.device) == 0)
        h = F.scaled_dot_product_attention(q, k, v, attn_mask=allowed, dropout_p=self.dropout if self.training else 0.0)
        h = h.transpose(1, 2).reshape(b, t, d)  # concatenate the heads {H_1; ...; H_h}
        return torch.tanh(self.w_mh(h)) * keep[..., None]  # Eq. 12-13; padded positions stay zero


class Reading(nn.Module):
    """One branch's Reading part, by the names of Table 3 (R = the residual of Eq. 14-15)."""

    def __init__(
        self, reading: str, d_model: int, n_heads: int, dropout: float, norm: bool = False, residual: str = "first"
    ):
        super().__init__()
        self.reading = check_reading(reading)
        layers = {
            "none": [],
            "MMHSA+R": [True],
            "MHSA+R": [False],
            "MHSA+R+MMHSA": [False, True],
            "MMHSA+MHSA": [True, False],
            "MMHSA+R+MHSA": [True, False],
        }[reading]
        self.layers = nn.ModuleList(SelfAttention(d_model, n_heads, causal, dropout) for causal in layers)
        self.norms = nn.ModuleList(_norm(d_model, norm) for _ in layers)
        self.normalise = norm
        # which layers the residual wraps: the first (Eq. 14-15), or with residual "all" every one; none without "+R"
        self.residual = [("+R" in reading) and (i == 0 or residual == "all") for i in range(len(layers))]

    def forward(self, e: torch.Tensor, keep: torch.Tensor) -> torch.Tensor:
        for layer, norm, res in zip(self.layers, self.norms, self.residual):
            out = layer(e, keep)
            e = e + out if res else out
            if self.normalise:
                e = norm(e) * keep[..., None]  # LayerNorm of zeros is its bias: keep padded positions at zero
        return e


def _norm(d_model: int, on: bool) -> nn.Module:
    return nn.LayerNorm(d_model) if on else nn.Identity()


PRIOR_INIT = 4.0


class TReaderXML(nn.Module):
    def __init__(self, cfg: ModelConfig, embeddings: torch.Tensor | None = None):
        super().__init__()
        self.cfg = cfg
        # Encoding: one embedding shared by text and teacher tokens (E_x = Encode(x), E_y' = Encode(T))
        self.embed = nn.Embedding(cfg.vocab_size, cfg.d_model, padding_idx=0, sparse=cfg.sparse_embedding)
        if embeddings is not None:
            if tuple(embeddings.shape) != (cfg.vocab_size, cfg.d_model):
                raise ValueError(f"embeddings {tuple(embeddings.shape)} do not match ({cfg.vocab_size}, {cfg.d_model})")
            with torch.no_grad():
                self.embed.weight.copy_(embeddings)
        self.embed.weight.requires_grad_(not cfg.freeze_embedding)
        self.drop = nn.Dropout(cfg.dropout)
        # Reading: separate weights for the text and the teacher branch (W_x vs W_y' in Eq. 4-13)
        att = cfg.attention_dropout
        self.read_text = Reading(cfg.reading, cfg.d_model, cfg.n_heads, att, cfg.norm, cfg.residual)
        self.read_teacher = (
            Reading(cfg.reading, cfg.d_model, cfg.n_heads, att, cfg.norm, cfg.residual) if cfg.teacher else None
        )
        # Interaction: MMHSA over [O_y'; O_x] (Eq. 16), then the bottleneck W^HB (Eq. 17)
        self.interact = SelfAttention(cfg.d_model, cfg.n_heads, causal=True, dropout=att)
        self.interact_norm = _norm(cfg.d_model, cfg.norm)
        self.w_hb = nn.Linear(cfg.d_model, cfg.bottleneck)
        # Predicting: W^Output (Eq. 18)
        self.w_out = nn.Linear(cfg.bottleneck, cfg.n_labels)
        # Not in the paper: the teacher's vote shares as a direct, per-label weighted term of the logits.
        # It starts at PRIOR_INIT (a label every neighbour holds starts with e^4 ~ 55 times the odds).
        self.w_prior = (
            nn.Parameter(torch.full((cfg.n_labels,), PRIOR_INIT)) if cfg.teacher and cfg.teacher_prior else None
        )

    def init_output_bias(self, label_freq: torch.Tensor) -> None:
        """Start every label's score at its training frequency (logit of the prior), W^Output at zero:
        the first steps then learn what distinguishes texts instead of unlearning random scores."""
        p = label_freq.clamp(1e-6, 1 - 1e-6).to(self.w_out.bias)
        with torch.no_grad():
            self.w_out.bias.copy_(torch.log(p / (1 - p)))
            self.w_out.weight.zero_()

    def forward(
        self, text: torch.Tensor, teacher: torch.Tensor | None = None, prior: torch.Tensor | None = None
    ) -> torch.Tensor:
        """text, teacher: (B, T) token ids, 0 = padding; prior: (B, n_labels) teacher vote shares (only
        with ``teacher_prior``). Returns logits (B, n_labels)."""
        keep_x = text != 0
        o = self.read_text(self.drop(self.embed(text)), keep_x)
        keep = keep_x
        if self.read_teacher is not None:
            if teacher is None:
                raise ValueError("this model reads teacher knowledge: pass the teacher tokens")
            keep_y = teacher != 0
            o_y = self.read_teacher(self.drop(self.embed(teacher)), keep_y)
            o, keep = torch.cat([o_y, o], dim=1), torch.cat([keep_y, keep_x], dim=1)  # Eq. 16
        o = self.w_hb(self.interact_norm(self.interact(o, keep)))  # Eq. 17
        if self.cfg.pool == "max":
            pooled = o.masked_fill(~keep[..., None], float("-inf")).amax(dim=1)
            pooled = torch.where(keep.any(1, keepdim=True), pooled, torch.zeros_like(pooled))
        else:
            pooled = (o * keep[..., None]).sum(1) / keep.sum(1, keepdim=True).clamp(min=1)
        logits = self.w_out(self.drop(pooled))  # Eq. 18 (scores = sigmoid(logits))
        if self.w_prior is not None:
            if prior is None:
                raise ValueError("this model adds the teacher's vote shares to its scores: pass the prior")
            logits = logits + self.w_prior * prior
        return logits

    @staticmethod
    def loss(logits: torch.Tensor, targets: torch.Tensor, pos_weight: torch.Tensor | None = None) -> torch.Tensor:
        """Eq. 19: one-versus-all binary cross-entropy, summed over labels, averaged over texts.
        ``pos_weight`` (n_labels,): each label's positive terms weighed by it (not in the paper)."""
        return (
            F.binary_cross_entropy_with_logits(logits, targets, pos_weight=pos_weight, reduction="sum")
            / logits.shape[0]
        )
