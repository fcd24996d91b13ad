import datetime as dt

import factory
from allauth.account.models import EmailAddress

from coop.accounts.models import User
from coop.core.services import sequence_next
from coop.lib.phone import phone_digits
from members.models import Buurt, ConsentText, Household, Member, PostcodeRange
from members.services import MEMBER_NUMBER_SEQUENCE, _names


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = User
        skip_postgeneration_save = True

    email = factory.Sequence(lambda n: f"user{n}@example.org")
    password = factory.PostGenerationMethodCall("set_password", "wachtwoord-123")

    @factory.post_generation
    def verified(self, create, extracted, **kwargs):
        if create:
            self.save()
            EmailAddress.objects.get_or_create(
                user=self, email=self.email, defaults={"primary": True, "verified": True}
            )


class BuurtFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Buurt
        django_get_or_create = ("name",)

    name = factory.Sequence(lambda n: f"Buurt {n}")


class PostcodeRangeFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = PostcodeRange

    buurt = factory.SubFactory(BuurtFactory)
    start = "7911 AA"
    end = "7911 ZZ"


class HouseholdFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Household

    street = "Dorpsstraat"
    house_number = factory.Sequence(lambda n: n + 1)
    postcode = "7911 AB"
    town = "Hollandscheveld"


class MemberFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Member

    household = factory.SubFactory(HouseholdFactory)
    number = factory.LazyFunction(lambda: sequence_next(name=MEMBER_NUMBER_SEQUENCE))
    given_name = "Jan"
    tussenvoegsel = "van der"
    family_name = factory.Sequence(lambda n: f"Berg{n}")
    sort_name = factory.LazyAttribute(
        lambda o: _names(o.given_name, o.tussenvoegsel, o.family_name)[0]
    )
    search_name = factory.LazyAttribute(
        lambda o: _names(o.given_name, o.tussenvoegsel, o.family_name)[1]
    )
    email = factory.Sequence(lambda n: f"lid{n}@example.org")
    phone = ""
    phone_digits = factory.LazyAttribute(lambda o: phone_digits(o.phone))
    status = Member.Status.ACTIVE
    applied_on = dt.date(2024, 1, 1)
    joined_on = dt.date(2024, 1, 15)


class ConsentTextFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = ConsentText

    key = "privacy"
    version = 1
    title = "Privacyverklaring"
    text = "Wij bewaren uw gegevens zolang u lid bent."
    published_on = dt.date(2024, 1, 1)
    required = True
