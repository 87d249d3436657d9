import os

import pytest

from portal.accounts.models import Role

from .factories import TEST_PASSWORD, TeamFactory, UserFactory


def _on_postgres():
    return os.environ.get("DATABASE_URL", "").startswith(("postgres://", "postgresql://"))


def pytest_sessionstart(session):
    if os.environ.get("CI") and not _on_postgres():
        raise pytest.UsageError("CI runs the suite against PostgreSQL: set DATABASE_URL to a postgresql:// URL")


def pytest_collection_modifyitems(config, items):
    """Tests marked `postgres` check PostgreSQL itself (triggers, row locks); on a SQLite run they
    are deselected, loudly. CI always runs on PostgreSQL, so there they always run."""
    if _on_postgres():
        return
    deselected = [item for item in items if item.get_closest_marker("postgres")]
    if deselected:
        config.hook.pytest_deselected(items=deselected)
        items[:] = [item for item in items if not item.get_closest_marker("postgres")]
        config.issue_config_time_warning(
            pytest.PytestWarning(
                f"{len(deselected)} PostgreSQL tests not run on SQLite; set DATABASE_URL=postgresql://... to run them"
            ),
            stacklevel=2,
        )


@pytest.fixture
def password():
    return TEST_PASSWORD


@pytest.fixture
def make_user(db):
    def make(role=Role.AGENT, **kwargs):
        return UserFactory(role=role, **kwargs)

    return make


@pytest.fixture
def team(db):
    return TeamFactory()


@pytest.fixture
def supervisor(team):
    return team.supervisor


@pytest.fixture
def agent(team):
    return UserFactory(role=Role.AGENT, team=team)


@pytest.fixture
def admin_user(db):
    return UserFactory(role=Role.ADMIN)


@pytest.fixture
def auditor(db):
    return UserFactory(role=Role.INTERVENTORIA)


@pytest.fixture
def finance_user(db):
    return UserFactory(role=Role.FINANCE)


@pytest.fixture
def client_user(db):
    return UserFactory(role=Role.CLIENT)
