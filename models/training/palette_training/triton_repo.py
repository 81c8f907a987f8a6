"""A Triton Inference Server model repository for an exported Palette model.

    python -m palette_training triton-repo --model ../palette-small-v5 --out ../../triton-repo
    python -m palette_training export ... --triton-repo ../../triton-repo   (the same, right after export)

writes

    DIR/<name>/1/model.onnx           the exported network, unchanged (checked against model.json's sha256)
    DIR/<name>/config.pbtxt           onnxruntime backend, GPU instances, dynamic batching
    DIR/<name>/configs/cpu.pbtxt      the same on CPU instances (tritonserver --model-config-name=cpu)
    DIR/README.md                     how to serve it: the official Triton container, KServe
    DIR/inferenceservice.yaml         a KServe InferenceService for it

<name> is the model folder's name by default, which is the served name `palette serve --executor kserve`
asks for unless given --kserve-model.

Why this shape of config: the daemon sends B×3×H×W with H, W free (any working size), so the batch
dimension is Triton's (max_batch_size > 0) and the others are -1. Triton's dynamic batcher only merges
requests of equal H×W, which is exactly what a batch can hold. A batched input needs a per-sample dim,
so γ is [1] per sample and reshaped to [] for the network, which takes γ as [B]; clients see it as [B,1]
(the daemon reads that from the metadata).
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from .pieces import sha256_of

MANIFEST_FILE = "model.json"
SIGNATURE = {"cond": 4, "y_t": 4, "gamma": 1}


class TritonRepoError(ValueError):
    """The model folder cannot be served as a Palette model (missing, altered, or another network)."""


def check_signature(onnx_path: Path) -> None:
    """The graph must take cond, y_t [B,3,H,W] and gamma [B] and give eps: what config.pbtxt declares."""
    import onnx

    graph = onnx.load(str(onnx_path), load_external_data=False).graph
    inputs = {i.name: len(i.type.tensor_type.shape.dim) for i in graph.input}
    outputs = [o.name for o in graph.output]
    if inputs != SIGNATURE or outputs != ["eps"]:
        raise TritonRepoError(f"{onnx_path} has inputs {inputs} and outputs {outputs}; a Palette model has inputs "
                              f"cond, y_t (rank 4) and gamma (rank 1) and output eps")


def _tensor(name: str, dims: str, extra: str = "") -> str:
    return f'  {{ name: "{name}", data_type: TYPE_FP32, dims: [ {dims} ]{extra} }}'


def config_pbtxt(name: str, kind: str, count: int, max_batch: int, preferred: list[int], queue_delay_us: int,
                 dynamic_batching: bool = True) -> str:
    """Triton's model configuration (protobuf text format) for one instance kind (KIND_GPU or KIND_CPU).

    Without dynamic batching each call runs as sent: a job's pixels then do not depend on what other jobs
    run beside it (merged calls differ in the last float bits, see daemon/model-scheduler.ts).
    """
    inputs = ",\n".join([
        _tensor("cond", "3, -1, -1"),
        _tensor("y_t", "3, -1, -1"),
        _tensor("gamma", "1", ", reshape: { shape: [ ] }"),
    ])
    sizes = ", ".join(str(s) for s in preferred if s <= max_batch)
    batcher = (
        "# Calls of concurrent jobs (and of several daemons) with the same H×W are merged up to max_batch_size.\n"
        f"dynamic_batching {{\n  preferred_batch_size: [ {sizes} ]\n"
        f"  max_queue_delay_microseconds: {queue_delay_us}\n}}\n"
    ) if dynamic_batching else ""
    return (
        f'name: "{name}"\n'
        'backend: "onnxruntime"\n'
        f"max_batch_size: {max_batch}\n"
        f"input [\n{inputs}\n]\n"
        f"output [\n{_tensor('eps', '3, -1, -1')}\n]\n"
        f"{batcher}"
        f"instance_group [\n  {{ kind: {kind}, count: {count} }}\n]\n"
    )


def readme(name: str, version: str) -> str:
    return f"""# Triton model repository: {name}

