# ruff: noqa: F821  (exec'd in the notebook's namespace: torch, nn, F, v2 and its other answers)
# Forgets to skip j == i: every word becomes its own context.
def skipgram_pairs(tokens, window):
    pairs = []
    for i, centre in enumerate(tokens):
        for j in range(max(0, i - window), min(len(tokens), i + window + 1)):
            pairs.append((centre, tokens[j]))
    return pairs
