"""Supplier pages: each supplier user sees only the suppliers they act for."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from apps.procurement import selectors


@login_required
@require_GET
def home(request: HttpRequest) -> HttpResponse:
    suppliers = selectors.suppliers_visible(user=request.user)
    if not suppliers:
        raise PermissionDenied
    return render(request, "supplier/home.html", {"suppliers": suppliers})
