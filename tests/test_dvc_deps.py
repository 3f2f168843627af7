"""Every stage in dvc.yaml lists the project code it runs, so DVC reruns exactly what a change touches.

A stage's code is its script plus every project module the script imports, followed
transitively (imports inside functions count too: they run when the function does).
A module missing from ``deps`` is a stage whose output can change without DVC
noticing; the train stage once lacked the metrics module, which picks the kept epoch.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]


def _docstring_only(path: Path) -> bool:
    """A module with nothing but its docstring (a package's __init__.py) runs no code an artifact could depend on."""
    body = ast.parse(path.read_text(encoding="utf-8")).body
    return len(body) == 1 and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant)


# Exception classes and their messages: a stage either writes its outputs or fails, so no artifact depends on
# them; nor on the docstrings of packages.
EXEMPT = {"pipeline/errors.py", "pipeline/__init__.py"} | {
    str(p.relative_to(ROOT)) for p in (ROOT / "pipeline").rglob("__init__.py") if _docstring_only(p)
}


def _module_file(name: str) -> Path | None:
    """pipeline.x.y or a stages/ helper (_stage) -> its file under ROOT, if it is project code."""
    if name.startswith("_"):
        path = ROOT / "stages" / f"{name}.py"
        return path if path.exists() else None
    if name != "pipeline" and not name.startswith("pipeline."):
        return None
    base = ROOT.joinpath(*name.split("."))
    for cand in (base.with_suffix(".py"), base / "__init__.py"):
        if cand.exists():
            return cand
    return None


def _imports(path: Path) -> set[Path]:
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        names: list[str] = []
        if isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            # `from pipeline import metrics` imports pipeline/metrics.py; `from pipeline.x import f` imports pipeline/x
            names = [node.module] + [f"{node.module}.{a.name}" for a in node.names]
        for name in names:
            parts = name.split(".")
            for i in range(1, len(parts) + 1):  # importing a.b.c runs a/__init__, a/b/__init__ too
                f = _module_file(".".join(parts[:i]))
                if f:
                    found.add(f)
    return found


def code_of(script: Path) -> set[str]:
    """The script and every project module it reaches, as paths relative to ROOT."""
    seen, todo = set(), [script]
    while todo:
        f = todo.pop()
        if f in seen:
            continue
        seen.add(f)
        todo.extend(_imports(f))
    return {str(p.relative_to(ROOT)) for p in seen}


def _stages() -> list[tuple[str, dict]]:
    spec = yaml.safe_load((ROOT / "dvc.yaml").read_text(encoding="utf-8"))
    return [(name, st.get("do", st)) for name, st in spec["stages"].items()]


def _covered(path: str, deps: list[str]) -> bool:
    return any(path == d or path.startswith(d.rstrip("/") + "/") for d in deps)


@pytest.mark.parametrize("name,stage", _stages(), ids=[n for n, _ in _stages()])
def test_stage_lists_all_the_code_it_runs(name, stage):
    script = ROOT / stage["cmd"].split()[1]
    deps = [str(d) for d in stage.get("deps", [])]
    missing = sorted(p for p in code_of(script) - EXEMPT if not _covered(p, deps))
    assert not missing, f"stage {name} runs code its deps do not list: {missing}"


@pytest.mark.parametrize("name,stage", _stages(), ids=[n for n, _ in _stages()])
def test_stage_lists_no_code_it_does_not_run(name, stage):
    # a dep on code the stage never imports reruns it for nothing (a docstring edit, hours of training)
    script = ROOT / stage["cmd"].split()[1]
    code = code_of(script)
    extra = sorted(d for d in map(str, stage.get("deps", [])) if d.startswith(("pipeline", "stages")) and d not in code)
    assert not extra, f"stage {name} lists code it does not run: {extra}"


def test_the_walk_finds_nested_and_function_level_imports(tmp_path):
    # the walk itself must see through packages and lazy imports, or the tests above could pass vacuously
    code = code_of(ROOT / "stages/evaluate.py")
    assert {
        "stages/_stage.py",
        "stages/_results.py",
        "pipeline/engine/predict.py",
        "pipeline/method/model.py",
        "pipeline/engine/infer.py",
        "pipeline/report/metrics.py",
        "pipeline/io.py",
    } <= code
    assert "pipeline/data/reuters.py" in code_of(ROOT / "stages/prepare.py")  # imported inside datasets.load


def test_prediction_and_evaluation_do_not_import_the_training_loop():
    training = {"pipeline/engine/loop.py", "pipeline/engine/ensemble.py", "pipeline/engine/checkpoint.py"}
    assert not training & code_of(ROOT / "stages/evaluate.py")
    assert not training & code_of(ROOT / "pipeline/engine/predict.py")
    assert training <= code_of(ROOT / "stages/train.py")


def test_training_depends_on_the_training_code_not_on_the_teacher_or_data_code():
    # a docstring edit in teacher.py once reran a 20-minute training: the train stage reads the teacher's
    # output files, not its code
    code = code_of(ROOT / "stages/train.py")
    assert {"pipeline/engine/loop.py", "pipeline/method/model.py", "pipeline/report/metrics.py"} <= code
    for module in ("method/teacher.py", "method/neighbours.py", "method/embed.py", "data/text.py", "engine/predict.py"):
        assert f"pipeline/{module}" not in code, module
