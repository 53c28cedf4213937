import pytest
from django.contrib.auth import authenticate
from django.test import Client
from django.urls import reverse

from carenet.accounts import services
from carenet.accounts.models import LoginFailure, User
from carenet.audit.models import ChangeLog
from carenet.core.errors import CarenetError

PASSWORD = "Village-director-pass-7"


def test_district_creates_a_village_director_who_can_sign_in(city, personas):
    user = services.user_create(
        actor=personas.district_specialist,
        username="zhao.min",
        full_name="赵敏",
        role="village_director",
        division=city.village_a,
        password=PASSWORD,
    )
    assert authenticate(username="zhao.min", password=PASSWORD) == user
    assert user.get_full_name() == "赵敏"
    assert ChangeLog.objects.filter(entity="user", entity_id=user.pk, action="create").exists()


@pytest.mark.parametrize(
    ("role", "division", "field"),
    [
        ("city_admin", "village_a", "role"),  # a district cannot make city administrators
        ("village_director", "village_d", "division"),  # another district's village
        ("village_director", "street", "division"),  # a director sits on a village
    ],
)
def test_district_cannot_grant_beyond_its_reach(city, personas, role, division, field):
    with pytest.raises(CarenetError) as err:
        services.user_create(
            actor=personas.district_specialist,
            username="x1",
            full_name="某某",
            role=role,
            division=getattr(city, division),
            password=PASSWORD,
        )
    assert err.value.field == field
    assert not User.objects.filter(username="x1").exists()


def test_taken_username_and_weak_password_are_refused(city, personas):
    with pytest.raises(CarenetError) as err:
        services.user_create(
            actor=personas.city_admin,
            username="P-VILLAGE-A",
            full_name="某某",
            role="village_director",
            division=city.village_a,
            password=PASSWORD,
        )
    assert err.value.field == "username"
    with pytest.raises(CarenetError) as err:
        services.user_create(
            actor=personas.city_admin,
            username="new1",
            full_name="某某",
            role="village_director",
            division=city.village_a,
            password="12345",
        )
    assert err.value.field == "password"


def test_disabling_an_account_signs_it_out_everywhere(city, personas):
    browser = Client()
    browser.force_login(personas.director_a)
    token = services.token_issue(user=personas.director_a)
    services.user_set_active(actor=personas.district_specialist, user=personas.director_a, active=False)
    assert browser.get(reverse("web:home")).status_code == 302
    assert services.token_user(token) is None


def test_password_reset_lifts_a_lockout(city, personas):
    LoginFailure.objects.create(username="p-village-a", failures=9)
    services.user_reset_password(
        actor=personas.district_specialist, user=personas.director_a, password=PASSWORD
    )
    assert not LoginFailure.objects.filter(username="p-village-a").exists()
    assert authenticate(username="p-village-a", password=PASSWORD) is not None


def test_nobody_disables_themselves(personas):
    with pytest.raises(CarenetError):
        services.user_set_active(actor=personas.city_admin, user=personas.city_admin, active=False)


def test_account_pages_list_only_accounts_in_jurisdiction(client, personas):
    client.force_login(personas.district_specialist)
    body = client.get(reverse("web:user_list")).content.decode()
    assert "p-village-a" in body and "p-other-district" not in body
    client.force_login(personas.director_a)
    assert client.get(reverse("web:user_list")).status_code == 403
