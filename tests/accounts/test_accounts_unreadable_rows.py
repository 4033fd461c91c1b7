"""A legacy value the driver cannot load never makes an account look deleted (PostgreSQL)."""

import io

import pytest
from django.core.management import CommandError, call_command

from accounts.authentication import check_legacy_credentials
from accounts.legacy import reset_user_source
from accounts.legacy.demo import DEMO_MAPPING_PATH
from accounts.models import Profile, Subject

pytestmark = [pytest.mark.django_db, pytest.mark.postgres]


@pytest.fixture
def lockable_portal(postgres_portal, settings, tmp_path):
    postgres_portal.execute("ALTER TABLE portal_users ADD COLUMN locked_until timestamptz")
    mapping = tmp_path / "mapping.toml"
    mapping.write_text(
        DEMO_MAPPING_PATH.read_text() + '\n[state.locked]\ncolumn = "locked_until"\nafter_now = true\n'
    )
    settings.LEGACY_MAPPING = str(mapping)
    settings.BRIDGE_LEGACY_STATE_SECONDS = 0
    reset_user_source()
    return postgres_portal


def audit(*args: str) -> str:
    out = io.StringIO()
    call_command("legacy_audit", *args, stdout=out, stderr=io.StringIO())
    return out.getvalue()


def test_an_infinity_lockout_is_a_locked_account_not_a_missing_one(lockable_portal):
    ann = lockable_portal.add_user("ann", "pw-ann-1")
    ben = lockable_portal.add_user("ben", "pw-ben-1")
    lockable_portal.execute("UPDATE portal_users SET locked_until = 'infinity' WHERE uid = %s", (ben,))
    assert check_legacy_credentials("ann", "pw-ann-1").ok
    assert check_legacy_credentials("ben", "pw-ben-1").reason == "locked"
    sub = Profile.objects.get().sub
    out = audit("--record")
    assert "Recorded 0 conflict(s) and 0 tombstone(s)." in out and "locked 1" in out
    assert Subject.objects.get(legacy_id=str(ann)).tombstoned_at is None
    assert Profile.objects.get(user=check_legacy_credentials("ann", "pw-ann-1").user).sub == sub


def test_an_unloadable_value_fails_that_login_and_stops_the_audit_without_tombstoning(lockable_portal):
    lockable_portal.add_user("ann", "pw-ann-1")
    dan = lockable_portal.add_user("dan", "pw-dan-1")
    assert check_legacy_credentials("ann", "pw-ann-1").ok
    assert check_legacy_credentials("dan", "pw-dan-1").ok
    # A year psycopg cannot represent: the row exists but cannot be read.
    lockable_portal.execute("UPDATE portal_users SET locked_until = '12000-01-01' WHERE uid = %s", (dan,))
    assert check_legacy_credentials("dan", "pw-dan-1").reason == "row_unreadable"
    with pytest.raises(CommandError, match="Nothing was recorded"):
        audit("--record")
    assert not Subject.objects.filter(tombstoned_at__isnull=False).exists()
    assert check_legacy_credentials("ann", "pw-ann-1").ok
    assert Subject.objects.get(legacy_id=str(dan)).tombstoned_at is None
