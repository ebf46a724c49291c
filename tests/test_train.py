"""The training core: fit's schedule, precision, history, callbacks and exact resume."""
import functools
import math
import pickle
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import torch
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

from course_utils.train import (Callback, History, KNNMonitor, OnlineProbe, fit, simclr_step,
                                supervised_step)

REPO = Path(__file__).resolve().parents[1]


def two_blobs(n=128, seed=0):
    """uint8 images (n, 1, 8, 8): class 0 bright on the left half, class 1 on the right."""
    g = torch.Generator().manual_seed(seed)
    labels = torch.arange(n) % 2
    images = torch.randint(0, 100, (n, 1, 8, 8), generator=g)
    images[labels == 0, :, :, :4] += 120
    images[labels == 1, :, :, 4:] += 120
    return images.to(torch.uint8), labels


class Net(nn.Module):
    """A tiny SimCLR-style model: encoder (with BatchNorm buffers) and head; forward -> (h, z)."""

    def __init__(self):
        super().__init__()
        self.encoder = nn.Sequential(nn.Conv2d(1, 4, 3, padding=1), nn.BatchNorm2d(4), nn.ReLU(),
                                     nn.AdaptiveAvgPool2d(2), nn.Flatten())
        self.head = nn.Linear(16, 8)

    def forward(self, x):
        h = self.encoder(x)
        return h, self.head(h)


def make_net(seed=0):
    torch.manual_seed(seed)
    return Net()


def noisy_flip(images):
    """An augmentation drawing from torch's, numpy's and python's RNGs."""
    x = images.float() / 255
    flip = torch.rand(len(x), 1, 1, 1) < 0.5
    x = torch.where(flip, x.flip(-1), x)
    sigma = random.uniform(0.05, 0.1) * np.random.uniform(0.5, 1.0)
    return x + sigma * torch.randn_like(x)


simclr = functools.partial(simclr_step, augment=noisy_flip, temperature=0.5)


def classifier(seed=0):
    torch.manual_seed(seed)
    return nn.Sequential(nn.Flatten(), nn.Linear(64, 16), nn.ReLU(), nn.Linear(16, 2))


def accuracy(model, images, labels):
    with torch.no_grad():
        return (model(images.float() / 255).argmax(1) == labels).float().mean().item()


# ---------------------------------------------------------------- training and history

def test_supervised_run_learns_a_separable_problem():
    images, labels = two_blobs(256)
    model = classifier()
    before = accuracy(model, images, labels)
    history = fit(model, supervised_step, (images, labels), epochs=4, batch_size=32, lr=1e-2,
                  progress=False)
    assert accuracy(model, images, labels) > 0.95 > before
    assert history["loss"][-1] < history["loss"][0]


def test_history_records_and_round_trips():
    images, labels = two_blobs(96)
    history = fit(classifier(), supervised_step, (images, labels), epochs=3, batch_size=32,
                  progress=False)
    assert isinstance(history, History) and len(history) == 3
    assert history.keys() == ["epoch", "step", "loss", "lr", "time_s"]
    assert history["epoch"] == [1, 2, 3] and history["step"] == [3, 6, 9]
    assert len(history.step_loss) == len(history.step_lr) == 9
    for e, record in enumerate(history.records):  # epoch loss = mean of its step losses
        assert record["loss"] == pytest.approx(np.mean(history.step_loss[3 * e:3 * e + 3]), rel=1e-12)
        assert record["lr"] == history.step_lr[3 * e + 2] and record["time_s"] > 0
    assert pickle.loads(pickle.dumps(history)) == history
    assert History.from_dict(history.to_dict()) == history
    with pytest.raises(KeyError, match="knn_acc"):
        history["knn_acc"]


