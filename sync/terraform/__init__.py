"""View as Code: integrations rendered as Terraform for the Apono provider."""

from sync.terraform.view import (
    RESOURCE_TYPE,
    connected_resource_type,
    render_integrations,
    resource_label,
)

__all__ = ["RESOURCE_TYPE", "connected_resource_type", "render_integrations", "resource_label"]
