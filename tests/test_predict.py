"""A trained model directory and prediction with it (pipeline/engine/predict.py), built by the real stages.

The stages prepare -> ... -> train -> evaluate run once per session on a tiny folder dataset,
all in one subprocess (each stage script through its own command line, via runpy), with
every output under a temporary folder: importing torch once instead of nine times keeps the
whole test file at a few seconds.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest
import scipy.sparse as sp
import yaml

from pipeline.data import text
from pipeline.engine.examples import make_examples as examples
from pipeline.engine.infer import predict_logits
from pipeline.engine.predict import Predictor
from pipeline.errors import ConfigError, DataError
from pipeline.method import embed, neighbours, teacher
from tests.tiny import write_folder_dataset

REPO = Path(__file__).resolve().parents[1]
METRIC_KEYS = [f"{m}@{k}" for m in ("P", "nDCG", "PSP") for k in (1, 3, 5)]
BUNDLE = [
    "model.pt",
    "config.json",
    "vocab.parquet",
    "labels.parquet",
    "label_tokens.parquet",
    "embeddings.npy",
    "train_docs.parquet",
    "index.ann",
]

# Runs each stage script as `python stages/<name>.py ARGS` would, one after the other, in this process.
_DRIVER = r"""
import json, runpy, shutil, sys
from pathlib import Path
for step in json.loads(sys.argv[1]):
    if step[0] == "copy":
        Path(step[2]).parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(step[1], step[2])
        continue
    script, argv = step[1], step[2]
    sys.argv = [script, *argv]
    sys.path.insert(0, str(Path(script).parent))
    try:
        runpy.run_path(script, run_name="__main__")
    except SystemExit as exc:
        if exc.code not in (0, None):
            print(f"stage {script} exited with {exc.code}", file=sys.stderr)
            raise
