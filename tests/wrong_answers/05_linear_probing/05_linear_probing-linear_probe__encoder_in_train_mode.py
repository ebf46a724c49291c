# ruff: noqa: F821  (exec'd in the notebook's namespace: torch, nn, F, v2 and its other answers)
# Runs the encoder at every step under no_grad, but in train mode: BatchNorm's running statistics drift.
def train_linear_probe(encoder, images, labels, num_classes, *, epochs, lr=0.01, batch_size=256, seed=0):
    x = to_float(images)
    with torch.no_grad():
        features = encoder(x)
    mean, std = features.mean(0), features.std(0) + 1e-6
    probe = nn.Linear(features.shape[1], num_classes)
    nn.init.zeros_(probe.weight)
    nn.init.zeros_(probe.bias)
    optimizer = torch.optim.SGD(probe.parameters(), lr=lr, momentum=0.9)
    gen = torch.Generator().manual_seed(seed)
    for _ in range(epochs):
        order = torch.randperm(len(x), generator=gen)
        for i in range(0, len(x), batch_size):
            idx = order[i:i + batch_size]
            with torch.no_grad():
                batch = (encoder(x[idx]) - mean) / std
            loss = F.cross_entropy(probe(batch), labels[idx])
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
    with torch.no_grad():
        probe.weight /= std
        probe.bias -= probe.weight @ mean
    return probe
