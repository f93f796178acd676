from __future__ import annotations

from pathlib import Path

from desktop_app.core.ingest import parse
from desktop_app.core.ingest.html_text import extract

PAGE = """<!doctype html>
<html><head><title>Kura Help Center</title>
<style>body { color: red }</style><script>trackVisitor("SCRIPT-TEXT")</script></head>
<body>
<header><a href="/">SITE-BANNER</a><nav><a>NAV-HOME</a> <a>NAV-ABOUT</a></nav></header>
<div class="menu" role="navigation">ROLE-NAV-MENU</div>
<main>
  <article>
    <header><h1>Installing Kura</h1><p>Updated in May</p></header>
    <p>Kura runs   <b>fully offline</b>
       on your computer.</p>
    <h2>Linux</h2>
    <ul><li>Download the AppImage</li><li>Make it executable</li></ul>
    <table><tr><th>Distro</th><th>Size</th></tr><tr><td>Ubuntu</td><td>90 MB</td></tr></table>
    <h3>Troubleshooting</h3>
    <pre>chmod +x Kura.AppImage
  ./Kura.AppImage</pre>
    <h4>Still stuck?</h4><p>Write to us.</p>
    <form><label>FORM-LABEL</label><input value="x"></form>
    <footer>ARTICLE-FOOTER</footer>
  </article>
</main>
<aside>ASIDE-ADS</aside>
<noscript>NOSCRIPT-TEXT</noscript>
<footer>PAGE-FOOTER © 2025</footer>
</body></html>"""


def test_main_text_split_at_h1_to_h3(tmp_path: Path) -> None:
    path = tmp_path / "help.html"
    path.write_text(PAGE, encoding="utf-8")
    document = parse(path)
    assert document.kind == "html"
    assert document.title == "Kura Help Center"
    assert document.encoding == "utf-8"
    assert [(s.location, s.heading) for s in document.sections] == [
        ("Installing Kura", "Installing Kura"),
        ("Installing Kura > Linux", "Linux"),
        ("Installing Kura > Linux > Troubleshooting", "Troubleshooting"),
    ]
    assert document.sections[0].text == "Updated in May\nKura runs fully offline on your computer."
    assert document.sections[1].text == (
        "Download the AppImage\nMake it executable\nDistro | Size\nUbuntu | 90 MB")
    assert document.sections[2].text == (
        "chmod +x Kura.AppImage\n  ./Kura.AppImage\nStill stuck?\nWrite to us.")
    everything = "\n".join(s.text for s in document.sections)
    for chrome in ("SCRIPT-TEXT", "color: red", "SITE-BANNER", "NAV-HOME", "ROLE-NAV-MENU",
                   "FORM-LABEL", "ARTICLE-FOOTER", "ASIDE-ADS", "NOSCRIPT-TEXT", "PAGE-FOOTER"):
        assert chrome not in everything


def test_page_without_main_uses_body_and_first_h1_as_title() -> None:
    result = extract("<body><nav>NAV</nav><h1>Notes</h1><p>One</p><p>Two</p></body>",
                     split=True)
    assert result.title == "Notes"
    assert [(s.location, s.text) for s in result.sections] == [("Notes", "One\nTwo")]


def test_declared_legacy_charset_is_honoured(tmp_path: Path) -> None:
    html = ('<html><head><meta charset="gb2312"><title>年假</title></head>'
            "<body><p>员工每年享有十五天带薪年假。</p></body></html>")
    path = tmp_path / "gbk.htm"
    path.write_bytes(html.encode("gbk"))
    document = parse(path)
    assert document.encoding == "gb18030"  # what browsers use for a "gb2312" label
    assert document.title == "年假"
    assert document.sections[0].text == "员工每年享有十五天带薪年假。"


def test_deep_nesting_does_not_hit_the_recursion_limit() -> None:
    html = "<div>" * 5000 + "deep text" + "</div>" * 5000
    assert extract(html, split=False).sections[0].text == "deep text"


def test_svg_titles_do_not_become_the_page_title() -> None:
    result = extract("<html><head></head><body><svg><title>icon</title></svg>"
                     "<h1>Real heading</h1><p>x</p></body></html>", split=True)
    assert result.title == "Real heading"
