from carenet.accounts.jurisdiction import scope
from carenet.registry.models import Child


def test_each_persona_sees_exactly_its_own_children(personas, children):
    def seen(user):
        return set(scope(user, Child.objects.all()).values_list("name", flat=True))

    assert seen(personas.director_a) == {"张伟"}
    assert seen(personas.street_supervisor) == {"张伟", "李娜"}
    assert seen(personas.district_specialist) == {"张伟", "李娜", "王芳"}
    assert seen(personas.other_district_specialist) == {"刘洋"}
    assert seen(personas.city_admin) == {"张伟", "李娜", "王芳", "刘洋"}
    assert seen(personas.social_worker) == {"张伟"}
    assert seen(personas.charity) == set()
