"""One router per resource, mounted under `/api/v2` by `mge.api.app`."""
