# ruff: noqa: F821  (exec'd in the notebook's namespace: torch, nn, F, v2 and its other answers)
# Only W is stepped, but the features are recomputed with autograd on: every backward reaches theta.
def train_linear_probe(encoder, images, labels, num_classes, *, epochs, lr=0.01, batch_size=256, seed=0):
    mode = encoder.training
    encoder.eval()
    x = to_float(images)
    features = encoder(x)
    mean, std = features.detach().mean(0), features.detach().std(0) + 1e-6
    probe = nn.Linear(features.shape[1], num_classes)
    nn.init.zeros_(probe.weight)
    nn.init.zeros_(probe.bias)
    optimizer = torch.optim.SGD(probe.parameters(), lr=lr, momentum=0.9)
    gen = torch.Generator().manual_seed(seed)
    for _ in range(epochs):
        order = torch.randperm(len(x), generator=gen)
        for i in range(0, len(x), batch_size):
            idx = order[i:i + batch_size]
            loss = F.cross_entropy(probe((encoder(x[idx]) - mean) / std), labels[idx])
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
    encoder.train(mode)
    with torch.no_grad():
        probe.weight /= std
        probe.bias -= probe.weight @ mean
    return probe
