"""The API's pagination: DRF's page numbers, with a malformed `page` refused instead of read as page 1."""

from __future__ import annotations

from django.core.paginator import Paginator
from rest_framework.exceptions import ValidationError
from rest_framework.pagination import PageNumberPagination
from rest_framework.request import Request


class StrictPageNumberPagination(PageNumberPagination):
    """`page` is a whole number from 1 (or `last`); anything else, an empty value included, is a 400.
    A page past the end stays a 404, as in DRF."""

    def get_page_number(self, request: Request, paginator: Paginator) -> int | str:
        value = request.query_params.get(self.page_query_param)
        if value is None:
            return 1
        if value in self.last_page_strings:
            return paginator.num_pages
        if not (value.isascii() and value.isdigit()) or int(value) < 1:
            raise ValidationError({self.page_query_param: ["must be a whole number from 1"]})
        return int(value)
