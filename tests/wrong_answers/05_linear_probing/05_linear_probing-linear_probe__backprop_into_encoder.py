# ruff: noqa: F821  (exec'd in the notebook's namespace: torch, nn, F, v2 and its other answers)
# Trains encoder and W together (fine-tuning), not a probe of a frozen encoder.
def train_linear_probe(encoder, images, labels, num_classes, *, epochs, lr=0.01, batch_size=256, seed=0):
    dim = extract_features(encoder, images[:2]).shape[1]
    probe = nn.Linear(dim, num_classes)
    nn.init.zeros_(probe.weight)
    nn.init.zeros_(probe.bias)
    model = nn.Sequential(encoder, probe)
    optimizer = torch.optim.SGD(model.parameters(), lr=lr, momentum=0.9)
    gen = torch.Generator().manual_seed(seed)
    x = to_float(images)
    for _ in range(epochs):
        order = torch.randperm(len(x), generator=gen)
        for i in range(0, len(x), batch_size):
            idx = order[i:i + batch_size]
            loss = F.cross_entropy(model(x[idx]), labels[idx])
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
    return probe
