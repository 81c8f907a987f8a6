"""`palette_eval run` end to end: two synthetic photos, the tiny fixture model through `palette run`."""

import json
import math
from pathlib import Path

import numpy as np
import torch
from palette_eval.cases import CASE_NAMES
from palette_eval.cli import main, sampler_configs
from palette_eval.evaluate import SamplerConfig, new_run_dir
from palette_eval.product import REPO_ROOT

from palette_training.config import PRESETS, to_dict
from palette_training.fixture import draw_synthetic_photo
from palette_training.unet import PaletteUNet

FIXTURE = REPO_ROOT / "test" / "fixtures" / "tiny-model"


def synthetic_photos(folder: Path, count: int) -> Path:
    folder.mkdir(parents=True)
    rng = np.random.default_rng(0)
    for i in range(count):
        draw_synthetic_photo(rng, size=80).save(folder / f"photo-{i}.png")
    return folder


def only_run(root: Path) -> Path:
    runs = [p for p in root.iterdir() if p.is_dir()]
    assert len(runs) == 1, runs
    return runs[0]


def test_sampler_configurations_from_the_flags() -> None:
    assert sampler_configs(None, None, None, None, ("dpmpp-2m", 20)) == [SamplerConfig("dpmpp-2m", 20)]
    assert sampler_configs("ddim", 50, None, None, ("dpmpp-2m", 20)) == [SamplerConfig("ddim", 50)]
    sweep = sampler_configs(None, None, "ancestral:1000,ddim,dpmpp-2m", [10, 20, 50], ("dpmpp-2m", 20))
    assert [c.label for c in sweep] == ["ancestral-1000", "ddim-10", "ddim-20", "ddim-50", "dpmpp-2m-10",
                                        "dpmpp-2m-20", "dpmpp-2m-50"]


def test_a_run_folder_is_never_reused(tmp_path: Path) -> None:
    configs = [SamplerConfig("ddim", 20)]
    first, second = new_run_dir(tmp_path, "m", configs), new_run_dir(tmp_path, "m", configs)
    assert first != second and first.name.endswith("-m-ddim-20")


def test_eval_end_to_end_with_the_tiny_fixture(tmp_path: Path) -> None:
    photos = synthetic_photos(tmp_path / "photos", 2)
    assert main(["run", "--model", str(FIXTURE), "--photos", str(photos), "--size", "32", "--variants", "2",
                 "--steps", "2",
                 "--sampler", "ddim", "--device", "cpu", "--threads", "1", "--jobs", "2",
                 "--out-root", str(tmp_path / "runs")]) == 0
    run = only_run(tmp_path / "runs")
    assert run.name.endswith("-tiny-model-ddim-2")
    report = (run / "report.md").read_text()
    summary = json.loads((run / "metrics.json").read_text())
    assert summary["size"] == 32 and summary["ms_ssim_scales"] == 2 and summary["swd"]["resolutions"] == [32, 16]
    assert list(summary["tasks"]) == list(CASE_NAMES)
    for name, task in summary["tasks"].items():
        assert f"(`{name}`)" in report
        assert (run / "grids" / f"{name}--ddim-2.png").exists()
        palette = [r for r in task["methods"] if r["kind"] == "palette"]
        assert len(palette) == 1 and 0 <= palette[0]["diversity_ms_ssim"] <= 1
        assert all(math.isfinite(r["swd_mean_x1e3"]) and 0 <= r["ssim"] <= 1 for r in task["methods"] if "ssim" in r)
        assert any(r.get("not_trained") for r in task["methods"])  # the regression slot
        for photo in summary["photos"]:
            assert (run / "samples" / "ddim-2" / name / photo["name"] / "variant-1.png").exists()
    assert "colourfulness_original" in summary["tasks"]["colorize"]["methods"][0]
    assert "| regression (L2) | not trained |" in report


def test_steps_sweep_plots_and_the_regression_slot(tmp_path: Path) -> None:
    photos = synthetic_photos(tmp_path / "photos", 1)
    net = PaletteUNet(PRESETS["tiny"])
    checkpoint = tmp_path / "regression.pt"
    torch.save({"unet": to_dict(net.cfg), "ema": net.state_dict(), "objective": "regression"}, checkpoint)
    assert main(["run", "--model", str(FIXTURE), "--photos", str(photos), "--size", "32", "--variants", "2",
                 "--tasks", "uncrop-right",
                 "--samplers", "ddim,dpmpp-2m:2", "--steps-sweep", "2,3", "--regression-checkpoint", str(checkpoint),
                 "--device", "cpu", "--threads", "1", "--out-root", str(tmp_path / "runs")]) == 0
    run = only_run(tmp_path / "runs")
    assert run.name.endswith("-tiny-model-ddim+dpmpp-2m-2-3")
    methods = json.loads((run / "metrics.json").read_text())["tasks"]["uncrop-right"]["methods"]
    assert [(r["sampler"], r["steps"]) for r in methods if r["kind"] == "palette"] == [("ddim", 2), ("ddim", 3),
                                                                                         ("dpmpp-2m", 2)]
    regression = next(r for r in methods if r["kind"] == "regression")
    assert not regression.get("not_trained") and math.isfinite(regression["psnr"])
    for metric in ("swd_mean_x1e3", "psnr", "ssim", "diversity_ms_ssim", "sample_ms_per_input"):
        assert (run / f"sweep-{metric}.png").exists()
    assert "## Quality against sampler steps" in (run / "report.md").read_text()


def test_resume_reuses_the_finished_samples_of_an_interrupted_run(tmp_path: Path, monkeypatch) -> None:
    from palette_eval import evaluate

    photos = synthetic_photos(tmp_path / "photos", 1)
    args = ["run", "--model", str(FIXTURE), "--photos", str(photos), "--size", "32", "--variants", "1", "--steps", "2",
            "--sampler", "ddim", "--device", "cpu", "--threads", "1", "--tasks", "colorize,inpaint-free-form",
            "--out-root", str(tmp_path / "runs")]
    assert main(args) == 0
    run = only_run(tmp_path / "runs")
    first = json.loads((run / "metrics.json").read_text())
    # An interrupted second attempt: one sample is missing, the other is reused without `palette run`.
    missing = run / "samples" / "ddim-2" / "inpaint-free-form"
    for f in missing.rglob("*"):
        if f.is_file():
            f.unlink()
    calls = []
    real = evaluate.run_palette
    monkeypatch.setattr(evaluate, "run_palette", lambda task, *a, **kw: calls.append(task) or real(task, *a, **kw))
    assert main([*args, "--resume", str(run)]) == 0
    assert calls == ["fill"]  # colorize was reused, the deleted fill sample ran again
    again = json.loads((run / "metrics.json").read_text())
    colorize = [m for m in again["tasks"]["colorize"]["methods"] if m["kind"] == "palette"]
    assert colorize == [m for m in first["tasks"]["colorize"]["methods"] if m["kind"] == "palette"]
    # Other variants (other seeds) are not "the same sample": nothing is reused.
    calls.clear()
    assert main([*args, "--variants", "2", "--resume", str(run)]) == 0
    assert sorted(calls) == ["colorize", "fill"]