def test_lr_schedule_is_linear_warmup_then_cosine_to_zero():
    images, labels = two_blobs(64)
    history = fit(classifier(), supervised_step, (images, labels), epochs=6, batch_size=16,
                  lr=0.1, warmup_epochs=2, progress=False)
    warmup, total = 8, 24  # 4 steps per epoch
    expected = [0.1 * (s + 1) / warmup if s < warmup
                else 0.05 * (1 + math.cos(math.pi * (s - warmup) / (total - warmup))) for s in range(total)]
    np.testing.assert_allclose(history.step_lr, expected, rtol=1e-12)
    assert max(history.step_lr) == pytest.approx(0.1) and 0 < history.step_lr[-1] < 1e-3
    assert np.all(np.diff(history.step_lr[:warmup]) > 0) and np.all(np.diff(history.step_lr[warmup:]) < 0)


def test_optimizer_instance_or_factory_follows_the_schedule():
    images, labels = two_blobs(64)
    model = classifier()
    sgd = torch.optim.SGD(model.parameters(), lr=0.5, momentum=0.9)
    h1 = fit(model, supervised_step, (images, labels), epochs=2, batch_size=32, optimizer=sgd, progress=False)
    h2 = fit(classifier(), supervised_step, (images, labels), epochs=2, batch_size=32,
             optimizer=functools.partial(torch.optim.SGD, lr=0.5, momentum=0.9), progress=False)
    assert h1.step_lr == h2.step_lr and h1.step_lr[0] == 0.5
    assert h1.step_loss == h2.step_loss  # same init, same data order, same updates


def test_data_forms_agree_and_batches_stay_uint8():
    images, labels = two_blobs(64)
    seen = []

    def step(model, batch):
        x, y = batch
        seen.append((x.dtype, x.shape, y.shape))
        return supervised_step(model, batch)

    h_tuple = fit(classifier(), step, (images, labels), epochs=2, batch_size=16, progress=False)
    assert set(seen) == {(torch.uint8, (16, 1, 8, 8), (16,))}

    class Dataset:  # ImageDataset-like
        pass

    ds = Dataset()
    ds.images, ds.labels = images, labels
    assert fit(classifier(), step, ds, epochs=2, batch_size=16, progress=False).step_loss == h_tuple.step_loss
    # drop_last: 64 // 24 = 2 steps per epoch
    assert fit(classifier(), step, (images, labels), epochs=1, batch_size=24, progress=False)["step"] == [2]
    loader = DataLoader(TensorDataset(images, labels), batch_size=16, shuffle=True)
    assert fit(classifier(), step, loader, epochs=2, progress=False)["step"] == [4, 8]


def test_shuffling_is_a_seeded_permutation_per_epoch():
    images = torch.arange(40).view(40, 1, 1, 1).to(torch.uint8)
    orders = {}

    def record(model, batch):
        orders.setdefault(seed, []).append(batch[0].flatten().tolist())
        return model(batch[0].float()).sum()

    for seed in (0, 0, 1):
        orders.pop(seed, None)
        fit(nn.Linear(1, 1), record, (images, torch.zeros(40, dtype=torch.long)), epochs=2,
            batch_size=10, seed=seed, progress=False)
        epochs = [sum(orders[seed][:4], []), sum(orders[seed][4:], [])]
        assert all(sorted(e) == list(range(40)) for e in epochs) and epochs[0] != epochs[1]
        if seed == 0:
            first = orders[0]
        else:
            assert orders[1] != first
    assert orders[0] == first


def test_max_steps_stops_early_but_keeps_the_schedule():
    images, labels = two_blobs(64)
    full = fit(classifier(), supervised_step, (images, labels), epochs=3, batch_size=16, progress=False)
    short = fit(classifier(), supervised_step, (images, labels), epochs=3, batch_size=16, max_steps=6,
                progress=False)
    assert short["step"] == [4, 6] and short.step_loss == full.step_loss[:6]
    assert short.step_lr == full.step_lr[:6]


# ---------------------------------------------------------------- mixed precision

def dtype_probe(seen):
    def step(model, batch):
        out = model(batch[0].float() / 255)
        seen.append((out.dtype, torch.is_autocast_enabled("cpu")))
        return nn.functional.cross_entropy(out, batch[1])
    return step


def test_amp_auto_is_off_on_cpu():
    seen = []
    images, labels = two_blobs(32)
    fit(classifier(), dtype_probe(seen), (images, labels), epochs=1, batch_size=16, device="cpu",
        progress=False)
    assert set(seen) == {(torch.float32, False)}


