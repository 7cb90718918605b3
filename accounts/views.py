from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.http import require_http_methods, require_POST

from accounts.forms import ApiTokenForm, ProfileForm
from accounts.models import ApiToken
from accounts.tokens import api_token_create, api_token_revoke
from commonplace.confirm import confirmation_page, is_confirmed


@login_required
@require_http_methods(["GET", "POST"])
def profile(request):
    form = ProfileForm(request.POST or None, instance=request.user)
    if request.method == "POST" and form.is_valid():
        form.save()
        messages.success(request, "Your profile is saved.")
        return redirect("accounts:profile")
    return render(request, "accounts/profile.html", {"form": form})


@login_required
@require_http_methods(["GET", "POST"])
def tokens(request):
    """Personal API tokens: create one (shown once), see and revoke the others."""
    form = ApiTokenForm(request.POST or None)
    new_token = None
    if request.method == "POST" and form.is_valid():
        _, new_token = api_token_create(user=request.user, name=form.cleaned_data["name"])
        form = ApiTokenForm()
    context = {
        "form": form,
        "new_token": new_token,
        "tokens": ApiToken.objects.filter(user=request.user, revoked_at__isnull=True),
    }
    response = render(request, "accounts/tokens.html", context)
    response["Cache-Control"] = "no-store"
    return response


@login_required
@require_POST
def token_revoke(request, token_id):
    token = get_object_or_404(ApiToken, pk=token_id, user=request.user)
    if not is_confirmed(request):
        return confirmation_page(
            request,
            title=f"Revoke the token “{token.name}”?",
            consequence=(
                "Every program that uses it stops working at once. This cannot be undone; "
                "you can make a new token."
            ),
            action="Revoke",
            cancel_url=reverse("accounts:tokens"),
        )
    api_token_revoke(token=token)
    messages.success(request, f"The token “{token.name}” no longer works.")
    return redirect("accounts:tokens")
