"""Fixtures the reliability tests share with the suites they were split from: the
API app of `tests/api`, the shop run of `tests/review` and the example plan of
`tests/execute`, imported so pytest registers them here too."""

from tests.api.conftest import api_settings, client, metrics
from tests.execute.conftest import example_plan
from tests.review.conftest import _shop_template, shop

__all__ = ["_shop_template", "api_settings", "client", "example_plan", "metrics", "shop"]
