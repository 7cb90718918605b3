"""The server-rendered pages: the reading, its plain text, home, library and the account pages."""

import html
import re
from html.parser import HTMLParser

import pytest
from django.urls import reverse

from readings.models import Block
from readings.services import reading_import
from tests.conftest import PASSWORD

# an executable <script> without src; JSON data blocks (json_script) are not scripts
INLINE_SCRIPT = re.compile(
    r"<script\b(?![^>]*\bsrc=)(?![^>]*\btype=\"application/(?:ld\+)?json\")[^>]*>",
    re.IGNORECASE,
)
VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source"}


class Node:
    """An element of a parsed page: just enough DOM to ask questions of the markup."""

    def __init__(self, tag: str, attrs: dict[str, str | None], parent=None):
        self.tag, self.attrs, self.parent = tag, attrs, parent
        self.children: list[Node | str] = []

    @property
    def classes(self) -> set[str]:
        return set((self.attrs.get("class") or "").split())

    def text(self) -> str:
        return "".join(c if isinstance(c, str) else c.text() for c in self.children)

    def iter(self):
        for child in self.children:
            if isinstance(child, Node):
                yield child
                yield from child.iter()

    def select(self, tag: str | None = None, cls: str | None = None, **attrs) -> list["Node"]:
        return [
            node
            for node in self.iter()
            if (tag is None or node.tag == tag)
            and (cls is None or cls in node.classes)
            and all(node.attrs.get(name.replace("_", "-")) == v for name, v in attrs.items())
        ]

    def one(self, tag: str | None = None, cls: str | None = None, **attrs) -> "Node":
        found = self.select(tag, cls, **attrs)
        assert len(found) == 1, (tag, cls, attrs, len(found))
        return found[0]


class TreeBuilder(HTMLParser):
    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.root = self.current = Node("#document", {})

    def handle_starttag(self, tag, attrs):
        node = Node(tag, dict(attrs), self.current)
        self.current.children.append(node)
        if tag not in VOID:
            self.current = node

    def handle_startendtag(self, tag, attrs):
        self.current.children.append(Node(tag, dict(attrs), self.current))

    def handle_endtag(self, tag):
        node = self.current
        while node is not self.root and node.tag != tag:
            node = node.parent
        if node is not self.root:
            self.current = node.parent

    def handle_data(self, data):
        self.current.children.append(data)


def parse(page: str) -> Node:
    builder = TreeBuilder()
    builder.feed(page)
    builder.close()
    return builder.root


def squash(text: str) -> str:
    return " ".join(text.split())


def reading_url(reading) -> str:
    return reverse("readings:detail", args=[reading.slug])


def text_url(reading) -> str:
    return reverse("readings:text", args=[reading.slug])


