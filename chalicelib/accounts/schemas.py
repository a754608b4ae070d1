"""Request and response models of the auth routes (they also feed the OpenAPI spec)."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any, Literal

from pydantic import ConfigDict, Field, field_validator, model_validator

from chalicelib.accounts.domain import PHONE_PATTERN, SMS_CODE_PATTERN, USERNAME_PATTERN
from chalicelib.schema import BaseModel


class WriteModel(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=False)


class RegisterRequest(WriteModel):
    username: str = Field(pattern=USERNAME_PATTERN, description="3..32 of [A-Za-z0-9_]")
    password: str = Field(min_length=8, max_length=128)
    phone: str | None = Field(None, pattern=PHONE_PATTERN, description="Mainland mobile, optional +86")
    sms_code: str | None = Field(
        None, pattern=SMS_CODE_PATTERN, description="Required with phone: the code texted for purpose register"
    )

    @model_validator(mode="after")
    def phone_needs_its_code(self) -> RegisterRequest:
        if self.phone is not None and self.sms_code is None:
            raise ValueError("A phone needs its SMS code (sms_code, sent for purpose register).")
        return self


class LoginRequest(WriteModel):
    username: str | None = Field(None, min_length=1, max_length=32)
    phone: str | None = Field(None, pattern=PHONE_PATTERN)
    password: str = Field(min_length=1, max_length=128)

    @model_validator(mode="after")
    def one_identifier(self) -> LoginRequest:
        if (self.username is None) == (self.phone is None):
            raise ValueError("Give exactly one of username or phone")
        return self


class UserSummary(BaseModel):
    user_id: str
    username: str
    roles: list[str]


class TokenResponse(BaseModel):
    access_token: str
    refresh_token: str
    token_type: str = "Bearer"  # noqa: S105 - the OAuth token type, not a secret
    expires_in: int
    user: UserSummary


class RegisterResponse(TokenResponse):
    """A new account, signed in: the body of a sign-in plus its user_id."""

    user_id: str


class RefreshRequest(WriteModel):
    refresh_token: str = Field(min_length=1, max_length=200)


class SmsSendRequest(WriteModel):
    phone: str | None = Field(None, pattern=PHONE_PATTERN, description="Where to text the code; delete_account: "
                              "leave it out (the code goes to the signed-in account's own phone)")  # fmt: skip
    purpose: Literal["login", "bind", "register", "set_password", "delete_account"] = Field(
        description="login: sign in by code; bind: bind the phone; register: register with it; "
        "set_password: a first password on an account that has this phone; delete_account: confirm deleting the "
        "signed-in account (needs the caller's token)"
    )

    @model_validator(mode="after")
    def phone_unless_own(self) -> SmsSendRequest:
        if self.phone is None and self.purpose != "delete_account":
            raise ValueError("Give the phone to text the code to")
        return self


class SmsSent(BaseModel):
    sent: bool
    resend_after_seconds: int


class SmsLoginRequest(WriteModel):
    phone: str = Field(pattern=PHONE_PATTERN)
    code: str = Field(pattern=SMS_CODE_PATTERN)


class SmsLoginResponse(TokenResponse):
    is_new_user: bool


class Profile(BaseModel):
    user_id: str
    username: str
    roles: list[str]
    nickname: str | None
    phone: str | None = Field(description="Masked: 138****0000")
    avatar_url: str | None
    gender: Literal["male", "female", "unknown"] | None
    birthday: str | None
    points_balance: int
    has_password: bool
    created_at: str
    occupation: Occupation | None = None
    interests: list[str] = Field(default_factory=list, description="Category ids (a root covers its leaves)")


Occupation = Literal["student", "office_worker", "professional", "self_employed", "homemaker", "retired", "other"]


class ProfileUpdate(WriteModel):
    nickname: str | None = Field(None, min_length=1, max_length=20)
    avatar_url: str | None = Field(None, pattern=r"^https://\S{1,490}$")
    gender: Literal["male", "female", "unknown"] | None = None
    birthday: date | None = None
    occupation: Occupation | None = None
    interests: list[Annotated[str, Field(pattern=r"^[A-Za-z0-9_.\-]{1,64}$")]] | None = Field(
        None, max_length=10, description="0..10 category ids of GET /categories, first the most wanted"
    )

    @field_validator("interests")
    @classmethod
    def distinct_interests(cls, value: list[str] | None) -> list[str] | None:
        if value is not None and len(set(value)) != len(value):
            raise ValueError("Each interest once")
        return value

    @field_validator("birthday")
    @classmethod
    def plausible_birthday(cls, value: date | None) -> date | None:
        if value is not None and not date(1900, 1, 1) <= value <= date.today():
            raise ValueError("The birthday must be between 1900-01-01 and today")
        return value

    def changes(self) -> dict[str, Any]:
        """The fields the request names: a value sets it, an explicit null (or no interests) clears it."""
        return {
            name: (value.isoformat() if isinstance(value, date) else (value or None) if name == "interests" else value)
            for name, value in self.model_dump(exclude_unset=True).items()
        }


class PasswordChange(WriteModel):
    old_password: str | None = Field(
        None, min_length=1, max_length=128, description="Required when the account has a password"
    )
    new_password: str = Field(min_length=8, max_length=128, description="Not a common password (400 WEAK_PASSWORD)")
    sms_code: str | None = Field(
        None,
        pattern=SMS_CODE_PATTERN,
        description="A first password (no password yet): the code texted to the account's phone, purpose set_password",
    )


class AccountDeletion(WriteModel):
    """Confirm with the password, or with a code texted for purpose delete_account: exactly one."""

    password: str | None = Field(None, min_length=1, max_length=128)
    sms_code: str | None = Field(None, pattern=SMS_CODE_PATTERN)


class PhoneBindRequest(WriteModel):
    phone: str = Field(pattern=PHONE_PATTERN)
    code: str = Field(pattern=SMS_CODE_PATTERN)


class ProviderBinding(BaseModel):
    bound: bool
    nickname: str | None
    bound_at: str | None


class Bindings(BaseModel):
    password: bool
    phone: str | None
    providers: dict[str, ProviderBinding]


class OutboxQuery(BaseModel):
    model_config = ConfigDict(extra="ignore")

    to: str = Field(pattern=PHONE_PATTERN)


class OutboxMessage(BaseModel):
    to: str
    text: str
    sent_at: str


class Outbox(BaseModel):
    messages: list[OutboxMessage]


StaffRole = Literal["admin", "operator", "service", "analyst"]


class StaffCreate(WriteModel):
    username: str = Field(pattern=USERNAME_PATTERN, description="3..32 of [A-Za-z0-9_]")
    password: str = Field(min_length=8, max_length=128)
    role: StaffRole
    nickname: str | None = Field(None, min_length=1, max_length=20)


class StaffPatch(WriteModel):
    role: StaffRole | None = None
    status: Literal["ACTIVE", "DISABLED"] | None = None


class StaffMember(BaseModel):
    user_id: str
    username: str
    role: str
    status: str
    nickname: str | None = None
    created_at: str | None = None


class StaffList(BaseModel):
    items: list[StaffMember]
    next_cursor: str | None


class CustomersQuery(BaseModel):
    """`phone` exact, `username` a prefix (case-insensitive); paged by ?page_size= and ?cursor=."""

    model_config = ConfigDict(extra="ignore")

    phone: str | None = Field(None, pattern=PHONE_PATTERN)
    username: str | None = Field(None, min_length=1, max_length=32, pattern=r"^[A-Za-z0-9_]+$")
    page_size: int = Field(20, ge=1, le=100)
    cursor: str | None = Field(None, max_length=2048)


class CustomerSummary(BaseModel):
    user_id: str
    username: str
    nickname: str | None
    phone: str | None = Field(description="Masked: 138****0000")
    status: Literal["ACTIVE", "DISABLED", "DELETED"]
    level: int | None = Field(description="The customer's members-club level (its number)")
    points_balance: int
    created_at: str


class CustomerDetail(CustomerSummary):
    orders_count: int
    total_paid_fen: int = Field(description="Paid minus refunded, in fen")
    growth: int


class CustomerList(BaseModel):
    items: list[CustomerSummary]
    next_cursor: str | None


class DisableRequest(WriteModel):
    reason: str = Field(min_length=1, max_length=200)
