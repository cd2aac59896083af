from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext, ngettext, pgettext, pgettext_lazy
from django.utils.translation import gettext_lazy as _

from linli.phones import phone_mask
from linli.wording import labelled

# A member's personal data in the member row itself: what erasure empties (identities, tags,
# texts and the rest are other rows) and what an import may not fill in again on an erased
# member.
MEMBER_PERSONAL_FIELDS = ("name", "phone", "birth_year", "gender", "marketing_consent")


class Member(models.Model):
    """One person, known by one member number however many touchpoints they use."""

    class Gender(models.TextChoices):
        UNKNOWN = "unknown", _("Unknown")
        FEMALE = "female", _("Female")
        MALE = "male", _("Male")

    member_no = models.CharField(_("member number"), max_length=20, unique=True)
    phone = models.CharField(_("phone"), max_length=16, blank=True, default="", db_index=True)
    name = models.CharField(pgettext_lazy("person", "name"), max_length=60, blank=True, default="")
    gender = models.CharField(
        _("gender"), max_length=8, choices=Gender.choices, default=Gender.UNKNOWN
    )
    birth_year = models.PositiveSmallIntegerField(_("birth year"), null=True, blank=True)
    home_store = models.ForeignKey(
        "stores.Store",
        verbose_name=_("home store"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="home_members",
    )
    joined_at = models.DateTimeField(_("joined"), default=timezone.now)
    marketing_consent = models.BooleanField(_("marketing consent"), default=False)
    is_erased = models.BooleanField(_("erased"), default=False)
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    class Meta:
        verbose_name = _("member")
        verbose_name_plural = _("members")
        ordering = ["member_no"]
        permissions = [
            ("view_phone", _("Can see members' full phone numbers")),
            ("import_member", _("Can import members")),
            ("export_member", _("Can export members")),
            ("merge_member", _("Can merge members")),
            ("erase_member", _("Can erase members")),
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["phone"],
                condition=~Q(phone=""),
                name="member_phone_unique",
                violation_error_message=_("Another member already has this phone number."),
            ),
            models.CheckConstraint(
                condition=Q(birth_year__isnull=True)
                | Q(birth_year__gte=1900, birth_year__lte=2100),
                name="member_birth_year_range",
                violation_error_message=_("The birth year must be between 1900 and 2100."),
            ),
            models.CheckConstraint(
                condition=Q(phone="") | Q(phone__startswith="+86"),
                name="member_phone_normalised",
                violation_error_message=_(
                    "The phone number must be a mainland number stored as +86…."
                ),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.member_no} {self.name}".strip()

    @property
    def masked_phone(self) -> str:
        return phone_mask(self.phone)

    @property
    def masked_label(self) -> str:
        """How pages name the member to those without member data access (docs/access.md):
        "Member" and the last 4 characters of the member number, no name, no phone."""
        return gettext("Member %(last4)s") % {"last4": self.member_no[-4:]}


class MemberIdentity(models.Model):
    """A way a touchpoint recognises a member; each (kind, value) belongs to one member."""

    class Kind(models.TextChoices):
        PHONE = "phone", _("Phone")
        MEMBER_CARD = "member_card", _("Member card")
        WECHAT = "wechat", _("WeChat")
        MINI_PROGRAM = "mini_program", _("Mini-program")
        POS_CARD = "pos_card", _("POS card")

    member = models.ForeignKey(
        Member, verbose_name=_("member"), on_delete=models.CASCADE, related_name="identities"
    )
    kind = models.CharField(_("kind"), max_length=16, choices=Kind.choices)
    value = models.CharField(_("value"), max_length=128)
    created_at = models.DateTimeField(_("created"), auto_now_add=True)

    class Meta:
        verbose_name = _("member identity")
        verbose_name_plural = _("member identities")
        constraints = [
            models.UniqueConstraint(fields=["kind", "value"], name="identity_kind_value_unique"),
            models.CheckConstraint(
                condition=~Q(value=""),
                name="identity_value_not_empty",
                violation_error_message=_("The identity's value cannot be empty."),
            ),
        ]

    def __str__(self) -> str:
        shown = phone_mask(self.value) if self.kind == self.Kind.PHONE else self.value
        return labelled(self.get_kind_display(), shown)


class Tag(models.Model):
    """A label HQ can target: a life scene (有孩家庭), a behaviour or a value tier."""

    class Category(models.TextChoices):
        SCENE = "scene", _("Life scene")
        BEHAVIOUR = "behaviour", _("Behaviour")
        VALUE = "value", _("Value")

    name = models.CharField(_("name"), max_length=40, unique=True)
    category = models.CharField(
        _("category"), max_length=16, choices=Category.choices, default=Category.SCENE
    )
    description = models.CharField(_("description"), max_length=200, blank=True, default="")

    class Meta:
        verbose_name = _("tag")
        verbose_name_plural = _("tags")
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class MemberTag(models.Model):
    """A tag on a member, with where it came from and the evidence behind it."""

    class Source(models.TextChoices):
        CHAT = "chat", _("Chat keywords")
        PURCHASE = "purchase", _("Purchases")
        MANUAL = "manual", _("Set by staff")
        IMPORT = "import", _("Imported")

    member = models.ForeignKey(
        Member, verbose_name=_("member"), on_delete=models.CASCADE, related_name="member_tags"
    )
    tag = models.ForeignKey(
        Tag, verbose_name=_("tag"), on_delete=models.CASCADE, related_name="member_tags"
    )
    source = models.CharField(_("source"), max_length=16, choices=Source.choices)
    # The automatic tags' evidence, as facts worded when shown (`tag_evidence_text`); a note
    # typed by staff or imported (or an old automatic text that could not be read back into
    # facts, migration customers.0008) stays in `evidence`, shown as written.
    evidence = models.CharField(_("evidence"), max_length=255, blank=True, default="")
    evidence_facts = models.JSONField(_("evidence facts"), default=list, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("created by"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
    )
    created_at = models.DateTimeField(_("created"), default=timezone.now)

    class Meta:
        verbose_name = _("member tag")
        verbose_name_plural = _("member tags")
        constraints = [
            models.UniqueConstraint(fields=["member", "tag"], name="member_tag_unique"),
        ]

    def __str__(self) -> str:
        # Ids, not the member's name: titles and messages show it to staff without member data.
        return f"{self.member_id} · {self.tag}"

    @property
    def evidence_text(self) -> str:
        return tag_evidence_text(facts=self.evidence_facts, text=self.evidence)


def tag_evidence_fact_text(fact: dict) -> str:
    """One piece of a tag's evidence in the active language ("" when not understood):
    `chat` quotes the message with its day, `purchases` names the category and the orders."""
    code = fact.get("code") if isinstance(fact, dict) else None
    try:
        if code == "chat":
            return pgettext("tag evidence", '"%(text)s" (%(day)s)') % {
                "text": str(fact["text"]),
                "day": str(fact["day"]),
            }
        if code == "purchases":
            count = int(fact["count"])
            return ngettext(
                "%(category)s, %(count)d order", "%(category)s, %(count)d orders", count
            ) % {"category": str(fact["category"]), "count": count}
    except (KeyError, TypeError, ValueError):
        return ""
    return ""


def tag_evidence_text(*, facts: list | None, text: str = "") -> str:
    """A member tag's evidence as the reader reads it: each stored fact worded in the active
    language, then the text stored as written (a staff note), joined by "; " ("；")."""
    parts = [tag_evidence_fact_text(fact) for fact in facts or []]
    parts.append((text or "").strip())
    return pgettext("list separator", "; ").join(part for part in parts if part)


class TagKeyword(models.Model):
    """A chat keyword that suggests a tag (孩子/宝宝/辅食 → 有孩家庭); edited by HQ in the admin."""

    tag = models.ForeignKey(
        Tag, verbose_name=_("tag"), on_delete=models.CASCADE, related_name="keywords"
    )
    keyword = models.CharField(_("keyword"), max_length=30)

    class Meta:
        verbose_name = _("tag keyword")
        verbose_name_plural = _("tag keywords")
        constraints = [
            models.UniqueConstraint(fields=["tag", "keyword"], name="tag_keyword_unique"),
            models.CheckConstraint(
                condition=~Q(keyword=""),
                name="tag_keyword_not_empty",
                violation_error_message=_("The keyword cannot be empty."),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.keyword} → {self.tag}"


class TagCategoryRule(models.Model):
    """Buying from a category suggests a tag (婴儿辅食 → 有孩家庭)."""

    tag = models.ForeignKey(
        Tag, verbose_name=_("tag"), on_delete=models.CASCADE, related_name="category_rules"
    )
    category = models.ForeignKey(
        "catalog.Category", verbose_name=_("category"), on_delete=models.CASCADE, related_name="+"
    )
    min_purchases = models.PositiveSmallIntegerField(_("minimum purchases (90 days)"), default=1)

    class Meta:
        verbose_name = _("tag purchase rule")
        verbose_name_plural = _("tag purchase rules")
        constraints = [
            models.UniqueConstraint(fields=["tag", "category"], name="tag_category_rule_unique"),
            models.CheckConstraint(
                condition=Q(min_purchases__gte=1),
                name="tag_rule_min_positive",
                violation_error_message=_("The minimum number of purchases must be at least 1."),
            ),
        ]

    def __str__(self) -> str:
        # Names, not ids: this is what the admin's messages show ("婴儿辅食 → 有孩家庭").
        return f"{self.category} → {self.tag}"


class MemberProfile(models.Model):
    """The 360° profile, recomputed nightly for all members at once (set-wise)."""

    class TrustLevel(models.IntegerChoices):
        NEW = 1, pgettext_lazy("member trust level", "New")
        ACQUAINTED = 2, _("Acquainted")
        REGULAR = 3, _("Regular")
        TRUSTED = 4, _("Trusted")
        CHAMPION = 5, _("Champion")

    member = models.OneToOneField(
        Member, verbose_name=_("member"), on_delete=models.CASCADE, related_name="profile"
    )
    recency_days = models.PositiveIntegerField(_("days since last purchase"), null=True, blank=True)
    frequency_90d = models.PositiveIntegerField(_("orders (90 days)"), default=0)
    spend_90d = models.DecimalField(
        _("spend (90 days)"), max_digits=12, decimal_places=2, default=0
    )
    average_basket = models.DecimalField(
        _("average basket"), max_digits=10, decimal_places=2, default=0
    )
    top_categories = models.JSONField(_("top categories"), default=list, blank=True)
    price_sensitivity = models.DecimalField(
        _("price sensitivity"),
        max_digits=5,
        decimal_places=4,
        default=0,
        help_text=_("Share of spend on discounted lines (0–1)."),
    )
    usual_hours = models.JSONField(_("usual shopping hours"), default=list, blank=True)
    monthly_repurchase_rate = models.DecimalField(
        _("monthly repurchase rate"), max_digits=5, decimal_places=4, default=0
    )
    # Lifetime figures: every counted order before computed_at, however old.
    first_purchase_at = models.DateTimeField(_("first purchase"), null=True, blank=True)
    last_purchase_at = models.DateTimeField(_("last purchase"), null=True, blank=True)
    orders_lifetime = models.PositiveIntegerField(_("orders (lifetime)"), default=0)
    spend_lifetime = models.DecimalField(
        _("spend (lifetime)"), max_digits=14, decimal_places=2, default=0
    )
    trust_score = models.DecimalField(_("trust score"), max_digits=5, decimal_places=2, default=0)
    trust_level = models.PositiveSmallIntegerField(
        _("trust level"), choices=TrustLevel.choices, default=TrustLevel.NEW
    )
    computed_at = models.DateTimeField(_("computed"), default=timezone.now)

    class Meta:
        verbose_name = _("member profile")
        verbose_name_plural = _("member profiles")
        constraints = [
            models.CheckConstraint(
                condition=Q(price_sensitivity__gte=0, price_sensitivity__lte=1),
                name="profile_price_sensitivity_range",
            ),
            models.CheckConstraint(
                condition=Q(trust_level__gte=1, trust_level__lte=5),
                name="profile_trust_level_range",
            ),
        ]

    def __str__(self) -> str:
        # Named as pages name a member to everyone ("Member 3704"): a title is shown to staff
        # without member data too (docs/access.md).
        return gettext("Profile of %(member)s") % {"member": self.member.masked_label}


class Segment(models.Model):
    """A reusable group of members defined by rule; evaluated as one query."""

    name = models.CharField(_("name"), max_length=80, unique=True)
    description = models.CharField(_("description"), max_length=200, blank=True, default="")
    tags_any = models.ManyToManyField(
        Tag, verbose_name=_("has any of these tags"), blank=True, related_name="+"
    )
    tags_all = models.ManyToManyField(
        Tag, verbose_name=_("has all of these tags"), blank=True, related_name="+"
    )
    min_trust_level = models.PositiveSmallIntegerField(
        _("minimum trust level"), choices=MemberProfile.TrustLevel.choices, null=True, blank=True
    )
    max_recency_days = models.PositiveIntegerField(_("bought within (days)"), null=True, blank=True)
    min_frequency_90d = models.PositiveIntegerField(
        _("minimum orders (90 days)"), null=True, blank=True
    )
    max_frequency_90d = models.PositiveIntegerField(
        _("maximum orders (90 days)"), null=True, blank=True
    )
    min_spend_90d = models.DecimalField(
        _("minimum spend (90 days)"), max_digits=12, decimal_places=2, null=True, blank=True
    )
    max_spend_90d = models.DecimalField(
        _("maximum spend (90 days)"), max_digits=12, decimal_places=2, null=True, blank=True
    )
    stores = models.ManyToManyField(
        "stores.Store", verbose_name=_("home stores"), blank=True, related_name="+"
    )
    regions = models.ManyToManyField(
        "stores.Region", verbose_name=_("regions"), blank=True, related_name="+"
    )
    marketing_consent_required = models.BooleanField(_("marketing consent required"), default=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("created by"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    created_at = models.DateTimeField(_("created"), auto_now_add=True)

    class Meta:
        verbose_name = _("segment")
        verbose_name_plural = _("segments")
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class NpsAnswer(models.Model):
    member = models.ForeignKey(
        Member, verbose_name=_("member"), on_delete=models.CASCADE, related_name="nps_answers"
    )
    store = models.ForeignKey(
        "stores.Store", verbose_name=_("store"), on_delete=models.CASCADE, related_name="+"
    )
    score = models.PositiveSmallIntegerField(_("score"))
    comment = models.TextField(_("comment"), blank=True, default="")
    answered_at = models.DateTimeField(_("answered"), default=timezone.now)

    class Meta:
        verbose_name = _("NPS answer")
        verbose_name_plural = _("NPS answers")
        indexes = [
            # The admin's list, newest first (`-answered_at, -pk`, read backwards), its date
            # hierarchy's first and last day, and the network's windows (KPI, profiles).
            models.Index(fields=["answered_at", "id"], name="nps_answered_idx"),
            # A store's window (the owner's members page: the last 90 days' NPS).
            models.Index(fields=["store", "answered_at"], name="nps_store_answered_idx"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(score__lte=10),
                name="nps_score_range",
                violation_error_message=_("The score must be between 0 and 10."),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.member_id}@{self.store_id}: {self.score}"


class CommunityMessage(models.Model):
    """A message from a store's member chat group, the source of scene tags."""

    store = models.ForeignKey(
        "stores.Store", verbose_name=_("store"), on_delete=models.CASCADE, related_name="+"
    )
    group_name = models.CharField(_("chat group"), max_length=80)
    member = models.ForeignKey(
        Member,
        verbose_name=_("member"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="messages",
    )
    text = models.TextField(_("text"))
    sent_at = models.DateTimeField(_("sent"), db_index=True)

    class Meta:
        verbose_name = _("community message")
        verbose_name_plural = _("community messages")
        permissions = [
            ("import_communitymessage", _("Can import community messages")),
        ]
        indexes = [models.Index(fields=["store", "sent_at"])]

    def __str__(self) -> str:
        # No text: it is the member's own words, and titles show it to staff without member
        # access (docs/access.md).
        return f"{self.group_name} #{self.pk}"


class MemberMerge(models.Model):
    """A record that two member records were one person: who merged, when, and what moved."""

    kept = models.ForeignKey(
        Member, verbose_name=_("kept member"), on_delete=models.PROTECT, related_name="merges"
    )
    absorbed_member_no = models.CharField(_("absorbed member number"), max_length=20)
    absorbed_snapshot = models.JSONField(_("absorbed member"), default=dict)
    moved = models.JSONField(_("what moved"), default=dict)
    merged_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("merged by"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    merged_at = models.DateTimeField(_("merged"), default=timezone.now)

    class Meta:
        verbose_name = _("member merge")
        verbose_name_plural = _("member merges")
        ordering = ["-merged_at"]

    def __str__(self) -> str:
        return f"{self.absorbed_member_no} → {self.kept_id}"


class MemberErasure(models.Model):
    """The record that a member's personal data was erased on request (orders kept)."""

    member = models.OneToOneField(
        Member, verbose_name=_("member"), on_delete=models.PROTECT, related_name="erasure"
    )
    requested_via = models.CharField(_("requested via"), max_length=80, blank=True, default="")
    erased_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("erased by"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    erased_at = models.DateTimeField(_("erased"), default=timezone.now)

    class Meta:
        verbose_name = _("member erasure")
        verbose_name_plural = _("member erasures")

    def __str__(self) -> str:
        return f"{self.member_id} erased"
