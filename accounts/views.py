from django.contrib import messages
from django.contrib.auth import logout
from django.contrib.auth.decorators import login_required
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.http import require_http_methods, require_POST

from accounts.deletion import account_delete
from accounts.forms import AccountDeleteForm, ApiTokenForm, ProfileForm
from accounts.models import ApiToken
from accounts.tokens import api_token_create, api_token_revoke
from commonplace.confirm import confirmation_page, is_confirmed
from commonplace.deletion import Blocker, DeletionBlocked, deletion_summary


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


@login_required
@require_http_methods(["GET", "POST"])
def delete(request):
    """Delete your own account: GET says what goes and what stays, POST with the password
    does it and signs you out."""
    user = request.user
    form = AccountDeleteForm(request.POST or None, user=user)
    summary = deletion_summary("account", user)
    if not user.has_usable_password():
        summary.blockers.append(
            Blocker(
                "Deleting your account asks for your password: set one first.",
                url=reverse("account_set_password"),
                link_text="Set a password",
            )
        )
    if request.method == "POST" and not summary.blockers and form.is_valid():
        try:
            account_delete(user=user)
        except DeletionBlocked as blocked:  # someone stepped down meanwhile
            summary.blockers = blocked.blockers
        else:
            logout(request)
            messages.success(request, "Your account is deleted. Thank you for reading with us.")
            return redirect("home")
    context = {
        "form": form,
        "summary": summary,
        "cancel_url": reverse("accounts:profile"),
    }
    status = 400 if request.method == "POST" else 200
    response = render(request, "accounts/delete.html", context, status=status)
    response["Cache-Control"] = "no-store"
    return response
