"""The OpenAPI 3.1 description of the JSON API (commonplace/openapi.yaml), kept true.

- It is a valid OpenAPI 3.1 document (openapi-spec-validator), and schemathesis loads it.
- It describes every JSON URL of the URLconf, and every path it describes resolves to the
  view that answers it (the walk reads Django's resolver, so a new JSON URL cannot be
  forgotten).
- Real answers, from the test client, to every operation it describes fit it: each status
  documented for the operation, the documented media type, the body valid against the
  schema, the required headers present; and every response it documents is produced by one
  of those requests, or named below with the test that produces it.
- schemathesis fuzzes a live server with it (`test_schemathesis_against_a_live_server`,
  marked `fuzz`): no 5xx, and no answer that breaks the description.
"""

import json
import os
import re
import secrets
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import yaml
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver, resolve
from jsonschema import Draft202012Validator
from referencing import Registry
from referencing.jsonschema import DRAFT202012

from accounts.tokens import api_token_create
from annotations import services
from annotations.models import Annotation
from commonplace.openapi import CONTENT_TYPE, DOCUMENT
from tests.conftest import ARTIFACTS

SPEC = yaml.safe_load(DOCUMENT.read_text())
BASE = "urn:commonplace:openapi"
REGISTRY = Registry().with_resource(BASE, DRAFT202012.create_resource(SPEC))
METHODS = ("get", "head", "options", "post", "put", "patch", "delete")
QUOTE = "The premise of socialism is simple: full democracy."
ANNO = "application/ld+json"

# Views that answer JSON though neither their address nor their own code says so: meeting
# mode's form posts answer JSON to a script that asks for it (meetings.live._answer).
JSON_THROUGH_A_HELPER = {"live:start", "live:end", "live:spotlight"}
# What the view code of a JSON endpoint says (its own source, decorators unwrapped).
JSON_IN_SOURCE = re.compile(
    r"@api_view|JsonResponse|application/(ld\+)?json|w3c\.CONTENT_TYPE|_revalidated"
)
# Responses the description documents that the requests below cannot make; each is produced
# by the test named.
PRODUCED_ELSEWHERE = {
    "409": "a flagged note's author changing or deleting it (tests/test_moderation_rules.py)",
    "413": "a body over the size limit (the input limits' tests)",
    "429": "over a rate limit, which the tests turn off (the rate limits' tests)",
    "503": "the database unreachable (tests/test_settings_and_health.py, the fault test)",
}


# --- the document --------------------------------------------------------------------------


def test_the_description_is_valid_openapi_3_1():
    from openapi_spec_validator import validate

    assert SPEC["openapi"].startswith("3.1.")
    validate(SPEC)  # raises with the first error


def test_schemathesis_reads_every_operation():
    import schemathesis

    schema = schemathesis.openapi.from_path(str(DOCUMENT))
    operations = [result.ok() for result in schema.get_all_operations()]
    described = {(path, method) for path, item in SPEC["paths"].items() for method in item}
    assert {(op.path, op.method.lower()) for op in operations} == described - {
        (path, "parameters") for path in SPEC["paths"]
    }


@pytest.mark.django_db
def test_it_is_served_at_api_openapi_yaml(client):
    response = client.get("/api/openapi.yaml")
    assert response.status_code == 200
    assert response["Content-Type"] == CONTENT_TYPE
    assert response.content == DOCUMENT.read_bytes()
    assert "public" in response["Cache-Control"]
    assert client.post("/api/openapi.yaml").status_code == 405


# --- the URLconf ---------------------------------------------------------------------------


def walk(patterns, prefix="", namespace=""):
    """(route, name, view) for every URL pattern, routes joined as Django joins them."""
    for pattern in patterns:
        route = prefix + str(pattern.pattern)
        if isinstance(pattern, URLResolver):
            inner = f"{namespace}{pattern.namespace}:" if pattern.namespace else namespace
            yield from walk(pattern.url_patterns, route, inner)
        elif isinstance(pattern, URLPattern):
            name = f"{namespace}{pattern.name}" if pattern.name else ""
            yield route, name, pattern.callback


