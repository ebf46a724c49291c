"""NT-Xent against an independent loop-by-loop float64 formula (Chen et al., 2020a, Eq. 1)."""
import math

import pytest
import torch

from course_utils.losses import nt_xent


def reference_nt_xent(z1, z2, temperature):
    """Eq. 1 written out anchor by anchor with Python floats (log-sum-exp for stability)."""
    z = torch.cat([z1, z2]).detach().double().tolist()
    n2 = len(z)

    def cos(a, b):
        dot = math.fsum(x * y for x, y in zip(z[a], z[b]))
        return dot / (math.sqrt(math.fsum(x * x for x in z[a])) * math.sqrt(math.fsum(y * y for y in z[b])))

    total = 0.0
    for i in range(n2):
        positive = (i + n2 // 2) % n2
        logits = [cos(i, k) / temperature for k in range(n2) if k != i]
        top = max(logits)
        log_denominator = top + math.log(math.fsum(math.exp(v - top) for v in logits))
        total += log_denominator - cos(i, positive) / temperature
    return total / n2


def reference_autograd(z1, z2, temperature):
    """The same formula with torch float64 ops in a loop, for gradients."""
    z = torch.cat([z1, z2])
    n2 = len(z)
    total = 0
    for i in range(n2):
        sims = torch.stack([torch.dot(z[i], z[k]) / (z[i].norm() * z[k].norm()) for k in range(n2)])
        others = torch.cat([sims[:i], sims[i + 1:]]) / temperature
        total = total + torch.logsumexp(others, 0) - sims[(i + n2 // 2) % n2] / temperature
    return total / n2


@pytest.mark.parametrize("n,d", [(1, 3), (2, 5), (7, 16), (16, 4)])
@pytest.mark.parametrize("temperature", [0.1, 0.5, 2.0])
def test_matches_loop_formula(n, d, temperature):
    z1, z2 = torch.randn(n, d), torch.randn(n, d)
    loss = nt_xent(z1, z2, temperature)
    assert loss.shape == () and loss.dtype == torch.float32
    assert loss.item() == pytest.approx(reference_nt_xent(z1, z2, temperature), rel=1e-5, abs=1e-6)
    # float64 in, float64 out: agrees to float64 round-off
    exact = nt_xent(z1.double(), z2.double(), temperature)
    assert exact.dtype == torch.float64
    assert exact.item() == pytest.approx(reference_nt_xent(z1, z2, temperature), rel=1e-12, abs=1e-12)


def test_single_pair_has_zero_loss():
    """N = 1: no negatives, the positive is the whole denominator."""
    assert nt_xent(torch.randn(1, 8), torch.randn(1, 8)).item() == pytest.approx(0.0, abs=1e-7)


def test_symmetric_in_views_and_invariant_to_batch_order_and_scale():
    z1, z2 = torch.randn(12, 8, dtype=torch.float64), torch.randn(12, 8, dtype=torch.float64)
    loss = nt_xent(z1, z2, 0.3)
    assert nt_xent(z2, z1, 0.3).item() == pytest.approx(loss.item(), rel=1e-12)
    perm = torch.randperm(12)
    assert nt_xent(z1[perm], z2[perm], 0.3).item() == pytest.approx(loss.item(), rel=1e-12)
    # cosine similarity: per-row positive scaling changes nothing
    scale = torch.rand(12, 1, dtype=torch.float64) + 0.5
    assert nt_xent(z1 * scale, z2 * 3.0, 0.3).item() == pytest.approx(loss.item(), rel=1e-12)


def test_aligned_views_beat_random_views():
    z1 = torch.randn(32, 16)
    assert nt_xent(z1, z1 + 0.01 * torch.randn(32, 16)) < nt_xent(z1, torch.randn(32, 16))


@pytest.mark.parametrize("temperature", [0.07, 0.5])
def test_gradient_matches_autograd_of_loop_formula(temperature):
    z1 = torch.randn(5, 6, dtype=torch.float64, requires_grad=True)
    z2 = torch.randn(5, 6, dtype=torch.float64, requires_grad=True)
    g1, g2 = torch.autograd.grad(nt_xent(z1, z2, temperature), (z1, z2))
    r1, r2 = torch.autograd.grad(reference_autograd(z1, z2, temperature), (z1, z2))
    torch.testing.assert_close(g1, r1, rtol=1e-9, atol=1e-12)
    torch.testing.assert_close(g2, r2, rtol=1e-9, atol=1e-12)
    # and the float32 path agrees with it
    f1, f2 = z1.detach().float().requires_grad_(), z2.detach().float().requires_grad_()
    h1, h2 = torch.autograd.grad(nt_xent(f1, f2, temperature), (f1, f2))
    torch.testing.assert_close(h1.double(), r1, rtol=1e-4, atol=1e-6)
    torch.testing.assert_close(h2.double(), r2, rtol=1e-4, atol=1e-6)


def test_bf16_autocast_computes_in_float32():
    """Embeddings from a bf16 layer: the loss equals the float64 formula on those same values."""
    layer = torch.nn.Linear(32, 64)
    x1, x2 = torch.randn(64, 32), torch.randn(64, 32)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        z1, z2 = layer(x1), layer(x2)
        assert z1.dtype == torch.bfloat16
        loss = nt_xent(z1, z2, 0.1)
    assert loss.dtype == torch.float32
    assert loss.item() == pytest.approx(reference_nt_xent(z1, z2, 0.1), rel=1e-5)
    loss.backward()
    assert all(torch.isfinite(p.grad).all() for p in layer.parameters())


@pytest.mark.parametrize("temperature", [0.01, 0.001])
def test_small_temperatures_stay_finite_and_exact(temperature):
    z1 = torch.randn(16, 8)
    z2 = z1 + 0.5 * torch.randn(16, 8)
    z1.requires_grad_()
    loss = nt_xent(z1, z2, temperature)
    assert torch.isfinite(loss)
    # float32 cosines carry ~1e-7 absolute error, so logits of size 1/T carry ~1e-7/T
    expected = reference_nt_xent(z1, z2, temperature)
    assert loss.item() == pytest.approx(expected, rel=1e-5, abs=1e-6 / temperature)
    loss.backward()
    assert torch.isfinite(z1.grad).all()
    with torch.autocast("cpu", dtype=torch.bfloat16):
        assert torch.isfinite(nt_xent(z1.bfloat16(), z2.bfloat16(), temperature))


def test_meta_device_gives_a_scalar_shape():
    z1 = torch.empty(8, 4, device="meta", requires_grad=True)
    loss = nt_xent(z1, torch.empty(8, 4, device="meta"), 0.5)
    assert loss.device.type == "meta" and loss.shape == () and loss.dtype == torch.float32
    loss.backward()
    assert z1.grad.shape == (8, 4)


@pytest.mark.parametrize("z1,z2,temperature,error,name", [
    ([[1.0, 2.0]], torch.randn(1, 2), 0.5, TypeError, "z1"),
    (torch.randn(2, 3), "z", 0.5, TypeError, "z2"),
    (torch.randn(6), torch.randn(6), 0.5, ValueError, "z1"),
    (torch.randn(2, 3), torch.randn(2, 3, 1), 0.5, ValueError, "z2"),
    (torch.randn(2, 3), torch.randn(3, 3), 0.5, ValueError, "z2"),
    (torch.randn(2, 3), torch.randn(2, 4), 0.5, ValueError, "z2"),
    (torch.randn(0, 3), torch.randn(0, 3), 0.5, ValueError, "z1"),
    (torch.ones(2, 3, dtype=torch.long), torch.randn(2, 3), 0.5, TypeError, "z1"),
    (torch.randn(2, 3), torch.ones(2, 3, dtype=torch.int32), 0.5, TypeError, "z2"),
    (torch.randn(2, 3), torch.empty(2, 3, device="meta"), 0.5, ValueError, "z2"),
    (torch.randn(2, 3), torch.randn(2, 3), 0.0, ValueError, "temperature"),
    (torch.randn(2, 3), torch.randn(2, 3), -0.5, ValueError, "temperature"),
    (torch.randn(2, 3), torch.randn(2, 3), float("nan"), ValueError, "temperature"),
    (torch.randn(2, 3), torch.randn(2, 3), float("inf"), ValueError, "temperature"),
    (torch.randn(2, 3), torch.randn(2, 3), "0.5", TypeError, "temperature"),
    (torch.randn(2, 3), torch.randn(2, 3), torch.tensor(0.5), TypeError, "temperature"),
])
def test_bad_input_names_the_argument(z1, z2, temperature, error, name):
    with pytest.raises(error, match=name):
        nt_xent(z1, z2, temperature)
