"""The integration config file: which AWS accounts / Organizations orgsync syncs, and how.

`load_config` reads and validates `orgsync.toml`; `render_template` writes a
commented starting point for either kind of integration.
"""

from sync.config.load import ConfigError, ConfigProblem, load_config, parse_config
from sync.config.model import (
    DEFAULT_MEMBER_ROLE,
    MAX_CUSTOM_ACCESS_DETAILS,
    AccountIntegration,
    AttributeType,
    Config,
    FrozenMapping,
    Integration,
    IntegrationBase,
    IntegrationKind,
    IntegrationOwner,
    OrganizationIntegration,
    ResourceOwner,
)
from sync.config.template import render_template

__all__ = [
    "DEFAULT_MEMBER_ROLE",
    "MAX_CUSTOM_ACCESS_DETAILS",
    "AccountIntegration",
    "AttributeType",
    "Config",
    "ConfigError",
    "ConfigProblem",
    "FrozenMapping",
    "Integration",
    "IntegrationBase",
    "IntegrationKind",
    "IntegrationOwner",
    "OrganizationIntegration",
    "ResourceOwner",
    "load_config",
    "parse_config",
    "render_template",
]