def answers_json(route: str, name: str, view) -> bool:
    import inspect

    if route.endswith((".json", ".jsonld", "openapi.yaml")) or name in JSON_THROUGH_A_HELPER:
        return True
    try:
        source = inspect.getsource(inspect.unwrap(view))
    except (OSError, TypeError):  # a view class or a built-in: not ours
        return False
    return bool(JSON_IN_SOURCE.search(source))


def to_template(route: str) -> str:
    """Django's route as an OpenAPI path: `<slug:group_slug>` becomes `{group_slug}`."""
    return "/" + re.sub(r"<(?:\w+:)?(\w+)>", r"{\1}", route)


def own_patterns():
    for route, name, view in walk(get_resolver().url_patterns):
        module = getattr(view, "__module__", "") or ""
        if module.startswith(("django.", "allauth.")) or route.startswith("admin/"):
            continue
        yield route, name, view


def test_every_json_url_is_described():
    json_urls = {
        to_template(route): name
        for route, name, view in own_patterns()
        if answers_json(route, name, view)
    }
    assert len(json_urls) >= 15, json_urls  # the walk found the API, not nothing
    missing = sorted(set(json_urls) - set(SPEC["paths"]))
    assert not missing, f"JSON URLs not in commonplace/openapi.yaml: {missing}"


def test_every_described_path_is_a_url_of_the_site():
    routes = {to_template(route): name for route, name, _ in own_patterns()}
    for template in SPEC["paths"]:
        assert template in routes, f"{template} is described but no URL pattern answers it"
        example = re.sub(r"\{(\w+)\}", lambda m: "1" if m[1].endswith("_id") else "x", template)
        assert resolve(example).view_name == routes[template]


def test_every_operation_says_who_may_call_it_and_what_it_answers():
    for template, item in SPEC["paths"].items():
        for method in METHODS:
            if method not in item:
                continue
            operation = item[method]
            assert "security" in operation, f"{method.upper()} {template}: say who may call it"
            assert operation.get("operationId"), f"{method.upper()} {template}: name it"
            assert any(code.startswith("2") for code in operation["responses"])


# --- real answers fit the description ------------------------------------------------------


def pointer(*parts) -> str:
    return "#/" + "/".join(str(p).replace("~", "~0").replace("/", "~1") for p in parts)


def deref(node: dict) -> dict:
    """An OpenAPI object with its `$ref` (to somewhere in this document) followed."""
    while "$ref" in node:
        node = REGISTRY.resolver(base_uri=BASE).lookup(node["$ref"]).contents
    return node


def schema_errors(instance, location: str) -> list[str]:
    validator = Draft202012Validator({"$ref": BASE + location}, registry=REGISTRY)
    return [
        f"{'/'.join(map(str, e.absolute_path)) or '(root)'}: {e.message}"
        for e in validator.iter_errors(instance)
    ]


def conformance_errors(template: str, method: str, response) -> list[str]:
    """Where a real response departs from what the description documents for it."""
    method = method.lower()
    label = f"{method.upper()} {template} → {response.status_code}"
    responses = SPEC["paths"][template][method]["responses"]
    status = str(response.status_code)
    if status not in responses:
        return [f"{label}: status not documented (documented: {sorted(responses)})"]
    where = responses[status].get("$ref") or pointer("paths", template, method, "responses", status)
    documented = deref(responses[status])
    errors = []
    for name, header in documented.get("headers", {}).items():
        header = deref(header)
        if name not in response.headers:
            if header.get("required"):
                errors.append(f"{label}: required header {name} missing")
            continue
        for error in Draft202012Validator(header.get("schema", {})).iter_errors(
            response.headers[name]
        ):
            errors.append(f"{label}: header {name}: {error.message}")
    content = documented.get("content")
    body = response.content
    if method == "head" or status in {"204", "304"} or not content:
        if body:
            errors.append(f"{label}: a body where none is documented")
        return errors
    media = response["Content-Type"].split(";")[0].strip()
    if media not in content:
        return [*errors, f"{label}: {media} is not documented (documented: {list(content)})"]
    if media.endswith("json"):
        location = where + "/" + pointer("content", media, "schema").removeprefix("#/")
        errors += [f"{label}: {error}" for error in schema_errors(json.loads(body), location)]
    return errors


