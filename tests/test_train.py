"""Training: batching, determinism, and resuming after a kill with the same result."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pyarrow as pa
import pytest
import torch
import yaml

from pipeline.engine.config import TrainConfig, member_seed
from pipeline.engine.device import native_bf16, resolve_device
from pipeline.engine.examples import Ragged, bucketed_batches, split_validation
from pipeline.engine.infer import ProbabilityMean, ensemble_logits, predict_logits, top_k
from pipeline.engine.loop import drop_teacher, fit, lr_factor, match_prior, positive_weights
from pipeline.errors import ConfigError
from pipeline.method.model import ModelConfig
from tests.tiny import write_folder_dataset

REPO = Path(__file__).resolve().parents[1]


def test_split_validation_is_seeded_and_disjoint():
    fit_a, val_a = split_validation(100, 0.1, 13)
    fit_b, val_b = split_validation(100, 0.1, 13)
    assert np.array_equal(fit_a, fit_b) and np.array_equal(val_a, val_b)
    assert len(val_a) == 10 and not set(fit_a) & set(val_a) and len(fit_a) + len(val_a) == 100
    assert not np.array_equal(val_a, split_validation(100, 0.1, 14)[1])


def test_bucketed_batches_cover_everything_once_and_group_lengths():
    lengths = np.random.default_rng(0).integers(1, 500, size=1000)
    batches = bucketed_batches(lengths, 32, 10, np.random.default_rng(1))
    flat = np.concatenate(batches)
    assert sorted(flat.tolist()) == list(range(1000))
    assert max(len(b) for b in batches) == 32
    # within a bucket, batches are length-sorted: padding per batch is far below a random batching's
    waste = sum(lengths[b].max() * len(b) - lengths[b].sum() for b in batches)
    rnd = np.random.default_rng(2).permutation(1000)
    random_waste = sum(lengths[b].max() * len(b) - lengths[b].sum() for b in np.array_split(rnd, 32))
    assert waste < random_waste / 5
    again = bucketed_batches(lengths, 32, 10, np.random.default_rng(1))
    assert all(np.array_equal(a, b) for a, b in zip(batches, again))


def test_ragged_batch_pads_dynamically():
    r = Ragged(pa.array([[5, 6, 7], [8], []], pa.list_(pa.int32())))
    assert r.batch(np.array([1, 0])).tolist() == [[8, 0, 0], [5, 6, 7]]
    assert r.batch(np.array([1])).tolist() == [[8]]
    assert r.batch(np.array([2])).tolist() == [[0]]


def test_top_k_orders_and_scores():
    idx, scores = top_k(np.array([[0.0, 3.0, -1.0, 2.0]]), 3)
    assert idx.tolist() == [[1, 3, 0]]
    assert np.allclose(scores, 1 / (1 + np.exp(-np.array([[3.0, 2.0, 0.0]]))))


def _tiny_examples():
    from pipeline.engine.examples import make_examples as examples

    rng = np.random.default_rng(0)
    n, labels = 40, pa.array(["a", "b", "c"])
    tokens = pa.table(
        {
            "id": [str(i) for i in range(n)],
            "tokens": [rng.integers(2, 30, rng.integers(3, 12)).tolist() for _ in range(n)],
        }
    )
    teach = pa.table({"id": tokens["id"], "teacher_tokens": [rng.integers(2, 30, 4).tolist() for _ in range(n)]})
    docs = pa.table({"id": tokens["id"], "labels": [[["a", "b", "c"][i % 3]] for i in range(n)]})
    return examples(tokens, teach, docs, labels)


@pytest.mark.parametrize("extra", [{}, {"schedule": "cosine", "warmup": 0.5, "clip": 1.0, "teacher_dropout": 0.3}])
def test_two_runs_with_the_same_seed_are_identical(extra):
    mc = ModelConfig(vocab_size=30, n_labels=3, d_model=8, n_heads=4, bottleneck=8, norm=bool(extra))
    tc = TrainConfig(epochs=3, batch_size=8, lr=1e-2, val_fraction=0.2, early_stop=10, **extra)
    m1, h1 = fit(mc, tc, _tiny_examples(), None, progress=False)
    m2, h2 = fit(mc, tc, _tiny_examples(), None, progress=False)
    assert [r["loss"] for r in h1] == [r["loss"] for r in h2] and len(h1) == 3
    for (k1, v1), (k2, v2) in zip(m1.state_dict().items(), m2.state_dict().items()):
        assert k1 == k2 and torch.equal(v1, v2)


def test_ensemble_members_share_the_validation_split_and_differ_in_everything_else():
    assert member_seed(13, 0) == 13  # member 0 is the plain model
    seeds = [member_seed(13, m) for m in range(1, 6)] + [member_seed(14, m) for m in range(1, 6)]
    assert len(set(seeds)) == 10 and 13 not in seeds and all(0 <= s < 2**63 for s in seeds)
    mc = ModelConfig(vocab_size=30, n_labels=3, d_model=8, n_heads=4, bottleneck=8)
    tc = TrainConfig(epochs=2, batch_size=8, lr=1e-2, val_fraction=0.2, early_stop=10, members=2)
    m0, h0 = fit(mc, tc, _tiny_examples(), None, progress=False)
    plain, hp = fit(mc, TrainConfig(**{**tc.to_dict(), "members": 1}), _tiny_examples(), None, progress=False)
    m1, h1 = fit(mc, tc, _tiny_examples(), None, progress=False, member=1)
    assert [r["loss"] for r in h0] == [r["loss"] for r in hp]  # the ensemble's size changes no member
    assert all(torch.equal(a, b) for a, b in zip(m0.state_dict().values(), plain.state_dict().values()))
    assert [r["loss"] for r in h0] != [r["loss"] for r in h1]  # another initialisation and batch order
    assert not torch.equal(m0.w_out.weight, m1.w_out.weight)
    # the ensemble's score is the mean of the members' probabilities
    val = _tiny_examples().subset(split_validation(40, 0.2, 13)[1])
    cpu = resolve_device("cpu")
    one, two = predict_logits(m0, val, cpu), predict_logits(m1, val, cpu)
    p = (1 / (1 + np.exp(-one.astype(np.float64))) + 1 / (1 + np.exp(-two.astype(np.float64)))) / 2
    assert np.allclose(ensemble_logits([m0, m1], val, cpu), np.log(p / (1 - p)), atol=1e-5)
    assert np.array_equal(ensemble_logits([m0], val, cpu), one)


def test_probability_mean_by_hand_and_at_saturation():
    mean = ProbabilityMean()
    mean.add(np.array([[0.0, np.log(3.0)]], np.float32))  # p = 1/2, 3/4
    mean.add(np.array([[np.log(3.0), np.log(3.0)]], np.float32))  # p = 3/4, 3/4
    assert np.allclose(1 / (1 + np.exp(-mean.logits)), [[5 / 8, 3 / 4]])
    far = ProbabilityMean()  # sigmoid(60) rounds to 1.0 even in float64; the mean in log space does not
    far.add(np.array([[60.0, -60.0, 60.0]], np.float32))
    far.add(np.array([[80.0, -80.0, -60.0]], np.float32))
    out = far.logits
    assert np.all(np.isfinite(out)) and out.dtype == np.float32
    assert out[0, 0] == pytest.approx(60 + np.log(2), abs=1e-4) and out[0, 1] == pytest.approx(
        -60 - np.log(2), abs=1e-4
    )
    assert abs(out[0, 2]) < 1e-4  # one sure yes, one sure no: even odds


def test_members_are_a_whole_number_and_not_part_of_a_members_settings():
    assert TrainConfig.from_dict({"members": 3}).members == 3
    assert TrainConfig.from_dict({}).members == 1
    assert "members" not in TrainConfig(members=3).member_settings()
    for bad in (0, -1, 2.5, True, "3", {"folder": 2}):
        with pytest.raises(ConfigError, match="train.members must be a whole number"):
            TrainConfig.from_dict({"members": bad})


def test_propensity_weight_weighs_rare_labels_positives_more():
    inv_ps = np.array([1.2, 3.0, 9.0])
    cpu = torch.device("cpu")
    assert positive_weights(inv_ps, 0.0, cpu) is None  # off: the loss is Eq. 19's, untouched
    assert torch.allclose(positive_weights(inv_ps, 0.5, cpu), torch.tensor([1.2**0.5, 3**0.5, 3.0]))
    assert torch.allclose(positive_weights(inv_ps, 1, cpu), torch.tensor([1.2, 3.0, 9.0]))
    with pytest.raises(ValueError, match="inverse propensities"):
        positive_weights(None, 1.0, cpu)
    for bad in (-0.5, True, "1"):
        with pytest.raises(ConfigError, match="train.propensity_weight"):
            TrainConfig(propensity_weight=bad)
    assert TrainConfig.from_dict({"propensity_weight": 1}).propensity_weight == 1
    with pytest.raises(ConfigError, match="train.propensity_weight"):
        TrainConfig.from_dict({"propensity_weight": {"reuters21578": 0.5}})  # per dataset: the dataset's own section


def test_propensity_weight_raises_the_scores_of_the_label_it_weighs_most():
    # the three labels are equally frequent here; pretend "c" is rare: its positives weigh 8 times more
    mc = ModelConfig(vocab_size=30, n_labels=3, d_model=8, n_heads=4, bottleneck=8)
    inv_ps = np.array([1.0, 1.0, 8.0])
    data = _tiny_examples()
    mean_p = {}
    for x in (0.0, 1.0):
        tc = TrainConfig(epochs=4, batch_size=8, lr=1e-2, val_fraction=0.2, early_stop=10, propensity_weight=x)
        model, _ = fit(mc, tc, data, None, inv_ps=inv_ps, progress=False)
        mean_p[x] = torch.sigmoid(torch.from_numpy(predict_logits(model, data, torch.device("cpu")))).mean(0)
    assert mean_p[1.0][2] > mean_p[0.0][2] + 0.05
    assert mean_p[1.0][2] - mean_p[0.0][2] > max(mean_p[1.0][:2] - mean_p[0.0][:2])  # "c" gains the most


def test_early_stopping_and_lr_decay():
    mc = ModelConfig(vocab_size=30, n_labels=3, d_model=8, n_heads=4, bottleneck=8)
    tc = TrainConfig(epochs=30, batch_size=8, lr=1e-12, val_fraction=0.2, early_stop=2, lr_patience=1, lr_decay=0.5)
    _, history = fit(mc, tc, _tiny_examples(), None, progress=False)  # lr ~0: nothing improves after epoch 1
    assert len(history) == 3  # epoch 1 sets the best; 2 and 3 do not improve: stop
    assert [r["lr"] for r in history] == [1e-12, 1e-12, 0.5e-12]


def test_lr_schedule_warms_up_then_follows_the_cosine():
    steps = 10
    plateau = TrainConfig(epochs=4)
    assert [lr_factor(plateau, s, steps) for s in range(40)] == [1.0] * 40  # the old behaviour: no schedule
    warm = TrainConfig(epochs=4, warmup=0.5)
    assert [lr_factor(warm, s, steps) for s in range(6)] == [0.2, 0.4, 0.6, 0.8, 1.0, 1.0]
    cos = TrainConfig(epochs=4, schedule="cosine", warmup=1)
    f = [lr_factor(cos, s, steps) for s in range(40)]
    assert f[0] == pytest.approx(0.1 * 1.0) and f[9] == pytest.approx(0.5 * (1 + np.cos(np.pi * 9 / 40)))
    assert f[20] == pytest.approx(0.5) and f[39] < 0.002  # half-way: half; the last step: almost nothing
    assert all(a >= b for a, b in zip(f[10:], f[11:]))  # after the warm-up it only goes down


def test_drop_teacher_blanks_whole_rows_at_the_asked_rate():
    teacher = torch.arange(1, 2001).reshape(1000, 2)
    assert drop_teacher(teacher, 0.0, np.random.default_rng(0)) is teacher
    assert drop_teacher(None, 0.5, np.random.default_rng(0)) is None
    out = drop_teacher(teacher, 0.3, np.random.default_rng(0))
    blank = (out == 0).all(1)
    assert torch.equal(out[~blank], teacher[~blank]) and not (out[~blank] == 0).any()  # the others untouched
    assert 0.25 < blank.float().mean() < 0.35
    assert torch.equal(out, drop_teacher(teacher, 0.3, np.random.default_rng(0)))  # seeded


def test_a_dropped_teacher_takes_its_vote_shares_with_it():
    teacher = torch.tensor([[3, 4], [0, 0], [5, 0]])
    prior = torch.tensor([[0.5, 0.2], [0.9, 0.1], [0.0, 1.0]])
    assert torch.equal(match_prior(prior, teacher), torch.tensor([[0.5, 0.2], [0.0, 0.0], [0.0, 1.0]]))
    assert match_prior(None, teacher) is None and match_prior(prior, None) is prior


@pytest.mark.parametrize("sparse", [True, False])
def test_embedding_learns_at_its_own_rate(sparse):
    from pipeline.engine.loop import optimizers
    from pipeline.method.model import TReaderXML

    torch.manual_seed(0)
    model = TReaderXML(
        ModelConfig(vocab_size=30, n_labels=3, d_model=8, n_heads=4, bottleneck=8, sparse_embedding=sparse)
    )
    opts = optimizers(model, 1e-3, embedding_lr=10.0)
    groups = [g for o in opts for g in o.param_groups]
    emb = [g for g in groups if any(p is model.embed.weight for p in g["params"])]
    assert len(emb) == 1 and emb[0]["lr"] == pytest.approx(1e-2) and emb[0]["params"] == [model.embed.weight]
    assert all(g["lr"] == 1e-3 for g in groups if g is not emb[0])
    n_params = sum(len(g["params"]) for g in groups)
    assert n_params == len(list(model.parameters()))  # every weight is trained exactly once
    model.cfg.freeze_embedding = True
    model.embed.weight.requires_grad_(False)
    assert all(
        p is not model.embed.weight for o in optimizers(model, 1e-3, 10.0) for g in o.param_groups for p in g["params"]
    )


@pytest.mark.parametrize(
    "bad",
    [
        {"embedding_lr": 0},
        {"schedule": "linear"},
        {"warmup": -1},
        {"clip": -0.1},
        {"teacher_dropout": 1.0},
    ],
)
def test_invalid_schedule_settings_raise(bad):
    with pytest.raises(ConfigError, match=r"invalid training setting: train\.\w+ must be"):
        TrainConfig(**bad)


def test_bf16_setting_is_true_false_or_auto_and_auto_is_fp32_on_a_cpu(monkeypatch):
    import pipeline.engine.config as train_mod

    cpu, gpu = torch.device("cpu"), torch.device("cuda")
    for bad in ("yes", 1.5, None):
        with pytest.raises(ConfigError, match="true, false or auto"):
            TrainConfig(bf16=bad)
    for native in (True, False):
        monkeypatch.setattr(torch.cpu, "_is_amx_tile_supported", lambda v=native: v, raising=False)
        monkeypatch.setattr(torch.cpu, "_is_avx512_bf16_supported", lambda v=native: v, raising=False)
        assert native_bf16(cpu) is native
        assert TrainConfig(bf16="auto").use_bf16(cpu) is False  # even with native bf16: fp32 is faster there
        monkeypatch.setattr(torch.cuda, "is_bf16_supported", lambda v=native: v)
        assert TrainConfig(bf16="auto").use_bf16(gpu) is native  # a GPU: bf16 where it computes it
        for forced in (True, False):
            assert TrainConfig(bf16=forced).use_bf16(cpu) is forced and TrainConfig(bf16=forced).use_bf16(gpu) is forced
    assert train_mod.auto_bf16(torch.device("meta")) is False


def test_native_bf16_on_the_cpu_is_avx512_bf16_or_amx(monkeypatch):
    cpu = torch.device("cpu")
    for avx512_bf16, amx, expected in ((False, False, False), (True, False, True), (False, True, True)):
        monkeypatch.setattr(torch.cpu, "_is_avx512_bf16_supported", lambda v=avx512_bf16: v, raising=False)
        monkeypatch.setattr(torch.cpu, "_is_amx_tile_supported", lambda v=amx: v, raising=False)
        assert native_bf16(cpu) is expected
    monkeypatch.delattr(torch.cpu, "_is_avx512_bf16_supported")
    monkeypatch.delattr(torch.cpu, "_is_amx_tile_supported")
    assert native_bf16(cpu) is False  # a torch without the checks: fp32, the safe side


# --- resuming after a kill, through the real stage -------------------------------------------


@pytest.fixture(scope="module")
def pipeline_dir(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("train")
    src = write_folder_dataset(tmp / "src", n_train=48, n_test=12)
    params = yaml.safe_load((REPO / "params.yaml").read_text())
    params.update(dataset="folder")
    params["folder"]["path"] = str(src)
    params["tokenise"]["min_count"] = 1
    params["embed"].update(dim=16, epochs=2)
    params["neighbours"].update(k=4, n_trees=4, recall_sample=10)
    params["model"].update(bottleneck=16)
    params["train"].update(epochs=5, batch_size=8, lr=0.003, early_stop=10)
    (tmp / "params.yaml").write_text(yaml.safe_dump(params))
    for stage in ("prepare", "tokenise", "embed", "neighbours", "teacher"):
        res = _run(stage, tmp, ["--data", str(tmp / "data")])
        assert res.returncode == 0, res.stderr
    return tmp


def _run(
    stage: str,
    tmp: Path,
    extra: list[str],
    kill_at: str | None = None,
    params: str = "params.yaml",
    checkpoints: str | None = None,
) -> subprocess.CompletedProcess:
    env = dict(os.environ, PATH=os.path.dirname(sys.executable) + os.pathsep + os.environ["PATH"])
    if checkpoints:
        env["TREADER_CHECKPOINTS"] = str(tmp / checkpoints)
    env.pop("TREADER_TEST_KILL_AT", None)
    if kill_at:
        env["TREADER_TEST_KILL_AT"] = kill_at
    return subprocess.run(
        [sys.executable, str(REPO / "stages" / f"{stage}.py"), "--params", str(tmp / params), *extra],
        cwd=tmp,
        capture_output=True,
        text=True,
        env=env,
    )


def _train(tmp: Path, name: str, kill_at: str | None = None) -> subprocess.CompletedProcess:
    return _run(
        "train",
        tmp,
        ["--data", str(tmp / "data"), "--models", str(tmp / name), "--live-dir", str(tmp / f"live-{name}")],
        kill_at,
    )


def _weights(path: Path) -> dict:
    return torch.load(path / "folder" / "model.pt", weights_only=True)


@pytest.fixture(scope="module")
def straight(pipeline_dir):
    """An uninterrupted run, to compare the resumed ones with."""
    ckpt = pipeline_dir / "checkpoints" / "folder" / "train.ckpt"
    ckpt.unlink(missing_ok=True)
    res = _train(pipeline_dir, "straight")
    assert res.returncode == 0, res.stderr
    ckpt.unlink()
    return pipeline_dir / "straight"


def test_the_stage_records_the_precision_auto_chose(pipeline_dir, straight):
    assert yaml.safe_load((pipeline_dir / "params.yaml").read_text())["train"]["bf16"] == "auto"
    config = json.loads((straight / "folder" / "config.json").read_text())
    assert config["train"]["bf16"] is False  # auto on the CPU


@pytest.mark.parametrize("kill_at", ["2", "3:1"])  # after epoch 2's checkpoint; inside epoch 3
def test_killed_training_resumes_and_ends_the_same(pipeline_dir, straight, kill_at):
    tmp, name = pipeline_dir, f"resumed-{kill_at.replace(':', '-')}"
    ckpt = tmp / "checkpoints" / "folder" / "train.ckpt"
    ckpt.unlink(missing_ok=True)
    killed = _train(tmp, name, kill_at=kill_at)
    assert killed.returncode == -9  # SIGKILL: no clean-up ran
    assert not (tmp / name / "folder").exists()  # no half-written model
    assert torch.load(ckpt, weights_only=False)["epoch"] == 2
    resumed = _train(tmp, name)
    assert resumed.returncode == 0, resumed.stderr
    assert "resuming from" in resumed.stderr and "after epoch 2" in resumed.stderr

    a, b = _weights(straight), _weights(tmp / name)
    assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)
    ha = json.loads((straight / "folder" / "config.json").read_text())["history"]
    hb = json.loads((tmp / name / "folder" / "config.json").read_text())["history"]
    assert [r["loss"] for r in ha] == [r["loss"] for r in hb] and len(ha) == 5
    # what it cost counts the killed process too: its epochs' seconds and its peak memory
    usage = json.loads((tmp / name / "folder" / "config.json").read_text())["usage"]
    assert all(r["peak_mb"] > 50 for r in hb)
    assert usage["train_peak_mb"] >= max(r["peak_mb"] for r in hb)
    assert usage["train_s"] == pytest.approx(sum(r["seconds"] for r in hb), abs=0.1)
    # the training curves of the resumed run are complete too
    assert len((tmp / f"live-{name}" / "plots" / "metrics" / "loss.tsv").read_text().splitlines()) == 1 + 5


def _train_with(
    tmp: Path, name: str, ckpts: str, train: dict, kill_at: str | None = None
) -> subprocess.CompletedProcess:
    """The train stage with params.yaml's `train` section updated by ``train``, checkpoints in ``tmp/ckpts``."""
    params = yaml.safe_load((tmp / "params.yaml").read_text())
    params["train"].update(train)
    (tmp / f"params-{name}.yaml").write_text(yaml.safe_dump(params))
    return _run(
        "train",
        tmp,
        ["--data", str(tmp / "data"), "--models", str(tmp / name), "--live-dir", str(tmp / f"live-{name}")],
        kill_at,
        params=f"params-{name}.yaml",
        checkpoints=ckpts,
    )


