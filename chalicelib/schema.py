"""The shop's pydantic base model: validators and serializers are built on first use, not at import.

Building them for every request, response and message model at import cost the API's cold start ~0.2 s (about 180
models, most of which one invocation never touches). With ``defer_build`` a model builds its schema the first time it
validates, dumps or renders its JSON schema (chalicelib/openapi.py), then keeps it for the life of the process.
Every schema module subclasses this ``BaseModel``; a model's own ``model_config`` is merged with this one.
"""

from __future__ import annotations

import pydantic
from pydantic import ConfigDict


class BaseModel(pydantic.BaseModel):
    """pydantic.BaseModel whose schema is built lazily (see the module docstring)."""

    model_config = ConfigDict(defer_build=True)