def test_amp_bf16_forced_on_cpu_trains():
    seen = []
    images, labels = two_blobs(128)
    model = classifier()
    history = fit(model, dtype_probe(seen), (images, labels), epochs=5, batch_size=32, lr=1e-2,
                  device="cpu", amp="bf16", progress=False)
    assert set(seen) == {(torch.bfloat16, True)}
    assert all(p.dtype == torch.float32 for p in model.parameters())  # master weights stay float32
    assert np.isfinite(history.step_loss).all() and accuracy(model, images, labels) > 0.9


@pytest.mark.parametrize("amp,error", [("fp16", "amp='fp16' needs a CUDA device"), ("float16", "amp must be"),
                                       (True, "amp must be")])
def test_amp_bad_values(amp, error):
    images, labels = two_blobs(32)
    with pytest.raises(ValueError, match=error):
        fit(classifier(), supervised_step, (images, labels), epochs=1, batch_size=16, device="cpu",
            amp=amp, progress=False)


# ---------------------------------------------------------------- bad arguments

IMAGES, LABELS = two_blobs(32)


@pytest.mark.parametrize("change,error,name", [
    (dict(model="net"), TypeError, "model"),
    (dict(step=None), TypeError, "step"),
    (dict(data="digits"), TypeError, "data"),
    (dict(data=IMAGES), TypeError, "data"),
    (dict(data=(IMAGES, LABELS[:5])), ValueError, "data labels"),
    (dict(data=(IMAGES, LABELS.view(4, 8))), ValueError, "data labels"),
    (dict(data=iter([(IMAGES, LABELS)])), TypeError, "data"),
    (dict(data=[]), ValueError, "data"),
    (dict(data=[(IMAGES, LABELS)], batch_size=16), ValueError, "batch_size"),
    (dict(epochs=0), ValueError, "epochs"),
    (dict(epochs=1.5), TypeError, "epochs"),
    (dict(batch_size=None), ValueError, "batch_size"),
    (dict(batch_size=64), ValueError, "batch_size"),
    (dict(batch_size=0), ValueError, "batch_size"),
    (dict(batch_size=8.0), TypeError, "batch_size"),
    (dict(lr=-1e-3), ValueError, "lr"),
    (dict(weight_decay=-1), ValueError, "weight_decay"),
    (dict(warmup_epochs=3), ValueError, "warmup_epochs"),
    (dict(warmup_epochs=-1), ValueError, "warmup_epochs"),
    (dict(optimizer="adam"), TypeError, "optimizer"),
    (dict(optimizer=lambda params: None), TypeError, "optimizer"),
    (dict(callbacks=[lambda state: None]), TypeError, "callbacks"),
    (dict(checkpoint_every=0), ValueError, "checkpoint_every"),
    (dict(max_steps=-2), ValueError, "max_steps"),
    (dict(seed=-1), ValueError, "seed"),
    (dict(seed="0"), TypeError, "seed"),
    (dict(step=lambda model, batch: 1.0), TypeError, "step"),
    (dict(step=lambda model, batch: {"logits": model(batch[0].float())}), TypeError, "step"),
    (dict(step=lambda model, batch: model(batch[0].float() / 255)), ValueError, "step"),
])
def test_bad_arguments_name_the_argument(change, error, name):
    kwargs = dict(model=classifier(), step=supervised_step, data=(IMAGES, LABELS), epochs=2,
                  batch_size=16, progress=False)
    kwargs.update(change)
    with pytest.raises(error, match=name):
        fit(kwargs.pop("model"), kwargs.pop("step"), kwargs.pop("data"), **kwargs)


# ---------------------------------------------------------------- callbacks

class Recorder(Callback):
    """Keeps every step's detached features and labels, and counts the hooks."""

    def __init__(self):
        self.batches, self.calls = [], []

    def on_fit_start(self, state):
        self.calls.append("fit_start")

    def on_step_end(self, state, batch, outputs):
        self.batches.append((outputs["features"].clone(), outputs["labels"].clone()))

    def on_epoch_end(self, state):
        self.calls.append(f"epoch_end {state.epoch} {state.step_in_epoch}")
        return {"seen": float(len(self.batches))}


