"""Layer-name parity: do the variables of two implementations map one-to-one?

Each side's variables are mapped to canonical names by that side's naming
scheme; parity holds when every variable of A meets exactly one of B with the
same shape and vice versa. Needs no forward pass, so it runs first, and it
lists everything that breaks the pairing: names no rule maps, two variables on
one canonical name, names on one side only, shapes that differ.
"""

__all__ = ["name_parity"]


def _side(variables):
    """({canonical: variable}, [unmapped names], {canonical: [names]} of duplicates)."""
    mapped, unmapped, duplicated = {}, [], {}
    for v in variables:
        if v.canonical is None:
            unmapped.append(v.name)
        elif v.canonical in mapped:
            duplicated.setdefault(v.canonical, [mapped[v.canonical].name]).append(v.name)
        else:
            mapped[v.canonical] = v
    return mapped, unmapped, duplicated


def name_parity(a_variables, b_variables):
    """JSON-ready result: counts, `ok`, and every unmapped, duplicated, one-sided or reshaped name."""
    a, a_unmapped, a_dup = _side(a_variables)
    b, b_unmapped, b_dup = _side(b_variables)
    only_a = [{"canonical": c, "a": v.name} for c, v in a.items() if c not in b]
    only_b = [{"canonical": c, "b": v.name} for c, v in b.items() if c not in a]
    shapes = [{"canonical": c, "a": v.name, "shape_a": list(v.shape), "b": b[c].name, "shape_b": list(b[c].shape)}
              for c, v in a.items() if c in b and tuple(v.shape) != tuple(b[c].shape)]
    pairs = [{"canonical": c, "a": v.name, "b": b[c].name, "shape": list(v.shape)} for c, v in a.items() if c in b]
    problems = (only_a, only_b, shapes, a_unmapped, b_unmapped, a_dup, b_dup)
    return {
        "ok": not any(problems),
        "variables_a": len(a_variables),
        "variables_b": len(b_variables),
        "matched": len(pairs) - len(shapes),
        "only_a": only_a,
        "only_b": only_b,
        "shape_mismatch": shapes,
        "unmapped_a": a_unmapped,
        "unmapped_b": b_unmapped,
        "duplicated_a": a_dup,
        "duplicated_b": b_dup,
        "pairs": pairs,
    }