@pytest.fixture(autouse=True)
def fast_passwords(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def reader(client, member):
    client.force_login(member)
    return client


@pytest.fixture
def reading_page(reader, essay) -> str:
    response = reader.get(reading_url(essay))
    assert response.status_code == 200
    return response.content.decode()


# --- who may read ----------------------------------------------------------------------------


@pytest.mark.parametrize("which", ["detail", "text", "library"])
def test_a_signed_out_visitor_is_sent_to_log_in(client, essay, which):
    url = (
        reverse("readings:library")
        if which == "library"
        else reverse(f"readings:{which}", args=[essay.slug])
    )

    response = client.get(url)

    assert response.status_code == 302
    assert response["Location"] == f"/accounts/login/?next={url}"


@pytest.mark.parametrize("name", ["readings:detail", "readings:text"])
def test_an_unknown_slug_gives_404(reader, essay, name):
    response = reader.get(reverse(name, args=["no-such-reading"]))

    assert response.status_code == 404


@pytest.mark.parametrize("name", ["readings:detail", "readings:text"])
def test_the_reading_rejects_post(reader, essay, name):
    response = reader.post(reverse(name, args=[essay.slug]))

    assert response.status_code == 405


# --- the reading page ------------------------------------------------------------------------


def test_the_reading_page_has_the_title_dek_and_byline(reading_page, essay):
    assert '<h1 class="reading__title">What is socialism from below?</h1>' in reading_page
    assert f'<p class="reading__dek">{essay.subtitle}</p>' in reading_page
    assert '<span class="reading__author">Sean Larson</span>' in reading_page
    assert "<title>What is socialism from below? · Commonplace</title>" in reading_page


def test_the_table_of_contents_links_to_every_section(reading_page, essay):
    tree = parse(reading_page)
    side = tree.one("nav", "toc--side")
    folded = tree.one("details", "toc--inline")
    assert folded.one("summary").text() == "Contents"
    headed = list(essay.sections.exclude(heading="").order_by("position"))
    assert len(headed) == 10

    for contents in (side, folded):
        links = [(a.attrs["href"], a.text()) for a in contents.select("a")]
        assert links == [(f"#{s.anchor}", s.heading) for s in headed]
    for section in headed:
        target = tree.one(id=section.anchor)
        assert target.tag == "section"
        assert f"reading-section--level{section.level}" in target.classes


def test_subsections_are_nested_under_their_section_in_the_contents(reading_page):
    side = parse(reading_page).one("nav", "toc--side")
    parent = next(
        li for li in side.select("li") if li.select("a")[0].text() == "Socialisms from above"
    )

    nested = parent.one("ol")
    assert [a.attrs["href"] for a in nested.select("a")] == ["#stalinism", "#social-democracy"]


def test_section_headings_are_h2_and_subsection_headings_h3(reading_page, essay):
    tree = parse(reading_page)

    for section in essay.sections.exclude(heading=""):
        heading = tree.one(id=f"{section.anchor}-h")
        assert heading.tag == ("h2" if section.level == 1 else "h3")
        assert heading.text() == section.heading
        assert heading.parent.attrs["id"] == section.anchor


def test_paragraphs_are_numbered_with_a_permalink_to_their_own_id(reading_page, essay):
    tree = parse(reading_page)
    expected = list(
        essay.blocks.exclude(kind=Block.Kind.CAPTION)
        .order_by("position")
        .values_list("anchor", "text")
    )
    numbered = [block for block in tree.select(cls="block") if block.select(cls="block__number")]

    assert [block.attrs["id"] for block in numbered] == [anchor for anchor, _ in expected]
    for number, (block, (anchor, text)) in enumerate(zip(numbered, expected, strict=True), 1):
        permalink = block.one("a", "block__number")
        assert permalink.attrs["href"] == f"#{anchor}"
        assert permalink.text() == str(number)
        assert block.one(cls="block__text").text() == text
    assert len({anchor for anchor, _ in expected}) == len(expected) == 41


def test_the_orwell_passage_is_rendered_as_a_blockquote(reading_page):
    quotes = parse(reading_page).select("blockquote")

    assert len(quotes) == 1
    assert quotes[0].text().startswith("Practically every building of any size")


def test_captions_are_rendered_as_figcaptions_without_numbers(reading_page):
    tree = parse(reading_page)
    captions = tree.select("figcaption")

    assert [c.text() for c in captions] == [
        "Education workers during the 2018-2019 #RedforEd strike wave.",
        "The 1871 Paris Commune showed that workers can rule.",
        "A 1889 illustration by Walter Crane",
    ]
    for caption in captions:
        assert caption.parent.tag == "figure"
        assert caption.parent.select(cls="block__number") == []


def test_the_attribution_and_about_the_author_are_shown(reading_page, essay):
    footer = parse(reading_page).one("footer", "reading__footer")
    about = squash(footer.one(cls="about-author").text())
    attribution = footer.one(cls="attribution")

    assert about == f"About the author {essay.about_author}"
    assert "“What is socialism from below?” by Sean Larson, first published in Tempest." in squash(
        attribution.text()
    )
    assert essay.attribution in attribution.text()
    hrefs = [a.attrs["href"] for a in attribution.select("a")]
    assert essay.source_url in hrefs
    assert text_url(essay) in hrefs


def test_every_block_says_where_it_starts_in_the_canonical_text(reading_page, essay):
    canonical = essay.canonical_text()
    placed = [node for node in parse(reading_page).iter() if "data-start" in node.attrs]
    texts = [node.text() for node in placed]

    assert sorted(texts) == sorted(essay.canonical_text().split("\n\n"))
    for node, text in zip(placed, texts, strict=True):
        start = int(node.attrs["data-start"])
        assert canonical[start : start + len(text)] == text


def test_every_word_of_the_reading_is_on_the_page(reading_page, essay):
    page_text = html.unescape(reading_page)

    for block in essay.blocks.all():
        assert block.text in page_text


def test_the_reading_page_takes_a_fixed_number_of_queries(
    reader, essay, django_assert_max_num_queries
):
    # session, user, reading, sections, blocks: however long the reading is
    with django_assert_max_num_queries(5):
        response = reader.get(reading_url(essay))

    assert response.status_code == 200


def test_hostile_text_is_shown_not_run(reader, db):
    reading = reading_import(
        data=b"# Hostile\n\n<script>alert(1)</script> and <img src=x onerror=alert(2)>\n",
        filename="hostile.md",
        slug="hostile",
    )

    page = reader.get(reading_url(reading)).content.decode()

    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "<script>alert(1)" not in page
    assert "<img src=x" not in page
    tree = parse(page)
    assert tree.select("img") == []
    for script in tree.select("script"):
        assert script.attrs.get("src") or script.attrs.get("type") == "application/json"


# --- the plain text --------------------------------------------------------------------------


def test_the_plain_text_is_the_canonical_text(reader, essay):
    response = reader.get(text_url(essay))

    assert response.status_code == 200
    assert response["Content-Type"] == "text/plain; charset=utf-8"
    assert response.content.decode("utf-8") == essay.canonical_text()
    assert response["Content-Disposition"] == 'inline; filename="what-is-socialism-from-below.txt"'


def test_the_plain_text_keeps_characters_beyond_ascii(reader, db):
    source = "---\ntitle: Scripts\n---\n\nCafe\u0301 😀 مرحبا “quoted” — dash.\n"
    reading = reading_import(data=source.encode(), filename="s.md", slug="scripts")

    response = reader.get(text_url(reading))

    assert response.content == "Cafe\u0301 😀 مرحبا “quoted” — dash.".encode()


# --- home and library ------------------------------------------------------------------------


def test_the_home_page_explains_commonplace_to_a_visitor(client, db):
    page = client.get("/").content.decode()

    assert "Commonplace is a shared copy of the text for your reading group." in page
    assert f'href="{reverse("account_signup")}"' in page
    assert f'href="{reverse("account_login")}"' in page


def test_the_library_lists_the_essay(reader, essay):
    page = reader.get(reverse("readings:library")).content.decode()

    assert f'<a class="card__title" href="{reading_url(essay)}">' in page
    assert "What is socialism from below?" in page
    assert "Sean Larson · Tempest" in page


# --- headers and scripts on every page -------------------------------------------------------

PAGES = [
    pytest.param(False, "/", id="home (visitor)"),
    pytest.param(True, "/", id="home (reader)"),
    pytest.param(True, "/readings/", id="library"),
    pytest.param(True, "/readings/what-is-socialism-from-below/", id="reading"),
    pytest.param(False, "/accounts/login/", id="log in"),
    pytest.param(False, "/accounts/signup/", id="sign up"),
    pytest.param(False, "/accounts/password/reset/", id="password reset"),
    pytest.param(True, "/accounts/profile/", id="profile"),
    pytest.param(True, "/accounts/password/change/", id="password change"),
    pytest.param(True, "/accounts/email/", id="email"),
    pytest.param(False, "/no-such-page/", id="404"),
]


@pytest.mark.parametrize(("signed_in", "url"), PAGES)
def test_every_html_page_has_a_strict_csp_and_no_inline_script(
    client, member, essay, signed_in, url
):
    if signed_in:
        client.force_login(member)

    response = client.get(url)

    assert response.status_code in {200, 404}
    assert response["Content-Type"].startswith("text/html")
    policy = response["Content-Security-Policy"]
    directives = {part.split()[0]: part.split()[1:] for part in policy.split(";") if part.strip()}
    assert directives["script-src"] == ["'self'"]
    assert "'unsafe-inline'" not in policy
    assert "'unsafe-eval'" not in policy
    assert INLINE_SCRIPT.findall(response.content.decode()) == []


@pytest.mark.parametrize(
    ("signed_in", "url"),
    [
        (False, "/accounts/login/"),
        (False, "/accounts/signup/"),
        (False, "/accounts/password/reset/"),
        (True, "/accounts/password/change/"),
        (True, "/accounts/email/"),
    ],
    ids=["log in", "sign up", "password reset", "password change", "email"],
)
def test_account_pages_wear_the_sites_frame(client, member, signed_in, url):
    if signed_in:
        client.force_login(member)

    page = client.get(url).content.decode()

    assert re.search(r'<a class="brand" href="/">.*Commonplace</a>', page)
    assert "/static/css/site.css" in page
    assert '<main id="main"' in page
    assert "Skip to content" in page


# --- signing up and logging in ---------------------------------------------------------------


def test_sign_up_creates_a_user_with_display_name_and_time_zone(client, django_user_model):
    response = client.post(
        reverse("account_signup"),
        {
            "username": "rosa",
            "email": "rosa@example.org",
            "display_name": "Rosa L.",
            "time_zone": "Europe/Berlin",
            "password1": PASSWORD,
            "password2": PASSWORD,
        },
    )

    assert response.status_code == 302
    user = django_user_model.objects.get(username="rosa")
    assert user.email == "rosa@example.org"
    assert user.display_name == "Rosa L."
    assert user.time_zone == "Europe/Berlin"
    assert user.check_password(PASSWORD)


def test_sign_up_refuses_an_unknown_time_zone(client, django_user_model):
    response = client.post(
        reverse("account_signup"),
        {
            "username": "rosa",
            "email": "rosa@example.org",
            "time_zone": "Mars/Olympus_Mons",
            "password1": PASSWORD,
            "password2": PASSWORD,
        },
    )

    assert response.status_code == 200
    assert not django_user_model.objects.filter(username="rosa").exists()


@pytest.mark.parametrize("login", ["maria", "maria@example.com"], ids=["username", "email"])
def test_a_member_can_log_in_with_username_or_email(client, member, login):
    response = client.post(reverse("account_login"), {"login": login, "password": PASSWORD})

    assert response.status_code == 302
    assert response["Location"] == "/"
    assert client.session["_auth_user_id"] == str(member.pk)


def test_a_wrong_password_does_not_log_in(client, member):
    response = client.post(reverse("account_login"), {"login": "maria", "password": "nope-nope"})

    assert response.status_code == 200
    assert "_auth_user_id" not in client.session
