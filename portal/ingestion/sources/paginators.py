"""The six ways a source's API pages its records, after dlt's REST API source: each paginator gives
the first request and, from each answer, the next one or None at the end. Page-number and offset
paging end on an empty page (an API may cap the page size below what we ask, so a short page proves
nothing), or on a page past the end that the API answers 404 or 400; link and cursor paging end when
the answer names no next page. A next address is resolved against the address of the page that gave
it (RFC 8288 §3.2, RFC 3986 §5) and followed only on the source's own scheme, host and port."""

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


def resource_url(base_url, path):
    """The resource's address: `path` under `base_url`, whose own path is kept (https://h/api and
    /v1/risks give https://h/api/v1/risks, as dlt joins them); an absolute `path` stands alone."""
    if urlsplit(path).scheme:
        return path
    return f"{base_url.rstrip('/')}/{path.lstrip('/')}"


def _origin(url):
    """(scheme, host, port) with RFC 3986 §6.2 normalisation: case-insensitive host, default ports."""
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    return scheme, (parts.hostname or "").lower(), parts.port or {"http": 80, "https": 443}.get(scheme)


OWS = " \t"


def link_header_links(value):
    """[(target, relation types)] of a Link field value, parsed as RFC 8288 Appendix B does: parameters
    in any case, quoted strings with commas, semicolons and escapes, the first `rel` only, its types
    split on whitespace and lowercased. What cannot be parsed ends the list."""
    links, index, size = [], 0, len(value)
    while index < size:
        while index < size and value[index] in OWS + ",":
            index += 1
        if index >= size or value[index] != "<":
            break
        end = value.find(">", index + 1)
        if end < 0:
            break
        target, index = value[index + 1 : end].strip(), end + 1
        parameters = {}
        while True:
            while index < size and value[index] in OWS:
                index += 1
            if index >= size or value[index] != ";":
                break
            name, parameter, index = _link_parameter(value, index + 1)
            if name:
                parameters.setdefault(name, parameter)
        links.append((target, parameters.get("rel", "").lower().split()))
    return links


def _link_parameter(value, index):
    """(name, value, index after it) of one `; name=value` parameter, from just after its `;`."""
    size = len(value)
    while index < size and value[index] in OWS:
        index += 1
    start = index
    while index < size and value[index] not in "=;," + OWS:
        index += 1
    name = value[start:index].lower()
    while index < size and value[index] in OWS:
        index += 1
    if index >= size or value[index] != "=":
        return name, "", index
    index += 1
    while index < size and value[index] in OWS:
        index += 1
    if index < size and value[index] == '"':
        characters, index = [], index + 1
        while index < size and value[index] != '"':
            if value[index] == "\\" and index + 1 < size:
                index += 1
            characters.append(value[index])
            index += 1
        return name, "".join(characters), index + 1
    start = index
    while index < size and value[index] not in ";,":
        index += 1
    return name, value[start:index].strip(), index


class Paginator:
    # Whether a page past the end may be answered 404 or 400 rather than as an empty page.
    counts_pages = False

    def __init__(self, config, base_url, path, params):
        self.config, self.base_url = config, base_url
        self.url = resource_url(base_url, path)
        self.params = dict(params)

    def first(self):
        return self.url, self.params

    def next(self, response, body, records):  # pragma: no cover - each paginator says
        raise NotImplementedError

    def _same_host(self, url, response):
        """`url` resolved against the page it came with; a next address elsewhere would receive our
        token: refused."""
        try:
            url = urljoin(response.url or self.url, url)
            elsewhere = _origin(url) != _origin(self.base_url)
        except ValueError:  # a port out of range or not a number
            raise PagingError(
                _("The API sent a next page address that is not a valid URL; it was not followed.")
            ) from None
        if elsewhere:
            raise PagingError(
                _("The API sent a next page on another host (%(host)s); it was not followed.")
                % {"host": urlsplit(url).netloc.rpartition("@")[2]}
            )
        return url


class SinglePage(Paginator):
    def next(self, response, body, records):
        return None


class PageNumber(Paginator):
    counts_pages = True

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
    counts_pages = True

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
        for target, relations in link_header_links(response.headers.get("Link", "")):
            if "next" in relations and target:
                return self._same_host(target, response), {}
        return None


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
        return (self._same_host(str(url), response), {}) if url else None


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
