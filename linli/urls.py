from __future__ import annotations

from django.contrib import admin
from django.urls import include, path
from django.utils.translation import gettext_lazy as _
from django.views.generic import RedirectView
from drf_spectacular.views import SpectacularAPIView

import linli.converters  # noqa: F401  (registers the <id:...> URL converter)
from linli.health import healthz

admin.site.site_header = _("Linli HQ")
admin.site.site_title = _("Linli HQ")
admin.site.index_title = _("Head office")

api_v1 = [
    path("", include("apps.stores.api.urls")),
    path("", include("apps.devices.api.urls")),
    path("", include("apps.catalog.api.urls")),
    path("", include("apps.campaigns.api.urls")),
]

urlpatterns = [
    path("", RedirectView.as_view(pattern_name="portal:home", permanent=False)),
    path("healthz/", healthz, name="healthz"),
    path("i18n/", include("django.conf.urls.i18n")),
    path("admin/", admin.site.urls),
    path("portal/members/", include("apps.customers.urls")),
    path("portal/inspections/", include("apps.stores.inspections.urls")),
    path("portal/devices/", include("apps.devices.urls")),
    path("portal/notifications/", include("apps.campaigns.notifications.urls")),
    path("portal/campaigns/", include("apps.campaigns.urls")),
    path("portal/decisions/", include("apps.catalog.urls")),
    path("portal/supply/", include("apps.procurement.store_urls")),
    path("portal/training/", include("apps.training.urls")),
    path("portal/", include("apps.stores.urls")),
    path("supplier/", include("apps.procurement.urls")),
    path("api/v1/", include(api_v1)),
    path("api/schema/", SpectacularAPIView.as_view(), name="api-schema"),
]

# Under /api/ a path no route matches, an unhandled error and a request Django refuses before
# (or outside) DRF's handler answer in the API's error shape (JSON); elsewhere these are Django's
# pages (templates/400.html, 404.html, 500.html).
handler400 = "linli.errors.bad_request"
handler404 = "linli.errors.page_not_found"
handler500 = "linli.errors.server_error"

# Media (inspection photos, exports) is never served as static files: each file is served by a
# view that checks access first.
