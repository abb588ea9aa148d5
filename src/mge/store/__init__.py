"""Persistence of the pure cores' results in the system of record.

The cores (`atomize`, `graph`, `plan`) know nothing of the database and `db`
knows nothing of them; this layer translates between the two, so every caller
(CLI, API, execution, migration) stores and loads them the same way.
"""

from mge.store.atoms import atom_row, decode_code
from mge.store.graphs import LoadedGraph, load_graph, save_graph

__all__ = ["LoadedGraph", "atom_row", "decode_code", "load_graph", "save_graph"]
