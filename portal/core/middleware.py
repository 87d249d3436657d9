from .client_address import client_address
from .request_context import reset_ip_address, set_ip_address


class RequestContextMiddleware:
    """Make the client's IP address available to audit events written during this request."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        token = set_ip_address(client_address(request))
        try:
            return self.get_response(request)
        finally:
            reset_ip_address(token)
