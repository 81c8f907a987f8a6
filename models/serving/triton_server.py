"""A Triton Inference Server serving one Palette model on loopback, for tests and local trials.

    models/serving/.venv-triton/bin/python models/serving/triton_server.py --model-dir test/fixtures/tiny-model

The nvidia-pytriton wheel bundles tritonserver with only its Python backend (no onnxruntime backend),
so the network runs in an onnxruntime CPU session inside the function PyTriton binds. What the daemon
sees is the real thing: tritonserver's KServe v2 HTTP endpoint, its dynamic batcher, its metadata.
A GPU deployment serves the repository from `python -m palette_training triton-repo` with the official
container instead (models/serving/README.md).

Every port is on 127.0.0.1 and chosen free unless given. When ready it prints one line,
`PALETTE_TRITON_READY http://127.0.0.1:PORT`, on stdout. It stops on SIGTERM/SIGINT, and when its
stdin closes, so a test that dies does not leave a tritonserver behind.
"""

from __future__ import annotations

import argparse
import json
import signal
import socket
import sys
import threading
from pathlib import Path

import numpy as np
import onnxruntime as ort
from pytriton.decorators import batch
from pytriton.model_config import DynamicBatcher, ModelConfig, Tensor
from pytriton.triton import Triton, TritonConfig

LOOPBACK = "127.0.0.1"


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((LOOPBACK, 0))
        return int(s.getsockname()[1])


def make_infer(session: ort.InferenceSession):
    @batch
    def infer(cond: np.ndarray, y_t: np.ndarray, gamma: np.ndarray) -> dict[str, np.ndarray]:
        # Triton's batcher hands γ as [B, 1] (a batched input needs a per-sample dim); the network wants [B].
        eps = session.run(["eps"], {"cond": cond, "y_t": y_t, "gamma": gamma.reshape(-1).astype(np.float32)})[0]
        return {"eps": eps}

    return infer


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--model-dir", type=Path, required=True, help="a model folder (model.json + model.onnx)")
    parser.add_argument("--name", default=None, help="served model name (default: the folder's name)")
    parser.add_argument("--http-port", type=int, default=0, help="0: a free port")
    parser.add_argument("--max-batch", type=int, default=16)
    parser.add_argument("--queue-delay-us", type=int, default=2000, help="dynamic batcher's max queue delay")
    parser.add_argument("--threads", type=int, default=1, help="onnxruntime intra-op threads")
    args = parser.parse_args(argv)

    manifest = json.loads((args.model_dir / "model.json").read_text())
    options = ort.SessionOptions()
    options.intra_op_num_threads = args.threads
    session = ort.InferenceSession(str(args.model_dir / manifest["file"]), options, providers=["CPUExecutionProvider"])
    name = args.name or args.model_dir.resolve().name

    http_port = args.http_port or free_port()
    config = TritonConfig(
        http_address=LOOPBACK,
        http_port=http_port,
        grpc_address=LOOPBACK,
        grpc_port=free_port(),
        metrics_address=LOOPBACK,
        metrics_port=free_port(),
        allow_metrics=False,
        exit_timeout_secs=5,
    )
    stop = threading.Event()

    def request_stop(*_: object) -> None:
        stop.set()

    signal.signal(signal.SIGTERM, request_stop)
    signal.signal(signal.SIGINT, request_stop)

    def watch_stdin() -> None:
        sys.stdin.read()  # returns at EOF: the parent closed our stdin or died
        stop.set()

    threading.Thread(target=watch_stdin, daemon=True).start()

    with Triton(config=config) as triton:
        triton.bind(
            model_name=name,
            infer_func=make_infer(session),
            inputs=[
                Tensor(name="cond", dtype=np.float32, shape=(3, -1, -1)),
                Tensor(name="y_t", dtype=np.float32, shape=(3, -1, -1)),
                Tensor(name="gamma", dtype=np.float32, shape=(1,)),
            ],
            outputs=[Tensor(name="eps", dtype=np.float32, shape=(3, -1, -1))],
            config=ModelConfig(
                max_batch_size=args.max_batch,
                batcher=DynamicBatcher(max_queue_delay_microseconds=args.queue_delay_us),
            ),
            strict=True,
        )
        triton.run()
        print(f"PALETTE_TRITON_READY http://{LOOPBACK}:{http_port} model {name}", flush=True)
        while not stop.wait(0.5):
            if not triton.is_alive():
                print("triton_server: tritonserver exited", file=sys.stderr, flush=True)
                return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
