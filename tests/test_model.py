"""The TReaderXML network (pipeline/method/model.py) on tiny CPU tensors: shapes, masks, Table 3, Eq. 19."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from pipeline.errors import ConfigError
from pipeline.method.model import READINGS, ModelConfig, Reading, SelfAttention, TReaderXML

VOCAB, LABELS, D, HEADS = 50, 7, 16, 4

# Table 3: the attention layers of each Reading variant, in order (True = MMHSA, the causal one)
TABLE3 = {
    "none": [],
    "MMHSA+R": [True],
    "MHSA+R": [False],
    "MHSA+R+MMHSA": [False, True],
    "MMHSA+MHSA": [True, False],
    "MMHSA+R+MHSA": [True, False],
}


@pytest.fixture(autouse=True)
def _few_threads():
    """The tests are tiny; one thread keeps them from fighting other jobs on the machine."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


def make_model(reading: str = "MMHSA+R+MHSA", teacher: bool = True, seed: int = 0, **kw) -> TReaderXML:
    torch.manual_seed(seed)
    cfg = ModelConfig(
        vocab_size=VOCAB,
        n_labels=LABELS,
        d_model=D,
        n_heads=HEADS,
        reading=reading,
        teacher=teacher,
        bottleneck=8,
        **kw,
    )
    return TReaderXML(cfg).eval()


def ids(*seqs: list[int], width: int | None = None) -> torch.Tensor:
    """Token-id rows padded with 0 to ``width`` (default: the longest, at least 1, as train.Ragged does)."""
    width = width or max(1, max(len(s) for s in seqs))
    return torch.tensor([list(s) + [0] * (width - len(s)) for s in seqs], dtype=torch.long)


TEXT_A, TEXT_B = [5, 9, 3, 17, 2, 44], [8, 8, 31]
TEACH_A, TEACH_B = [11, 12, 13], [21, 22, 23, 24, 25]


# --- shapes and configuration errors -------------------------------------------------------------


@pytest.mark.parametrize("teacher", [True, False])
@pytest.mark.parametrize("reading", READINGS)
def test_logits_have_one_column_per_label(reading, teacher):
    model = make_model(reading, teacher)
    with torch.no_grad():
        out = model(ids(TEXT_A, TEXT_B), ids(TEACH_A, TEACH_B) if teacher else None)
    assert out.shape == (2, LABELS)
    assert torch.isfinite(out).all()


def test_teacher_model_without_teacher_tokens_raises():
    with pytest.raises(ValueError, match="teacher"):
        make_model(teacher=True)(ids(TEXT_A))


def test_teacher_prior_adds_a_weighted_vote_share_to_each_logit():
    text, teach = ids(TEXT_A, TEXT_B), ids(TEACH_A, TEACH_B)
    plain, prior_model = make_model(seed=3), make_model(seed=3, teacher_prior=True)
    prior = torch.zeros(2, LABELS)
    prior[0, 2], prior[1, 5] = 0.5, 1.0
    with torch.no_grad():
        base = plain(text, teach)
        assert torch.allclose(prior_model(text, teach, torch.zeros(2, LABELS)), base)  # the same network underneath
        prior_model.w_prior[5] = -1.0
        shift = prior_model(text, teach, prior) - base
    expected = torch.zeros(2, LABELS)
    expected[0, 2], expected[1, 5] = 0.5 * 4.0, -1.0  # w starts at PRIOR_INIT (4), one weight per label
    assert torch.allclose(shift, expected, atol=1e-5)
    with pytest.raises(ValueError, match="pass the prior"):
        prior_model(text, teach)
    assert make_model(teacher=False, teacher_prior=True).w_prior is None  # no teacher, no vote shares


def test_config_from_a_parameter_section():
    section = {"n_heads": 4, "bottleneck": 8, "teacher_prior": True, "residual": "all"}
    shapes = dict(vocab_size=VOCAB, n_labels=LABELS, d_model=D, reading="MHSA+R", teacher=True)
    cfg = ModelConfig.from_params(section, **shapes)
    assert cfg.teacher_prior is True
    assert (cfg.reading, cfg.bottleneck, cfg.residual, cfg.d_model) == ("MHSA+R", 8, "all", D)
    assert ModelConfig.from_params({}, **shapes).teacher_prior is False


