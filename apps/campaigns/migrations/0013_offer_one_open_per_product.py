from django.db import migrations, models
from django.db.models import Count, Q
from django.utils import timezone


def duplicate_open_offers_withdraw(apps, schema_editor):
    """Before the constraint: of the open offers that share a broadcast and a product, keep
    the one people joined (else the oldest) and withdraw the others that nobody joined (status
    cancelled, as `offer_withdraw` leaves them). Two such offers that both have joins cannot be
    merged here: the migration stops and names them, for HQ to settle by hand."""
    GroupBuyOffer = apps.get_model("campaigns", "GroupBuyOffer")
    groups = (
        GroupBuyOffer.objects.filter(status="open")
        .values("broadcast_id", "product_id")
        .annotate(offers=Count("pk"))
        .filter(offers__gt=1)
    )
    now = timezone.now()
    for group in groups:
        offers = list(
            GroupBuyOffer.objects.filter(
                status="open", broadcast_id=group["broadcast_id"], product_id=group["product_id"]
            ).order_by("pk")
        )
        joined = [offer for offer in offers if offer.units_joined or offer.participants]
        if len(joined) > 1:
            raise RuntimeError(
                "Open group-buy offers %s share broadcast %s and product %s and each has joins: "
                "settle or cancel all but one before migrating."
                % ([offer.pk for offer in joined], group["broadcast_id"], group["product_id"])
            )
        keep = joined[0] if joined else offers[0]
        GroupBuyOffer.objects.filter(pk__in=[o.pk for o in offers if o.pk != keep.pk]).update(
            status="cancelled", settled_at=now
        )


class Migration(migrations.Migration):
    dependencies = [
        ("campaigns", "0012_dragon_boat_pickup_day"),
    ]

    operations = [
        migrations.RunPython(duplicate_open_offers_withdraw, migrations.RunPython.noop),
        migrations.AddConstraint(
            model_name="groupbuyoffer",
            constraint=models.UniqueConstraint(
                condition=Q(status="open"),
                fields=("broadcast", "product"),
                name="offer_one_open_per_product",
            ),
        ),
    ]