def _train_members(
    tmp: Path, name: str, members: int, ckpts: str, kill_at: str | None = None
) -> subprocess.CompletedProcess:
    # per dataset, as params.yaml gives it; one after the other, so member 0 is the plain run's network
    # (same threads; members at once are tested below)
    return _train_with(tmp, name, ckpts, {"members": members, "jobs": 1}, kill_at)


def test_an_ensemble_resumes_member_by_member_and_its_first_member_is_the_plain_model(pipeline_dir, straight):
    from pipeline.engine.examples import make_examples as examples
    from pipeline.engine.predict import Predictor

    tmp = pipeline_dir
    whole = _train_members(tmp, "ens-whole", 2, "ckpt-ens-whole")
    assert whole.returncode == 0, whole.stderr
    assert "validation of the 2 members alone" in whole.stdout and "2 members, best epochs" in whole.stdout
    killed = _train_members(tmp, "ens-killed", 2, "ckpt-ens-killed", kill_at="m1/3:1")  # inside member 1's epoch 3
    assert killed.returncode == -9 and not (tmp / "ens-killed" / "folder").exists()
    ck = tmp / "ckpt-ens-killed" / "folder"
    assert torch.load(ck / "train.ckpt", weights_only=False)["epoch"] == 5  # member 0 had finished
    assert torch.load(ck / "train-member1.ckpt", weights_only=False)["epoch"] == 2
    resumed = _train_members(tmp, "ens-killed", 2, "ckpt-ens-killed")
    assert resumed.returncode == 0, resumed.stderr
    assert "after epoch 5" in resumed.stderr and "after epoch 2" in resumed.stderr
    files = {"model.pt", "model-member1.pt"}
    for d in ("ens-whole", "ens-killed"):
        assert files <= {f.name for f in (tmp / d / "folder").iterdir()}
    w = {f: torch.load(tmp / "ens-whole" / "folder" / f, weights_only=True) for f in files}
    r = {f: torch.load(tmp / "ens-killed" / "folder" / f, weights_only=True) for f in files}
    plain = _weights(straight)
    assert all(torch.equal(w["model.pt"][k], plain[k]) for k in plain)  # member 0 = the one-network run
    assert not torch.equal(w["model-member1.pt"]["w_out.weight"], plain["w_out.weight"])
    assert all(torch.equal(w[f][k], r[f][k]) for f in files for k in w[f])  # the resumed ensemble ends the same
    config = json.loads((tmp / "ens-whole" / "folder" / "config.json").read_text())
    assert config["train"]["members"] == 2 and len(config["members"]) == 2
    assert config["history"] == config["members"][0]["history"]
    assert config["usage"]["train_s"] == pytest.approx(
        sum(r["seconds"] for m in config["members"] for r in m["history"]), abs=0.1
    )
    assert (
        config["usage"]["train_wall_s"] >= config["usage"]["train_s"] - 0.1
    )  # one member after the other: the clock holds every epoch
    assert set(config["ensemble_val"]) >= {"P@1", "nDCG@5"} and all(
        0 <= v <= 1 for v in config["ensemble_val"].values()
    )
    live = tmp / "live-ens-whole" / "plots" / "metrics"
    for f in ("loss.tsv", "member1/loss.tsv"):
        assert len((live / f).read_text().splitlines()) == 1 + 5, f
    # prediction averages the members' probabilities
    pred = Predictor.load(tmp / "ens-whole" / "folder", device="cpu")
    assert len(pred.models) == 2 and pred.model is pred.models[0]
    texts = ["alpha beta gamma", "delta epsilon"]
    from pipeline.data import text as text_mod
    from pipeline.method import embed

    tokens = text_mod.tokenise(texts, pred.vocab, 50)
    tok = pa.table({"id": ["0", "1"], "tokens": tokens})
    data = examples(
        tok, pred.teacher_table(tok["id"], embed.doc_vectors(tokens, pred.word_vectors)), None, pred.outputs
    )
    each = [predict_logits(m, data, pred.device) for m in pred.models]
    prob = sum(1 / (1 + np.exp(-e.astype(np.float64))) for e in each) / 2
    assert np.allclose(pred.logits(data), np.log(prob / (1 - prob)), atol=1e-5) and not np.allclose(each[0], each[1])
    # growing the ensemble keeps the members already trained: a third member is the only one trained
    grown = _train_members(tmp, "ens-grown", 3, "ckpt-ens-whole")
    assert grown.returncode == 0, grown.stderr
    assert (
        grown.stderr.count("after epoch 5") == 2
        and len(json.loads((tmp / "ens-grown" / "folder" / "config.json").read_text())["members"]) == 3
    )
    # a copied ensemble with a member missing is refused in one line
    (tmp / "ens-grown" / "folder" / "model-member2.pt").unlink()
    from pipeline.errors import DataError

    with pytest.raises(DataError, match=r"incomplete model directory \(an ensemble of 3\), missing model-member2.pt"):
        Predictor.load(tmp / "ens-grown" / "folder", device="cpu")


