# ruff: noqa: F821  (exec'd in the notebook's namespace: torch, nn, F, v2 and its other answers)
# range(i - window, i + window) stops one short: the right-most context word is missing.
def skipgram_pairs(tokens, window):
    pairs = []
    for i, centre in enumerate(tokens):
        for j in range(max(0, i - window), min(len(tokens), i + window)):
            if j != i:
                pairs.append((centre, tokens[j]))
    return pairs
