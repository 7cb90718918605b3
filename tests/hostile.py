"""Known attack payloads, and a parser that finds live markup in HTML: shared by the hostile
input tests (tests/test_hostile_input.py in Chromium, tests/test_properties.py).

Each payload that could run tries to set `window.__xss` (or to open a dialog), so that a test
in a browser sees it run; each also reads as recognisable text, so a test can check that the
words are still shown, as words.
"""

import re
from html.parser import HTMLParser

PAYLOADS = [
    # script tags, in the open and in disguise
    "<script>window.__xss=1</script>",
    "<SCRIPT SRC=//evil.example/x.js></SCRIPT>",
    "<<script>script>window.__xss=1<</script>/script>",
    "</textarea></title></style><script>window.__xss=1</script>",
    # event handlers
    '<img src=x onerror="window.__xss=1">',
    "<svg onload=window.__xss=1>",
    "<svg><script>window.__xss=1</script></svg>",
    "<body onload=window.__xss=1>",
    "<details open ontoggle=window.__xss=1>x</details>",
    "<input autofocus onfocus=window.__xss=1>",
    "<iframe src=javascript:window.__xss=1></iframe>",
    '<math><mtext><table><mglyph><style><img src=x onerror="window.__xss=1">',
    # malformed and unclosed tags
    "<img src=x onerror=window.__xss=1 ",
    "<a href='javascript:window.__xss=1'>unclosed",
    "<!--<img src=x onerror=window.__xss=1>-->",
    # links to javascript:, data: and vbscript:
    "javascript:window.__xss=1",
    "[click me](javascript:window.__xss=1)",
    "[click me](JaVaScRiPt:window.__xss=1)",
    "[data link](data:text/html;base64,PHNjcmlwdD53aW5kb3cuX194c3M9MTwvc2NyaXB0Pg==)",
    "[vb link](vbscript:msgbox(1))",
    "<javascript:window.__xss=1>",
    # Markdown image and link tricks
    '![x](x" onerror="window.__xss=1)',
    '[x](https://example.org/" onmouseover="window.__xss=1)',
    "[x]: javascript:window.__xss=1\n\n[see][x]",
    # entities and Unicode tricks
    "[entity](&#106;avascript:window.__xss=1)",
    '<a href="&#x6A;avascript&#x3A;window.__xss=1">entity href</a>',
    "[zero width](java\u200bscript:window.__xss=1)",
    "\u202egnp.exe<img src=x onerror=window.__xss=1>",
    "\uff1cscript\uff1ewindow.__xss=1\uff1c/script\uff1e",
    # attribute breakouts
    '"><img src=x onerror=window.__xss=1>',
    "' onmouseover='window.__xss=1' x='",
    '" autofocus onfocus="window.__xss=1',
    # templates and spreadsheets
    "{{7*7}} {% debug %} ${7*7} #{7*7}",
    '=HYPERLINK("http://evil.example","click")',
    "@SUM(1+1)*cmd|' /C calc'!A0",
    "alert(1)<script>alert(document.domain)</script>",
]

# Words every page that shows a payload must show as words: a tag that became markup would
# have lost its angle brackets.
VISIBLE = ["<script>", "onerror=", "javascript:", "onload=", "{{7*7}}"]

# Meeting links: only http(s) is taken; the others must be refused.
LINK_PAYLOADS = [
    "https://meet.example/?q=<script>window.__xss=1</script>",
    "https://meet.example/'onmouseover='window.__xss=1",
    'https://meet.example/?q="onmouseover="window.__xss=1',
    'meet.example/#"><svg/onload=window.__xss=1>',
    "https://meet.example/%22%3E%3Cimg%20src=x%20onerror=window.__xss=1%3E",
    "javascript:window.__xss=1",
    "JaVaScRiPt:window.__xss=1",
    "java\tscript:window.__xss=1",
    "data:text/html,<script>window.__xss=1</script>",
    "vbscript:msgbox(1)",
    'https://meet.example/"><img src=x onerror=window.__xss=1>',
]

# Email addresses a facilitator may invite: valid (a quoted local part may hold almost any
# character), yet each one markup or an attribute breakout if it were shown unescaped.
ADDRESS_PAYLOADS = [
    '"<script>window.__xss=1</script>"@example.com',
    '"><svg/onload=window.__xss=1>"@example.com',
    '"<img/src=x/onerror=window.__xss=1>"@example.com',
    "x'onmouseover='window.__xss=1'@example.com",
]

DANGEROUS_SCHEME = re.compile(r"^(javascript|vbscript|data|file):", re.IGNORECASE)
URL_ATTRIBUTES = {"href", "src", "action", "formaction", "xlink:href", "data", "srcdoc", "poster"}


class _LiveMarkup(HTMLParser):
    """Collects what a browser would run or load from a piece of HTML."""

    DANGEROUS_TAGS = {
        "script", "style", "iframe", "frame", "object", "embed", "svg", "math", "img",
        "base", "link", "meta", "form", "input", "textarea", "button", "select", "video",
        "audio", "source",
    }  # fmt: skip

    def __init__(self, allowed_tags=frozenset()):
        super().__init__(convert_charrefs=True)
        self.allowed = allowed_tags
        self.found: list[str] = []

    def handle_starttag(self, tag, attrs):
        if tag in self.DANGEROUS_TAGS and tag not in self.allowed:
            self.found.append(f"<{tag}>")
        for name, value in attrs:
            if name.startswith("on"):
                self.found.append(f"{tag} {name}")
            # the browser drops tabs, line breaks and other controls inside a URL's scheme
            url = re.sub(r"[\x00-\x20]", "", value or "")
            if name in URL_ATTRIBUTES and DANGEROUS_SCHEME.match(url):
                self.found.append(f"{tag} {name}={value!r}")

    handle_startendtag = handle_starttag


def live_markup(html: str, *, allowed_tags=frozenset()) -> list[str]:
    """What in `html` would run, load or submit something: script-ish elements, event handler
    attributes, and javascript:/vbscript:/data:/file: addresses. [] when it is inert."""
    parser = _LiveMarkup(allowed_tags)
    parser.feed(html)
    parser.close()
    return parser.found


def one_line(text: str) -> str:
    return " ".join(text.split())
