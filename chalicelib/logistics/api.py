"""HTTP routes of logistics: the admin's freight templates."""

from __future__ import annotations

from chalicelib.logistics import service
from chalicelib.logistics.repository import FreightRepository
from chalicelib.logistics.schemas import FreightTemplate, FreightTemplateList, FreightTemplateWrite
from chalicelib.routes import Json, Routes

logistics_api = Routes(__name__, tags=("logistics",), admin_tags=("admin",))


@logistics_api.get("/admin/freight-templates", roles=("operator",))
def list_freight_templates(freight: FreightRepository) -> Json[FreightTemplateList]:
    """Every freight template, oldest first"""
    return service.list_freight_templates(freight)


@logistics_api.post("/admin/freight-templates", status=201, errors=(400,), roles=("operator",))
def create_freight_template(body: FreightTemplateWrite, freight: FreightRepository) -> Json[FreightTemplate]:
    """Create a freight template: fees by weight, per region of provinces, free over an amount, excluded provinces"""
    return service.save_freight_template(freight, body)


@logistics_api.get("/admin/freight-templates/{template_id}", errors=(404,), roles=("operator",))
def get_freight_template(template_id: str, freight: FreightRepository) -> Json[FreightTemplate]:
    """One freight template"""
    return service.get_freight_template(freight, template_id)


@logistics_api.put("/admin/freight-templates/{template_id}", errors=(400, 404), roles=("operator",))
def replace_freight_template(
    template_id: str, body: FreightTemplateWrite, freight: FreightRepository
) -> Json[FreightTemplate]:
    """Replace a freight template (the goods using it are priced by the new fees at once)"""
    return service.save_freight_template(freight, body, template_id)


@logistics_api.delete("/admin/freight-templates/{template_id}", status=204, errors=(404, 409), roles=("operator",))
def delete_freight_template(template_id: str, freight: FreightRepository) -> None:
    """Delete a freight template no product uses (409 while some do)"""
    service.delete_freight_template(freight, template_id)
