"""`palette run` as the evaluation starts it: the CLI bundled by scripts/build-cli.mjs, rebuilt when stale."""

import os
import subprocess

import palette_eval.product as product


def test_palette_command_rebuilds_a_bundle_older_than_its_sources_and_it_runs(monkeypatch) -> None:
    product.palette_command()  # built (or fresh) now
    old = product._newest_source_mtime() - 3600
    os.utime(product.CLI_BUNDLE, (old, old))  # as after an edit of daemon/ or shared/
    monkeypatch.setattr(product, "_bundle_checked", False)
    command = product.palette_command()
    assert command == ["node", str(product.CLI_BUNDLE)]
    assert product.CLI_BUNDLE.stat().st_mtime >= product._newest_source_mtime()  # built again
    done = subprocess.run([*command, "--help"], cwd=product.REPO_ROOT, capture_output=True, text=True, timeout=60)
    assert "palette run" in done.stdout + done.stderr


def test_palette_command_checks_once_per_process(monkeypatch) -> None:
    product.palette_command()
    built = product.CLI_BUNDLE.stat().st_mtime
    os.utime(product.CLI_BUNDLE, (built - 7200, built - 7200))
    product.palette_command()  # already checked in this process: no second look at the sources
    assert product.CLI_BUNDLE.stat().st_mtime == built - 7200
    monkeypatch.setattr(product, "_bundle_checked", False)
    product.palette_command()
    assert product.CLI_BUNDLE.stat().st_mtime >= product._newest_source_mtime()


def test_without_esbuild_it_falls_back_to_tsx(monkeypatch, tmp_path) -> None:
    monkeypatch.setattr(product, "REPO_ROOT", tmp_path)  # no node_modules here
    assert product.palette_command() == ["npx", "tsx", "daemon/cli/palette.ts"]
