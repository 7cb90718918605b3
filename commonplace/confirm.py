"""One confirmation step for destructive actions, with and without JavaScript.

A destructive form posts `confirmed=1` only once the person has confirmed: the page's script
asks in a dialog and adds it (static/js/confirm.js); without the script, the first post
answers with a page that says what will happen and posts again with `confirmed=1`.
"""

from django.shortcuts import render

CONFIRMED = "confirmed"


def is_confirmed(request) -> bool:
    return request.POST.get(CONFIRMED) == "1"


def confirmation_page(request, *, title: str, consequence: str, action: str, cancel_url: str):
    """The no-JavaScript confirmation: what will happen, a button to go on, a way back."""
    fields = [
        (name, value)
        for name in request.POST
        if name not in {"csrfmiddlewaretoken", CONFIRMED}
        for value in request.POST.getlist(name)
    ]
    context = {
        "title": title,
        "consequence": consequence,
        "action": action,
        "cancel_url": cancel_url,
        "form_action": request.get_full_path(),
        "fields": fields,
    }
    return render(request, "confirm.html", context)