@pytest.mark.parametrize("bad", ["yes", {"rcv1-v2-subset": True}])
def test_teacher_prior_is_true_or_false_and_says_where_a_per_dataset_value_goes(bad):
    shapes = dict(vocab_size=VOCAB, n_labels=LABELS, d_model=D)
    with pytest.raises(ConfigError, match="model.teacher_prior must be true or false.*own section"):
        ModelConfig.from_params({"teacher_prior": bad}, **shapes)


def test_unknown_reading_lists_every_valid_reading():
    with pytest.raises(ValueError) as err:
        ModelConfig(vocab_size=VOCAB, n_labels=LABELS, d_model=D, reading="MHSA+MHSA")
    assert "MHSA+MHSA" in str(err.value)
    for reading in READINGS:
        assert reading in str(err.value)
    with pytest.raises(ValueError, match="valid readings"):
        Reading("bogus", D, HEADS, 0.0)


def test_d_model_must_divide_into_heads():
    with pytest.raises(ValueError, match="divisible"):
        ModelConfig(vocab_size=VOCAB, n_labels=LABELS, d_model=18, n_heads=4)


def test_unknown_residual_raises():
    with pytest.raises(ConfigError, match="residual must be one of"):
        ModelConfig(vocab_size=VOCAB, n_labels=LABELS, d_model=D, residual="every")


def test_unknown_pool_raises():
    with pytest.raises(ValueError, match="pool"):
        ModelConfig(vocab_size=VOCAB, n_labels=LABELS, d_model=D, pool="sum")


def test_config_round_trips_through_a_dict():
    cfg = ModelConfig(
        vocab_size=VOCAB,
        n_labels=LABELS,
        d_model=D,
        n_heads=2,
        reading="MHSA+R",
        teacher=False,
        bottleneck=12,
        pool="mean",
        dropout=0.0,
        freeze_embedding=True,
        sparse_embedding=False,
    )
    d = cfg.to_dict()
    assert d["reading"] == "MHSA+R" and d["teacher"] is False and d["pool"] == "mean"
    assert ModelConfig.from_dict(d) == cfg
    assert ModelConfig.from_dict({**d, "from_a_newer_version": 1}) == cfg  # unknown keys are ignored


# --- padding ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("norm,residual", [(False, "first"), (True, "first"), (True, "all")])
@pytest.mark.parametrize("pool", ["max", "mean"])
@pytest.mark.parametrize("reading", READINGS)
def test_padding_changes_no_logit(reading, pool, norm, residual):
    model = make_model(reading, teacher=True, pool=pool, norm=norm, residual=residual)
    with torch.no_grad():
        base = model(ids(TEXT_A), ids(TEACH_A))
        longer_text = model(ids(TEXT_A, width=len(TEXT_A) + 7), ids(TEACH_A))
        longer_teacher = model(ids(TEXT_A), ids(TEACH_A, width=len(TEACH_A) + 9))
        both = model(ids(TEXT_A, width=20), ids(TEACH_A, width=20))
    for out in (longer_text, longer_teacher, both):
        assert torch.allclose(out, base, atol=1e-5)


@pytest.mark.parametrize("norm", [False, True])
@pytest.mark.parametrize("teacher", [True, False])
@pytest.mark.parametrize("reading", READINGS)
def test_batched_texts_of_different_lengths_score_as_alone(reading, teacher, norm):
    model = make_model(reading, teacher, norm=norm)

    def run(texts, teachers):
        return model(ids(*texts), ids(*teachers) if teacher else None)

    with torch.no_grad():
        together = run([TEXT_A, TEXT_B], [TEACH_A, TEACH_B])
        alone_a = run([TEXT_A], [TEACH_A])
        alone_b = run([TEXT_B], [TEACH_B])
    assert torch.allclose(together[0], alone_a[0], atol=1e-5)
    assert torch.allclose(together[1], alone_b[0], atol=1e-5)


def test_empty_teacher_sequence_gives_finite_logits():
    model = make_model()
    with torch.no_grad():
        out = model(ids(TEXT_A, TEXT_B), ids([], TEACH_B))  # first text: empty teacher set (all padding)
        alone = model(ids(TEXT_A), ids([]))
    assert torch.isfinite(out).all()
    assert torch.allclose(out[0], alone[0], atol=1e-5)


