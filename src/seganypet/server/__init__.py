"""``seganypet serve``: the REST API and the browser viewer over :class:`seganypet.Session`.

``create_app(ServerConfig(root=...))`` returns the ASGI app. The wire format of label-map
patches lives in :mod:`seganypet.client.patches`, shared with the torch-free client.
"""

from seganypet.server.app import create_app
from seganypet.server.config import ServerConfig

__all__ = ["ServerConfig", "create_app"]
