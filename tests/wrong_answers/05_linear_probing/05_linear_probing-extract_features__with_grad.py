# ruff: noqa: F821  (exec'd in the notebook's namespace: torch, nn, F, v2 and its other answers)
# Eval mode, but no torch.no_grad(): the features carry a graph back into the encoder.
def extract_features(encoder, images, batch_size=256):
    param = next(encoder.parameters(), None)
    where = images.device if param is None else param.device
    was_training = encoder.training
    encoder.eval()
    features = torch.cat([encoder(to_float(images[i:i + batch_size].to(where))).float()
                          for i in range(0, len(images), batch_size)])
    encoder.train(was_training)
    return features
