import pytest
import torch

from palette_training.config import PRESETS, UNetConfig
from palette_training.unet import PaletteUNet, SelfAttention, count_parameters, gamma_embedding


def test_preset_sizes() -> None:
    # On the meta device the shapes are real but nothing is allocated or initialised: the paper preset
    # took 6 s to build on the CPU for a parameter count.
    with torch.device("meta"):
        assert count_parameters(PaletteUNet(PRESETS["tiny"])) < 1_000_000
        # The paper's 256×256 network has ≈552M parameters.
        assert abs(count_parameters(PaletteUNet(PRESETS["paper"])) - 552e6) < 5e6
        # base must fit a 40 MB file as fp16 weights.
        assert count_parameters(PaletteUNet(PRESETS["base"])) * 2 < 40e6


@pytest.mark.parametrize("size", [32, 48, 64])
def test_output_shape_at_any_multiple(size: int) -> None:
    model = PaletteUNet(PRESETS["tiny"]).eval()
    x = torch.randn(2, 3, size, size)
    with torch.no_grad():
        assert model(x, x, torch.rand(2)).shape == (2, 3, size, size)


def test_attention_at_the_lowest_levels_and_middle() -> None:
    cfg = UNetConfig(base_channels=16, channel_mults=(1, 2, 2, 2), num_res_blocks=1, attention_levels=2,
                     head_channels=8)
    model = PaletteUNet(cfg)
    assert model.attention_at == [False, False, True, True]
    attn_in_down = [any(isinstance(a, SelfAttention) for a in level.attns) for level in model.down]
    assert attn_in_down == [False, False, True, True]
    attn_in_up = [any(isinstance(a, SelfAttention) for a in level.attns) for level in model.up]
    assert attn_in_up == [True, True, False, False]  # decoder runs from the lowest resolution up
    assert isinstance(model.mid_attn, SelfAttention)


def test_attention_actually_runs_at_low_resolution() -> None:
    """Hook the attention modules: they must see the feature maps of the lowest resolutions."""
    model = PaletteUNet(PRESETS["tiny"]).eval()
    seen: list[tuple[int, int]] = []
    for m in model.modules():
        if isinstance(m, SelfAttention):
            m.register_forward_hook(lambda _m, inp, _o: seen.append(tuple(inp[0].shape[-2:])))
    x = torch.randn(1, 3, 32, 32)
    with torch.no_grad():
        model(x, x, torch.rand(1))
    assert set(seen) == {(16, 16), (8, 8)}


def test_gamma_conditioning_changes_the_output() -> None:
    torch.manual_seed(0)
    model = PaletteUNet(PRESETS["tiny"]).eval()
    for p in model.parameters():  # zero-initialised output layers would hide the conditioning
        torch.nn.init.normal_(p, std=0.05)
    x = torch.randn(1, 3, 32, 32)
    with torch.no_grad():
        a = model(x, x, torch.tensor([0.999]))
        b = model(x, x, torch.tensor([0.9999]))
    assert (a - b).abs().max() > 1e-4


def test_gamma_embedding_resolves_low_noise_levels() -> None:
    e = gamma_embedding(torch.tensor([0.999, 0.99999, 4.5e-5, 1e-4]), 32)
    assert torch.isfinite(e).all()
    assert (e[0] - e[1]).norm() > 0.5 and (e[2] - e[3]).norm() > 0.5
