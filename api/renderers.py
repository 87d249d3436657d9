"""For endpoints that answer a file (a PDF, a photo): the app may ask for it by its type (Accept:
application/pdf, image/*) without a 406, and their refusals are still `{"detail": ...}` in JSON."""

import json

from rest_framework.renderers import BaseRenderer
from rest_framework.utils.encoders import JSONEncoder


class FileRenderer(BaseRenderer):
    media_type = "*/*"
    format = "file"
    charset = None

    def render(self, data, accepted_media_type=None, renderer_context=None):
        # A successful file answer is a Django response and never reaches a renderer: only refusals do.
        response = (renderer_context or {}).get("response")
        if response is not None:
            response["Content-Type"] = "application/json"
        return json.dumps(data, cls=JSONEncoder).encode()
