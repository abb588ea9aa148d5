"""Which atoms head the longest chains still open, as atoms are done."""

from __future__ import annotations

from mge.execute._open_chains import OpenChains


def test_the_heads_are_the_open_atoms_of_the_greatest_height() -> None:
    heights = {"a": 2, "d": 2, "b": 1, "c": 0, "done": 3}
    chains = OpenChains(heights, ["a", "b", "c", "d"])  # `done` was done before
    assert [key for key in heights if chains.heads(key)] == ["a", "d"]
    chains.close("a")
    assert chains.heads("d") and not chains.heads("a") and not chains.heads("b")
    chains.close("d")
    assert chains.heads("b") and not chains.heads("c")
    chains.close("b")
    chains.close("b")  # closing again changes nothing
    assert chains.heads("c")
    chains.close("c")
    assert not any(chains.heads(key) for key in heights)


def test_an_atom_the_heights_do_not_know_heads_nothing() -> None:
    chains = OpenChains({"a": 0}, ["a", "stray"])
    assert chains.heads("a") and not chains.heads("stray")
    assert not OpenChains().heads("a")