@dataclass
class Checked:
    """The (path, method, status) triples real requests have produced, and what broke."""

    seen: set = field(default_factory=set)
    errors: list = field(default_factory=list)

    def __call__(self, template: str, method: str, response, expected: int):
        assert response.status_code == expected, (
            f"{method} {template}: expected {expected}, got {response.status_code}: "
            f"{response.content[:300]!r}"
        )
        self.seen.add((template, method.lower(), str(response.status_code)))
        self.errors += conformance_errors(template, method, response)
        return response


@pytest.fixture
def world(group, facilitator, member, outsider, essay):
    """The circle's reading with a comment, a question, a reply, a private note and a
    highlight, and the facilitator's API token."""

    def write(author, motivation, body="", quote=QUOTE, **extra):
        text = essay.canonical_text()
        start = text.index(quote)
        return services.annotation_create(
            group=group,
            reading=essay,
            author=author,
            motivation=motivation,
            body=body,
            start=start,
            end=start + len(quote),
            **extra,
        )

    comment = write(facilitator, "commenting", "Is *full democracy* majority rule?", tags=["x"])
    question = write(member, "questioning", "What does 'from below' mean?")
    reply = services.annotation_create(
        group=group,
        reading=essay,
        author=member,
        motivation="replying",
        body="Not only.",
        parent=comment,
    )
    private = write(member, "commenting", "Mine alone.", visibility="private")
    highlight = write(member, "highlighting")
    _, token = api_token_create(user=facilitator, name="script")
    return {
        "group": group.slug,
        "reading": essay.slug,
        "comment": comment,
        "question": question,
        "reply": reply,
        "private": private,
        "highlight": highlight,
        "token": token,
    }


def signed_in(user, **kwargs) -> Client:
    client = Client(**kwargs)
    client.force_login(user)
    return client


def new_comment(essay_slug: str, body: str = "A *new* note.") -> str:
    return json.dumps(
        {
            "@context": "http://www.w3.org/ns/anno.jsonld",
            "type": "Annotation",
            "motivation": "commenting",
            "body": [
                {"type": "TextualBody", "value": body, "format": "text/markdown"},
                {"type": "TextualBody", "value": "democracy", "purpose": "tagging"},
            ],
            "target": {
                "source": f"/readings/{essay_slug}.txt",
                "selector": [{"type": "TextQuoteSelector", "exact": QUOTE}],
            },
        }
    )


