from django.core.exceptions import ValidationError


class Conflict(ValidationError):
    """Refused because the record is no longer in a state that allows the action: someone changed it
    meanwhile. Views answer 409 with the fresh state (HTMX) rather than a form error."""
