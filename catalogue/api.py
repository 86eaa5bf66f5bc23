"""Read-only REST API over the active catalogue."""

from __future__ import annotations

import math

from django.db.models import Q, QuerySet
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_view
from rest_framework import filters, viewsets
from rest_framework.exceptions import ValidationError
from rest_framework.request import Request

from .models import Track
from .serializers import TrackSerializer

RANGE_FILTERS = ("energy", "valence")
LANGUAGE_MAX_LENGTH = Track._meta.get_field("language").max_length or 35


def _float_param(request: Request, name: str) -> float | None:
    """The parameter as a number; None when absent. Present but empty or not a finite number: a 400."""
    value = request.query_params.get(name)
    if value is None:
        return None
    try:
        number = float(value)
    except ValueError:
        number = math.nan
    if not math.isfinite(number):
        raise ValidationError({name: ["must be a number"]})
    return number


def _language_param(request: Request) -> str | None:
    """The language asked for; None when absent. Empty, too long or with control characters: a 400."""
    value = request.query_params.get("language")
    if value is None:
        return None
    language = value.strip()
    if not language or len(language) > LANGUAGE_MAX_LENGTH or not language.isprintable():
        raise ValidationError(
            {
                "language": [
                    f"must be a language as the catalogue writes it, e.g. en (1-{LANGUAGE_MAX_LENGTH} "
                    "printable characters)"
                ]
            }
        )
    return language


_PARAMETERS = [
    OpenApiParameter("genre", OpenApiTypes.STR, description="Exact genre (case-insensitive)."),
    OpenApiParameter(
        "language",
        OpenApiTypes.STR,
        description=f"Exact language of the lyrics, as the catalogue writes it (case-insensitive), e.g. en. "
        f"1-{LANGUAGE_MAX_LENGTH} characters; anything else is a 400.",
    ),
    OpenApiParameter("q", OpenApiTypes.STR, description="Words searched in title, artist and tags."),
    *(
        OpenApiParameter(f"{name}_{end}", OpenApiTypes.FLOAT, description=f"{end}imum {name} (0-1).")
        for name in RANGE_FILTERS
        for end in ("min", "max")
    ),
]


@extend_schema_view(list=extend_schema(parameters=_PARAMETERS))
class TrackViewSet(viewsets.ReadOnlyModelViewSet[Track]):
    """The active catalogue (read-only for users).

    Filters: ?genre=, ?language=, ?q= (every word must match title, artist or tags), ?energy_min/_max,
    ?valence_min/_max; ?ordering= one of the ordering fields (prefix - for descending).
    Tracks whose energy or valence is unknown are left out when that range is filtered.
    """

    serializer_class = TrackSerializer
    queryset = Track.objects.filter(is_active=True)
    filter_backends = [filters.OrderingFilter]
    ordering_fields = [
        "title",
        "artist",
        "year",
        "genre",
        "language",
        "valence",
        "arousal",
        "energy",
        "tempo",
        "created_at",
    ]
    ordering = ["artist", "title"]

    def get_queryset(self) -> QuerySet[Track]:
        queryset = super().get_queryset()
        params = self.request.query_params
        if genre := params.get("genre", "").strip():
            queryset = queryset.filter(genre__iexact=genre)
        if (language := _language_param(self.request)) is not None:
            queryset = queryset.filter(language__iexact=language)
        for word in params.get("q", "").split():
            queryset = queryset.filter(
                Q(title__icontains=word) | Q(artist__icontains=word) | Q(tags__icontains=word)
            )
        for name in RANGE_FILTERS:
            low = _float_param(self.request, f"{name}_min")
            high = _float_param(self.request, f"{name}_max")
            if low is not None:
                queryset = queryset.filter(**{f"{name}__gte": low})
            if high is not None:
                queryset = queryset.filter(**{f"{name}__lte": high})
        return queryset