def test_real_answers_fit_the_description(world, facilitator, member, outsider):
    check = Checked()
    g, r = world["group"], world["reading"]
    base = f"/groups/{g}/readings/{r}/"
    container = "/groups/{group_slug}/readings/{reading_slug}/annotations/"
    item = container + "{annotation_id}"
    maria, fran, olga = signed_in(member), signed_in(facilitator), signed_in(outsider)
    anonymous = Client()
    bearer = {"Authorization": f"Bearer {world['token']}"}

    # The container and its pages.
    url = base + "annotations/"
    first = check(container, "GET", maria.get(url), 200)
    etag = first["ETag"]
    check(container, "GET", maria.get(url, headers={"If-None-Match": etag}), 304)
    check(container, "GET", maria.get(url + "?page=0"), 200)
    check(container, "GET", maria.get(url + "?page=last&iris=1"), 200)
    check(container, "GET", maria.get(url + "?after=0"), 200)
    check(container, "GET", maria.get(url + f"?before={world['highlight'].pk}"), 200)
    minimal = 'return=representation;include="http://www.w3.org/ns/ldp#PreferMinimalContainer"'
    check(container, "GET", maria.get(url, headers={"Prefer": minimal}), 200)
    check(container, "GET", maria.get(url + "?page=3"), 404)
    check(container, "GET", maria.get(url + "?page=first"), 400)
    check(container, "GET", anonymous.get(url), 401)
    check(container, "GET", olga.get(url), 404)
    check(container, "GET", maria.get(f"/groups/{g}/readings/no,slug/annotations/"), 404)
    check(container, "GET", Client().get(url, headers={"Authorization": "Bearer nope"}), 401)
    check(container, "HEAD", maria.head(url), 200)
    check(container, "HEAD", maria.head(url, headers={"If-None-Match": etag}), 304)
    check(container, "HEAD", maria.head(url + "?page=x"), 400)
    check(container, "HEAD", anonymous.head(url), 401)
    check(container, "HEAD", olga.head(url), 404)
    check(container, "OPTIONS", maria.options(url), 200)
    check(container, "OPTIONS", maria.options(url + "?after=x"), 400)
    check(container, "OPTIONS", anonymous.options(url), 401)
    check(container, "OPTIONS", olga.options(url), 404)

    # Writing one.
    created = check(
        container, "POST", Client().post(url, new_comment(r), ANNO, headers=bearer), 201
    )
    check(container, "POST", maria.post(url, new_comment(r), "application/json"), 201)
    check(container, "POST", maria.post(url, "{not json", ANNO), 400)
    check(container, "POST", maria.post(url, new_comment(r), "text/plain"), 415)
    check(container, "POST", anonymous.post(url, new_comment(r), ANNO), 401)
    strict = signed_in(member, enforce_csrf_checks=True)
    check(container, "POST", strict.post(url, new_comment(r), ANNO), 403)
    check(container, "POST", olga.post(url, new_comment(r), ANNO), 404)

    # One annotation.
    mine = urlsplit(created["Location"]).path
    theirs = base + f"annotations/{world['question'].pk}"
    one = check(item, "GET", fran.get(mine), 200)
    check(item, "GET", fran.get(mine, headers={"If-None-Match": one["ETag"]}), 304)
    check(item, "GET", fran.get(base + f"annotations/{world['private'].pk}"), 404)
    check(item, "GET", anonymous.get(mine), 401)
    check(item, "GET", fran.get(base + "annotations/-1"), 404)  # no URL: the site's page
    check(item, "GET", fran.get(base + f"annotations/{world['reply'].pk}"), 200)
    check(item, "HEAD", fran.head(mine), 200)
    check(item, "HEAD", fran.head(mine, headers={"If-None-Match": one["ETag"]}), 304)
    check(item, "HEAD", anonymous.head(mine), 401)
    check(item, "HEAD", olga.head(mine), 404)
    check(item, "OPTIONS", fran.options(mine), 200)
    check(item, "OPTIONS", anonymous.options(mine), 401)
    check(item, "OPTIONS", olga.options(mine), 404)
    change = json.dumps({"type": "Annotation", "bodyValue": "Changed.", "visibility": "group"})
    changed = check(
        item, "PUT", fran.put(mine, change, ANNO, headers={"If-Match": one["ETag"]}), 200
    )
    stale = {"If-Match": one["ETag"]}
    check(item, "PUT", fran.put(mine, change, ANNO, headers=stale), 412)
    check(item, "PUT", fran.put(mine, change, ANNO, headers={"If-Match": "etag"}), 400)
    check(item, "PUT", fran.put(mine, change, "text/plain"), 415)
    check(item, "PUT", maria.put(mine, change, ANNO), 403)
    check(item, "PUT", anonymous.put(mine, change, ANNO), 401)
    check(item, "PUT", olga.put(mine, change, ANNO), 404)
    check(item, "DELETE", fran.delete(mine, headers=stale), 412)
    check(item, "DELETE", fran.delete(mine, headers={"If-Match": "etag"}), 400)
    check(item, "DELETE", fran.delete(theirs), 403)
    check(item, "DELETE", anonymous.delete(mine), 401)
    check(item, "DELETE", fran.delete(mine, headers={"If-Match": changed["ETag"]}), 204)
    check(item, "DELETE", fran.delete(mine), 404)
    # A note with a reply stays as a placeholder, and says so.
    check(item, "DELETE", fran.delete(base + f"annotations/{world['comment'].pk}"), 204)
    check(item, "GET", maria.get(base + f"annotations/{world['comment'].pk}"), 200)
    check(container, "GET", maria.get(url + "?page=0"), 200)

    # The pages' JSON.
    for name, query in (("layer.json", "?show=mine&tag=X&highlights=hide"), ("version", "")):
        template = "/groups/{group_slug}/readings/{reading_slug}/" + name
        got = check(template, "GET", maria.get(base + name + query), 200)
        again = maria.get(base + name + query, headers={"If-None-Match": got["ETag"]})
        check(template, "GET", again, 304)
        check(template, "GET", anonymous.get(base + name), 302)
        check(template, "GET", olga.get(base + name), 404)
    # A NUL in a filter is refused before any view (commonplace/untrusted.py).
    layer_template = "/groups/{group_slug}/readings/{reading_slug}/layer.json"
    check(layer_template, "GET", maria.get(base + "layer.json?tag=%00"), 400)
    template = "/groups/{group_slug}/readings/{reading_slug}/excerpts.json"
    ids = f"{world['comment'].pk},{world['question'].pk},{world['private'].pk}"
    check(template, "GET", maria.get(base + f"excerpts.json?ids={ids}"), 200)
    check(template, "GET", maria.get(base + "excerpts.json?ids=a"), 400)
    # An id no key can hold is none of the reading's (SQLite could not even compare it: a 500).
    got = check(template, "GET", maria.get(base + f"excerpts.json?ids={2**64},{ids}"), 200)
    assert set(got.json()["excerpts"]) == set(ids.split(","))  # her private note included
    check(template, "GET", anonymous.get(base + "excerpts.json?ids=1"), 302)
    check(template, "GET", olga.get(base + "excerpts.json?ids=1"), 404)

    # Meeting mode.
    state = "/groups/{group_slug}/readings/{reading_slug}/live.json"
    live = "/groups/{group_slug}/readings/{reading_slug}/live/"
    fetch = {"X-Requested-With": "fetch"}
    start, end, spotlight = (base + f"live/{action}/" for action in ("start", "end", "spotlight"))
    spot = {"kind": "thread", "thread": str(world["question"].pk)}
    check(live + "start/", "POST", fran.post(start, headers=fetch), 200)
    check(live + "start/", "POST", fran.post(start, headers=fetch), 409)
    check(live + "start/", "POST", maria.post(start, headers=fetch), 403)
    check(live + "start/", "POST", olga.post(start, headers=fetch), 404)
    check(live + "start/", "POST", fran.post(start), 302)
    check(live + "start/", "POST", fran.post(start, {"meeting": "x"}, headers=fetch), 400)
    check(live + "spotlight/", "POST", fran.post(spotlight, spot, headers=fetch), 200)
    check(live + "spotlight/", "POST", fran.post(spotlight, {"kind": "x"}, headers=fetch), 400)
    check(live + "spotlight/", "POST", maria.post(spotlight, spot), 403)
    check(live + "spotlight/", "POST", olga.post(spotlight, spot), 404)
    check(live + "spotlight/", "POST", fran.post(spotlight, spot), 302)
    got = check(state, "GET", fran.get(base + "live.json"), 200)
    assert got.json()["spotlight"]["thread"] == world["question"].pk
    check(state, "GET", maria.get(base + "live.json"), 200)
    check(state, "GET", fran.get(base + "live.json", headers={"If-None-Match": got["ETag"]}), 304)
    check(state, "GET", anonymous.get(base + "live.json"), 302)
    check(state, "GET", olga.get(base + "live.json"), 404)
    check(live + "end/", "POST", maria.post(end, headers=fetch), 403)
    check(live + "end/", "POST", fran.post(end, headers=fetch), 200)
    check(live + "end/", "POST", fran.post(end, headers=fetch), 409)
    check(live + "end/", "POST", fran.post(end), 302)
    check(live + "end/", "POST", olga.post(end), 404)
    check(live + "spotlight/", "POST", fran.post(spotlight, spot, headers=fetch), 409)

    # The inbox count (María's reply told Fran), the downloads, the public documents.
    unread = "/notifications/unread.json"
    got = check(unread, "GET", fran.get(unread), 200)
    assert got.json()["unread"] >= 1
    check(unread, "GET", fran.get(unread, headers={"If-None-Match": got["ETag"]}), 304)
    check(unread, "GET", anonymous.get(unread), 302)
    export = "/groups/{group_slug}/readings/{reading_slug}/export/annotations.jsonld"
    check(export, "GET", maria.get(base + "export/annotations.jsonld"), 200)
    check(export, "GET", anonymous.get(base + "export/annotations.jsonld"), 302)
    check(export, "GET", olga.get(base + "export/annotations.jsonld"), 404)
    notes = "/accounts/notes/my-notes.jsonld"
    check(notes, "GET", maria.get(notes), 200)
    check(notes, "GET", anonymous.get(notes), 302)
    check("/ns/commonplace.jsonld", "GET", anonymous.get("/ns/commonplace.jsonld"), 200)
    check("/api/openapi.yaml", "GET", anonymous.get("/api/openapi.yaml"), 200)
    check("/healthz", "GET", anonymous.get("/healthz"), 200)

    assert not check.errors, "\n".join(check.errors)
    documented = {
        (template, method, status)
        for template, path_item in SPEC["paths"].items()
        for method, operation in path_item.items()
        if method in METHODS
        for status in operation["responses"]
    }
    unmade = sorted(
        f"{method.upper()} {template} {status}"
        for template, method, status in documented - check.seen
        if status not in PRODUCED_ELSEWHERE
    )
    assert not unmade, f"documented responses no request here produced: {unmade}"


