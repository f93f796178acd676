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


# Generated documentation marks its chrome by class or id, not by <nav>: shapes taken from
# the Debian packages' HTML (debian-handbook's Publican, Sphinx, Javadoc, git's asciidoc,
# SQLite's site).
PUBLICAN = """<html><head><title>14.7. Dealing with a Compromised Machine</title></head><body>
<div id="banner"><a href="http://debian-handbook.info/get/"><span class="text">Download the
ebook</span></a></div><p id="title"><a class="left" href="http://www.debian.org"><img
alt="Product Site" src="x.png" /></a></p>
<ul class="docnav top"><li class="previous"><a accesskey="p" href="a.html"><strong>Prev</strong>
</a></li><li class="home">The Debian Administrator's Handbook</li><li class="next"><a
accesskey="n" href="b.html"><strong>Next</strong></a></li></ul>
<div class="section"><div class="titlepage"><h2 class="title">14.7. Dealing with a
Compromised Machine</h2></div>
<div class="para">Despite the best intentions, an administrator eventually faces an act of
hijacking.</div>
<div class="sidebar"><p class="title"><strong>TIP</strong> Keep a copy</p><div class="para">
Sidebars are boxed notes: content, not chrome.</div></div></div>
<ul class="docnav"><li class="previous"><a href="a.html"><strong>Prev</strong>14.6. Other
Security-Related Considerations</a></li><li class="up"><a href="#"><strong>Up</strong></a></li>
<li class="home"><a href="index.html"><strong>Home</strong></a></li><li class="next"><a
href="b.html"><strong>Next</strong>Chapter 15. Creating a Debian Package</a></li></ul>
</body></html>"""

SPHINX = """<html><head><title>Installing &#8212; Kura docs</title></head><body>
<div class="related" role="navigation" aria-label="related navigation"><h3>Navigation</h3>
<ul><li><a href="genindex.html">index</a></li><li><a href="next.html">next</a> |</li></ul></div>
<div class="document"><div class="body" role="main">
<section id="installing"><h1>Installing<a class="headerlink" href="#installing"
title="Permalink to this heading">¶</a></h1>
<p>Download the AppImage and make it executable.</p></section></div></div>
<div class="sphinxsidebar" role="navigation"><h3>Quick search</h3><form>SEARCH-FORM</form>
<p>SIDEBAR-TEXT</p></div>
<div class="footer">&#169; Copyright 2025. Created using Sphinx.</div>
</body></html>"""

JAVADOC = """<html><head><title>Chunker (kura API)</title></head><body>
<div class="topNav"><a name="navbar.top"></a><ul class="navList"><li>Overview</li><li>Package
</li><li>Class</li><li>Tree</li><li>Deprecated</li><li>Index</li><li>Help</li></ul></div>
<div class="subNav"><ul class="navList"><li>Prev Class</li><li>Next Class</li></ul></div>
<div class="header"><h2 class="title">Class Chunker</h2></div>
<div class="contentContainer"><div class="block">Cuts documents into passages that fit the
model.</div></div>
<div class="bottomNav"><ul class="navList"><li>Overview</li><li>Class</li></ul></div>
<p class="legalCopy"><small>Copyright 2025.</small></p>
</body></html>"""

SQLITE_SITE = """<html><head><title>About SQLite</title></head><body>
<div class=nosearch><div class="tagline desktoponly">Small. Fast. Reliable.<br>Choose any
three.</div><div class="menu mainmenu"><ul><li><a href="index.html">Home</a><li><a
href="about.html">About</a><li><a href="docs.html">Documentation</a></ul></div></div>
<h1 align="center">About SQLite</h1>
<p>SQLite is a C-language library that implements a small, fast SQL database engine.</p>
</body></html>"""

ASCIIDOC = """<html><head><title>git-add(1)</title></head><body class="manpage">
<div id="header"><h1>git-add(1) Manual Page</h1><h2>NAME</h2><div class="sectionbody">
<p>git-add - Add file contents to the index</p></div></div>
<div id="content"><h2 id="_description">DESCRIPTION</h2><div class="sectionbody"><p>This
command updates the index using the current content found in the working tree.</p></div></div>
<div id="footnotes"><hr /><div class="footnote">1. A footnote is content.</div></div>
<div id="footer"><div id="footer-text">Last updated 2024-05-31 00:35:55 UTC</div></div>
</body></html>"""


def everything(markup: str) -> str:
    result = extract(markup, split=True)
    return "\n".join(f"{s.location}: {s.text}" for s in result.sections)


def test_docbook_navigation_is_dropped_and_its_sidebars_kept() -> None:
    assert everything(PUBLICAN) == (
        "14.7. Dealing with a Compromised Machine: Despite the best intentions, an "
        "administrator eventually faces an act of hijacking.\nTIP Keep a copy\n"
        "Sidebars are boxed notes: content, not chrome.")


def test_sphinx_navigation_sidebar_footer_and_pilcrows_are_dropped() -> None:
    result = extract(SPHINX, split=True)
    assert [(s.heading, s.text) for s in result.sections] == [
        ("Installing", "Download the AppImage and make it executable.")]


def test_javadoc_navigation_bars_are_dropped() -> None:
    assert everything(JAVADOC) == (
        "Class Chunker: Cuts documents into passages that fit the model.\nCopyright 2025.")


def test_a_site_menu_and_tagline_are_dropped() -> None:
    assert everything(SQLITE_SITE) == (
        "About SQLite: SQLite is a C-language library that implements a small, fast SQL "
        "database engine.")


def test_asciidoc_header_title_is_kept_and_footer_dropped() -> None:
    text = everything(ASCIIDOC)
    assert "git-add - Add file contents to the index" in text
    assert "A footnote is content." in text
    assert "Last updated" not in text


def test_link_bars_left_in_the_text_are_dropped_at_section_edges(tmp_path: Path) -> None:
    """A saved page whose generator marked nothing: "Prev / Up / Next" lines at a
    section's edges are dropped by parse(), as for every format."""
    path = tmp_path / "saved.html"
    path.write_text("<html><body><p>Prev</p><p>Home</p><h1>Backups</h1>"
                    "<p>Back up /etc and /home every night.</p>"
                    "<p>Prev | Up | Next</p></body></html>", encoding="utf-8")
    assert [(s.location, s.text) for s in parse(path).sections] == [
        ("Backups", "Back up /etc and /home every night.")]
