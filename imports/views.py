"""A facilitator imports annotations into a group reading: upload a file, see what it holds
and where its quotes land (the preview), then confirm. Only the confirmation writes, in one
transaction.

Both views ask groups.access first: a non-member gets 404, a member 403 (the table's
import_annotations line), an archived group 403.
"""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.shortcuts import redirect, render
from django.template.defaultfilters import filesizeformat, pluralize
from django.views.decorators.http import require_http_methods, require_POST

from annotations.w3c import container_path
from commonplace.ratelimits import rate_limit
from groups.access import GroupAction, group_reading_for_facilitator
from imports.formats import MAX_ANNOTATIONS, ImportFileError
from imports.forms import ImportConfirmForm, ImportUploadForm
from imports.previews import preview_forget, preview_keep, preview_take
from imports.reader import read_annotations
from imports.services import ImportFailed, ImportResult, annotations_import, import_plan


def _group_reading(request, group_slug, reading_slug):
    return group_reading_for_facilitator(
        request, group_slug, reading_slug, GroupAction.IMPORT_ANNOTATIONS
    )


def _start_page(request, group, membership, group_reading, form, status=200, problem=""):
    context = {
        "group": group,
        "membership": membership,
        "reading": group_reading.reading,
        "form": form,
        "problem": problem,
        "max_annotations": f"{MAX_ANNOTATIONS:,}",
    }
    return render(request, "imports/start.html", context, status=status)


def _plan(request, membership, group_reading, data: bytes):
    reading = group_reading.reading
    text = reading.canonical_text()
    here = request.build_absolute_uri(container_path(membership.group.slug, reading.slug))
    parsed = read_annotations(data)
    plan = import_plan(membership=membership, reading=reading, parsed=parsed, text=text, here=here)
    return plan, text


@login_required
@require_http_methods(["GET", "HEAD", "POST"])
@rate_limit("import", methods={"POST"})
def start(request, group_slug, reading_slug):
    """The upload form; a file posted to it is read and previewed (nothing is written)."""
    group, membership, group_reading = _group_reading(request, group_slug, reading_slug)
    if request.method != "POST":
        return _start_page(request, group, membership, group_reading, ImportUploadForm())
    form = ImportUploadForm(request.POST, request.FILES)
    if form.is_valid():
        data = form.file_bytes()
        try:
            plan, _ = _plan(request, membership, group_reading, data)
        except ImportFileError as error:
            form.add_error("file", str(error))
        else:
            preview = preview_keep(
                user_id=request.user.pk,
                group_reading_id=group_reading.pk,
                data=data,
                name=form.cleaned_data["file"].name[:200],
            )
            context = {
                "group": group,
                "membership": membership,
                "reading": group_reading.reading,
                "plan": plan,
                "preview": preview,
                "size": filesizeformat(len(data)),
                "confirm_form": ImportConfirmForm(initial={"preview": preview.token}),
            }
            return render(request, "imports/preview.html", context)
    return _start_page(request, group, membership, group_reading, form, status=400)


@login_required
@require_POST
@rate_limit("import")
def confirm(request, group_slug, reading_slug):
    """Import what the preview showed, all or nothing, then go to the reading."""
    group, membership, group_reading = _group_reading(request, group_slug, reading_slug)
    form = ImportUploadForm()
    confirm_form = ImportConfirmForm(request.POST)
    preview = None
    if confirm_form.is_valid():
        preview = preview_take(
            user_id=request.user.pk,
            group_reading_id=group_reading.pk,
            token=confirm_form.cleaned_data["preview"],
        )
    if preview is None:
        problem = (
            "That preview has expired, or its annotations were imported already: upload the "
            "file again to see what it holds now."
        )
        return _start_page(request, group, membership, group_reading, form, 400, problem)
    try:
        plan, text = _plan(request, membership, group_reading, preview.data)
        result = annotations_import(
            membership=membership,
            reading=group_reading.reading,
            importer=request.user,
            plan=plan,
            text=text,
        )
    except (ImportFileError, ImportFailed) as error:
        preview_forget(preview.token)
        return _start_page(request, group, membership, group_reading, form, 400, str(error))
    preview_forget(preview.token)
    messages.success(request, _summary(result, preview.name))
    return redirect(group_reading)


def _summary(result: ImportResult, name: str) -> str:
    n = result.imported
    parts = [f"Imported {n} annotation{pluralize(n)} from “{name}”"]
    details = []
    if result.fuzzy:
        details.append(f"{result.fuzzy} placed approximately")
    if result.page_notes:
        details.append(f"{result.page_notes} about the whole reading")
    if result.replies:
        details.append(f"{result.replies} repl{pluralize(result.replies, 'y,ies')}")
    text = parts[0] + (f" ({', '.join(details)})." if details else ".")
    left = []
    if result.already:
        left.append(f"{result.already} already imported")
    if result.unmatched:
        left.append(f"{result.unmatched} not found in the text")
    if result.skipped:
        left.append(f"{result.skipped} left out")
    if left:
        text += " " + "; ".join(left) + "."
    return text