def test_checkpoint_of_other_parameters_is_ignored(pipeline_dir):
    tmp = pipeline_dir
    ckpt = tmp / "checkpoints" / "folder" / "train.ckpt"
    ckpt.unlink(missing_ok=True)
    assert _train(tmp, "first", kill_at="2").returncode == -9
    params = yaml.safe_load((tmp / "params.yaml").read_text())
    params["train"]["lr"] = 0.001
    (tmp / "params2.yaml").write_text(yaml.safe_dump(params))
    res = _run(
        "train",
        tmp,
        ["--data", str(tmp / "data"), "--models", str(tmp / "other"), "--live-dir", str(tmp / "live-other")],
        params="params2.yaml",
    )
    assert res.returncode == 0, res.stderr
    assert "ignoring" in res.stderr and "resuming" not in res.stderr
    assert torch.load(ckpt, weights_only=False)["epoch"] == 5


@pytest.mark.parametrize("sparse", [True, False])
def test_clip_bounds_every_weight_but_the_embedding(sparse):
    from pipeline.engine.loop import optimizers, train_step
    from pipeline.method.model import TReaderXML

    torch.manual_seed(0)
    model = TReaderXML(ModelConfig(vocab_size=30, n_labels=3, d_model=8, n_heads=2, sparse_embedding=sparse))
    opts = optimizers(model, 1e-3)
    text = torch.randint(1, 30, (4, 6))
    teacher = torch.randint(1, 30, (4, 3))
    y = torch.tensor([[1.0, 0, 0], [0, 1, 0], [0, 0, 1], [1, 1, 0]])
    model.w_out.weight.data.normal_()  # away from the zero start, so every weight gets a gradient
    train_step(model, opts, text, teacher, y, clip=1e-3)
    dense = [p.grad for p in model.parameters() if p is not model.embed.weight and p.grad is not None]
    assert len(dense) > 10 and torch.linalg.vector_norm(torch.stack([g.norm() for g in dense])) <= 1e-3 * 1.001
    emb = model.embed.weight.grad
    emb_norm = emb.coalesce().values().norm() if emb.is_sparse else emb.norm()
    assert emb_norm > 1e-3  # not clipped


