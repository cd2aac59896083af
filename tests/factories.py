"""factory_boy factories shared by the whole suite."""

from __future__ import annotations

from decimal import Decimal

import factory
from django.contrib.auth import get_user_model

from apps.catalog.models import Category, Product
from apps.customers.models import Member, MemberIdentity, Tag
from apps.procurement.models import Supplier, SupplierProduct, SupplierUser
from apps.stores.models import Region, StockLevel, Store, StoreStaff

PASSWORD = "linli-test-password"  # noqa: S105


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = get_user_model()
        django_get_or_create = ["username"]
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"user{n}")
    email = factory.LazyAttribute(lambda user: f"{user.username}@example.com")
    password = factory.PostGenerationMethodCall("set_password", PASSWORD)

    @factory.post_generation
    def saved(self, create: bool, extracted: object, **kwargs: object) -> None:
        if create:
            self.save()


class RegionFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Region

    code = factory.Sequence(lambda n: f"R{n:02d}")
    name = factory.Sequence(lambda n: f"区域{n}")
    city = "杭州"


class StoreFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Store

    code = factory.Sequence(lambda n: f"S{n:04d}")
    name = factory.Sequence(lambda n: f"邻里优选{n}号店")
    region = factory.SubFactory(RegionFactory)
    status = Store.Status.OPEN


def owner_of(store: Store, **kwargs: object) -> object:
    user = UserFactory(**kwargs)
    StoreStaff.objects.create(user=user, store=store, role=StoreStaff.Role.OWNER)
    return user


def clerk_of(store: Store, **kwargs: object) -> object:
    user = UserFactory(**kwargs)
    StoreStaff.objects.create(user=user, store=store, role=StoreStaff.Role.CLERK)
    return user


class CategoryFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Category

    code = factory.Sequence(lambda n: f"C{n:03d}")
    name = factory.Sequence(lambda n: f"品类{n}")


class ProductFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Product

    sku = factory.Sequence(lambda n: f"SKU{n:05d}")
    name = factory.Sequence(lambda n: f"商品{n}")
    category = factory.SubFactory(CategoryFactory)
    price = Decimal("10.00")
    cost = Decimal("6.00")


class StockLevelFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = StockLevel

    store = factory.SubFactory(StoreFactory)
    product = factory.SubFactory(ProductFactory)
    on_hand = 10


class MemberFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Member

    member_no = factory.Sequence(lambda n: f"M{n:08d}")
    name = factory.Sequence(lambda n: f"会员{n}")
    phone = factory.Sequence(lambda n: f"+86138{n:08d}")


class MemberIdentityFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = MemberIdentity

    member = factory.SubFactory(MemberFactory)
    kind = MemberIdentity.Kind.MEMBER_CARD
    value = factory.Sequence(lambda n: f"CARD{n:06d}")


class TagFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Tag
        django_get_or_create = ["name"]

    name = factory.Sequence(lambda n: f"标签{n}")


class SupplierFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Supplier

    code = factory.Sequence(lambda n: f"SUP{n:03d}")
    name = factory.Sequence(lambda n: f"云南蓝莓果园{n}")
    kind = Supplier.Kind.FARM


class SupplierProductFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = SupplierProduct

    supplier = factory.SubFactory(SupplierFactory)
    product = factory.SubFactory(ProductFactory)
    cost = Decimal("5.00")


class SupplierUserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = SupplierUser

    user = factory.SubFactory(UserFactory)
    supplier = factory.SubFactory(SupplierFactory)