def test_online_probe_matches_a_replayed_linear_head_and_never_touches_the_encoder():
    images, labels = two_blobs(96)
    run = functools.partial(fit, step=simclr, data=(images, labels), epochs=3, batch_size=32, lr=1e-2,
                            progress=False)
    plain, probed = make_net(), make_net()
    recorder, probe = Recorder(), OnlineProbe(2, lr=0.05, val=(images, labels))
    h_plain = run(plain, callbacks=[recorder])
    h_probed = run(probed, callbacks=[probe])
    for a, b in zip(plain.state_dict().values(), probed.state_dict().values()):
        assert torch.equal(a, b)  # bit-identical encoder and head: no gradient, no RNG draw
    assert h_probed.step_loss == h_plain.step_loss
    assert recorder.calls == ["fit_start", "epoch_end 0 3", "epoch_end 1 3", "epoch_end 2 3"]
    assert h_plain["seen"] == [3.0, 6.0, 9.0]

    # reference: a zero-initialized linear head trained by Adam on the same detached features
    head = nn.Linear(16, 2)
    nn.init.zeros_(head.weight)
    nn.init.zeros_(head.bias)
    opt = torch.optim.Adam(head.parameters(), lr=0.05)
    expected = []
    for e in range(3):
        correct = 0
        for x, y in recorder.batches[3 * e:3 * e + 3]:
            logits = head(x)
            correct += (logits.argmax(1) == y).sum().item()
            opt.zero_grad()
            nn.functional.cross_entropy(logits, y).backward()
            opt.step()
        expected.append(correct / 96)
    assert h_probed["probe_acc"] == pytest.approx(expected, abs=1e-6)
    for p, q in zip(probe.head.parameters(), head.parameters()):
        torch.testing.assert_close(p, q, rtol=1e-5, atol=1e-6)
    with torch.no_grad():
        val = (head(probed.eval().encoder(images.float() / 255)).argmax(1) == labels).float().mean().item()
    assert h_probed["probe_val_acc"][-1] == pytest.approx(val)


def test_online_probe_ignores_unlabeled_and_reports_missing_keys():
    images, labels = two_blobs(64)
    unlabeled = labels.clone()
    unlabeled[::2] = -1  # class 0 is now all unlabeled, as in STL-10's unlabeled split
    probe = OnlineProbe(2, lr=0.1)
    h = fit(make_net(), simclr, (images, unlabeled), epochs=2, batch_size=32, callbacks=[probe],
            progress=False)
    assert h["probe_acc"][-1] == 1.0  # only class 1 is ever scored or learned
    with pytest.raises(KeyError, match="feature_key"):
        fit(classifier(), supervised_step, (images, labels), epochs=1, batch_size=32,
            callbacks=[OnlineProbe(2)], progress=False)
    with pytest.raises(ValueError, match="num_classes"):
        OnlineProbe(0)


def test_knn_monitor_records_every_k_epochs_and_the_last():
    from course_utils.evaluate import extract_features, knn_accuracy

    images, labels = two_blobs(96)
    train, test = (images[:64], labels[:64]), (images[64:], labels[64:])
    model = make_net()
    h = fit(model, simclr, train, epochs=3, batch_size=32, callbacks=[KNNMonitor(train, test, k=5, every=2)],
            progress=False)
    assert h["knn_acc"][0] is None and all(0 <= a <= 1 for a in h["knn_acc"][1:])
    final = knn_accuracy(extract_features(model.encoder, train[0]), train[1],
                         extract_features(model.encoder, test[0]), test[1], k=5, temperature=0.07)
    assert h["knn_acc"][-1] == final
    with pytest.raises(TypeError, match="train"):
        KNNMonitor(images, test)
    with pytest.raises(ValueError, match="every"):
        KNNMonitor(train, test, every=0)


# ---------------------------------------------------------------- checkpoint and resume

class Crash(Exception):
    pass