def test_an_etag_made_weak_by_compression_still_makes_a_write_conditional(world, facilitator):
    """A client that takes gzip (browsers, requests, curl --compressed) is given W/"…": sent
    back in If-Match it lets the write through while the annotation is unchanged, and stops
    it (412) once it has changed."""
    fran = signed_in(facilitator)
    url = f"/groups/{world['group']}/readings/{world['reading']}/annotations/"
    url += str(world["comment"].pk)
    gzip = {"Accept-Encoding": "gzip"}
    etag = fran.get(url, headers=gzip)["ETag"]
    assert etag.startswith('W/"')
    change = json.dumps({"type": "Annotation", "bodyValue": "Changed once."})
    first = fran.put(url, change, ANNO, headers={"If-Match": etag, **gzip})
    assert first.status_code == 200
    again = fran.put(url, change, ANNO, headers={"If-Match": etag, **gzip})
    assert again.status_code == 412
    world["comment"].refresh_from_db()
    assert world["comment"].body == "Changed once."
    assert fran.delete(url, headers={"If-Match": etag}).status_code == 412
    assert fran.delete(url, headers={"If-Match": first["ETag"]}).status_code == 204


@pytest.mark.django_db
@pytest.mark.parametrize("path", ["/healthz", "/ns/commonplace.jsonld", "/api/openapi.yaml"])
def test_the_public_documents_refuse_other_methods_with_405(path):
    client = Client(enforce_csrf_checks=True)
    for method in ("post", "put", "patch", "delete"):
        assert getattr(client, method)(path).status_code == 405
    assert client.generic("QUERY", path).status_code == 405


