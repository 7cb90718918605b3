"""The authentication backends: Django's and allauth's, with the user every signed-in request
loads (by the id in its session) read through a query compiled once (commonplace/compiled.py)
instead of the ORM's `get()`, which costs several times the query itself."""

from allauth.account.auth_backends import AuthenticationBackend as AllauthBackend
from django.contrib.auth.backends import ModelBackend as DjangoModelBackend

from accounts.models import User
from commonplace.compiled import CompiledQuery, columns, instance

_USER_BY_ID = CompiledQuery(
    lambda pk: User._default_manager.filter(pk=pk).order_by().values_list(*columns(User)),
    pk=int,
)

# The backends a session may name (`_auth_user_backend`). The ones before this module's are
# kept as aliases of these in commonplace.settings.AUTHENTICATION_BACKENDS' comment.


def user_by_id(user_id) -> User | None:
    row = _USER_BY_ID.first(pk=user_id)
    return instance(User, row)[0] if row is not None else None


class FastGetUser:
    def get_user(self, user_id):
        user = user_by_id(user_id)
        return user if user is not None and self.user_can_authenticate(user) else None


class ModelBackend(FastGetUser, DjangoModelBackend):
    """django.contrib.auth's ModelBackend."""


class AuthenticationBackend(FastGetUser, AllauthBackend):
    """allauth's backend (log in by username or email)."""
