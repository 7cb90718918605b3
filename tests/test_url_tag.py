"""{% url %} answers from a memo of reverse() (commonplace/urltags.py): the same addresses
Django's tag gives, for any URLconf and script prefix, and the same errors."""

import pytest
from django.template import Context, Engine, Template, TemplateSyntaxError
from django.test import override_settings
from django.urls import NoReverseMatch, reverse, set_script_prefix

from commonplace.urltags import KeptURLNode, reverse_kept


def render(source: str, **context) -> str:
    return Template(source).render(Context(context))


def test_the_tag_is_the_kept_one_and_answers_as_django_does():
    template = Template("{% url 'annotations:reading' group reading %}")
    assert isinstance(template.nodelist[0], KeptURLNode)
    for group, reading in [("a", "b"), ("tuesday", "what-is-socialism-from-below"), ("a", "b")]:
        assert render("{% url 'annotations:reading' g r %}", g=group, r=reading) == reverse(
            "annotations:reading", args=[group, reading]
        )
    assert render("{% url 'groups:detail' group_slug=s %}", s="x") == reverse(
        "groups:detail", kwargs={"group_slug": "x"}
    )
    assert render("{% url 'groups:detail' 'x' as there %}[{{ there }}]") == (
        f"[{reverse('groups:detail', args=['x'])}]"
    )


def test_addresses_are_escaped_and_errors_are_djangos():
    assert "&lt;" not in render("{% url 'groups:detail' s %}", s="a")
    with pytest.raises(NoReverseMatch):
        render("{% url 'groups:detail' s %}", s="not a slug!")
    assert render("{% url 'no:such' as x %}[{{ x }}]") == "[]"
    with pytest.raises(TemplateSyntaxError):
        Engine.get_default().from_string("{% url %}")


def test_the_script_prefix_and_the_urlconf_are_part_of_the_key():
    plain = reverse_kept("groups:detail", args=["x"])
    try:
        set_script_prefix("/under/")
        assert reverse_kept("groups:detail", args=["x"]) == "/under" + plain
    finally:
        set_script_prefix("/")
    assert reverse_kept("groups:detail", args=["x"]) == plain
    with override_settings(ROOT_URLCONF="tests.urls_elsewhere"), pytest.raises(NoReverseMatch):
        reverse_kept("groups:detail", args=["x"])


def test_an_argument_that_cannot_be_a_key_is_reversed_all_the_same():
    class Slug(str):
        __hash__ = None

    assert reverse_kept("groups:detail", args=[Slug("x")]) == reverse("groups:detail", args=["x"])