# --- the attention layer (MMHSA / MHSA) ------------------------------------------------------------


def attention(causal: bool) -> SelfAttention:
    torch.manual_seed(1)
    return SelfAttention(D, HEADS, causal=causal).eval()


def test_mmhsa_output_at_a_position_ignores_later_positions():
    layer = attention(causal=True)
    x = torch.randn(1, 6, D)
    keep = torch.ones(1, 6, dtype=torch.bool)
    y = x.clone()
    y[0, 4] = torch.randn(D)  # change position 4 only
    with torch.no_grad():
        a, b = layer(x, keep), layer(y, keep)
    assert torch.equal(a[0, :4], b[0, :4])  # Eq. 8-9: earlier positions never see later ones
    assert not torch.allclose(a[0, 4:], b[0, 4:])


def test_mhsa_output_at_a_position_sees_later_positions():
    layer = attention(causal=False)
    x = torch.randn(1, 6, D)
    keep = torch.ones(1, 6, dtype=torch.bool)
    y = x.clone()
    y[0, 4] = torch.randn(D)
    with torch.no_grad():
        a, b = layer(x, keep), layer(y, keep)
    assert not torch.allclose(a[0, :4], b[0, :4])


@pytest.mark.parametrize("causal", [True, False])
def test_padded_positions_are_exactly_zero_and_ignored(causal):
    layer = attention(causal)
    x = torch.randn(2, 5, D)
    keep = torch.tensor([[1, 1, 1, 0, 0], [1, 1, 1, 1, 1]], dtype=torch.bool)
    with torch.no_grad():
        out = layer(x, keep)
        x2 = x.clone()
        x2[0, 3:] = 100 * torch.randn(2, D)  # whatever sits in padded slots
        out2 = layer(x2, keep)
    assert torch.equal(out[0, 3:], torch.zeros(2, D))
    assert torch.allclose(out[0, :3], out2[0, :3], atol=1e-6)


@pytest.mark.parametrize("causal", [True, False])
def test_all_padding_sequence_gives_zeros_not_nan(causal):
    layer = attention(causal)
    x = torch.randn(2, 4, D)
    keep = torch.tensor([[0, 0, 0, 0], [1, 1, 0, 0]], dtype=torch.bool)
    with torch.no_grad():
        out = layer(x, keep)
    assert torch.isfinite(out).all()
    assert torch.equal(out[0], torch.zeros(4, D))


def test_attention_output_is_tanh_bounded():
    with torch.no_grad():
        out = attention(True)(10 * torch.randn(1, 5, D), torch.ones(1, 5, dtype=torch.bool))
    assert out.abs().max() <= 1.0  # Eq. 12-13: tanh on the output projection


# --- the Reading variants of Table 3 ----------------------------------------------------------------


@pytest.mark.parametrize("reading", READINGS)
def test_reading_layers_match_table_3(reading):
    r = Reading(reading, D, HEADS, 0.0)
    assert [layer.causal for layer in r.layers] == TABLE3[reading]
    assert all(isinstance(layer, SelfAttention) for layer in r.layers)


@pytest.mark.parametrize("residual", ["first", "all"])
@pytest.mark.parametrize("reading", READINGS)
def test_reading_composes_its_layers_as_named(reading, residual):
    torch.manual_seed(2)
    r = Reading(reading, D, HEADS, 0.0, residual=residual).eval()
    e = torch.randn(2, 5, D)
    keep = torch.tensor([[1, 1, 1, 1, 1], [1, 1, 1, 0, 0]], dtype=torch.bool)
    with torch.no_grad():
        out = r(e, keep)
        layers = list(r.layers)
        if reading == "none":
            expected = e  # no Reading: the embeddings go straight to the interaction
        elif reading in ("MMHSA+R", "MHSA+R"):
            expected = e + layers[0](e, keep)  # Eq. 14-15
        elif reading in ("MHSA+R+MMHSA", "MMHSA+R+MHSA") and residual == "first":
            expected = layers[1](e + layers[0](e, keep), keep)  # the residual wraps the first layer
        elif reading in ("MHSA+R+MMHSA", "MMHSA+R+MHSA"):
            h = e + layers[0](e, keep)
            expected = h + layers[1](h, keep)  # residual "all": it wraps the second layer too
        else:  # MMHSA+MHSA: no residual, whatever `residual` says
            expected = layers[1](layers[0](e, keep), keep)
    assert torch.allclose(out, expected, atol=1e-6)


