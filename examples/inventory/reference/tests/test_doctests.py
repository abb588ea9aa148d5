import doctest

import pytest

import inventory.money
import inventory.pricing
import inventory.report


@pytest.mark.parametrize("module", [inventory.money, inventory.pricing, inventory.report])
def test_docstring_examples_hold(module):
    result = doctest.testmod(module, optionflags=doctest.ELLIPSIS)
    assert result.attempted > 0
    assert result.failed == 0
