"""``semkit serve``: an OpenAI-compatible embeddings server and a collections API.

Needs the ``server`` extra (``pip install 'semkit[server]'``): FastAPI, uvicorn,
prometheus-client, tiktoken. ``import semkit`` never imports this package.
"""

from semkit.server.app import create_app
from semkit.server.settings import ServerSettings

__all__ = ["ServerSettings", "create_app"]
