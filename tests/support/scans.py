"""Scanned pages made from known text: what OCR must read back, and where each line was drawn.

``render_pages`` lays out paragraphs of English or Chinese on A4 pages at a given dpi with
WenQuanYi Zen Hei (``tests/support/fonts.py``), one or two columns (an optional title
across both), and then does to each page what a scanner or a careless person does: a few
degrees of skew, a turn by 90/180/270°, light noise (optics blur, grain, dust specks). Each
``Scan`` keeps the lines it drew, in reading order, with their boxes in the coordinates of
the image as it is finally given (after skew and turn), so a test can check both the text
and where the OCR says it found it. Everything is deterministic: the noise comes from
``seed``, the layout only from the arguments.

``save_png``, ``save_tiff`` (multi-page) and ``save_pdf`` (image-only: no text layer, as a
scanner writes it) store them as the files a person would add; ``degrade`` skews, turns and
noises one page of a document rendered clean. ``character_error_rate`` compares what OCR
read with what was drawn (``normalise`` says what counts as the same text).
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFilter, ImageFont

from tests.support.fonts import cjk_font

# Original texts (no copyright), with digits, punctuation, names and a mixed-script line:
# what an office's scanned letters and notices hold.
ENGLISH = (
    "Kura keeps a quiet record of the documents you choose to share with it. When a "
    "folder of scanned letters arrives, each page is read line by line, and the words it "
    "finds are stored beside the page number, so that a later question can lead straight "
    "back to the sheet of paper it came from.",
    "The heating in the north wing will be switched off on 14 March for maintenance. "
    "Staff who work in rooms 210 to 245 should take their laptops to the library on the "
    "ground floor, where extra desks and power sockets have been set up. The work is "
    "expected to last two days.",
    "Expense claims must be filed within 30 days of the purchase. Attach a clear copy of "
    "every receipt; a photograph taken with a phone is accepted if the total, the date and "
    "the name of the shop can be read. Claims above 500 euros need the approval of a "
    "department head before payment.",
    "Our annual summer picnic takes place by the lake on Saturday, 21 June, from noon "
    "until six in the evening. Families are welcome. Please tell Maria Jensen by the end "
    "of May how many people you will bring, and whether anyone in your group needs a "
    "vegetarian or gluten-free meal.",
    "Backups of the shared drive run every night at 2:30 am. Files deleted by mistake can "
    "be restored for up to 90 days: open a ticket with the help desk and give the full "
    "path of the file, the approximate time it was removed, and the name of the project "
    "it belongs to.",
    "Visitors must sign in at the front desk and wear their badge at all times. Badges "
    "are returned when leaving the building. Anyone who finds a door propped open after "
    "7 pm should close it and report the matter to security on extension 4412.",
)
CHINESE = (
    "本公司员工每年享有十五天带薪年假，入职满五年后增加到二十天。请在休假前至少两周"
    "通过人力资源系统提交申请，并与直属经理确认工作交接安排。未使用的年假最多可以结转"
    "五天到下一年度。",
    "北楼的供暖系统将于三月十四日停止运行，进行为期两天的检修。在二一零至二四五号房间"
    "办公的同事，请携带笔记本电脑前往一楼图书馆，那里已经准备了额外的桌椅和电源插座。",
    "报销申请必须在购买后三十天内提交。请附上每张收据的清晰复印件；如果能看清金额、"
    "日期和商店名称，用手机拍摄的照片也可以接受。超过五百元的报销需要部门负责人批准后"
    "才能付款。",
    "共享硬盘每天凌晨两点半自动备份。误删的文件可在九十天内恢复：请向技术支持提交工单，"
    "写明文件的完整路径、大致删除时间以及所属项目的名称。",
    "访客须在前台登记，并在楼内全程佩戴访客证，离开时归还。如果晚上七点以后发现有门被"
    "撑开未关，请随手关好，并拨打分机4412通知保安。",
    "年度夏季野餐将于6月21日星期六中午十二点至晚上六点在湖边举行，欢迎家属参加。请在"
    "五月底前告诉人事部的王丽参加人数，以及是否有人需要素食或无麸质餐食。如需帮助，请"
    "发送邮件至 help@example.com 或拨打 010-8888 6666。",
)

A4_INCHES = (8.27, 11.69)
MARGIN_INCHES = 0.9
GUTTER_INCHES = 0.35
LINE_SPACING = 1.5  # baseline to baseline, in ems
PARAGRAPH_GAP = 0.6  # extra space between paragraphs, in ems
TITLE_SCALE = 1.5  # the title's size against the body's

# A run of CJK ideographs or fullwidth punctuation breaks anywhere; Latin words do not.
_CJK = "\u2e80-\u9fff\u3000-\u303f\uff00-\uffef"
_TOKENS = re.compile(rf"\s+|[{_CJK}]|[^\s{_CJK}]+")


@dataclass(frozen=True)
class DrawnLine:
    """One line as drawn: its text, and its ink's box as fractions (x0, y0, x1, y1) of the
    image as given (after skew and turn: the axis-aligned box around the turned line)."""

    text: str
    box: tuple[float, float, float, float]
    block: int  # paragraph (or title) number, in reading order


@dataclass(frozen=True)
class Scan:
    """A page image, the lines drawn on it in reading order, and what was done to it."""

    image: Image.Image
    lines: tuple[DrawnLine, ...]
    dpi: int
    rotation: int = 0  # turn the image this far clockwise to read it upright
    skew: float = 0.0  # degrees counter-clockwise the page was tilted before that
    noisy: bool = False

    @property
    def text(self) -> str:
        """The drawn text in reading order: lines joined by "\\n", blocks by a blank line."""
        parts: list[str] = []
        for i, line in enumerate(self.lines):
            if i and line.block != self.lines[i - 1].block:
                parts.append("")
            parts.append(line.text)
        return "\n".join(parts)


@dataclass
class _Column:
    x: float  # left edge, pixels
    width: float
    lines: list[tuple[str, float, float, int]] = field(default_factory=list)  # text, x, y, block


def render_pages(paragraphs: Sequence[str], *, dpi: int = 200, font_pt: float = 11.0,
                 columns: int = 1, title: str | None = None, rotation: int = 0,
                 skew: float = 0.0, noise: bool = False, seed: int = 0,
                 max_lines: int | None = None) -> list[Scan]:
    """``paragraphs`` laid out on as many A4 pages as they need (``max_lines`` stops after
    that many body lines, for short test pages), then skewed, turned and noised alike.

    ``title`` goes across the top of the first page, over all columns, at 1.5× the size.
    ``rotation`` (0, 90, 180, 270) is how far the result must be turned clockwise to be
    read upright, the convention of ``OcrPage.rotation`` and of a PDF page's /Rotate.
    """
    em = round(font_pt / 72 * dpi)
    font = cjk_font(em)
    width, height = round(A4_INCHES[0] * dpi), round(A4_INCHES[1] * dpi)
    margin, gutter = MARGIN_INCHES * dpi, GUTTER_INCHES * dpi
    text_width = width - 2 * margin
    column_width = (text_width - gutter * (columns - 1)) / columns
    bottom = height - margin
    step = em * LINE_SPACING

    pages: list[list[_Column]] = []
    titles: list[tuple[str, float, float] | None] = []
    queue = [(_wrap(p, font, column_width), block) for block, p in enumerate(paragraphs, 1)]
    drawn = 0
    while queue and (max_lines is None or drawn < max_lines):
        top = margin
        page_title = None
        if title is not None and not pages:
            page_title = (title, margin, margin)
            top = margin + em * TITLE_SCALE * 2
        cols = [_Column(margin + i * (column_width + gutter), column_width)
                for i in range(columns)]
        # Columns of a page the rest of the text does not fill are balanced, as a
        # typesetter would: the last page of a two-column paper has two half columns.
        left = sum(len(lines) for lines, _block in queue)
        if max_lines is not None:
            left = min(left, max_lines - drawn)
        per_column = -(-left // columns) if left * step < (bottom - top) * columns else None
        for col in cols:
            y = top
            while queue and y + em <= bottom and (max_lines is None or drawn < max_lines) \
                    and (per_column is None or len(col.lines) < per_column):
                lines, block = queue[0]
                col.lines.append((lines.pop(0), col.x, y, block))
                drawn += 1
                y += step
                if not lines:
                    queue.pop(0)
                    y += em * PARAGRAPH_GAP
        pages.append(cols)
        titles.append(page_title)

    rng = np.random.default_rng(seed)
    scans = []
    for cols, page_title in zip(pages, titles, strict=True):
        image = Image.new("L", (width, height), 255)
        draw = ImageDraw.Draw(image)
        placed: list[tuple[str, tuple[float, float, float, float], int]] = []
        if page_title is not None:
            title_font = cjk_font(round(em * TITLE_SCALE))
            text, x, y = page_title
            draw.text((x, y), text, font=title_font, fill=20)
            placed.append((text, _ink_box(text, title_font, x, y), 0))
        for col in cols:
            for text, x, y, block in col.lines:
                draw.text((x, y), text, font=font, fill=20)
                placed.append((text, _ink_box(text, font, x, y), block))
        scans.append(_finish(image, placed, dpi, rotation, skew, noise, rng))
    return scans


def render_page(paragraphs: Sequence[str], **options: object) -> Scan:
    """The first page ``render_pages`` lays out (the rest of the text is dropped)."""
    return render_pages(paragraphs, **options)[0]  # type: ignore[arg-type]


def degrade(scan: Scan, *, rotation: int = 0, skew: float = 0.0, noise: bool = False,
            seed: int = 0) -> Scan:
    """An upright, clean ``scan`` skewed, turned and noised as ``render_pages`` would have
    done it (for one page of a document rendered once)."""
    if scan.rotation or scan.skew or scan.noisy:
        raise ValueError("degrade takes an upright, clean scan")
    width, height = scan.image.size
    placed = [(line.text, (line.box[0] * width, line.box[1] * height, line.box[2] * width,
                           line.box[3] * height), line.block) for line in scan.lines]
    return _finish(scan.image, placed, scan.dpi, rotation, skew, noise,
                   np.random.default_rng(seed))


def blank_page(*, dpi: int = 200, noise: bool = True, seed: int = 0) -> Scan:
    """An empty sheet as a scanner sees it: no text, only grain and a few specks of dust."""
    width, height = round(A4_INCHES[0] * dpi), round(A4_INCHES[1] * dpi)
    image = Image.new("L", (width, height), 255)
    return _finish(image, [], dpi, 0, 0.0, noise, np.random.default_rng(seed))


def _ink_box(text: str, font: ImageFont.FreeTypeFont, x: float,
             y: float) -> tuple[float, float, float, float]:
    """The box of the ink ``text`` leaves when drawn at (x, y): ``textbbox`` would count
    the empty advance after a final "。" or "，" (half an em that OCR rightly leaves out)."""
    mask, (dx, dy) = font.getmask2(text, mode="L")
    ink = mask.getbbox() or (0, 0, 0, 0)
    return (x + dx + ink[0], y + dy + ink[1], x + dx + ink[2], y + dy + ink[3])


def _wrap(paragraph: str, font: ImageFont.FreeTypeFont, width: float) -> list[str]:
    """Greedy line breaking: Latin words stay whole, CJK breaks between any two characters."""
    lines: list[str] = []
    line = ""
    for token in _TOKENS.findall(paragraph):
        candidate = line + token
        if line and font.getlength(candidate.rstrip()) > width:
            lines.append(line.rstrip())
            line = "" if token.isspace() else token
        else:
            line = candidate
    if line.strip():
        lines.append(line.rstrip())
    return lines


def _finish(image: Image.Image,
            placed: list[tuple[str, tuple[float, float, float, float], int]],
            dpi: int, rotation: int, skew: float, noise: bool,
            rng: np.random.Generator) -> Scan:
    """Skew, turn and noise ``image``; carry each drawn box through the same transforms."""
    if rotation not in (0, 90, 180, 270):
        raise ValueError(f"rotation must be 0, 90, 180 or 270, not {rotation}")
    width, height = image.size
    quads = [_corners(box) for _text, box, _block in placed]
    if skew:
        image = image.rotate(skew, resample=Image.Resampling.BICUBIC, fillcolor=255)
        quads = [_skewed(q, skew, width / 2, height / 2) for q in quads]
    if rotation:
        # PIL's ROTATE_n turns counter-clockwise by n: undone by turning n clockwise.
        image = image.transpose({90: Image.Transpose.ROTATE_90,
                                 180: Image.Transpose.ROTATE_180,
                                 270: Image.Transpose.ROTATE_270}[rotation])
        quads = [_turned(q, rotation, width, height) for q in quads]
    if noise:
        image = _noisy(image, dpi, rng)
    w, h = image.size
    lines = tuple(
        DrawnLine(text, (max(0.0, min(x for x, _ in q) / w), max(0.0, min(y for _, y in q) / h),
                         min(1.0, max(x for x, _ in q) / w), min(1.0, max(y for _, y in q) / h)),
                  block)
        for (text, _box, block), q in zip(placed, quads, strict=True))
    return Scan(image, lines, dpi, rotation, skew, noise)


def _corners(box: tuple[float, float, float, float]) -> list[tuple[float, float]]:
    x0, y0, x1, y1 = box
    return [(x0, y0), (x1, y0), (x1, y1), (x0, y1)]


def _skewed(quad: list[tuple[float, float]], degrees: float, cx: float,
            cy: float) -> list[tuple[float, float]]:
    """Where PIL's ``rotate(degrees)`` (counter-clockwise on screen, about the centre,
    same canvas) moves each point; y points down, hence the signs."""
    a = np.radians(degrees)
    cos, sin = float(np.cos(a)), float(np.sin(a))
    return [(cx + (x - cx) * cos + (y - cy) * sin, cy - (x - cx) * sin + (y - cy) * cos)
            for x, y in quad]


def _turned(quad: list[tuple[float, float]], rotation: int, width: int,
            height: int) -> list[tuple[float, float]]:
    """Where a counter-clockwise turn by ``rotation`` moves each point of a
    ``width`` × ``height`` image."""
    if rotation == 90:
        return [(y, width - x) for x, y in quad]
    if rotation == 180:
        return [(width - x, height - y) for x, y in quad]
    return [(height - y, x) for x, y in quad]  # 270


def _noisy(image: Image.Image, dpi: int, rng: np.random.Generator) -> Image.Image:
    """Light scanner noise: optics blur, paper tint, grain, and dust specks."""
    image = image.filter(ImageFilter.GaussianBlur(0.5 * dpi / 200))
    pixels = np.asarray(image, dtype=np.float32) * (240 / 255)  # greyish paper
    pixels += rng.normal(0.0, 10.0, pixels.shape)
    specks = rng.random(pixels.shape) < 0.0002
    pixels[specks] = rng.uniform(0, 120, int(specks.sum()))
    return Image.fromarray(np.clip(pixels, 0, 255).astype(np.uint8))


def save_png(scan: Scan, path: Path) -> Path:
    scan.image.save(path, dpi=(scan.dpi, scan.dpi))
    return path


def save_tiff(scans: Sequence[Scan], path: Path) -> Path:
    """One multi-page TIFF (deflate-compressed), as a document scanner writes a batch."""
    first, *rest = [s.image for s in scans]
    first.save(path, save_all=True, append_images=rest, compression="tiff_deflate",
               dpi=(scans[0].dpi, scans[0].dpi))
    return path


def save_pdf(scans: Sequence[Scan], path: Path) -> Path:
    """An image-only PDF: one page per scan, sized by its dpi, and no text layer at all."""
    first, *rest = [s.image for s in scans]
    first.save(path, "PDF", save_all=True, append_images=rest, resolution=float(scans[0].dpi))
    return path


def normalise(text: str) -> str:
    """Text as the character error rate compares it: NFKC (full-width letters, digits and
    punctuation become their half-width forms: "，" is ",", "：" is ":"), then every
    whitespace character dropped (line breaks and the spaces OCR puts or leaves out
    between words and around CJK are layout, not characters read)."""
    return "".join(unicodedata.normalize("NFKC", text).split())


def character_error_rate(expected: str, got: str) -> float:
    """Edit distance (insertions, deletions, substitutions) between the normalised texts,
    over the expected text's length: 0 is perfect; reading nothing is 1."""
    a, b = normalise(expected), normalise(got)
    if not a:
        return float(len(b) > 0)
    return edit_distance(a, b) / len(a)


def edit_distance(a: str, b: str) -> int:
    """Levenshtein distance, one numpy row per character of ``a``: the insertions along a
    row are a running minimum (cost j - k from column k), so no inner Python loop."""
    if not b:
        return len(a)
    codes = np.array([ord(c) for c in b])
    steps = np.arange(len(b) + 1)
    row = steps.copy()
    for i, char in enumerate(a, 1):
        base = np.empty_like(row)
        base[0] = i
        base[1:] = np.minimum(row[1:] + 1, row[:-1] + (codes != ord(char)))
        row = np.minimum.accumulate(base - steps) + steps
    return int(row[-1])