@pytest.mark.parametrize("reading", READINGS)
def test_norm_puts_a_layer_norm_after_every_reading_layer(reading):
    torch.manual_seed(2)
    r = Reading(reading, D, HEADS, 0.0, norm=True).eval()
    e = torch.randn(2, 5, D)
    keep = torch.tensor([[1, 1, 1, 1, 1], [1, 1, 1, 0, 0]], dtype=torch.bool)
    with torch.no_grad():
        out, x = r(e, keep), e
        for i, (layer, norm) in enumerate(zip(r.layers, r.norms)):
            y = layer(x, keep)
            x = F.layer_norm(x + y if i == 0 and "+R" in reading else y, (D,), norm.weight, norm.bias) * keep[..., None]
    assert torch.allclose(out, x, atol=1e-5)
    assert len(r.norms) == len(TABLE3[reading])
    if reading != "none":
        assert torch.equal(out[1, 3:], torch.zeros(2, D))  # padded positions stay zero
        assert torch.allclose(out[0].mean(-1), torch.zeros(5), atol=1e-5)  # normalised per position


def test_norm_keeps_the_causal_reading_causal():
    torch.manual_seed(3)
    r = Reading("MMHSA+R", D, HEADS, 0.0, norm=True).eval()
    x = torch.randn(1, 6, D)
    y = x.clone()
    y[0, 4] = torch.randn(D)
    keep = torch.ones(1, 6, dtype=torch.bool)
    with torch.no_grad():
        a, b = r(x, keep), r(y, keep)
    assert torch.equal(a[0, :4], b[0, :4])
    assert not torch.allclose(a[0, 4:], b[0, 4:])


def test_branches_and_interaction_have_their_own_weights():
    model = make_model("MMHSA+R+MHSA", teacher=True)
    assert model.read_teacher is not None and model.read_teacher is not model.read_text
    assert model.read_text.layers[0].qkv.weight.data_ptr() != model.read_teacher.layers[0].qkv.weight.data_ptr()
    assert model.interact.causal  # the interaction is one MMHSA layer (Section 3.2, Iteraction)
    assert make_model(teacher=False).read_teacher is None


# --- embeddings -------------------------------------------------------------------------------------


def test_embeddings_start_from_the_given_matrix():
    emb = torch.randn(VOCAB, D)
    emb[0] = 0
    cfg = ModelConfig(vocab_size=VOCAB, n_labels=LABELS, d_model=D)
    model = TReaderXML(cfg, emb)
    assert torch.equal(model.embed.weight.detach(), emb)
    assert model.embed.weight.requires_grad
    text = model.embed(torch.tensor([[3, 0]]))
    assert torch.equal(text[0, 0], emb[3])


def test_frozen_embeddings_get_no_gradient():
    emb = torch.randn(VOCAB, D)
    cfg = ModelConfig(vocab_size=VOCAB, n_labels=LABELS, d_model=D, freeze_embedding=True)
    model = TReaderXML(cfg, emb)
    assert model.embed.weight.requires_grad is False
    assert torch.equal(model.embed.weight.detach(), emb)


def test_embedding_matrix_of_the_wrong_shape_raises():
    cfg = ModelConfig(vocab_size=VOCAB, n_labels=LABELS, d_model=D)
    with pytest.raises(ValueError, match=r"\(50, 16\)"):
        TReaderXML(cfg, torch.zeros(VOCAB, D + 4))
    with pytest.raises(ValueError):
        TReaderXML(cfg, torch.zeros(VOCAB - 1, D))


# --- loss (Eq. 19) ----------------------------------------------------------------------------------


