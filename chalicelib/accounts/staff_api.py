"""HTTP routes of staff accounts (role admin) and the customers staff look after."""

from __future__ import annotations

from chalicelib.accounts import staff
from chalicelib.accounts.directory import AccountsDirectory
from chalicelib.accounts.domain import ACTIVE, DISABLED
from chalicelib.accounts.repository import AccountsRepository
from chalicelib.accounts.schemas import (
    CustomerDetail,
    CustomerList,
    CustomersQuery,
    DisableRequest,
    StaffCreate,
    StaffList,
    StaffMember,
    StaffPatch,
)
from chalicelib.accounts.staff import CustomerFacts
from chalicelib.auth import Principal
from chalicelib.routes import Json, Routes

staff_api = Routes(__name__, tags=("admin",))


@staff_api.post("/admin/staff", status=201, errors=(409,), roles=("admin",))
def create_staff(body: StaffCreate, accounts: AccountsRepository) -> Json[StaffMember]:
    """Create a staff account of one role (admin, operator, service, analyst)"""
    return staff.create_staff(accounts, body.username, body.password, body.role, body.nickname)


@staff_api.get("/admin/staff", roles=("admin",))
def list_staff(accounts_directory: AccountsDirectory) -> Json[StaffList]:
    """Every staff account"""
    return staff.list_staff(accounts_directory)


@staff_api.patch("/admin/staff/{user_id}", errors=(404, 409), roles=("admin",))
def update_staff(
    principal: Principal, user_id: str, body: StaffPatch, accounts_directory: AccountsDirectory
) -> Json[StaffMember]:
    """Change a staff member's role or status (ACTIVE, DISABLED)"""
    return staff.update_staff(accounts_directory, principal.user_id, user_id, body.role, body.status)


@staff_api.get("/admin/customers", roles=("service",))
def search_customers(
    query: CustomersQuery,
    accounts: AccountsRepository,
    accounts_directory: AccountsDirectory,
    customer_facts: CustomerFacts,
) -> Json[CustomerList]:
    """Find customers by phone (exact) or username (prefix)"""
    return staff.search_customers(
        accounts, accounts_directory, customer_facts, query.phone, query.username, query.page_size, query.cursor
    )


@staff_api.get("/admin/customers/{user_id}", errors=(404,), roles=("service",))
def customer_detail(
    user_id: str, accounts_directory: AccountsDirectory, customer_facts: CustomerFacts
) -> Json[CustomerDetail]:
    """A customer with their orders count, total paid, level and points"""
    return staff.customer_detail(accounts_directory, customer_facts, user_id)


@staff_api.post("/admin/customers/{user_id}/disable", errors=(404, 409), roles=("admin",))
def disable_customer(
    user_id: str, body: DisableRequest, accounts_directory: AccountsDirectory, customer_facts: CustomerFacts
) -> Json[CustomerDetail]:
    """Disable a customer: no sign-in, refresh tokens revoked, access tokens refused"""
    return staff.set_customer_status(accounts_directory, customer_facts, user_id, DISABLED, body.reason)


@staff_api.post("/admin/customers/{user_id}/enable", errors=(404, 409), roles=("admin",))
def enable_customer(
    user_id: str, accounts_directory: AccountsDirectory, customer_facts: CustomerFacts
) -> Json[CustomerDetail]:
    """Enable a disabled customer again"""
    return staff.set_customer_status(accounts_directory, customer_facts, user_id, ACTIVE)
