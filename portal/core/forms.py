def add_service_errors(form, error):
    """Show a service's ValidationError on `form`: each message on its field, or at the top when
    the field is not on this form (or the error names none)."""
    if hasattr(error, "error_dict"):
        for field, errors in error.error_dict.items():
            form.add_error(field if field in form.fields else None, errors)
    else:
        form.add_error(None, error)
