"""The MGE service: a FastAPI app under `/api/v2`, plus `/metrics`, `/healthz`, `/readyz`.

    from mge.api import ApiSettings, create_app
    app = create_app(ApiSettings(database_url="sqlite:///mge.db"))

A thin shell: routes parse and answer, `mge.api._service` does the work through
the store and the engine, and errors are mapped once (`mge.api._errors`).
"""

from mge.api.app import API_PREFIX, create_app
from mge.api.settings import LOOPBACK_HOSTS, ApiSettings

__all__ = ["API_PREFIX", "LOOPBACK_HOSTS", "ApiSettings", "create_app"]
