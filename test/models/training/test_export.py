import json
import shutil
import subprocess
from pathlib import Path

import jsonschema
import onnx
import pytest

from palette_training.export import MAX_RELATIVE_ERROR, export
from palette_training.train import train

from training_helpers import synthetic_photos, tiny_config

REPO = Path(__file__).resolve().parents[3]
SCHEMA = json.loads((REPO / "models" / "model.schema.json").read_text())


def validate_manifest(manifest: dict) -> None:
    jsonschema.validate(manifest, SCHEMA, format_checker=jsonschema.FormatChecker())


@pytest.fixture(scope="module")
def checkpoint(tmp_path_factory: pytest.TempPathFactory) -> Path:
    tmp = tmp_path_factory.mktemp("export")
    photos = synthetic_photos(tmp / "photos", 4)
    return train(tiny_config(photos, tmp / "run", resolution=32, steps=3))


@pytest.mark.parametrize("fp16", [False, True])
def test_export_matches_pytorch_and_writes_a_valid_manifest(checkpoint: Path, tmp_path: Path, fp16: bool) -> None:
    manifest = export(checkpoint, tmp_path, name="test-model", fp16_weights=fp16)
    validate_manifest(manifest)
    check = manifest["metrics"]["export_check"]
    assert check["max_relative_error"] < MAX_RELATIVE_ERROR
    sizes = {(c["height"], c["width"], c["batch"]) for c in check["checks"]}
    assert sizes == {(32, 32, 1), (32, 32, 3), (24, 40, 1), (24, 40, 3)}
    graph = onnx.load(str(tmp_path / "model.onnx"))
    assert graph.opset_import[0].version >= 17
    assert [i.name for i in graph.graph.input] == ["cond", "y_t", "gamma"]
    assert [o.name for o in graph.graph.output] == ["eps"]
    dims = [d.dim_param for d in graph.graph.input[0].type.tensor_type.shape.dim]
    assert dims[0] and dims[2] and dims[3], "B, H and W must be dynamic"
    fp16_inits = [i for i in graph.graph.initializer if i.data_type == onnx.TensorProto.FLOAT16]
    assert bool(fp16_inits) == fp16
    assert manifest["weights"]["storage"] == ("fp16" if fp16 else "fp32")
    assert manifest["gamma_range"][0] == pytest.approx(4.5e-5, rel=0.05)
    assert manifest["training"]["steps"] == 3 and manifest["training"]["samples_seen"] == 12


def test_a_v_prediction_net_exports_as_an_eps_model(checkpoint: Path, tmp_path: Path) -> None:
    """The daemon only knows ε models: a v-net's ε conversion must be inside the graph."""
    import torch

    state = torch.load(checkpoint, map_location="cpu", weights_only=True)
    state["unet"]["prediction"] = "v"
    v_checkpoint = tmp_path / "v.pt"
    torch.save(state, v_checkpoint)
    manifest = export(v_checkpoint, tmp_path / "v", name="v-model", fp16_weights=True)
    validate_manifest(manifest)
    assert manifest["architecture"]["prediction"] == "v" and list(manifest["outputs"]) == ["eps"]
    assert manifest["metrics"]["export_check"]["max_relative_error"] < MAX_RELATIVE_ERROR
    graph = onnx.load(str(tmp_path / "v" / "model.onnx"))
    assert "Sqrt" in {n.op_type for n in graph.graph.node}  # √γ and √(1−γ) of the conversion


def test_fp16_weights_halve_the_file(checkpoint: Path, tmp_path: Path) -> None:
    a = export(checkpoint, tmp_path / "fp32", name="a", fp16_weights=False)["file_bytes"]
    b = export(checkpoint, tmp_path / "fp16", name="b", fp16_weights=True)["file_bytes"]
    assert b < 0.6 * a


@pytest.mark.skipif(shutil.which("node") is None, reason="node is not installed")
def test_onnxruntime_node_loads_the_exported_model(checkpoint: Path, tmp_path: Path) -> None:
    export(checkpoint, tmp_path, name="node-check", fp16_weights=True)
    tsx = REPO / "node_modules" / ".bin" / "tsx"
    out = subprocess.run([str(tsx), str(REPO / "daemon" / "cli" / "palette.ts"), "check-model", str(tmp_path),
                          "--size", "40", "--batch", "2"], capture_output=True, text=True, timeout=120, check=True)
    result = json.loads(out.stdout.strip().splitlines()[-1])
    assert result["dims"] == [2, 3, 40, 40] and result["finite"] is True


def test_committed_fixture_is_small_and_valid() -> None:
    folder = REPO / "test" / "fixtures" / "tiny-model"
    manifest = json.loads((folder / "model.json").read_text())
    validate_manifest(manifest)
    assert (folder / "model.onnx").stat().st_size < 2_000_000
    assert manifest["parameters"] < 1_000_000


def test_export_with_triton_repo_writes_the_repository_entry_too(checkpoint: Path, tmp_path: Path) -> None:
    from palette_training.__main__ import main

    out = tmp_path / "palette-test"
    argv = ["export", "--checkpoint", str(checkpoint), "--out", str(out), "--name", "t",
            "--triton-repo", str(tmp_path / "repo")]
    assert main(argv) == 0
    entry = tmp_path / "repo" / "palette-test"
    assert (entry / "1" / "model.onnx").read_bytes() == (out / "model.onnx").read_bytes()
    assert 'name: "palette-test"' in (entry / "config.pbtxt").read_text()