def test_loss_is_eq_19_summed_over_labels_averaged_over_texts():
    torch.manual_seed(3)
    logits = 3 * torch.randn(4, LABELS)
    y = (torch.rand(4, LABELS) < 0.3).float()
    s = torch.sigmoid(logits)
    by_hand = -(y * torch.log(s) + (1 - y) * torch.log(1 - s)).sum(dim=1).mean()
    # Eq. 19 written as in the paper: log((1 + exp(-Y))^-1) and log(exp(-Y) / (1 + exp(-Y)))
    paper = -(
        y * torch.log(1 / (1 + torch.exp(-logits))) + (1 - y) * torch.log(torch.exp(-logits) / (1 + torch.exp(-logits)))
    )
    assert torch.allclose(TReaderXML.loss(logits, y), by_hand, atol=1e-5)
    assert torch.allclose(TReaderXML.loss(logits, y), paper.sum(1).mean(), atol=1e-5)


def test_loss_weighs_each_labels_positives_by_pos_weight():
    torch.manual_seed(4)
    logits, y = 3 * torch.randn(4, LABELS), (torch.rand(4, LABELS) < 0.3).float()
    w = torch.linspace(1, 5, LABELS)
    s = torch.sigmoid(logits)
    by_hand = -(w * y * torch.log(s) + (1 - y) * torch.log(1 - s)).sum(dim=1).mean()
    assert torch.allclose(TReaderXML.loss(logits, y, w), by_hand, atol=1e-5)
    assert torch.equal(TReaderXML.loss(logits, y, None), TReaderXML.loss(logits, y))
    no_positives = torch.zeros_like(y)  # only positives are weighed
    assert torch.allclose(TReaderXML.loss(logits, no_positives, w), TReaderXML.loss(logits, no_positives))


def test_loss_trains_the_model_and_reaches_every_parameter():
    model = make_model("MMHSA+R+MHSA", teacher=True, dropout=0.0, sparse_embedding=False, teacher_prior=True)
    model.train()
    text, teach = ids(TEXT_A, TEXT_B), ids(TEACH_A, TEACH_B)
    y = torch.zeros(2, LABELS)
    y[0, 1] = y[1, 4] = 1
    loss = TReaderXML.loss(model(text, teach, torch.rand(2, LABELS) + 0.1), y)
    loss.backward()
    no_grad = [
        n for n, p in model.named_parameters() if p.requires_grad and (p.grad is None or not p.grad.abs().sum() > 0)
    ]
    assert no_grad == []


def test_dropout_is_off_in_eval_mode():
    model = make_model(dropout=0.5)
    with torch.no_grad():
        a = model(ids(TEXT_A), ids(TEACH_A))
        b = model(ids(TEXT_A), ids(TEACH_A))
    assert torch.equal(a, b)


@pytest.mark.parametrize("key", ["dropout", "attention_dropout"])
@pytest.mark.parametrize("bad", [1.0, -0.1, True, "0.2"])
def test_dropout_rates_outside_zero_to_one_are_refused(key, bad):
    with pytest.raises(ConfigError, match=f"model.{key} must be a number in \\[0, 1\\)"):
        ModelConfig(vocab_size=VOCAB, n_labels=LABELS, d_model=D, **{key: bad})


def test_attention_dropout_reaches_the_attention_layers_only():
    model = make_model(dropout=0.1, attention_dropout=0.3)
    rates = [m.dropout for m in model.modules() if isinstance(m, SelfAttention)]
    assert len(rates) == 2 * 2 + 1 and set(rates) == {0.3}  # two Readings of two layers, and Interaction
    assert model.drop.p == 0.1


@pytest.mark.parametrize("attention_dropout, differ", [(0.0, False), (0.5, True)])
def test_attention_dropout_acts_in_training_mode_only(attention_dropout, differ):
    model = make_model(dropout=0.0, attention_dropout=attention_dropout).train()
    text, teach = ids(TEXT_A, TEXT_B), ids(TEACH_A, TEACH_B)
    with torch.no_grad():
        a, b = model(text, teach), model(text, teach)
        model.eval()
        c, d = model(text, teach), model(text, teach)
    assert (not torch.allclose(a, b)) is differ
    assert torch.equal(c, d)


def test_a_config_saved_before_attention_dropout_loads_without_it():
    d = ModelConfig(vocab_size=VOCAB, n_labels=LABELS, d_model=D).to_dict()
    del d["attention_dropout"]
    assert ModelConfig.from_dict(d).attention_dropout == 0.0
