# ruff: noqa: E501 - each message is written exactly as the package wrote it, on one line
"""Django's and django-allauth's own messages whose Chinese translations end sentences in half-width
punctuation ("请登录." beside our "请登录。"), or that Django's Chinese catalogue lacks (the admin index's
column headers for screen readers). Naming them here puts them in our catalogue (``makemessages``
collects them) where they carry full-width punctuation; ``LOCALE_PATHS`` is searched before the
packages' own catalogues, so ours are the ones shown. ``tests/test_translations.py`` lists any message a
shopper, a manager or staff could see with half-width punctuation.

Nothing reads these values: they exist to be extracted.
"""

from django.utils.translation import gettext_noop, ngettext_lazy

MESSAGES = (
    gettext_noop("Model name"),
    gettext_noop("Add link"),
    gettext_noop("Change or view list link"),
    gettext_noop("Enter your password:"),
    gettext_noop(
        "If you do not recognize this change then please take proper security precautions immediately. The change to your account originates from:\n\n- IP address: %(ip)s\n- Browser: %(user_agent)s\n- Date: %(timestamp)s"
    ),
    ngettext_lazy(
        "Ensure that there are no more than %(max)s digit in total.",
        "Ensure that there are no more than %(max)s digits in total.",
        "max",
    ),
    ngettext_lazy(
        "Ensure that there are no more than %(max)s decimal place.",
        "Ensure that there are no more than %(max)s decimal places.",
        "max",
    ),
    gettext_noop("Please correct the duplicate data for %(field)s, which must be unique."),
    gettext_noop(
        "Please correct the duplicate data for %(field_name)s which must be unique for the %(lookup)s in %(date_field)s."
    ),
    gettext_noop("Please correct the duplicate values below."),
    gettext_noop("CSRF verification failed. Request aborted."),
    gettext_noop("Set password: %s"),
    gettext_noop(
        "Please enter the correct %(username)s and password for a staff account. Note that both fields may be case-sensitive."
    ),
    gettext_noop("You may edit it again below."),
    gettext_noop(
        "Deleting %(class_name)s %(instance)s would require deleting the following protected related objects: %(related_objects)s"
    ),
    gettext_noop("Sorting priority: %(priority_number)s"),
    gettext_noop(
        "Deleting the %(object_name)s '%(escaped_object)s' would require deleting the following protected related objects:"
    ),
    gettext_noop(
        "Deleting the selected %(objects_name)s would result in deleting related objects, but your account doesn't have permission to delete the following types of objects:"
    ),
    gettext_noop(
        "Deleting the selected %(objects_name)s would require deleting the following protected related objects:"
    ),
    gettext_noop("Start typing to filter…"),
    gettext_noop("Popup closing…"),
)
