import numpy as np
import torch

from palette_training.diffusion import TrainingSchedule, eps_loss, eps_loss_per_sample, noisy_target, sample_gamma
from palette_training.sampling import respaced_gammas


def test_training_schedule_matches_the_paper() -> None:
    s = TrainingSchedule()
    g = s.gammas()
    assert len(g) == 2001 and g[0] == 1.0
    assert np.all(np.diff(g) < 0)
    assert abs(g[1] - (1 - 1e-6)) < 1e-12
    lo, hi = s.gamma_range()
    assert 4.0e-5 < lo < 5.0e-5 and hi == 1.0  # γ_2000 ≈ 4.5e-5


def test_sampled_gamma_always_inside_the_training_range_and_spread_over_it() -> None:
    s = TrainingSchedule()
    lo, hi = s.gamma_range()
    gammas = torch.from_numpy(s.gammas())
    g = sample_gamma(gammas, 200_000, torch.Generator().manual_seed(0)).double()
    assert g.min() >= lo * (1 - 1e-6) and g.max() <= hi
    # t is uniform over 1..T: about half the draws land below γ_1000.
    frac_below_mid = (g < gammas[1000]).double().mean().item()
    assert 0.48 < frac_below_mid < 0.52
    # continuous: draws in one step's interval are not all equal
    assert torch.unique(g).numel() > 190_000


def test_known_pixels_of_y_t_are_clean() -> None:
    y0 = torch.rand(2, 3, 8, 8) * 2 - 1
    noise = torch.randn(2, 3, 8, 8)
    known = torch.zeros(2, 1, 8, 8)
    known[..., :4] = 1
    y_t = noisy_target(y0, torch.tensor([0.3, 0.7]), noise, known)
    assert torch.equal(y_t[..., :4], y0[..., :4])
    expected = 0.3**0.5 * y0[0, :, :, 4:] + 0.7**0.5 * noise[0, :, :, 4:]
    assert torch.allclose(y_t[0, :, :, 4:], expected, atol=1e-6)


def test_loss_covers_only_the_hole() -> None:
    eps = torch.zeros(1, 3, 4, 4)
    pred = torch.zeros(1, 3, 4, 4)
    pred[..., :2] = 100.0  # huge error in the known half
    pred[..., 2:] = 1.0
    hole = torch.zeros(1, 1, 4, 4)
    hole[..., 2:] = 1
    assert eps_loss(pred, eps, hole, "l2").item() == 1.0
    pred[..., 2:] = -2.0
    assert eps_loss(pred, eps, hole, "l1").item() == 2.0


def test_respaced_gammas_stay_inside_the_range() -> None:
    lo, hi = TrainingSchedule().gamma_range()
    g = respaced_gammas(lo, hi, 25)
    assert len(g) == 25 and np.all(np.diff(g) > 0)
    assert g[0] >= lo * (1 - 1e-9) and g[-1] < hi


def test_sampled_gamma_lands_in_each_step_interval_equally_often() -> None:
    # A 3-step schedule: t ~ U{1..3}, then γ uniform inside [γ_t, γ_{t−1}] — a third of draws each.
    gammas = torch.tensor([1.0, 0.8, 0.5, 0.2], dtype=torch.float64)
    g = sample_gamma(gammas, 30_000, torch.Generator().manual_seed(1)).double()
    assert g.min() >= 0.2 - 1e-7 and g.max() <= 1.0
    for upper, lower in ((1.0, 0.8), (0.8, 0.5), (0.5, 0.2)):
        share = ((g > lower) & (g <= upper)).double().mean().item()
        assert abs(share - 1 / 3) < 0.015, (upper, lower, share)
    # uniform inside an interval: the mean of the top interval's draws is its midpoint
    top = g[g > 0.8]
    assert abs(top.mean().item() - 0.9) < 0.005


def test_sampled_gamma_reaches_the_last_step_of_the_training_schedule() -> None:
    gammas = torch.from_numpy(TrainingSchedule().gammas())
    g = sample_gamma(gammas, 200_000, torch.Generator().manual_seed(2)).double()
    assert (g < gammas[-2]).sum().item() > 40  # t = T about 1 in 2000 draws


def test_sampled_gamma_follows_the_generator() -> None:
    gammas = torch.from_numpy(TrainingSchedule().gammas())
    a = sample_gamma(gammas, 64, torch.Generator().manual_seed(3))
    b = sample_gamma(gammas, 64, torch.Generator().manual_seed(3))
    torch.manual_seed(99)  # the global generator must not be what decides
    c = sample_gamma(gammas, 64, torch.Generator().manual_seed(3))
    assert torch.equal(a, b) and torch.equal(a, c)
    assert not torch.equal(a, sample_gamma(gammas, 64, torch.Generator().manual_seed(4)))


def test_noisy_target_keeps_the_target_dtype() -> None:
    y0 = torch.rand(1, 3, 4, 4)
    y_t = noisy_target(y0, torch.tensor([0.5], dtype=torch.float64), torch.randn(1, 3, 4, 4), torch.zeros(1, 1, 4, 4))
    assert y_t.dtype == torch.float32


def test_loss_is_l2_by_default_and_squares_the_error() -> None:
    eps = torch.zeros(1, 3, 2, 2)
    pred = torch.full((1, 3, 2, 2), 3.0)
    hole = torch.ones(1, 1, 2, 2)
    assert eps_loss(pred, eps, hole).item() == 9.0
    assert eps_loss(pred, eps, hole, "l2").item() == 9.0
    assert eps_loss(pred, eps, hole, "l1").item() == 3.0
    assert eps_loss_per_sample(pred, eps, hole).tolist() == [9.0]


def test_schedule_describes_itself_for_the_manifest() -> None:
    s = TrainingSchedule()
    lo, hi = s.gamma_range()
    assert s.describe() == {"kind": "linear-beta", "beta_start": s.beta_start, "beta_end": s.beta_end,
                            "steps": s.steps, "gamma_min": lo, "gamma_max": hi}
    assert (s.beta_start, s.beta_end, s.steps) == (1e-6, 0.01, 2000)
