"""The console's pages, one module per area; importing this package registers their
routes on ``web.routing.router``."""

from custmaster.web.pages import (  # noqa: F401  (imported for their routes)
    changes,
    children,
    customers,
    duplicates,
    imports,
    quality,
    session,
)