def test_a_response_that_breaks_the_description_is_caught(world, member):
    """The checker above can fail: a layer with a row cut short, a header missing."""
    response = signed_in(member).get(f"/groups/{world['group']}/readings/{world['reading']}/")
    template = "/groups/{group_slug}/readings/{reading_slug}/layer.json"
    assert conformance_errors(template, "GET", response)  # an HTML page is not the layer

    layer = signed_in(member).get(
        f"/groups/{world['group']}/readings/{world['reading']}/layer.json"
    )
    data = layer.json()
    data["rows"][0] = data["rows"][0][:5]
    layer.content = json.dumps(data).encode()
    del layer.headers["ETag"]
    errors = conformance_errors(template, "GET", layer)
    assert any("ETag missing" in e for e in errors), errors
    assert any(e.endswith("is too short") or "rows/0" in e for e in errors), errors


# --- schemathesis against a live server ----------------------------------------------------

FUZZ_EXAMPLES = int(os.environ.get("COMMONPLACE_FUZZ_EXAMPLES", "10"))
FUZZ_SEED = os.environ.get("COMMONPLACE_FUZZ_SEED", "13")  # "random": a new one each run
# Where the run's JSON report (with "test_cases": {"generated": …}) and output are kept.
FUZZ_REPORT = os.environ.get("COMMONPLACE_FUZZ_REPORT") or str(ARTIFACTS / "schemathesis.json")
# Checks left out, and why: every other check schemathesis has runs.
FUZZ_EXCLUDED_CHECKS = {
    # Data the description allows can still be refused for what a schema cannot say (a quote
    # that is not in the reading, a reply to an annotation that does not exist): a 400 with
    # a sentence is right there.
    "positive_data_acceptance": "a valid-looking annotation can still name words not in the text",
    # Needs a second identity's objects; the walls test (test_group_walls.py) covers it with
    # five personas and every URL.
    "object_level_authorization": "covered by tests/test_group_walls.py with five personas",
    # `Allow` on an annotation names what this viewer may do with it (GET, HEAD, OPTIONS, and
    # PUT and DELETE for its author), as the W3C protocol advises, not every method described.
    "allow_header_conformance": "Allow names what this viewer may do, not every method",
    # A deleted annotation that has replies stays, as a "[deleted]" placeholder holding their
    # place (`"deleted": true`), by design; one without is gone (404), which
    # test_real_answers_fit_the_description checks.
    "use_after_free": "a deleted annotation with replies stays as a placeholder",
}
# The coverage phase (every boundary and negative value of every parameter and body field,
# deterministically) runs by default on the operations whose inputs are small: the container's
# cursors and the annotation's id and conditional headers. Everywhere (POST's and PUT's bodies,
# the pages' JSON: some 1,200 requests more, a minute or three) with
# COMMONPLACE_FUZZ_COVERAGE=all. Every operation gets the description's examples, random
# fuzzing and the stateful phase (write an annotation, then read, change and delete it).
FUZZ_COVERAGE = ["getContainer", "getAnnotation", "deleteAnnotation"]
FUZZ_COVERAGE_EVERYWHERE = os.environ.get("COMMONPLACE_FUZZ_COVERAGE") == "all"
# Refusals of a request the description calls invalid. The pages' JSON and the downloads
# send a visitor without a session to log in (302) rather than answering 401.
REFUSALS = [400, 401, 403, 404, 405, 406, 409, 412, 413, 415, 422, 428, 429]


