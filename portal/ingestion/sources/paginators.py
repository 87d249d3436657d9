"""The six ways a source's API pages its records, after dlt's REST API source: each paginator gives
the first request and, from each answer, the next one or None at the end. Page-number and offset
paging end on an empty page (an API may cap the page size below what we ask, so a short page proves
nothing); link and cursor paging end when the answer names no next page."""

from urllib.parse import urljoin, urlsplit

from django.utils.translation import gettext as _


class PagingError(Exception):
    pass


def dotted(value, path):
    """`value` at dotted `path` ("meta.next_cursor"); None where the path leads nowhere."""
    for part in path.split(".") if path else ():
        if not isinstance(value, dict):
            return None
        value = value.get(part)
    return value


class Paginator:
    def __init__(self, config, base_url, path, params):
        self.config, self.base_url = config, base_url
        self.url = urljoin(base_url, path)
        self.params = dict(params)

    def first(self):
        return self.url, self.params

    def next(self, response, body, records):  # pragma: no cover - each paginator says
        raise NotImplementedError

    def _same_host(self, url):
        """A next address elsewhere would receive our token: refused."""
        url = urljoin(self.url, url)
        if urlsplit(url).netloc != urlsplit(self.base_url).netloc:
            raise PagingError(
                _("The API sent a next page on another host (%(host)s); it was not followed.")
                % {"host": urlsplit(url).netloc}
            )
        return url


class SinglePage(Paginator):
    def next(self, response, body, records):
        return None


class PageNumber(Paginator):
    def first(self):
        self.page_param = self.config.get("page_param", "page")
        self.page = self.config.get("start", 1)
        return self.url, {**self.params, self.page_param: self.page}

    def next(self, response, body, records):
        if not records:
            return None
        self.page += 1
        return self.url, {**self.params, self.page_param: self.page}


class Offset(Paginator):
    def first(self):
        self.offset_param = self.config.get("offset_param", "offset")
        self.limit_param = self.config.get("limit_param", "limit")
        self.limit = self.config.get("limit", 100)
        self.offset = 0
        return self.url, {**self.params, self.limit_param: self.limit, self.offset_param: 0}

    def next(self, response, body, records):
        if not records:
            return None
        self.offset += len(records)
        return self.url, {**self.params, self.limit_param: self.limit, self.offset_param: self.offset}


class LinkHeader(Paginator):
    """RFC 8288 `Link: <https://...>; rel="next"`; the address carries every parameter."""

    def next(self, response, body, records):
        link = response.links.get("next")
        return (self._same_host(link["url"]), {}) if link and link.get("url") else None


class JsonCursor(Paginator):
    def first(self):
        self.cursor_param = self.config.get("cursor_param", "cursor")
        return self.url, self.params

    def next(self, response, body, records):
        cursor = dotted(body, self.config["cursor_path"])
        if cursor in (None, ""):
            return None
        return self.url, {**self.params, self.cursor_param: cursor}


class NextUrl(Paginator):
    def next(self, response, body, records):
        url = dotted(body, self.config["next_path"])
        return (self._same_host(str(url)), {}) if url else None


PAGINATORS = {
    "page_number": PageNumber,
    "offset": Offset,
    "link_header": LinkHeader,
    "json_cursor": JsonCursor,
    "next_url": NextUrl,
    "single_page": SinglePage,
}


def paginator_for(spec, params):
    resource = spec["resource"]
    config = resource["paginator"]
    return PAGINATORS[config["type"]](config, spec["base_url"], resource["path"], params)
