"""Shared fixtures: staff users per role and API clients."""

import pytest
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from accounts.choices import Role
from tests.accounts.factories import UserFactory


@pytest.fixture
def agent(db):
    return UserFactory(role=Role.AGENT)


@pytest.fixture
def supervisor(db):
    return UserFactory(role=Role.SUPERVISOR)


@pytest.fixture
def admin_user(db):
    return UserFactory(role=Role.ADMIN)


@pytest.fixture
def staff_by_role(agent, supervisor, admin_user):
    return {Role.AGENT: agent, Role.SUPERVISOR: supervisor, Role.ADMIN: admin_user}


@pytest.fixture
def api_client():
    return APIClient()


@pytest.fixture
def token_client_for():
    def make(user):
        client = APIClient()
        token, _created = Token.objects.get_or_create(user=user)
        client.credentials(HTTP_AUTHORIZATION=f"Token {token.key}")
        return client

    return make


# --- Live processes: a real ASGI server and a real Celery worker ---------------------------------
# The server starts once per session (per xdist worker), the worker once per test module. Both
# read the pytest-django test database and this xdist worker's Redis database, so they see what
# a test commits, and realtime events a test publishes reach the server's websocket consumers.

LIVE_PROCESS_FIXTURES = frozenset({"asgi_live_server", "celery_worker_process"})
LIVE_PROCESS_GROUP = "live_processes"
_test_failed = pytest.StashKey[bool]()


def pytest_itemcollected(item):
    # Ask `--dist loadgroup` for one xdist worker to run every test that needs a server, a worker
    # or a browser, so two cores are not shared by two of each. It is only a preference: with
    # pytest 9.2, xdist 3.8 drops the groups (pytest-xdist#1386), and the tests do not rely on it.
    # (Marked as each test is collected, before xdist reads the marks in collection_modifyitems.)
    if LIVE_PROCESS_FIXTURES.intersection(getattr(item, "fixturenames", ())):
        item.add_marker(pytest.mark.xdist_group(LIVE_PROCESS_GROUP))


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item, call):
    report = yield
    if report.failed:
        item.stash[_test_failed] = True
    return report


def _print_log_if_failed(request, process, since):
    if request.node.stash.get(_test_failed, False):
        process.print_log(since=since)


@pytest.fixture(scope="session")
def _asgi_server_session(django_db_setup):
    from tests.support.asgi_server import LiveAsgiServer

    server = LiveAsgiServer()
    server.start()
    yield server
    server.stop()


@pytest.fixture
def asgi_live_server(request, transactional_db, _asgi_server_session):
    """A daphne process serving helpdesk.asgi; use ``.url``, ``.ws_url`` and ``.origin``."""
    server = _asgi_server_session
    if server.process is None or not server.process.is_running:
        server.stop()
        server.start()
    since = server.process.log_size()
    yield server
    _print_log_if_failed(request, server.process, since)


@pytest.fixture(scope="module")
def _celery_worker_module(django_db_setup):
    # Module-scoped: the worker exists only while its own tests run, so it never picks up (and
    # writes for) tasks that other tests enqueue without expecting them to run.
    from tests.support.celery_worker import CeleryWorkerProcess

    worker = CeleryWorkerProcess()
    worker.start()
    yield worker
    worker.stop()


@pytest.fixture
def celery_worker_process(request, transactional_db, _celery_worker_module):
    """A ``celery worker --pool=solo -Q celery`` process consuming this xdist worker's Redis queue."""
    worker = _celery_worker_module
    if not worker.process.is_running:
        worker.stop()
        worker.start()
    since = worker.process.log_size()
    yield worker
    _print_log_if_failed(request, worker.process, since)


@pytest.fixture(autouse=True)
def _fresh_channel_layer():
    """Each test gets a channel layer of its own.

    A layer's receive lock belongs to the event loop that first waited on it; every test scenario runs
    in a loop of its own, and a consumer a test left waiting (closed by the server, say) would otherwise
    leave the next test's consumers a lock bound to a loop that is gone.
    """
    from channels.layers import channel_layers

    channel_layers.backends.clear()
    yield
    channel_layers.backends.clear()


@pytest.fixture(autouse=True)
def _fresh_caches():
    """Each test starts without cached rules or security switches: rolling a test back sends no signal."""
    from django.core.cache import cache

    from accounts.models import MFA_REQUIRED_CACHE_KEY
    from tickets.rule_cache import rule_cache_clear
    from tickets.services.acknowledgement import SENDER_QUEUED_MARK, acknowledgements_wake_forget

    rule_cache_clear()
    cache.delete_many([MFA_REQUIRED_CACHE_KEY, SENDER_QUEUED_MARK])
    acknowledgements_wake_forget()
    yield
    acknowledgements_wake_forget()
    rule_cache_clear()
    cache.delete_many([MFA_REQUIRED_CACHE_KEY, SENDER_QUEUED_MARK])