def coverage_only_on(operation_ids: list[str]) -> str:
    """schemathesis' configuration turning the coverage phase off for the other operations."""
    others = sorted(
        operation["operationId"]
        for item in SPEC["paths"].values()
        for method, operation in item.items()
        if method in METHODS and operation["operationId"] not in operation_ids
    )
    return f"[[operations]]\ninclude-operation-id = {json.dumps(others)}\n" + (
        "phases.coverage.enabled = false\n"
    )


@dataclass
class CasesRun:
    """A line in pytest's closing summary: how many cases schemathesis ran (for SECURITY.md)."""

    line: str
    report: str

    def pytest_terminal_summary(self, terminalreporter):
        terminalreporter.write_sep("-", "schemathesis")
        terminalreporter.write_line(f"{self.line} (report: {self.report})")


@pytest.mark.fuzz
def test_schemathesis_against_a_live_server(
    world, facilitator, live_server, tmp_path, settings, request
):
    """Every operation the description names, fuzzed over HTTP against a live server, as
    the group's facilitator (a member with every door open to them): the examples in the
    description, the coverage phase's boundary and negative values, random fuzzing and the
    stateful phase (write an annotation, then read, change and delete it). Any 5xx, or any
    answer that breaks the description, fails the test with schemathesis' reproduction."""
    settings.COMMONPLACE_RATE_LIMITS = "off"  # a fuzzer is a flood; 429 is described anyway
    written = Annotation.objects.filter(author=facilitator).count()
    session = signed_in(facilitator).cookies["sessionid"].value
    csrf = secrets.token_hex(16)  # Django accepts any 32-character secret as the cookie
    # The description as it is, but for the group and reading named: this server's own, so
    # the fuzz reaches their annotations (any other slug is a negative case: 404).
    described = json.loads(json.dumps(SPEC))
    for name, slug in (("GroupSlug", world["group"]), ("ReadingSlug", world["reading"])):
        described["components"]["parameters"][name] |= {"schema": {"enum": [slug]}, "example": slug}
    # ... and a new annotation's target is one this reading has (a passage by its quote, the
    # whole reading, or a reply's parent), so its words, tags, motivation and visibility reach
    # the service and the database rather than stopping at "no such passage".
    text = f"/readings/{world['reading']}.txt"
    parent = f"/groups/{world['group']}/readings/{world['reading']}/annotations/"
    described["components"]["schemas"]["TargetInput"] = {
        "enum": [
            {"source": text, "selector": [{"type": "TextQuoteSelector", "exact": QUOTE}]},
            text,
            parent + str(world["question"].pk),
        ]
    }
    document = tmp_path / "openapi.json"
    document.write_text(json.dumps(described))
    report = tmp_path / "report.json"
    config = tmp_path / "schemathesis.toml"
    config.write_text(
        f"""
base-url = "{live_server.url}"
workers = 1
max-redirects = 0
request-timeout = 20
{"" if FUZZ_SEED == "random" else f"seed = {int(FUZZ_SEED)}"}

[cache]  # the failures' crash files, for `st replay <id>` (test-artifacts/ is not committed)
directory = "{ARTIFACTS / "schemathesis-cache"}"

[generation]
max-examples = {FUZZ_EXAMPLES}
database = "none"

[auth.openapi.bearer]
bearer = "{world["token"]}"
[auth.openapi.session]
api_key = "{session}"
[auth.openapi.csrfCookie]
api_key = "{csrf}"
[auth.openapi.csrfHeader]
api_key = "{csrf}"

[checks]
{chr(10).join(f"{name}.enabled = false" for name in FUZZ_EXCLUDED_CHECKS)}

[[operations]]
include-tag = ["pages", "exports"]
checks.negative_data_rejection.expected-statuses = {[302, *REFUSALS]}

{"" if FUZZ_COVERAGE_EVERYWHERE else coverage_only_on(FUZZ_COVERAGE)}
"""
    )
    command = [
        sys.executable,
        "-m",
        "schemathesis.cli",
        "--no-color",
        "--config-file",
        str(config),
        "run",
        str(document),
        "--report",
        "json",
        "--report-json-path",
        str(report),
    ]
    run = subprocess.run(command, capture_output=True, text=True, timeout=600, check=False)
    found = json.loads(report.read_text()) if report.exists() else {}
    cases = found.get("test_cases", {}).get("generated", 0)
    kept = Path(FUZZ_REPORT)
    kept.parent.mkdir(parents=True, exist_ok=True)
    kept.write_text(json.dumps(found, indent=2))
    kept.with_suffix(".txt").write_text(run.stdout + run.stderr)
    summary = (
        f"schemathesis: {cases} cases over {found.get('operations', {}).get('tested')} "
        f"operations, seed {found.get('seed')}, in {round(found.get('running_time') or 0)} s"
    )
    print(summary)
    # In pytest's closing summary too, output captured or not (not from xdist's workers).
    request.config.pluginmanager.register(CasesRun(summary, str(kept)), "schemathesis-cases")
    assert run.returncode == 0, f"{summary}\n{run.stdout[-20000:]}\n{run.stderr[-5000:]}"
    assert found["operations"]["tested"] == found["operations"]["total"], found["operations"]
    assert cases >= 100, summary  # the run really sent requests
    # ... and got in: the description's examples were written through the API (session and
    # CSRF, or the token, were taken).
    assert Annotation.objects.filter(author=facilitator).count() > written
