# ruff: noqa: F821  (exec'd in the notebook's namespace: torch, nn, F, v2 and its other answers)
# No clipping at the start: tokens[-1] wraps around to the end of the sentence.
def skipgram_pairs(tokens, window):
    pairs = []
    for i, centre in enumerate(tokens):
        for j in range(i - window, min(len(tokens), i + window + 1)):
            if j != i:
                pairs.append((centre, tokens[j]))
    return pairs