"""

_BUILT: dict[str, dict] = {}


def tiny_params(dataset: Path) -> dict:
    p = yaml.safe_load((REPO / "params.yaml").read_text())
    p["dataset"] = "folder"
    p["folder"]["path"] = str(dataset)
    p["model"]["teacher_prior"] = True  # so the prediction tests cover the vote shares too
    p["tokenise"]["min_count"] = 1
    p["embed"].update(dim=16, epochs=3)
    p["neighbours"].update(k=5, n_trees=5, recall_sample=20)
    p["model"]["bottleneck"] = 16
    p["train"].update(
        epochs=3, batch_size=8, lr=0.01, device="cpu", threads=1
    )  # lr: so the tiny model reads its inputs
    return p


def build_models(tmp_path_factory) -> dict:
    """Run the whole pipeline once per session; return the paths of its outputs."""
    key = str(tmp_path_factory.getbasetemp())
    if key in _BUILT:
        return _BUILT[key]
    root = tmp_path_factory.mktemp("pipeline")
    src = write_folder_dataset(root / "src", n_train=60, n_test=20)
    params = tiny_params(src)
    p_teacher, p_plain, p_tfidf = root / "params.yaml", root / "params-noteacher.yaml", root / "params-tfidf.yaml"
    p_teacher.write_text(yaml.safe_dump(params))
    p_plain.write_text(yaml.safe_dump({**params, "teacher": False}))
    p_tfidf.write_text(yaml.safe_dump({**params, "neighbours": {**params["neighbours"], "vectors": "tfidf"}}))
    data, stages = root / "data", REPO / "stages"

    def run(name: str, pfile: Path, *extra: str, data: Path = data) -> list:
        return ["run", str(stages / f"{name}.py"), ["--params", str(pfile), "--data", str(data), *extra]]

    predictions = data / "folder" / "predictions" / "treaderxml.parquet"
    steps = [run(s, p_teacher) for s in ("prepare", "tokenise", "embed")]
    steps += [
        run("neighbours", p_teacher, "--metrics", str(root / "metrics" / "neighbours.json")),
        run("teacher", p_teacher),
    ]
    # without the teacher branch first (its predictions are copied aside), then the full model
    steps += [
        run("train", p_plain, "--models", str(root / "models-noteacher"), "--live-dir", str(root / "live-noteacher")),
        run("evaluate", p_plain, "--models", str(root / "models-noteacher"), "--out", str(root / "metrics-noteacher")),
        ["copy", str(predictions), str(root / "predictions-noteacher.parquet")],
    ]
    steps += [
        run("train", p_teacher, "--models", str(root / "models"), "--live-dir", str(root / "live")),
        run("evaluate", p_teacher, "--models", str(root / "models"), "--out", str(root / "metrics")),
    ]
    # the teacher's neighbours by TF-IDF rows (`neighbours.vectors: tfidf`), in a data folder of its own
    d_tfidf = root / "data-tfidf"
    steps += [run(s, p_tfidf, data=d_tfidf) for s in ("prepare", "tokenise", "embed", "tfidf")]
    steps += [
        run("neighbours", p_tfidf, "--metrics", str(root / "metrics-tfidf" / "neighbours.json"), data=d_tfidf),
        run("teacher", p_tfidf, data=d_tfidf),
        run(
            "train",
            p_tfidf,
            "--models",
            str(root / "models-tfidf"),
            "--live-dir",
            str(root / "live-tfidf"),
            data=d_tfidf,
        ),
        run(
            "evaluate",
            p_tfidf,
            "--models",
            str(root / "models-tfidf"),
            "--out",
            str(root / "metrics-tfidf"),
            data=d_tfidf,
        ),
    ]
    env = dict(os.environ, OMP_NUM_THREADS="1", MKL_NUM_THREADS="1")
    res = subprocess.run(
        [sys.executable, "-c", _DRIVER, json.dumps(steps)],
        cwd=root,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert res.returncode == 0, res.stderr[-3000:]
    _BUILT[key] = {
        "root": root,
        "data": data / "folder",
        "model": root / "models" / "folder",
        "model_noteacher": root / "models-noteacher" / "folder",
        "predictions": predictions,
        "predictions_noteacher": root / "predictions-noteacher.parquet",
        "metrics": root / "metrics",
        "metrics_noteacher": root / "metrics-noteacher",
        "data_tfidf": d_tfidf / "folder",
        "model_tfidf": root / "models-tfidf" / "folder",
        "predictions_tfidf": d_tfidf / "folder" / "predictions" / "treaderxml.parquet",
        "metrics_tfidf": root / "metrics-tfidf",
    }
    return _BUILT[key]


@pytest.fixture(scope="module")
def built(tmp_path_factory) -> dict:
    return build_models(tmp_path_factory)


@pytest.fixture(scope="module")
def test_texts(built) -> tuple[list[str], list[str]]:
    t = pq.read_table(built["data"] / "prepared" / "test.parquet")
    return t["id"].to_pylist(), t["text"].to_pylist()


# --- the model directory -----------------------------------------------------------------------


def test_model_directory_holds_everything_prediction_needs(built):
    d = built["model"]
    assert sorted(p.name for p in d.iterdir()) == sorted(BUNDLE)
    config = json.loads((d / "config.json").read_text())
    assert config["dataset"] == "folder"
    assert config["model"]["reading"] == "MMHSA+R+MHSA" and config["model"]["teacher"] is True
    assert config["model"]["teacher_prior"] is True  # model.teacher_prior
    assert config["model"]["d_model"] == 16 and config["model"]["bottleneck"] == 16
    assert config["model"]["n_labels"] == 6  # the six leaf topics; the parents never label a train text
    history = config["history"]
    assert [row["epoch"] for row in history] == [1, 2, 3]
    assert all(
        {"loss", "lr", "val_P@1", "val_nDCG@5", "val_PSP@5"} <= set(row) for row in history
    )  # the stage gives the propensities
    assert all(0 <= row["val_PSP@5"] <= 1 for row in history)
    assert config["best_epoch"] in (1, 2, 3)
    for section in ("train", "data", "neighbours", "teacher_set"):
        assert section in config
    assert config["neighbours"]["k"] == 5 and config["teacher_set"]["max_len"] == 48


def test_model_without_teacher_records_it_and_has_no_index(built):
    d = built["model_noteacher"]
    config = json.loads((d / "config.json").read_text())
    assert config["model"]["teacher"] is False
    assert not (d / "index.ann").exists()  # no neighbour search at prediction time: no index to ship
    assert sorted(p.name for p in d.iterdir()) == sorted(set(BUNDLE) - {"index.ann"})


def test_a_tfidf_teacher_model_ships_the_idf_and_train_rows_instead_of_an_index(built):
    d = built["model_tfidf"]
    assert sorted(p.name for p in d.iterdir()) == sorted(
        set(BUNDLE) - {"index.ann"} | {"tfidf_idf.npy", "tfidf_train.npz"}
    )
    config = json.loads((d / "config.json").read_text())
    assert config["neighbours"]["vectors"] == "tfidf" and config["tfidf"]["sublinear_tf"] is True
    assert (
        json.loads((built["model"] / "config.json").read_text())["neighbours"]["vectors"] == "word2vec"
    )  # the default
    report = json.loads((built["metrics_tfidf"] / "neighbours.json").read_text())
    assert report["vectors"] == "tfidf" and report["backend"] == "exact"
    # the switch changes who the neighbours are (same texts, same word vectors, other similarity)
    a = pq.read_table(built["data"] / "neighbours" / "test.parquet")["neighbours"].to_pylist()
    b = pq.read_table(built["data_tfidf"] / "neighbours" / "test.parquet")["neighbours"].to_pylist()
    assert a != b


def test_model_directory_works_after_being_copied_elsewhere(built, test_texts, tmp_path):
    copy = shutil.copytree(built["model"], tmp_path / "somewhere" / "model")
    _, texts = test_texts
    a = Predictor.load(built["model"], "cpu").predict(texts[:5], k=3)
    b = Predictor.load(copy, "cpu").predict(texts[:5], k=3)
    assert a == b


# --- prediction agrees with the pipeline ------------------------------------------------------------


@pytest.mark.parametrize("which", ["", "_noteacher", "_tfidf"])
def test_predictor_gives_the_evaluate_stage_predictions(built, test_texts, which):
    """New texts go through tokenise -> Eq. 1 -> neighbours -> Algorithm 1 -> network, from scratch."""
    ids, texts = test_texts
    stage = pq.read_table(built["predictions" + which]).to_pylist()
    assert [r["id"] for r in stage] == ids
    top_k = yaml.safe_load((REPO / "params.yaml").read_text())["evaluate"]["top_k"]
    preds = Predictor.load(built["model" + which], "cpu").predict(
        texts, k=top_k, batch=7
    )  # other batches than evaluate's
    assert [p.labels for p in preds] == [r["labels"] for r in stage]
    for p, r in zip(preds, stage):
        np.testing.assert_allclose(p.scores, r["scores"], atol=1e-5)


def test_the_consistency_check_would_see_a_wrong_teacher_sequence(built):
    """Guards the check above: the barely trained tiny model still reads its teacher input."""
    pred = Predictor.load(built["model"], "cpu")
    tokens = pq.read_table(built["data"] / "tokens" / "test.parquet")
    teach = pq.read_table(built["data"] / "teacher" / "test.parquet")
    rolled = teach.take(np.roll(np.arange(len(teach)), 1)).set_column(0, "id", teach["id"])
    right = predict_logits(pred.model, examples(tokens, teach, None, pred.outputs), pred.device)
    wrong = predict_logits(
        pred.model, examples(tokens, rolled, None, pred.outputs), pred.device
    )  # a neighbour's sequence
    shift = np.abs(1 / (1 + np.exp(-wrong)) - 1 / (1 + np.exp(-right)))
    assert (shift.max(axis=1) > 2e-5).mean() > 0.8  # above the check's 1e-5 tolerance for most texts


def test_predictor_rederives_the_teacher_stage_sequences(built, test_texts):
    ids, texts = test_texts
    pred = Predictor.load(built["model"], "cpu")
    assert pred.index is not None  # the annoy backend ships its index
    vectors = embed.doc_vectors(text.tokenise(texts, pred.vocab, pred.config["data"]["max_words"]), pred.word_vectors)
    stage_vectors = embed.table_vectors(pq.read_table(built["data"] / "embed" / "test.parquet"))
    np.testing.assert_array_equal(vectors, stage_vectors)
    stage = pq.read_table(built["data"] / "teacher" / "test.parquet")
    assert stage["id"].to_pylist() == ids
    again = pred.teacher_table(stage["id"], vectors)
    for col in ("teacher_labels", "teacher_tokens"):
        assert again[col].to_pylist() == stage[col].to_pylist()
    np.testing.assert_allclose(
        pc.list_flatten(again["teacher_votes"]).to_numpy(),
        pc.list_flatten(stage["teacher_votes"]).to_numpy(),
        rtol=1e-6,
    )
    # and the Annoy neighbours are the exact ones on this tiny corpus (so the backend is not hiding a difference)
    k = pred.config["neighbours"]["k"]
    a_idx, _ = neighbours.annoy_search(pred.index, vectors, k, pred.config["neighbours"]["search_k"])
    e_idx, _ = neighbours.exact_search(vectors, pred.train_vectors, k)
    assert (np.sort(a_idx, 1) == np.sort(e_idx, 1)).mean() > 0.95


def test_predictor_rederives_the_tfidf_rows_and_teacher_sequences(built, test_texts):
    ids, texts = test_texts
    pred = Predictor.load(built["model_tfidf"], "cpu")
    assert pred.index is None and pred.vectors == "tfidf"
    rows = pred.text_vectors(text.tokenise(texts, pred.vocab, pred.config["data"]["max_words"]))
    stage_rows = sp.load_npz(built["data_tfidf"] / "tfidf" / "test.npz")
    np.testing.assert_allclose(rows.toarray(), stage_rows.toarray(), rtol=1e-6)
    stage = pq.read_table(built["data_tfidf"] / "teacher" / "test.parquet")
    again = pred.teacher_table(stage["id"], rows)
    for col in ("teacher_labels", "teacher_tokens"):
        assert again[col].to_pylist() == stage[col].to_pylist(), col
    np.testing.assert_allclose(
        pc.list_flatten(again["teacher_votes"]).to_numpy(),
        pc.list_flatten(stage["teacher_votes"]).to_numpy(),
        rtol=1e-6,
    )


def test_predictions_are_ranked_sigmoid_scores_cut_at_k(built, test_texts):
    _, texts = test_texts
    pred = Predictor.load(built["model"], "cpu")
    outputs = set(pred.outputs.to_pylist())
    for k in (1, 3):
        preds = pred.predict(texts[:4], k=k)
        assert len(preds) == 4
        for p in preds:
            assert len(p.labels) == len(p.scores) == k
            assert len(set(p.labels)) == k and set(p.labels) <= outputs
            assert p.scores == sorted(p.scores, reverse=True)
            assert all(0.0 < s < 1.0 for s in p.scores)
    assert all(len(p.labels) == len(outputs) for p in pred.predict(texts[:2], k=100))  # k beyond the label count
    assert pred.predict([], k=3) == []


def test_lifting_puts_every_parent_at_least_at_its_best_child(built, test_texts):
    _, texts = test_texts
    pred = Predictor.load(built["model"], "cpu")
    # tiny: texts hold leaf topics only and the parents are no outputs, so `auto` does not lift (and `on` has nothing to lift)
    assert not pred.closed and not pred.lift and (pred.output_parent == -1).all()
    assert not Predictor.load(built["model"], "cpu", lift_parents="on").lift
    with pytest.raises(ConfigError, match="auto, on or off"):
        Predictor.load(built["model"], "cpu", lift_parents="sometimes")
    names = pred.outputs.to_pylist()
    plain = pred.predict(texts[:6], k=len(names))
    pred.output_parent = np.array([-1] + [0] * (len(names) - 1))  # as if the first output were every other's parent
    pred.lift = True
    lifted = pred.predict(texts[:6], k=len(names))
    for p, q in zip(plain, lifted):
        before, after = dict(zip(p.labels, p.scores)), dict(zip(q.labels, q.scores))
        assert after[names[0]] == pytest.approx(
            max(p.scores), abs=1e-6
        )  # the parent rises to its best child (or keeps its own)
        assert all(after[n] == before[n] for n in names[1:])  # the children keep their scores
        if p.labels[0] != names[0]:  # it was below a child: now right behind the best one
            assert q.labels[:2] == [p.labels[0], names[0]]


def test_texts_with_no_known_word_still_get_labels(built):
    pred = Predictor.load(built["model"], "cpu")
    preds = pred.predict(["", "zzzz qqqq", "!!!"], k=2)
    assert [len(p.labels) for p in preds] == [2, 2, 2]
    assert all(np.isfinite(p.scores).all() for p in preds)


def test_model_without_teacher_predicts_without_neighbour_search(built, test_texts, monkeypatch):
    pred = Predictor.load(built["model_noteacher"], "cpu")
    assert pred.index is None

    def forbidden(*args, **kwargs):
        raise AssertionError("a model without the teacher branch searched neighbours")

    for mod, name in ((neighbours, "annoy_search"), (neighbours, "exact_search"), (teacher, "teacher_sets")):
        monkeypatch.setattr(mod, name, forbidden)
    preds = pred.predict(test_texts[1][:3], k=2)
    assert [len(p.labels) for p in preds] == [2, 2, 2]


# --- the evaluate stage's metrics ---------------------------------------------------------------------


@pytest.mark.parametrize("which", ["", "_noteacher"])
def test_evaluate_writes_metrics_in_unit_range(built, which):
    m = json.loads((built["metrics" + which] / "treaderxml.json").read_text())
    assert m["dataset"] == "folder" and m["method"] == "treaderxml"
    assert m["teacher"] is (which == "") and m["reading"] == "MMHSA+R+MHSA"
    assert m["members"] == 1  # one network unless train.members says more
    assert m["lift_parents"] is False  # tiny: the train label sets do not hold the parents (see test_lifting_...)
    for key in METRIC_KEYS:
        assert isinstance(m[key], float) and 0.0 <= m[key] <= 1.0, key
    assert m["P@1"] == m["nDCG@1"]  # one label ranked: precision and nDCG agree
    # what training and prediction cost: the epochs' summed seconds, and each process's peak memory
    history = json.loads((built["model" + which] / "config.json").read_text())["history"]
    assert m["train_s"] == pytest.approx(sum(r["seconds"] for r in history), abs=0.1) and len(history) > 0
    assert m["train_s"] > 0 and m["predict_s"] > 0
    assert 50 < m["train_peak_mb"] < 24_000 and 50 < m["predict_peak_mb"] < 24_000


def test_evaluate_writes_the_tail_view_as_bins(built):
    tail = json.loads((built["metrics"] / "treaderxml_tail.json").read_text())
    assert isinstance(tail, list) and len(tail) >= 2
    for row in tail:
        assert {"method", "bin", "lo", "hi", "P@5", "test_occurrences"} <= set(row)
        assert row["method"] == "treaderxml" and 0.0 <= row["P@5"] <= 1.0
    overall = json.loads((built["metrics"] / "treaderxml.json").read_text())["P@5"]
    assert sum(r["P@5"] for r in tail) == pytest.approx(overall)  # disjoint bins covering every frequency
    assert sum(r["test_occurrences"] for r in tail) == sum(
        len(labs) for labs in pq.read_table(built["data"] / "prepared" / "test.parquet")["labels"].to_pylist()
    )


# --- errors --------------------------------------------------------------------------------------------


def test_loading_a_folder_without_config_names_the_folder(tmp_path):
    (tmp_path / "model.pt").write_bytes(b"")
    with pytest.raises(DataError) as err:
        Predictor.load(tmp_path)
    assert str(tmp_path) in str(err.value) and "config.json" in str(err.value)
    with pytest.raises(DataError, match="nosuch"):
        Predictor.load(tmp_path / "nosuch")


def test_loading_a_tfidf_model_without_its_tfidf_files_names_them(built, tmp_path):
    half = shutil.copytree(built["model_tfidf"], tmp_path / "half")
    (half / "tfidf_train.npz").unlink()
    with pytest.raises(DataError, match="incomplete model directory, missing tfidf_train.npz"):
        Predictor.load(half)


def test_loading_a_half_copied_model_names_the_missing_files(built, tmp_path):
    half = tmp_path / "half"
    half.mkdir()
    shutil.copy(built["model"] / "config.json", half)
    shutil.copy(built["model"] / "vocab.parquet", half)
    with pytest.raises(DataError, match="incomplete model directory, missing model.pt, labels.parquet") as err:
        Predictor.load(half)
    assert str(half) in str(err.value)


def _garbage(path: Path) -> None:
    path.write_bytes(b"\x00not what this file should hold\xff" * 3)


def _truncate(path: Path) -> None:
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])


@pytest.mark.parametrize(
    "model, name, spoil, message",
    [
        ("model", "model.pt", _garbage, r"model\.pt: cannot read this model file"),
        ("model", "model.pt", _truncate, r"model\.pt: cannot read this model file"),
        ("model", "config.json", lambda p: p.write_text("{ not json"), r"config\.json: cannot read this model file"),
        ("model", "config.json", lambda p: p.write_text('{"model": 3}'), r"config\.json: cannot read .*sections model"),
        ("model", "vocab.parquet", _garbage, r"vocab\.parquet: cannot read this model file"),
        ("model", "labels.parquet", _truncate, r"labels\.parquet: cannot read this model file"),
        ("model", "label_tokens.parquet", _garbage, r"label_tokens\.parquet: cannot read this model file"),
        ("model", "embeddings.npy", _garbage, r"embeddings\.npy: cannot read this model file"),
        ("model", "train_docs.parquet", _truncate, r"train_docs\.parquet: cannot read this model file"),
        ("model", "index.ann", _truncate, r"index\.ann: cannot read this model file"),
        ("model_tfidf", "tfidf_train.npz", _garbage, r"tfidf_train\.npz: cannot read this model file"),
    ],
)
def test_a_corrupt_model_file_is_named_in_one_line(built, tmp_path, model, name, spoil, message):
    copy = shutil.copytree(built[model], tmp_path / "copy")
    spoil(copy / name)
    with pytest.raises(DataError, match=message) as err:
        Predictor.load(copy, device="cpu")
    assert "rerun `dvc repro train`" in str(err.value) and "\n" not in str(err.value)


def test_word_vectors_of_another_vocabulary_are_refused(built, tmp_path):
    copy = shutil.copytree(built["model"], tmp_path / "copy")
    np.save(copy / "embeddings.npy", np.load(copy / "embeddings.npy")[:-3])
    with pytest.raises(DataError, match=r"embeddings\.npy: cannot read .*word vectors of shape .* for a vocabulary of"):
        Predictor.load(copy, device="cpu")
