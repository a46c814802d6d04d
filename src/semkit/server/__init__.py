"""``semkit serve``: an OpenAI-compatible embeddings server and a collections API.

Needs the ``server`` extra (``pip install 'semkit[server]'``): FastAPI, uvicorn,
prometheus-client, tiktoken. ``import semkit`` never imports this package.
"""

from semkit.extras import require_extra

require_extra("server", "semkit serve")

from semkit.server.app import create_app  # noqa: E402 - after the check that names the extra
from semkit.server.settings import ServerSettings  # noqa: E402

__all__ = ["ServerSettings", "create_app"]
