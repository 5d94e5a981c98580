"""The public open-data page: every monthly release of counted votes, and its download."""

from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, render
from django.views.decorators.http import require_safe

from ratings.models import OpenDataRelease
from ratings.open_data import Month, releases_public


@require_safe
def open_data(request: HttpRequest) -> HttpResponse:
    """The releases, newest first (one query), with what each holds and what was left out."""
    return render(request, "ratings/open_data.html", {"releases": releases_public()})


@require_safe
def open_data_download(request: HttpRequest, month: str) -> FileResponse:
    """A release's zip, served by the app (the files live under MEDIA_ROOT, which no web server serves)."""
    try:
        first = Month.parse(month).first
    except ValueError as error:
        raise Http404 from error
    release = get_object_or_404(OpenDataRelease, month=first)
    try:
        handle = release.file.open("rb")
    except FileNotFoundError as error:
        raise Http404 from error
    return FileResponse(handle, as_attachment=True, filename=f"little-red-heart-{first:%Y-%m}.zip")
