"""report.md of a run: the settings, what every column means, one table per case, the pictures."""

from __future__ import annotations

from pathlib import Path


def _num(value: float | None, digits: int) -> str:
    if value is None:
        return "—"
    if value == float("inf"):
        return "∞"
    return f"{value:.{digits}f}"


def _table(task: dict, resolutions: list[int], colorize: bool) -> list[str]:
    header = ["method", "PSNR ↑", "SSIM ↑", *[f"SWD {r}px" for r in resolutions], "SWD mean ↓"]
    if colorize:
        header += ["colourfulness", "vs original"]
    header += ["diversity MS-SSIM ↓", "s per input"]
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join(["---"] + ["---:"] * (len(header) - 1)) + "|"]
    for row in task["methods"]:
        if row.get("not_trained"):
            cells = [row["method"], "not trained", *[""] * (len(header) - 2)]
        else:
            cells = [row["method"], _num(row["psnr"], 2), _num(row["ssim"], 4),
                     *[_num(v, 1) for v in row["swd_x1e3"]], _num(row["swd_mean_x1e3"], 1)]
            if colorize:
                ratio = row["colourfulness"] / row["colourfulness_original"] if row["colourfulness_original"] else None
                cells += [_num(row["colourfulness"], 1), _num(ratio, 2)]
            ms = row.get("sample_ms_per_input")
            cells += [_num(row["diversity_ms_ssim"], 4), _num(ms / 1000 if ms is not None else None, 2)]
        lines.append("| " + " | ".join(cells) + " |")
    return lines


def write_report(summary: dict, path: Path, plots: list[str]) -> None:
    m = summary["model"]
    size = summary["size"]
    swd = summary["swd"]
    configs = ", ".join(f"{c['sampler']} {c['steps']} steps" for c in summary["configs"])
    out = [
        f"# Palette evaluation: {m['folder']} ({m['name']} {m['version']}, {m['training_steps']} training steps)",
        "",
        f"- {len(summary['photos'])} photos from `{summary['photo_folder']}`, "
        + (f"{size}×{size} centre crops at native scale (no resizing)" if summary.get("crop") == "native"
           else f"centre squares resized to {size}×{size}")
        + f"; {summary['variants']} variants per input; seed {summary['seed']}; {configs}; "
        f"device {summary['device']}; {summary['jobs']} `palette run` at a time; wall time {summary['wall_s']} s "
        f"(load average {summary['load_average_at_start']} on {summary['cpu_count']} CPUs at the start).",
        f"- Command: `{summary['command']}`" if summary["command"] else "- Command: (called from Python)",
        "- Every Palette sample comes from `palette run` (the product path: context crop, feathered "
        "compositing and seam colour matching for fill; pass-wise outpainting for uncrop; chroma on the "
        "original luminance for colorize; tiling for restore).",
        "",
        "Columns:",
        "- **PSNR / SSIM**: against the original photo over the whole image, mean over photos and variants. "
        "They reward blurry averages (the paper does not use them for the hallucinating tasks): read them "
        "as closeness, not quality.",
        f"- **SWD** (realism): sliced Wasserstein distance ×10³ between the {swd['patch']}×{swd['patch']} "
        f"patch distributions of the outputs and of the originals, per Laplacian-pyramid level "
        f"({', '.join(str(r) for r in swd['resolutions'])} px; Karras et al. 2018, app. D), patches pooled "
        f"over all photos ({swd['patches_per_image']} per image and level, at the same random positions in "
        f"an output and its original), per-channel normalised, {swd['directions']} random projections. "
        "Deterministic methods are repeated to the same patch count as the model. Lower is better.",
        f"- **diversity**: mean pairwise MS-SSIM between the variants of one input (paper §5.6; lower = "
        f"more diverse), {summary['ms_ssim_scales']} of the 5 standard scales at {size} px (weights "
        "renormalised); — for deterministic methods.",
        "- **colourfulness** (colorization): Hasler & Süsstrunk 2003, mean over outputs, and its ratio to "
        "the originals' mean.",
        "- **s per input**: `palette run`'s sampling time (result.json `timings.sampleMs`) for all variants "
        "of one input.",
        "",
    ]
    for name, task in summary["tasks"].items():
        methods = [r for r in task["methods"] if not r.get("not_trained")]
        resolutions = methods[0]["swd_resolutions"] if methods else swd["resolutions"]
        out += [f"## {task['title']} (`{name}`)", ""]
        out += _table(task, resolutions, colorize=name == "colorize")
        out.append("")
        if name == "colorize" and methods:
            out += [f"Originals' colourfulness: {methods[0]['colourfulness_original']:.1f}.", ""]
        out += [f"![{name}]({g})" for g in task["grids"]]
        out.append("")
    if plots:
        out += ["## Quality against sampler steps", "",
                "Ancestral at 1000 steps runs the paper's schedule clipped to the trained γ range "
                "(468 levels for the standard training schedule); the others use that many levels evenly "
                "spaced in log-SNR.", ""]
        out += [f"![{p}]({p})" for p in plots]
        out.append("")
    path.write_text("\n".join(out))
