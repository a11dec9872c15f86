"""Querying the Azure Retail Prices API: paging, timeouts, bounded retries with backoff.

Standard library only (``urllib``). Tests point ``api_url`` at a local server.
"""

from __future__ import annotations

import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable
from typing import Any

from .._input import decode_text, max_input_bytes
from ..errors import InputFileError, RetailImportError
from ._pages import parse_json
from ._retail import API_URL

__all__ = ["DEFAULT_FILTER", "fetch_pages"]

DEFAULT_FILTER = "startswith(productName, 'Azure OpenAI') and priceType eq 'Consumption'"


def fetch_pages(
    *,
    api_url: str = API_URL,
    currency: str = "USD",
    filter_: str = DEFAULT_FILTER,
    timeout: float = 30.0,
    retries: int = 4,
    backoff: float = 1.0,
    max_pages: int = 1000,
    sleep: Callable[[float], None] = time.sleep,
    on_page: Callable[[int, Any], None] | None = None,
) -> list[tuple[str, str, Any]]:
    """Query the Retail Prices API, following ``NextPageLink``; return ``(url, text, page)``.

    ``text`` is the response body as received (save it to re-import it later),
    ``page`` the parsed JSON with ``Decimal`` numbers.

    Each request has ``timeout`` seconds; HTTP 429 and 5xx answers and network
    errors are retried up to ``retries`` times with exponential ``backoff``
    (honouring ``Retry-After``). Other failures raise :class:`RetailImportError`.

    ``NextPageLink`` is followed only to the scheme and host of ``api_url``
    (``https://prices.azure.com`` by default); any other link raises
    :class:`RetailImportError` naming it. ``on_page(n, page)`` is called after
    each page is read.
    """
    query = urllib.parse.urlencode(
        {"api-version": "2023-01-01-preview", "currencyCode": currency, "$filter": filter_},
        quote_via=urllib.parse.quote,
    )
    if urllib.parse.urlsplit(api_url).scheme.lower() not in ("https", "http"):
        raise RetailImportError(f"{api_url}: the API URL must be an https:// (or http://) URL")
    url: str | None = f"{api_url}?{query}"
    pages: list[tuple[str, str, Any]] = []
    seen: set[str] = set()
    while url:
        if url in seen or len(pages) >= max_pages:
            raise RetailImportError(f"{url}: paging does not end (page {len(pages) + 1})")
        seen.add(url)
        text = _get(url, timeout, retries, backoff, sleep)
        page = parse_json(text, url)
        if not isinstance(page, dict):
            raise RetailImportError(f"{url}: not a Retail Prices API response")
        pages.append((url, text, page))
        if on_page is not None:
            on_page(len(pages), page)
        link = page.get("NextPageLink")
        url = _checked_link(link, api_url) if link else None
    return pages


def _checked_link(link: Any, api_url: str) -> str:
    """``link`` if it points at the API's own scheme and host; else an error naming it."""
    if not isinstance(link, str):
        raise RetailImportError(f"NextPageLink is not a string: {link!r}")
    base, target = urllib.parse.urlsplit(api_url), urllib.parse.urlsplit(link)
    if (target.scheme.lower(), target.netloc.lower()) != (base.scheme.lower(), base.netloc.lower()):
        raise RetailImportError(
            f"NextPageLink {link!r} leaves the API ({base.scheme}://{base.netloc}): not followed"
        )
    return link


def _get(
    url: str, timeout: float, retries: int, backoff: float, sleep: Callable[[float], None]
) -> str:
    attempt = 0
    while True:
        attempt += 1
        delay = backoff * 2 ** (attempt - 1)
        try:
            request = urllib.request.Request(url, headers={"Accept": "application/json"})
            with urllib.request.urlopen(request, timeout=timeout) as response:
                limit = max_input_bytes()
                body: bytes = response.read(limit + 1)
            if len(body) > limit:
                raise RetailImportError(
                    f"{url}: response over the limit of {limit:,} bytes "
                    "(set $AZCOST_MAX_INPUT_BYTES to raise it)"
                )
            try:
                return decode_text(body, url)
            except InputFileError as exc:
                raise RetailImportError(str(exc)) from None
        except urllib.error.HTTPError as exc:
            if (exc.code != 429 and exc.code < 500) or attempt > retries:
                raise RetailImportError(f"{url}: HTTP {exc.code} {exc.reason}") from None
            after = exc.headers.get("Retry-After") if exc.headers else None
            if after and after.strip().isdigit():
                delay = min(float(after), 60.0)
        except (urllib.error.URLError, TimeoutError, ConnectionError) as exc:
            if attempt > retries:
                raise RetailImportError(
                    f"{url}: request failed after {attempt} tries: {exc}"
                ) from None
        sleep(delay)
