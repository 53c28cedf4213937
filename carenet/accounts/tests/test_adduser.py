import pytest
from django.contrib.auth import authenticate
from django.core.management import CommandError, call_command

from carenet.accounts.models import User


def test_adduser_creates_an_account_with_role_and_place(city, monkeypatch):
    monkeypatch.setenv("CARENET_NEW_PASSWORD", "a-long-Strong-passphrase-9")
    call_command("adduser", "lu.yong", role="district_specialist", division="120112", name="陆勇")
    user = User.objects.get(username="lu.yong")
    assert (user.role, user.division.code, user.get_full_name()) == ("district_specialist", "120112", "陆勇")
    assert authenticate(username="lu.yong", password="a-long-Strong-passphrase-9") == user


@pytest.mark.parametrize(
    ("role", "division", "message"),
    [("village_director", "120112", "level"), ("city_admin", "99", "unknown division")],
)
def test_adduser_refuses_a_wrong_place(city, monkeypatch, role, division, message):
    monkeypatch.setenv("CARENET_NEW_PASSWORD", "a-long-Strong-passphrase-9")
    with pytest.raises(CommandError, match=message):
        call_command("adduser", "x", role=role, division=division)
    assert not User.objects.filter(username="x").exists()


def test_adduser_refuses_a_weak_password(city, monkeypatch):
    monkeypatch.setenv("CARENET_NEW_PASSWORD", "123")
    with pytest.raises(CommandError):
        call_command("adduser", "x", role="city_admin", division="12")
