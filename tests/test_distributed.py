"""Two gloo processes on CPU equal one process on the combined batch (NT-Xent, DDP gradients, fit)."""
import os
import socket
import time

import pytest
import torch
import torch.multiprocessing as mp
from torch import nn

import course_utils as cu
from course_utils.distributed import gather_with_grad, init_distributed, is_distributed, rank, world_size
from course_utils.losses import nt_xent
from course_utils.train import fit, supervised_step

WORLD = 2
N, D, T = 6, 5, 0.2  # per-rank batch, embedding size, temperature


def global_batch(dtype=torch.float64):
    """The combined batch of both ranks: two views (2N per view in all) and their inputs."""
    g = torch.Generator().manual_seed(1)
    z1 = torch.randn(WORLD * N, D, generator=g, dtype=dtype)
    z2 = torch.randn(WORLD * N, D, generator=g, dtype=dtype)
    x = torch.randn(WORLD * N, 8, generator=g, dtype=dtype)
    views = (x + 0.1 * torch.randn(x.shape, generator=g, dtype=dtype),
             x + 0.1 * torch.randn(x.shape, generator=g, dtype=dtype))
    return z1, z2, views


class Net(nn.Module):
    """Encoder and projection head without BatchNorm; forward -> (h, z)."""

    def __init__(self):
        super().__init__()
        torch.manual_seed(0)
        self.encoder = nn.Sequential(nn.Linear(8, 16), nn.ReLU(), nn.Linear(16, 16))
        self.head = nn.Sequential(nn.ReLU(), nn.Linear(16, 4))

    def forward(self, x):
        h = self.encoder(x)
        return h, self.head(h)


def simclr_grads(model, views):
    """NT-Xent of one forward of the concatenated views; returns (loss, parameter gradients)."""
    _, z = model(torch.cat(views))
    loss = nt_xent(*z.chunk(2), temperature=T)
    loss.backward()
    params = model.module.parameters() if hasattr(model, "module") else model.parameters()
    return loss.detach(), [p.grad.clone() for p in params]


def classification_data():
    g = torch.Generator().manual_seed(2)
    images = torch.randint(0, 256, (96, 1, 4, 4), generator=g, dtype=torch.uint8)
    return images, (images.float().mean((1, 2, 3)) > 127.5).long()


def classifier():
    torch.manual_seed(0)
    return nn.Sequential(nn.Flatten(), nn.Linear(16, 8), nn.Tanh(), nn.Linear(8, 2))


def fit_run(**kwargs):
    model = classifier()
    options = dict(epochs=3, batch_size=16, lr=1e-2, warmup_epochs=1, device="cpu", progress=False)
    history = fit(model, supervised_step, classification_data(), **{**options, **kwargs})
    return model, history


def _worker(r, port, out_dir):
    """One rank: joins through torchrun's environment variables, computes, saves its results."""
    torch.set_num_threads(1)
    os.environ.update(MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port), WORLD_SIZE=str(WORLD), RANK=str(r),
                      LOCAL_RANK=str(r))
    result = {"device": str(init_distributed()), "rank": rank(), "world_size": world_size(),
              "is_distributed": is_distributed()}

    z1, z2, views = global_batch()
    mine = slice(r * N, (r + 1) * N)
    z1, z2 = z1[mine].requires_grad_(), z2[mine].requires_grad_()
    result["gathered"] = gather_with_grad(z1.detach())
    loss = nt_xent(z1, z2, T)
    loss.backward()
    result["nt_xent"], result["z_grads"] = loss.detach(), (z1.grad, z2.grad)

    ddp = nn.parallel.DistributedDataParallel(Net().double())
    result["ddp_loss"], result["ddp_grads"] = simclr_grads(ddp, tuple(v[mine] for v in views))

    model, history = fit_run(checkpoint=os.path.join(out_dir, "run.pt"))
    result["fit_weights"], result["fit_history"] = model.state_dict(), history.to_dict()
    result["resumed_history"] = fit_run(checkpoint=os.path.join(out_dir, "run.pt"))[1].to_dict()
    try:
        fit_run(batch_size=15)
    except ValueError as e:
        result["odd_batch_error"] = str(e)
    torch.save(result, os.path.join(out_dir, f"rank{r}.pt"))


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def ranks(tmp_path_factory):
    out = tmp_path_factory.mktemp("ddp")
    ctx = mp.start_processes(_worker, args=(free_port(), str(out)), nprocs=WORLD, join=False,
                             start_method="spawn")
    deadline = time.monotonic() + 80
    while not ctx.join(timeout=1):
        if time.monotonic() > deadline:
            for p in ctx.processes:
                p.kill()
            pytest.fail("the two gloo ranks did not finish within 80 s")
    return [torch.load(out / f"rank{r}.pt", weights_only=False) for r in range(WORLD)], out