Written by `python -m palette_training triton-repo` from the Palette model `{name}` ({version}). The daemon
keeps its own copy of the model folder (model.json: sizes, tasks, sampler) and runs only the network here:

    palette serve --executor kserve --kserve-url http://GPU-HOST:8000 --model {name}

## Triton, official container (one GPU node)

    docker run --rm --gpus all -p 8000:8000 -p 8001:8001 -p 8002:8002 \\
      -v "$PWD":/models nvcr.io/nvidia/tritonserver:24.10-py3 \\
      tritonserver --model-repository=/models

On a node without a GPU, add `--model-config-name=cpu` (configs/cpu.pbtxt: CPU instances) and drop `--gpus all`.
Check it: `curl localhost:8000/v2/models/{name}` lists inputs cond, y_t, gamma and output eps.

## KServe

Copy this folder to a bucket the cluster can read (e.g. `gs://BUCKET/palette`), set `storageUri` in
inferenceservice.yaml, then `kubectl apply -f inferenceservice.yaml`. KServe runs the same Triton image
and exposes the same v2 REST protocol behind its ingress, usually with a token:

    palette serve --executor kserve --kserve-url https://{name}.NAMESPACE.example.com \\
      --kserve-model {name} --kserve-token "$TOKEN"
"""


def inference_service(name: str) -> str:
    return f"""apiVersion: serving.kserve.io/v1beta1
kind: InferenceService
metadata:
  name: {name.lower().replace("_", "-").replace(".", "-")}
spec:
  predictor:
    model:
      modelFormat:
        name: triton
      protocolVersion: v2
      storageUri: gs://BUCKET/palette   # this repository's folder
      resources:
        limits:
          nvidia.com/gpu: "1"
"""


def write_triton_repo(model_dir: Path, repo_dir: Path, name: str | None = None, max_batch: int = 16,
                      preferred: tuple[int, ...] = (4, 8, 16), queue_delay_us: int = 2000,
                      cpu_instances: int = 2, dynamic_batching: bool = True) -> Path:
    """Writes (or refreshes) the repository entry for one model; returns DIR/<name>."""
    manifest_path = model_dir / MANIFEST_FILE
    if not manifest_path.is_file():
        raise TritonRepoError(f"no {MANIFEST_FILE} in {model_dir}: export the model first")
    manifest = json.loads(manifest_path.read_text())
    onnx_path = model_dir / manifest["file"]
    if not onnx_path.is_file():
        raise TritonRepoError(f"{manifest_path} names {manifest['file']}, which is missing")
    if sha256_of(onnx_path) != manifest["sha256"]:
        raise TritonRepoError(f"{onnx_path} does not match the sha256 in {manifest_path}: the server would run "
                              "another network than the daemon's manifest describes")
    check_signature(onnx_path)
    if max_batch < 1:
        raise TritonRepoError(f"max_batch must be at least 1, got {max_batch}")
    name = name or model_dir.resolve().name
    entry = repo_dir / name
    (entry / "1").mkdir(parents=True, exist_ok=True)
    (entry / "configs").mkdir(exist_ok=True)
    shutil.copyfile(onnx_path, entry / "1" / "model.onnx")
    sizes = list(preferred)
    for path, kind, count in [(entry / "config.pbtxt", "KIND_GPU", 1),
                              (entry / "configs" / "cpu.pbtxt", "KIND_CPU", cpu_instances)]:
        path.write_text(config_pbtxt(name, kind, count, max_batch, sizes, queue_delay_us, dynamic_batching))
    (repo_dir / "README.md").write_text(readme(name, manifest.get("version", "")))
    (repo_dir / "inferenceservice.yaml").write_text(inference_service(name))
    return entry