def crash_at(step, k):
    calls = []

    def crashing(model, batch):
        calls.append(1)
        if len(calls) == k:
            raise Crash(f"killed at step call {k}")
        return step(model, batch)
    return crashing


def resumable_run(path, data_kind, step=simclr, **kwargs):
    images, labels = two_blobs(64)
    data = ((images, labels) if data_kind == "tensor"
            else DataLoader(TensorDataset(images, labels), batch_size=16, shuffle=True))
    model, probe = make_net(), OnlineProbe(2, lr=0.05)
    history = fit(model, step, data, epochs=3, batch_size=16 if data_kind == "tensor" else None, lr=1e-2,
                  warmup_epochs=1, callbacks=[probe], checkpoint=path, progress=False, **kwargs)
    return model, probe, history


def assert_same_run(a, b):
    (model_a, probe_a, hist_a), (model_b, probe_b, hist_b) = a, b
    for (name, x), y in zip(model_a.state_dict().items(), model_b.state_dict().values()):
        assert torch.equal(x, y), name
    for x, y in zip(probe_a.head.state_dict().values(), probe_b.head.state_dict().values()):
        assert torch.equal(x, y)
    assert hist_a.step_loss == hist_b.step_loss and hist_a.step_lr == hist_b.step_lr
    for ra, rb in zip(hist_a.records, hist_b.records):
        ra, rb = dict(ra), dict(rb)
        assert ra.pop("time_s") > 0 and rb.pop("time_s") > 0 and ra == rb


@pytest.fixture(scope="module")
def uninterrupted():
    return {kind: resumable_run(None, kind) for kind in ("tensor", "loader")}


@pytest.mark.parametrize("data_kind,crash,every", [
    ("tensor", 1, 1), ("tensor", 3, 1), ("tensor", 5, 1), ("tensor", 8, 1), ("tensor", 11, 3),
    ("tensor", 7, None), ("loader", 6, 1), ("loader", 10, 2),
])
def test_resume_after_a_crash_is_bit_identical(tmp_path, uninterrupted, data_kind, crash, every):
    """12 steps (4 per epoch); a crash at step call `crash`, then a restart from the checkpoint."""
    path = tmp_path / "run.pt"
    with pytest.raises(Crash):
        resumable_run(path, data_kind, step=crash_at(simclr, crash), checkpoint_every=every)
    assert path.exists() == (crash > (every or 4))
    assert_same_run(resumable_run(path, data_kind, checkpoint_every=every), uninterrupted[data_kind])
    # a finished run restarted from its checkpoint returns at once with the same result
    assert_same_run(resumable_run(path, data_kind, step=crash_at(simclr, 1), checkpoint_every=every),
                    uninterrupted[data_kind])


def test_checkpoint_from_another_run_is_refused(tmp_path):
    images, labels = two_blobs(64)
    path = tmp_path / "run.pt"
    fit(classifier(), supervised_step, (images, labels), epochs=2, batch_size=16, checkpoint=path,
        progress=False)
    assert not (tmp_path / "run.pt.tmp").exists()
    with pytest.raises(ValueError, match="epochs=2"):
        fit(classifier(), supervised_step, (images, labels), epochs=3, batch_size=16, checkpoint=path,
            progress=False)
    with pytest.raises(ValueError, match="callbacks"):
        fit(classifier(), supervised_step, (images, labels), epochs=2, batch_size=16, checkpoint=path,
            callbacks=[Callback()], progress=False)


SCRIPT = """
import sys, time
import torch
sys.path[:0] = [{repo!r}, {tests!r}]
torch.set_num_threads(1)
from course_utils.train import fit
from test_train import make_net, simclr, two_blobs

def slow(model, batch):
    time.sleep(0.08)
    return simclr(model, batch)

model = make_net()
images, labels = two_blobs(128)
fit(model, slow, (images, labels), epochs=2, batch_size=16, lr=1e-2, warmup_epochs=1,
    checkpoint=sys.argv[1], checkpoint_every=1, progress=False)
torch.save(model.state_dict(), sys.argv[2])
"""


