import factory
from factory.django import DjangoModelFactory

from portal.accounts.models import IdType, Role, Team, User

TEST_PASSWORD = "Test-password-2026!"


class UserFactory(DjangoModelFactory):
    class Meta:
        model = User
        skip_postgeneration_save = True

    email_primary = factory.Sequence(lambda n: f"user{n}@amparo.test")
    full_name = factory.Faker("name", locale="es_CO")
    id_type = IdType.CC
    id_number = factory.Sequence(lambda n: f"{70000000 + n}")
    role = Role.AGENT

    @classmethod
    def _create(cls, model_class, *args, **kwargs):
        password = kwargs.pop("password", TEST_PASSWORD)
        return model_class.objects.create_user(password=password, **kwargs)

    @factory.post_generation
    def role_group(self, create, extracted, **kwargs):
        if create:
            from django.contrib.auth.models import Group

            self.groups.set([Group.objects.get(name=self.role)])


class TeamFactory(DjangoModelFactory):
    class Meta:
        model = Team

    name = factory.Sequence(lambda n: f"Team {n}")
    supervisor = factory.SubFactory(UserFactory, role=Role.SUPERVISOR)