def test_members_trained_at_once_are_the_members_trained_one_after_the_other(pipeline_dir):
    """train.jobs 2: two processes of one thread each give the networks one process gives with one
    thread; a process killed mid-epoch stops the stage with a one-line error, keeps every
    member's checkpoint, and the next run resumes them and ends the same."""
    tmp, one = pipeline_dir, {"threads": 1, "members": 3}
    seq = _train_with(tmp, "jobs-seq", "ckpt-jobs-seq", {**one, "jobs": 1})
    assert seq.returncode == 0, seq.stderr
    par = _train_with(tmp, "jobs-par", "ckpt-jobs-par", {**one, "jobs": 2})
    assert par.returncode == 0, par.stderr
    assert "2 of the 3 members at a time, each in its own process with 1 thread" in par.stdout
    files = ["model.pt", "model-member1.pt", "model-member2.pt"]

    def same(a: str, b: str) -> bool:
        wa = [torch.load(tmp / a / "folder" / f, weights_only=True) for f in files]
        wb = [torch.load(tmp / b / "folder" / f, weights_only=True) for f in files]
        return all(x.keys() == y.keys() and all(torch.equal(x[k], y[k]) for k in x) for x, y in zip(wa, wb))

    assert same("jobs-seq", "jobs-par")
    cs, cp = (json.loads((tmp / d / "folder" / "config.json").read_text()) for d in ("jobs-seq", "jobs-par"))
    assert [[r["loss"] for r in m["history"]] for m in cs["members"]] == [
        [r["loss"] for r in m["history"]] for m in cp["members"]
    ]
    assert cp["train"]["jobs"] == 2 and cp["train"]["threads"] == 1 and cs["ensemble_val"] == cp["ensemble_val"]
    for c in (cs, cp):  # train_s sums every member's epochs; the clock holds at least each process's own members
        assert c["usage"]["train_wall_s"] >= max(sum(r["seconds"] for r in m["history"]) for m in c["members"]) - 0.1
    assert cs["usage"]["train_wall_s"] >= cs["usage"]["train_s"] - 0.1
    live = tmp / "live-jobs-par" / "plots" / "metrics"
    for f in ("loss.tsv", "member1/loss.tsv", "member2/loss.tsv"):  # every member's curve, whole
        assert [r.split("\t")[0] for r in (live / f).read_text().splitlines()[1:]] == ["0", "1", "2", "3", "4"], f
    # killed inside member 1's epoch 3, while member 0 trains beside it
    killed = _train_with(tmp, "jobs-killed", "ckpt-jobs-killed", {**one, "jobs": 2}, kill_at="m1/3:1")
    assert killed.returncode == 2, killed.stderr
    assert "error: a process training ensemble members at once (train.jobs: 2) died" in killed.stderr
    assert "Traceback" not in killed.stderr and not (tmp / "jobs-killed" / "folder").exists()
    ck = tmp / "ckpt-jobs-killed" / "folder"
    assert torch.load(ck / "train-member1.ckpt", weights_only=False)["epoch"] == 2
    resumed = _train_with(tmp, "jobs-killed", "ckpt-jobs-killed", {**one, "jobs": 2})
    assert resumed.returncode == 0, resumed.stderr
    assert "train-member1.ckpt after epoch 2" in resumed.stderr
    assert same("jobs-seq", "jobs-killed")


def test_member_jobs_shares_the_cores_out_on_a_cpu_only():
    from pipeline.engine.config import TrainConfig
    from pipeline.engine.ensemble import member_jobs

    cpu, cores = torch.device("cpu"), torch.get_num_threads()
    assert member_jobs(TrainConfig(members=4, jobs=1), cpu) == (1, 0)
    assert member_jobs(TrainConfig(members=1, jobs=2), cpu) == (1, 0)  # one member: one process, threads as given
    assert member_jobs(TrainConfig(members=4, jobs=2, threads=3), cpu) == (2, 3)  # threads given: per process
    assert member_jobs(TrainConfig(members=3, jobs=2), cpu) == (2, max(1, cores // 2))
    assert member_jobs(TrainConfig(members=3, jobs="auto"), cpu) == (
        (1, 0) if cores == 1 else (min(3, cores), max(1, cores // min(3, cores)))
    )
    assert member_jobs(TrainConfig(members=4, jobs="auto"), torch.device("cuda")) == (1, 0)  # never on a GPU
    with pytest.raises(ValueError, match=r"train\.jobs must be a whole number >= 1, or auto; got 0"):
        TrainConfig(jobs=0)
