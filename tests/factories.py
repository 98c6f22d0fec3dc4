"""factory_boy factories for the models."""

from __future__ import annotations

import itertools

import factory
from factory.alchemy import SQLAlchemyModelFactory

from marketplace import security
from marketplace.extensions import db
from marketplace.models import Organisation, OrgKind, OrgStatus, User, UserRole, utcnow
from tests.conftest import TEST_PASSWORD

_HASHES: dict[str, str] = {}
_supplier_seq = itertools.count(1)


def password_hash(password: str = TEST_PASSWORD) -> str:
    if password not in _HASHES:
        _HASHES[password] = security.hash_password(password)
    return _HASHES[password]


class BaseFactory(SQLAlchemyModelFactory):
    class Meta:
        abstract = True
        sqlalchemy_session_factory = lambda: db.session  # noqa: E731
        sqlalchemy_session_persistence = "commit"


class OrganisationFactory(BaseFactory):
    class Meta:
        model = Organisation

    kind = OrgKind.COUNCIL.value
    name = factory.Sequence(lambda n: f"Borough Council {n}")
    name_key = factory.LazyAttribute(lambda o: Organisation.key_for(o.name))
    status = OrgStatus.VERIFIED.value
    verified_at = factory.LazyFunction(utcnow)


class CouncilFactory(OrganisationFactory):
    kind = OrgKind.COUNCIL.value


class SupplierFactory(OrganisationFactory):
    kind = OrgKind.SUPPLIER.value
    name = factory.Sequence(lambda n: f"Civic Tech {n} Ltd")


class UserFactory(BaseFactory):
    class Meta:
        model = User

    class Params:
        password = TEST_PASSWORD

    email = factory.Sequence(lambda n: f"person{n}@example.gov.uk")
    full_name = factory.Sequence(lambda n: f"Person {n}")
    password_hash = factory.LazyAttribute(lambda o: password_hash(o.password))
    email_verified_at = factory.LazyFunction(utcnow)
    organisation = None

    @factory.post_generation
    def roles(self, create: bool, extracted: list[str] | None, **kwargs: object) -> None:
        if extracted:
            for role in extracted:
                self.role_rows.append(UserRole(role=str(role)))
            if create:
                db.session.commit()


def council_user(*roles: str, organisation: Organisation | None = None, **kwargs: object) -> User:
    """A verified person in a council with the given roles."""
    org = organisation or CouncilFactory()
    return UserFactory(organisation=org, roles=list(roles), **kwargs)


def supplier_user(*roles: str, organisation: Organisation | None = None,
                  **kwargs: object) -> User:
    org = organisation or SupplierFactory()
    kwargs.setdefault("email", f"bidder{next(_supplier_seq)}@supplier.example.com")
    return UserFactory(organisation=org, roles=list(roles), **kwargs)


def admin_user(**kwargs: object) -> User:
    return UserFactory(is_platform_admin=True, **kwargs)
