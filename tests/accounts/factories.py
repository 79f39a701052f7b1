import factory
from django.contrib.auth.models import Group

from accounts.choices import Availability, Role
from accounts.models import AgentProfile, Team, User


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = User
        skip_postgeneration_save = True

    email = factory.Sequence(lambda n: f"staff{n}@example.test")
    first_name = factory.Faker("first_name")
    last_name = factory.Faker("last_name")
    password = factory.PostGenerationMethodCall("set_password", "correct horse battery staple")
    is_staff = True
    role = Role.AGENT

    @factory.post_generation
    def with_role_group(self, create: bool, extracted: object, **kwargs: object) -> None:
        if create and self.role:
            self.groups.add(Group.objects.get(name=Role(self.role).label))
        if create:
            self.save()


class AgentProfileFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = AgentProfile

    user = factory.SubFactory(UserFactory)
    languages = factory.LazyFunction(lambda: ["en"])
    availability = Availability.AVAILABLE


class TeamFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Team

    name = factory.Sequence(lambda n: f"Team {n}")
