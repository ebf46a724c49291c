# ruff: noqa: F821  (exec'd in the notebook's namespace: torch, nn, F, v2 and its other answers)
# Trains on standardized features but returns W for them, not for the raw features g(x).
def train_linear_probe(encoder, images, labels, num_classes, *, epochs, lr=0.01, batch_size=256, seed=0):
    features = extract_features(encoder, images)
    labels = labels.to(features.device)
    x = (features - features.mean(0)) / (features.std(0) + 1e-6)
    probe = nn.Linear(x.shape[1], num_classes, device=x.device)
    nn.init.zeros_(probe.weight)
    nn.init.zeros_(probe.bias)
    optimizer = torch.optim.SGD(probe.parameters(), lr=lr, momentum=0.9)
    gen = torch.Generator().manual_seed(seed)
    for _ in range(epochs):
        order = torch.randperm(len(x), generator=gen).to(x.device)
        for i in range(0, len(x), batch_size):
            idx = order[i:i + batch_size]
            loss = F.cross_entropy(probe(x[idx]), labels[idx])
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
    return probe