def test_helpers_report_the_process_group(ranks):
    results, _ = ranks
    for r, res in enumerate(results):
        assert (res["rank"], res["world_size"], res["is_distributed"]) == (r, WORLD, True)
        assert res["device"] == "cpu"
    # all_gather + cat in rank order
    z1, _, _ = global_batch()
    assert torch.equal(results[0]["gathered"], z1) and torch.equal(results[1]["gathered"], z1)


def test_nt_xent_over_ranks_equals_one_process(ranks):
    results, _ = ranks
    z1, z2, _ = global_batch()
    z1.requires_grad_()
    z2.requires_grad_()
    loss = nt_xent(z1, z2, T)
    loss.backward()
    mean_of_ranks = sum(res["nt_xent"] for res in results) / WORLD
    torch.testing.assert_close(mean_of_ranks, loss.detach(), rtol=1e-12, atol=1e-12)
    # each rank's rows get d(sum of rank losses)/dz, i.e. WORLD times the gradient of the mean
    for i, res in enumerate(results):
        mine = slice(i * N, (i + 1) * N)
        torch.testing.assert_close(res["z_grads"][0] / WORLD, z1.grad[mine], rtol=1e-10, atol=1e-12)
        torch.testing.assert_close(res["z_grads"][1] / WORLD, z2.grad[mine], rtol=1e-10, atol=1e-12)


def test_ddp_parameter_gradients_equal_one_process(ranks):
    results, _ = ranks
    _, _, views = global_batch()
    loss, grads = simclr_grads(Net().double(), views)
    torch.testing.assert_close(sum(res["ddp_loss"] for res in results) / WORLD, loss, rtol=1e-12, atol=1e-12)
    for res in results:  # DDP averaged the gradients: every rank holds the single-process ones
        for g_ddp, g in zip(res["ddp_grads"], grads):
            torch.testing.assert_close(g_ddp, g, rtol=1e-9, atol=1e-12)


def test_fit_on_two_ranks_equals_one_process_on_the_global_batch(ranks):
    results, out = ranks
    model, history = fit_run()
    for res in results:
        for name, tensor in model.state_dict().items():
            torch.testing.assert_close(res["fit_weights"][name], tensor, rtol=1e-5, atol=1e-6)
        # history losses are averaged over ranks: the single-process losses on the global batch
        assert res["fit_history"]["step_loss"] == pytest.approx(history.step_loss, rel=1e-5, abs=1e-6)
        assert res["fit_history"]["step_lr"] == history.step_lr
        # a second fit resumes from rank 0's final checkpoint: the same history, no more steps
        assert res["resumed_history"]["step_loss"] == res["fit_history"]["step_loss"]
        resumed, fitted = ([r["loss"] for r in res[key]["records"]]
                           for key in ("resumed_history", "fit_history"))
        assert resumed == fitted
        assert "batch_size must be divisible by the world size 2" in res["odd_batch_error"]
    checkpoint = torch.load(out / "run.pt")
    assert checkpoint["plan"]["world_size"] == WORLD and len(checkpoint["rng"]) == WORLD
    assert not torch.equal(checkpoint["rng"][0]["torch"], checkpoint["rng"][1]["torch"])  # seed + rank


def test_single_process_defaults():
    assert (is_distributed(), rank(), world_size()) == (False, 0, 1)
    x = torch.randn(3, 2, requires_grad=True)
    assert gather_with_grad(x) is x
    assert init_distributed() == cu.get_device()
    assert init_distributed("cpu") == torch.device("cpu")
