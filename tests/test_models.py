"""models: encoders' output shapes and sizes, the CIFAR ResNet stem, the projection head."""
import pytest
import torch
import torchvision
from torch import nn

from course_utils.models import (ProjectionHead, SimCLRNet, SmallConvNet, build_encoder,
                                 resnet18_cifar)


def _count(module):
    return sum(p.numel() for p in module.parameters())


@pytest.mark.parametrize("c, h, w", [(1, 8, 8), (3, 32, 32), (3, 96, 96), (1, 28, 20), (3, 5, 7)])
def test_small_convnet_shapes(c, h, w):
    net = SmallConvNet(in_channels=c)
    out = net(torch.rand(4, c, h, w))
    assert out.shape == (4, net.feature_dim) == (4, 256)
    assert SmallConvNet(c, width=8)(torch.rand(2, c, h, w)).shape == (2, 64)


def test_small_convnet_parameter_count():
    # four 3x3 convs without bias (c -> w -> 2w -> 4w -> 8w), BatchNorm scale and shift each
    for c, w in [(3, 32), (1, 16)]:
        widths = [c, w, 2 * w, 4 * w, 8 * w]
        convs = sum(9 * a * b for a, b in zip(widths, widths[1:]))
        assert _count(SmallConvNet(c, w)) == convs + 2 * sum(widths[1:])


def test_small_convnet_learns_and_rejects_wrong_channels():
    net = SmallConvNet(3, width=8)
    net(torch.rand(4, 3, 16, 16)).sum().backward()
    assert all(p.grad is not None for p in net.parameters())
    with pytest.raises(ValueError, match="x must have shape"):
        net(torch.rand(4, 1, 16, 16))


@pytest.mark.parametrize("c, size", [(3, 32), (1, 32), (3, 96)])
def test_resnet18_cifar_shapes_and_stem(c, size):
    net = resnet18_cifar(in_channels=c)
    assert net.feature_dim == 512
    conv = net.conv1
    assert (conv.in_channels, conv.out_channels, conv.kernel_size, conv.stride, conv.padding) == \
        (c, 64, (3, 3), (1, 1), (1, 1)) and conv.bias is None
    assert isinstance(net.maxpool, nn.Identity) and isinstance(net.fc, nn.Identity)
    seen = {}
    net.layer1.register_forward_hook(lambda m, i, o: seen.update(layer1=o.shape))
    assert net(torch.rand(2, c, size, size)).shape == (2, 512)
    assert seen["layer1"] == (2, 64, size, size)  # the stem keeps the resolution


def test_resnet18_cifar_parameter_count():
    full = torchvision.models.resnet18(weights=None)
    expected = _count(full) - full.fc.weight.numel() - full.fc.bias.numel() \
        - full.conv1.weight.numel() + 64 * 3 * 9
    assert _count(resnet18_cifar()) == expected
    assert _count(resnet18_cifar(1)) == expected - 64 * 2 * 9


@pytest.mark.parametrize("layers, hidden, sizes", [(1, None, [(512, 128)]),
                                                    (2, None, [(512, 512), (512, 128)]),
                                                    (3, 256, [(512, 256), (256, 256), (256, 128)])])
def test_projection_head_structure(layers, hidden, sizes):
    head = ProjectionHead(512, hidden_dim=hidden, num_layers=layers)
    linears = [m for m in head if isinstance(m, nn.Linear)]
    assert [(m.in_features, m.out_features) for m in linears] == sizes
    assert [m.bias is None for m in linears] == [True] * (layers - 1) + [False]
    kinds = [type(m) for m in head]
    assert kinds == [nn.Linear, nn.BatchNorm1d, nn.ReLU] * (layers - 1) + [nn.Linear]
    assert head(torch.rand(6, 512)).shape == (6, 128)


def test_projection_head_slices_share_its_layers():
    head = ProjectionHead(16, hidden_dim=12, out_dim=4, num_layers=3).eval()
    first = head[:3]  # SimCLRv2 fine-tunes from the first hidden layer
    assert type(first) is nn.Sequential and first[0] is head[0]
    x = torch.rand(5, 16)
    assert first(x).shape == (5, 12)
    torch.testing.assert_close(head[3:](first(x)), head(x))
    assert isinstance(head[-1], nn.Linear) and head[-1].out_features == 4


def test_simclr_net_returns_features_and_projection():
    encoder, head = SmallConvNet(1, width=4), ProjectionHead(32, out_dim=8)
    model = SimCLRNet(encoder, head).eval()
    x = torch.rand(5, 1, 8, 8)
    h, z = model(x)
    torch.testing.assert_close(h, encoder(x))
    torch.testing.assert_close(z, head(encoder(x)))
    assert list(dict(model.named_children())) == ["encoder", "head"]
    with pytest.raises(TypeError, match="head"):
        SimCLRNet(encoder, lambda h: h)


def test_build_encoder():
    small, resnet = build_encoder("small", in_channels=1), build_encoder("resnet18")
    assert isinstance(small, SmallConvNet) and small.in_channels == 1
    assert resnet.feature_dim == 512 and resnet.conv1.in_channels == 3
    with pytest.raises(ValueError, match="name"):
        build_encoder("resnet50")


@pytest.mark.parametrize("make, name", [
    (lambda: SmallConvNet(0), "in_channels"), (lambda: SmallConvNet(3, width=2.5), "width"),
    (lambda: resnet18_cifar(0), "in_channels"), (lambda: ProjectionHead(0), "in_dim"),
    (lambda: ProjectionHead(8, hidden_dim=-1), "hidden_dim"),
    (lambda: ProjectionHead(8, out_dim=0), "out_dim"),
    (lambda: ProjectionHead(8, num_layers=0), "num_layers"),
])
def test_bad_arguments_raise_naming_the_argument(make, name):
    with pytest.raises((TypeError, ValueError), match=name):
        make()


def test_models_run_on_the_meta_device():
    model = SimCLRNet(build_encoder("small"), ProjectionHead(256)).to("meta")
    h, z = model(torch.empty(4, 3, 32, 32, device="meta"))
    assert h.device.type == z.device.type == "meta" and z.shape == (4, 128)
    assert resnet18_cifar().to("meta")(torch.empty(2, 3, 32, 32, device="meta")).shape == (2, 512)


@pytest.mark.gpu
def test_models_run_on_cuda():
    model = SimCLRNet(build_encoder("resnet18"), ProjectionHead(512)).cuda()
    h, z = model(torch.rand(4, 3, 32, 32, device="cuda"))
    assert h.device.type == "cuda" and z.shape == (4, 128)
