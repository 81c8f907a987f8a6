"""v-prediction (UNetConfig.prediction = "v"): the net's output stays ε, the loss becomes the v error."""

import dataclasses

import torch

from palette_training.config import PRESETS, unet_config_from_dict
from palette_training.diffusion import eps_loss_per_sample, noisy_target
from palette_training.unet import PaletteUNet


def tiny_v() -> PaletteUNet:
    torch.manual_seed(0)
    return PaletteUNet(dataclasses.replace(PRESETS["tiny"], prediction="v")).eval()


def test_a_perfect_v_gives_the_exact_eps() -> None:
    y0 = torch.rand(3, 3, 16, 16) * 2 - 1
    eps = torch.randn(3, 3, 16, 16)
    gamma = torch.tensor([4.5e-5, 0.3, 0.999])
    y_t = noisy_target(y0, gamma, eps, torch.zeros(3, 1, 16, 16))
    g = gamma[:, None, None, None]
    v = g.sqrt() * eps - (1 - g).sqrt() * y0
    model = tiny_v()
    model.predict_raw = lambda cond, y, gam: v  # type: ignore[method-assign]
    eps_hat = model(torch.zeros_like(y0), y_t, gamma)
    assert torch.allclose(eps_hat, eps, atol=1e-5)


def test_the_v_loss_is_the_v_error_even_at_the_noisiest_level() -> None:
    y0 = torch.rand(2, 3, 8, 8) * 2 - 1
    eps = torch.randn(2, 3, 8, 8)
    gamma = torch.tensor([4.5e-5, 0.5])
    y_t = noisy_target(y0, gamma, eps, torch.zeros(2, 1, 8, 8))
    g = gamma[:, None, None, None]
    v = g.sqrt() * eps - (1 - g).sqrt() * y0
    v_hat = v + 0.1 * torch.randn_like(v)
    eps_hat = g.sqrt() * v_hat + (1 - g).sqrt() * y_t
    hole = torch.ones(2, 1, 8, 8)
    got = eps_loss_per_sample(eps_hat, eps, hole, "l2", gamma)
    want = (v_hat - v).square().mean(dim=(1, 2, 3))
    assert torch.allclose(got, want, rtol=1e-3)
    # the plain ε loss would weight the noisiest sample ~22,000 times less
    plain = eps_loss_per_sample(eps_hat, eps, hole, "l2")
    assert plain[0] < want[0] * 1e-4


def test_checkpoints_without_the_field_stay_eps_prediction() -> None:
    d = dataclasses.asdict(PRESETS["small"])
    del d["prediction"]
    assert unet_config_from_dict(d).prediction == "eps"


def test_v_net_has_the_same_weights_as_the_eps_net() -> None:
    eps_net = PaletteUNet(PRESETS["tiny"])
    v_net = tiny_v()
    assert eps_net.state_dict().keys() == v_net.state_dict().keys()
    out = v_net(torch.zeros(1, 3, 16, 16), torch.randn(1, 3, 16, 16), torch.tensor([0.5]))
    assert out.shape == (1, 3, 16, 16) and out.dtype == torch.float32
