"""The steward console under ``/console`` (``install`` adds it to the API's app)."""

from __future__ import annotations

from fastapi import FastAPI

from custmaster.web import pages  # noqa: F401  (registers the pages on the router)
from custmaster.web.routing import router


def install(app: FastAPI) -> None:
    app.include_router(router)
