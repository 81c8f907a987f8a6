import hashlib
import json
import re
import shutil
from pathlib import Path

import pytest

from palette_training.__main__ import main
from palette_training.triton_repo import TritonRepoError, config_pbtxt, write_triton_repo

REPO = Path(__file__).resolve().parents[3]
FIXTURE = REPO / "test" / "fixtures" / "tiny-model"


def test_writes_the_onnx_file_configs_readme_and_inference_service(tmp_path: Path) -> None:
    entry = write_triton_repo(FIXTURE, tmp_path / "repo")
    assert entry == tmp_path / "repo" / "tiny-model"
    assert (entry / "1" / "model.onnx").read_bytes() == (FIXTURE / "model.onnx").read_bytes()
    gpu = (entry / "config.pbtxt").read_text()
    cpu = (entry / "configs" / "cpu.pbtxt").read_text()
    for config in (gpu, cpu):
        assert 'name: "tiny-model"' in config
        assert 'backend: "onnxruntime"' in config
        assert "max_batch_size: 16" in config
        # H and W are free (any working size); γ is [1] per sample, reshaped for the network's [B].
        assert '{ name: "cond", data_type: TYPE_FP32, dims: [ 3, -1, -1 ] }' in config
        assert '{ name: "gamma", data_type: TYPE_FP32, dims: [ 1 ], reshape: { shape: [ ] } }' in config
        assert '{ name: "eps", data_type: TYPE_FP32, dims: [ 3, -1, -1 ] }' in config
        batching = r"dynamic_batching \{\s+preferred_batch_size: \[ 4, 8, 16 \]\s+max_queue_delay_microseconds: 2000"
        assert re.search(batching, config)
    assert "{ kind: KIND_GPU, count: 1 }" in gpu
    assert "{ kind: KIND_CPU, count: 2 }" in cpu
    readme = (tmp_path / "repo" / "README.md").read_text()
    assert "nvcr.io/nvidia/tritonserver" in readme and "--model-repository=/models" in readme
    assert "--executor kserve --kserve-url" in readme
    service = (tmp_path / "repo" / "inferenceservice.yaml").read_text()
    assert "kind: InferenceService" in service and "name: triton" in service and "protocolVersion: v2" in service


def test_preferred_sizes_stay_within_max_batch_size() -> None:
    config = config_pbtxt("m", "KIND_CPU", 1, 8, [4, 8, 16], 500)
    assert "preferred_batch_size: [ 4, 8 ]" in config and "max_queue_delay_microseconds: 500" in config


def test_refuses_an_altered_onnx_file_and_another_network(tmp_path: Path) -> None:
    altered = tmp_path / "altered"
    shutil.copytree(FIXTURE, altered)
    with (altered / "model.onnx").open("ab") as f:
        f.write(b"\0")
    with pytest.raises(TritonRepoError, match="sha256"):
        write_triton_repo(altered, tmp_path / "repo")

    other = tmp_path / "other"
    shutil.copytree(FIXTURE, other)
    shutil.copyfile(REPO / "test" / "fixtures" / "not-palette.onnx", other / "model.onnx")
    manifest = json.loads((other / "model.json").read_text())
    manifest["sha256"] = hashlib.sha256((other / "model.onnx").read_bytes()).hexdigest()
    (other / "model.json").write_text(json.dumps(manifest))
    with pytest.raises(TritonRepoError, match="a Palette model has inputs"):
        write_triton_repo(other, tmp_path / "repo")
    assert not (tmp_path / "repo").exists()


def test_the_command_line_names_the_served_model(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    argv = ["triton-repo", "--model", str(FIXTURE), "--out", str(tmp_path), "--name", "palette", "--max-batch", "4"]
    assert main(argv) == 0
    assert "triton repository entry" in capsys.readouterr().out
    config = (tmp_path / "palette" / "config.pbtxt").read_text()
    assert 'name: "palette"' in config and "max_batch_size: 4" in config and "preferred_batch_size: [ 4 ]" in config
    assert main(argv + ["--no-dynamic-batching"]) == 0
    unbatched = (tmp_path / "palette" / "config.pbtxt").read_text()
    assert "dynamic_batching" not in unbatched and "max_batch_size: 4" in unbatched
    with pytest.raises(SystemExit):
        main(["triton-repo", "--model", str(tmp_path / "none"), "--out", str(tmp_path)])
