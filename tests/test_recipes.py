"""course_utils.recipes: the SimCLR recipe per dataset, stratified label subsets, the
pretraining defaults that the benchmark and the project starter rely on."""
import pytest
import torch

import course_utils as cu
from course_utils import recipes
from course_utils.data import ImageDataset


def _images(n, channels, side):
    """Blank images without recorded factors."""
    images = torch.zeros(n, channels, side, side, dtype=torch.uint8)
    return ImageDataset(images, torch.arange(n) % 2, ["a", "b"])


def test_default_augment_hides_the_shapes_colour_harder_than_cifar():
    shapes = cu.data.load_dataset("shapes", "train", n=16, image_size=32)
    for_shapes = recipes.default_augment(shapes)
    assert (for_shapes.jitter, for_shapes.grayscale_p) == (1.0, 0.5)
    assert for_shapes.scale == (0.3, 1.0)

    cifar_like = recipes.default_augment(_images(4, 3, 32))  # no recorded colour: SimCLR's CIFAR-10 jitter
    assert (cifar_like.jitter, cifar_like.grayscale_p, cifar_like.scale) == (0.5, 0.2, (0.3, 1.0))


@pytest.mark.parametrize("side, smallest", [(8, 0.5), (16, 0.5), (17, 0.3), (32, 0.3), (96, 0.08)])
def test_default_augment_crops_no_smaller_than_the_objects(side, smallest):
    assert recipes.default_augment(_images(2, 1, side)).scale == (smallest, 1.0)


def test_label_subset_is_stratified_sorted_and_seeded():
    labels = torch.tensor([0] * 300 + [1] * 120 + [2] * 9 + [3] * 61)[torch.randperm(490)]
    picked = recipes.label_subset(labels, 0.01, seed=3)
    counts = torch.bincount(labels[picked], minlength=4).tolist()
    assert counts == [3, 1, 1, 1]  # max(1, round(0.01 * n_c)) per class
    assert torch.equal(picked, picked.sort().values) and len(picked.unique()) == len(picked)
    assert picked.dtype == torch.int64
    assert torch.equal(picked, recipes.label_subset(labels, 0.01, seed=3))
    assert torch.equal(recipes.label_subset(labels, 1.0), torch.arange(490))
    others = [recipes.label_subset(labels, 0.1, seed=s) for s in range(3)]
    assert not torch.equal(others[0], others[1]) or not torch.equal(others[1], others[2])


@pytest.mark.parametrize("fraction", [0, -0.1, 1.5])
def test_label_subset_rejects_fractions_outside_0_1(fraction):
    with pytest.raises(ValueError, match="fraction"):
        recipes.label_subset(torch.tensor([0, 1, 1]), fraction)


def test_pretrain_simclr_warms_up_for_a_tenth_of_the_epochs(monkeypatch):
    calls = []

    def fake_fit(model, step, data, **kwargs):
        calls.append(kwargs)
        return {}

    monkeypatch.setattr(recipes, "fit", fake_fit)
    shapes = cu.data.load_dataset("shapes", "train", n=8, image_size=16)
    recipes.pretrain_simclr(shapes, epochs=30, batch_size=4, progress=False)
    recipes.pretrain_simclr(shapes, epochs=30, batch_size=4, warmup_epochs=0, lr=1e-3, progress=False)
    assert [(c["lr"], c["warmup_epochs"]) for c in calls] == [(3e-3, 3.0), (1e-3, 0)]


def test_train_supervised_fine_tunes_a_copy_of_a_pretrained_encoder(monkeypatch):
    runs = []

    def recording_fit(model, *args, **kwargs):  # the real fit, recording where it starts and ends
        start = {k: v.clone() for k, v in model[0].state_dict().items()}
        out = real_fit(model, *args, **kwargs)
        runs.append((model[0], start, model[0].state_dict()))
        return out

    real_fit = recipes.fit
    monkeypatch.setattr(recipes, "fit", recording_fit)
    shapes = cu.data.load_dataset("shapes", "train", n=16, image_size=16)
    pretrained = cu.models.build_encoder("small")
    with torch.no_grad():
        for w in pretrained.parameters():
            w.add_(1.0)  # unlike any fresh initialisation
    pretrained.requires_grad_(False)  # frozen for probing, as it usually is
    kept = {k: v.clone() for k, v in pretrained.state_dict().items()}
    recipes.train_supervised(shapes, shapes, encoder=pretrained, min_steps=2, epochs=1, device="cpu")
    (trained, start, end), = runs
    assert trained is not pretrained  # a copy is trained ...
    weights = [name for name, _ in pretrained.named_parameters()]
    for name in weights:  # ... from the pretrained weights, every one of them, leaving the original
        torch.testing.assert_close(start[name], kept[name])
        assert not torch.equal(end[name], kept[name]), f"{name} was not trained"
        torch.testing.assert_close(pretrained.state_dict()[name], kept[name])
    assert not any(w.requires_grad for w in pretrained.parameters())

    runs.clear()  # a name: a fresh encoder, built after seeding as before fine-tuning existed
    recipes.train_supervised(shapes, shapes, encoder="small", min_steps=1, epochs=1, seed=5, device="cpu")
    cu.seed_everything(5)
    fresh = cu.models.build_encoder("small")
    for name, value in fresh.state_dict().items():
        torch.testing.assert_close(runs[0][1][name], value)


@pytest.mark.parametrize("encoder, message", [(3, "encoder must be an encoder name or a torch.nn.Module"),
                                              (torch.nn.Linear(2, 2), "encoder must have .feature_dim")])
def test_train_supervised_rejects_an_encoder_it_cannot_train(encoder, message):
    shapes = cu.data.load_dataset("shapes", "train", n=8, image_size=16)
    with pytest.raises(TypeError, match=message):
        recipes.train_supervised(shapes, shapes, encoder=encoder)
