import doctest

import inventory.csvio
import inventory.money
import inventory.pricing
import inventory.report
import inventory.restock
import inventory.returns
import inventory.valuation

MODULES = [
    inventory.csvio,
    inventory.money,
    inventory.pricing,
    inventory.report,
    inventory.restock,
    inventory.returns,
    inventory.valuation,
]


def test_docstring_examples_hold():
    for module in MODULES:
        result = doctest.testmod(module, optionflags=doctest.ELLIPSIS)
        assert result.attempted > 0, module.__name__
        assert result.failed == 0, module.__name__
