"""Real documents (PDF, Office, EPUB, ...) for the tests that read files, written by the
libraries that produce them."""

from __future__ import annotations

import zipfile
from pathlib import Path

# Realistic multi-sentence texts: short samples make encoding detection a coin toss.
CHINESE_SIMPLIFIED = (
    "今天我们讨论公司的年假政策。所有正式员工每年享有十五天带薪年假，"
    "入职满五年后增加到二十天。\n请在休假前至少两周通过人力资源系统提交申请，"
    "并与直属经理确认工作交接安排。未使用的年假最多可以结转五天到下一年度。"
)
CHINESE_TRADITIONAL = (
    "今天我們討論公司的年假政策。所有正式員工每年享有十五天帶薪年假，"
    "入職滿五年後增加到二十天。\n請在休假前至少兩週通過人力資源系統提交申請，"
    "並與直屬經理確認工作交接安排。未使用的年假最多可以結轉五天到下一年度。"
)
JAPANESE = (
    "本日は会社の休暇制度について説明します。正社員は毎年十五日間の有給休暇を取得できます。\n"
    "休暇を取る場合は、少なくとも二週間前に人事システムで申請してください。"
    "また、上司と業務の引き継ぎについて必ず相談してください。"
)
WESTERN = (
    "Le café de la gare était fermé. Nous avons réservé une chambre à l'hôtel près du "
    "théâtre.\nDer Arzt fährt über die Brücke, während wir schön Kaffee trinken."
)


def pdf(path: Path, pages: list[str], *, title: str | None = None,
        chinese: bool = False) -> Path:
    from reportlab.pdfgen import canvas

    c = canvas.Canvas(str(path))
    if title:
        c.setTitle(title)
    font = "Helvetica"
    if chinese:
        from reportlab.pdfbase import pdfmetrics
        from reportlab.pdfbase.cidfonts import UnicodeCIDFont

        pdfmetrics.registerFont(UnicodeCIDFont("STSong-Light"))
        font = "STSong-Light"
    for text in pages:
        c.setFont(font, 12)
        y = 760
        for line in text.splitlines():
            c.drawString(72, y, line)
            y -= 18
        c.showPage()
    c.save()
    return path


def pdf_without_text(path: Path) -> Path:
    """What a scan looks like to a text extractor: marks on the page, no text objects."""
    from reportlab.pdfgen import canvas

    c = canvas.Canvas(str(path))
    c.rect(100, 100, 300, 400, fill=1)
    c.showPage()
    c.save()
    return path


def encrypted_pdf(path: Path, source: Path, password: str = "secret") -> Path:
    from pypdf import PdfWriter

    writer = PdfWriter(clone_from=str(source))
    writer.encrypt(user_password=password, owner_password="owner-" + password)
    with path.open("wb") as file:
        writer.write(file)
    return path


def docx_handbook(path: Path, *, core_title: str | None = "Kura Handbook") -> Path:
    import docx

    document = docx.Document()
    if core_title is not None:
        document.core_properties.title = core_title
    document.add_paragraph("Read this first.")
    document.add_heading("Install", level=1)
    document.add_heading("Linux", level=2)
    document.add_paragraph("Run the AppImage from your Downloads folder.")
    table = document.add_table(rows=2, cols=2)
    for r, row in enumerate([("System", "Size"), ("Ubuntu 24.04", "90 MB")]):
        for c, value in enumerate(row):
            table.cell(r, c).text = value
    document.add_heading("Windows", level=2)
    document.add_paragraph("Double-click KuraSetup.exe.")
    document.add_heading("Usage", level=1)
    document.add_paragraph("Ask a question about your files.")
    document.save(str(path))
    return path


def pptx_deck(path: Path) -> Path:
    """Slides 1, 2 and 4 carry text; slide 3 is blank and must not become a section."""
    import pptx
    from pptx.util import Inches

    deck = pptx.Presentation()
    one = deck.slides.add_slide(deck.slide_layouts[1])  # title and content
    one.shapes.title.text = "Quarterly results"
    one.placeholders[1].text = "Revenue grew 12% in the third quarter"
    one.notes_slide.notes_text_frame.text = "Mention the new Osaka office."

    two = deck.slides.add_slide(deck.slide_layouts[5])  # title only
    two.shapes.title.text = "Budget table"
    table = two.shapes.add_table(2, 2, Inches(1), Inches(2), Inches(6), Inches(1.5)).table
    for r, row in enumerate([("Team", "Budget"), ("Design", "40k")]):
        for c, value in enumerate(row):
            table.cell(r, c).text = value

    deck.slides.add_slide(deck.slide_layouts[6])  # blank

    four = deck.slides.add_slide(deck.slide_layouts[6])
    group = four.shapes.add_group_shape()
    box = group.shapes.add_textbox(Inches(1), Inches(1), Inches(4), Inches(1))
    box.text_frame.text = "Grouped shapes still count"
    deck.save(str(path))
    return path


def xlsx_book(path: Path) -> Path:
    import datetime as dt

    import openpyxl

    book = openpyxl.Workbook()
    people = book.active
    people.title = "People"
    people.append(["Name", "Role", "Started"])
    people.append(["Ada", "Engineer", dt.datetime(2021, 3, 1)])
    people.append([None, None, None])  # an empty row, skipped
    people.append(["Grace", None, dt.datetime(2019, 7, 15)])
    numbers = book.create_sheet("Figures")
    numbers.append([2023, 1.5, 7])
    numbers.append([2024, 2.25, 8])
    book.create_sheet("Empty")
    book.properties.title = "Team sheet"
    book.save(str(path))
    return path


def epub_book(path: Path) -> Path:
    """Two chapters: the first names itself in an <h1>, the second only in the TOC."""
    from ebooklib import epub

    book = epub.EpubBook()
    book.set_identifier("kura-test-book")
    book.set_title("The Kura Guide")
    book.set_language("en")
    one = epub.EpubHtml(title="Getting Started", file_name="chap_01.xhtml", lang="en")
    one.content = ("<html><body><h1>Chapter 1: Getting Started</h1>"
                   "<p>Kura reads your documents offline.</p></body></html>")
    two = epub.EpubHtml(title="Setup", file_name="chap_02.xhtml", lang="en")
    two.content = ("<html><body><p>Pick a folder.</p><p>Wait for the index.</p>"
                   "</body></html>")
    book.add_item(one)
    book.add_item(two)
    book.toc = (epub.Link("chap_01.xhtml", "Getting Started", "one"),
                epub.Link("chap_02.xhtml", "Chapter 2: Setup", "two"))
    book.add_item(epub.EpubNcx())
    book.add_item(epub.EpubNav())
    book.spine = ["nav", one, two]
    epub.write_epub(str(path), book)
    return path


def add_to_zip(path: Path, name: str, data: str) -> Path:
    with zipfile.ZipFile(path, "a") as archive:
        archive.writestr(name, data)
    return path


def ole_file(path: Path, *, encrypted: bool) -> Path:
    """An OLE compound file header, with or without an EncryptionInfo stream name.

    Password-protected .docx/.xlsx/.pptx files are OLE files; their directory holds the
    UTF-16 stream name "EncryptionInfo". Enough of that shape for the sniffing to see.
    """
    header = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(504)
    directory = ("EncryptionInfo" if encrypted else "WordDocument").encode("utf-16-le")
    path.write_bytes(header + directory.ljust(512, b"\x00") + bytes(1024))
    return path
