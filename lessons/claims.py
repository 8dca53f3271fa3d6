"""A claims-table row for a claim tested once per seed, as lessons 04 and 05 score them."""


def verdict(hits, n):
    """Held on every seed, on none, or on some (stated)."""
    return "held" if hits == n else "did not hold" if hits == 0 else f"mixed ({hits}/{n} seeds)"


def claim(text, regime, hits, n, numbers):
    return {"claim": text, "regime": regime, "verdict": verdict(hits, n),
            "seeds_where_it_holds": f"{hits}/{n}", "numbers": numbers}
