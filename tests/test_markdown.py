"""commonplace/markdown.py keeps one bleach Cleaner per thread and hands each call its own
mention links through a context variable: calls never see each other's names."""

from concurrent.futures import ThreadPoolExecutor
from contextlib import suppress

from commonplace.markdown import render, render_with_mentions


def test_each_call_links_only_its_own_names_and_reports_only_those():
    maria = render_with_mentions("@maria and @lee", mention_url={"maria": "/m/"}.get)
    lee = render_with_mentions("@maria and @lee", mention_url={"lee": "/l/"}.get)
    assert maria == ('<p><a href="/m/" class="mention" rel="nofollow noopener ugc">@maria</a> '
                     "and @lee</p>", {"maria"})  # fmt: skip
    assert lee[1] == {"lee"} and 'href="/l/"' in lee[0] and "/m/" not in lee[0]
    assert render_with_mentions("@maria")[1] == set()  # no mention_url: nobody is linked


def test_threads_rendering_at_once_keep_their_own_names():
    def one(n: int) -> tuple[str, set[str]]:
        name = f"person{n}"
        return render_with_mentions(f"Hi @{name}, see *this*.", mention_url=lambda m: f"/{m}/")

    with ThreadPoolExecutor(max_workers=8) as pool:
        results = list(pool.map(one, range(200)))
    for n, (html, found) in enumerate(results):
        assert found == {f"person{n}"}
        assert f'href="/person{n}/"' in html and "<em>this</em>" in html


def test_a_failed_call_leaves_the_next_one_clean():
    def broken(name):
        raise RuntimeError("no")

    with suppress(RuntimeError):
        render_with_mentions("@maria", mention_url=broken)
    assert render("plain <b>text</b>") == "<p>plain &lt;b&gt;text&lt;/b&gt;</p>"
    assert render_with_mentions("@maria")[1] == set()