def test_resume_after_sigkill_is_bit_identical(tmp_path):
    """A real process killed with SIGKILL mid-run, restarted, ends where an unkilled one does."""
    script = tmp_path / "run.py"
    script.write_text(SCRIPT.format(repo=str(REPO), tests=str(REPO / "tests")))
    reference = subprocess.Popen([sys.executable, script, tmp_path / "ref.pt", tmp_path / "ref_weights.pt"])
    ckpt = tmp_path / "run.pt"
    killed = subprocess.Popen([sys.executable, script, ckpt, tmp_path / "weights.pt"])
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and not (ckpt.exists() and torch.load(ckpt)["step"] >= 4):
        time.sleep(0.02)
    killed.send_signal(signal.SIGKILL)
    assert killed.wait() == -signal.SIGKILL
    assert 4 <= torch.load(ckpt)["step"] < 16  # stopped mid-run
    assert subprocess.run([sys.executable, script, ckpt, tmp_path / "weights.pt"]).returncode == 0
    assert reference.wait() == 0
    resumed, expected = torch.load(tmp_path / "weights.pt"), torch.load(tmp_path / "ref_weights.pt")
    for name, tensor in expected.items():
        assert torch.equal(resumed[name], tensor), name


# ---------------------------------------------------------------- GPU

@pytest.mark.gpu
def test_cuda_run_with_auto_amp_and_host_batches(monkeypatch):
    images, labels = two_blobs(256)
    resident = fit(classifier(), supervised_step, (images, labels), epochs=4, batch_size=32, lr=1e-2,
                   device="cuda", progress=False)
    monkeypatch.setattr(torch.cuda, "mem_get_info", lambda device=None: (0, 0))  # force pinned host batches
    model = classifier()
    streamed = fit(model, supervised_step, (images, labels), epochs=4, batch_size=32, lr=1e-2,
                   device="cuda", progress=False)
    assert streamed.step_loss == resident.step_loss  # same batches either way
    assert accuracy(model.cpu(), images, labels) > 0.95


@pytest.mark.gpu
def test_resident_batches_do_not_synchronise_the_device():
    from course_utils.train.batches import TensorBatches

    images, labels = two_blobs(256)
    batches = TensorBatches(images.cuda(), labels.cuda(), batch_size=32, device=torch.device("cuda"), seed=0)
    epoch = batches.epoch(0)  # copies the epoch's order to the device, once
    torch.cuda.set_sync_debug_mode("error")  # any synchronising call below raises
    try:
        taken = [x for x, _ in epoch]
    finally:
        torch.cuda.set_sync_debug_mode("default")
    assert len(taken) == 8 and all(x.is_cuda and x.shape == (32, 1, 8, 8) for x in taken)


# ---------------------------------------------------------------- with the rest of the kit

def test_simclr_on_shapes_with_the_kits_data_augment_models_and_evaluate():
    models = pytest.importorskip("course_utils.models")
    from course_utils.augment import SimCLRAugment
    from course_utils.data import make_shapes

    train, test = make_shapes(192, image_size=16, seed=0), make_shapes(96, image_size=16, seed=1)
    torch.manual_seed(0)
    encoder = models.SmallConvNet(in_channels=3, width=8)
    model = models.SimCLRNet(encoder, models.ProjectionHead(encoder.feature_dim, out_dim=32))
    step = functools.partial(simclr_step, augment=SimCLRAugment(16, scale=(0.5, 1.0)), temperature=0.5)
    probe = OnlineProbe(len(train.classes), lr=1e-2, val=test)
    history = fit(model, step, train, epochs=3, batch_size=64, lr=3e-3, progress=False,
                  callbacks=[probe, KNNMonitor(train, test, k=10)])
    assert history.keys() == ["epoch", "step", "loss", "lr", "probe_acc", "probe_val_acc", "knn_acc",
                              "time_s"]
    assert history["loss"][-1] < history["loss"][0] < math.log(2 * 64 - 1) + 0.1  # below chance, then lower
    assert all(0 <= a <= 1 for key in ("probe_acc", "probe_val_acc", "knn_acc") for a in history[key])
