"""Settings of a Serve application: the environment (RUAI_*) over the config's ``settings``
over the YAML profile, so that e.g. RUAI_COLLECTION overrides a `serve deploy` config."""

from __future__ import annotations

import os
from typing import Any

from raystore import with_absolute_paths
from ruai.settings import Settings


def settings_from_args(given: dict[str, Any]) -> Settings:
    overrides = {
        name: value for name, value in given.items() if f"RUAI_{name.upper()}" not in os.environ
    }
    return with_absolute_paths(Settings(**overrides))
