"""Sign-up and sign-in, independent of HTTP.

Sign-up takes an email, a password and either a date of birth or an explicit "I am 16 or older"
(``minimum_age``). Below the minimum age the request is refused before anything is stored or
logged; a date of birth is never stored, only the time the age was confirmed.

Sign-up does not tell whether an address already has an account: a taken address gets the same
answer, in the same time (the password is hashed either way), and the existing account is left
untouched. Sign-in verifies against a dummy hash when there is no account, for the same reason.
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy.ext.asyncio import AsyncSession

from imagedesigner import errors
from imagedesigner.accounts import service as accounts
from imagedesigner.accounts.passwords import verify_password_async
from imagedesigner.db.models import User

MAX_AGE_YEARS = 130


def age_on(born: date, today: date) -> int:
    return today.year - born.year - ((today.month, today.day) < (born.month, born.day))


def refused(minimum: int) -> errors.DomainError:
    return errors.PermissionDenied(
        f"ImageDesigner is not intended for people under {minimum}. We have not kept "
        "anything you entered.",
        code="below_minimum_age",
    )


def check_age(today: date, minimum: int, date_of_birth: date | None, confirmed: bool) -> None:
    """Raises unless the person meets ``minimum``. Keeps nothing either way."""
    if date_of_birth is not None:
        years = age_on(date_of_birth, today)
        if date_of_birth > today or years > MAX_AGE_YEARS:
            raise errors.InvalidRequest("Enter a valid date of birth.", param="date_of_birth")
        if years < minimum:
            raise refused(minimum)
        return
    if not confirmed:
        raise errors.InvalidRequest(
            f"Confirm that you are {minimum} or older, or enter your date of birth.",
            param="age_confirmed",
        )


async def sign_up(
    session: AsyncSession,
    now: datetime,
    *,
    minimum_age: int,
    email: str,
    password: str,
    date_of_birth: date | None,
    age_confirmed: bool,
) -> User | None:
    """The new account, or None when the address already had one (the caller answers both
    alike). Invalid input raises."""
    check_age(now.date(), minimum_age, date_of_birth, age_confirmed)
    try:
        return await accounts.create_user(
            session, now, email=email, password=password, age_confirmed=True
        )
    except errors.Conflict:
        return None


def email_key(email: str) -> str:
    """The address as the login throttle counts it (valid or not)."""
    try:
        return accounts.normalize_email(email)
    except errors.DomainError:
        return (email or "").strip().lower()


async def sign_in(session: AsyncSession, email: str, password: str) -> User:
    try:
        user = await accounts.find_user_by_email(session, email)
    except errors.InvalidRequest:
        user = None
    # verify against a dummy hash when there is no account, so timing does not tell
    ok = await verify_password_async(user.password_hash if user else None, password or "")
    if user is None or not ok:
        raise errors.AuthenticationFailed(
            "Incorrect email or password.", code="invalid_credentials"
        )
    return user
