from django import forms


def date_input():
    """A browser date picker; its value is always ISO, whatever the user's language."""
    return forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")


def add_service_errors(form, error):
    """Show a service's ValidationError on `form`: each message on its field, or at the top when
    the field is not on this form (or the error names none)."""
    if hasattr(error, "error_dict"):
        for field, errors in error.error_dict.items():
            form.add_error(field if field in form.fields else None, errors)
    else:
        form.add_error(None, error)
