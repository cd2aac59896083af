"""Campaign models, one module per noun; Django registers them through this package."""

from apps.campaigns.models.broadcasts import (
    Broadcast,
    BroadcastComment,
    GroupBuyJoin,
    GroupBuyOffer,
)
from apps.campaigns.models.campaigns import (
    Campaign,
    CampaignProduct,
    CampaignTarget,
    ScenarioTemplate,
    StoreCampaign,
)
from apps.campaigns.models.promotions import Promotion
from apps.campaigns.models.tracking import TrackingEvent
from apps.campaigns.notifications.models import Notification

__all__ = [
    "Broadcast",
    "BroadcastComment",
    "Campaign",
    "CampaignProduct",
    "CampaignTarget",
    "GroupBuyJoin",
    "GroupBuyOffer",
    "Notification",
    "Promotion",
    "ScenarioTemplate",
    "StoreCampaign",
    "TrackingEvent",
]
