"""Every piece of text the window shows, in one place, in English and Simplified Chinese.

Why a table here and not Qt Linguist files: the texts are few, the two languages are
reviewed side by side in one diff, and a test checks that every key has both. Adding a
language is adding one more dictionary with the same keys.

``tr("key", name=...)`` formats with ``str.format``; a missing translation falls back to
English, a missing key is a bug (KeyError, caught by the tests).
"""

from __future__ import annotations

from typing import Literal

Language = Literal["en", "zh_CN"]
LANGUAGES: tuple[Language, ...] = ("en", "zh_CN")

EN: dict[str, str] = {
    "app.title": "Kura",
    "app.tagline": "Answers from your own documents",
    # welcome / models
    "welcome.title": "Welcome to Kura",
    "welcome.text": (
        "Kura answers questions about your own documents and shows where each answer "
        "comes from. Everything stays on this computer: after the models below are "
        "downloaded once, Kura never uses the network."
    ),
    "welcome.models": "Model files",
    "welcome.download": "Download",
    "welcome.pause": "Pause",
    "welcome.resume": "Resume",
    "welcome.cancel": "Cancel",
    "welcome.import": "Import from a folder…",
    "welcome.mirror": "Mirror",
    "welcome.mirror_help": "Leave empty to download from Hugging Face; or a mirror's address.",
    "welcome.continue": "Continue",
    "welcome.role.embedder": "Search model (EmbeddingGemma, ~200 MB)",
    "welcome.role.llm": "Answer model (Gemma 3 4B, ~2.5 GB)",
    "welcome.ready": "Ready",
    "welcome.missing": "Not downloaded",
    "welcome.corrupt": "Damaged — download again",
    "welcome.waiting": "Waiting",
    "welcome.can_index": "You can add documents now; answers wait for the answer model.",
    "welcome.progress": "{name}: {done} of {total} · {rate}/s · {eta} left",
    "welcome.progress_unknown": "{name}: {done}",
    "welcome.step": "{name}: {stage}…",
    "welcome.paused": "Paused. Resume continues where the download stopped.",
    "welcome.cancelled": "Cancelled. Downloaded parts are kept for next time.",
    "welcome.failed": "Download failed: {error}",
    "welcome.imported": "Imported: {roles}",
    "welcome.import_failed": "Import failed: {error}",
    "welcome.choose_folder": "Folder with Kura's model files",
    # library
    "library.title": "Library",
    "library.add": "Add folder…",
    "library.add_tip": "Add a folder of documents (Ctrl+O). You can also drop folders here.",
    "library.drop_hint": "Drop folders or files here to add them to your library.",
    "library.sync": "Re-sync",
    "library.remove": "Remove…",
    "library.rename": "Rename…",
    "library.skipped": "Skipped files…",
    "library.watch": "Watch folders for changes",
    "library.empty": "No documents yet. Drop a folder here, or press Ctrl+O.",
    "library.row": "{name}\n{documents} documents · {chunks} passages · {state}",
    "library.state.indexing": "indexing",
    "library.state.ready": "up to date",
    "library.state.pending": "waiting to be indexed",
    "library.state.errors": "{count} skipped",
    "library.add_title": "Add to library",
    "library.add_label": "Add {what} to the collection:",
    "library.add_help": "Type a new name, or pick an existing collection to add to it.",
    "library.add_each": "Each folder as its own collection",
    "library.rename_title": "Rename collection",
    "library.rename_label": "New name:",
    "library.remove_title": "Remove collection",
    "library.remove_confirm": (
        "Remove “{name}” from Kura? Its files stay where they are; Kura forgets them "
        "and their passages."
    ),
    "library.opening": "Opening your library…",
    "library.model_wait": "Adding documents waits for the search model.",
    # indexing progress
    "index.scan": "Reading files: {done} of {total}",
    "index.scan_unknown": "Looking for files…",
    "index.embed": "Indexing passages: {done} of {total} · {rate} per second · {eta} left",
    "index.embed_start": "Indexing passages: {done} of {total}",
    "index.index": "Preparing the search index…",
    "index.loading": "Loading the search model…",
    "index.done": "Up to date",
    "index.paused": "Paused",
    "index.paused_for_answer": "Paused while answering",
    "index.cancelled": "Stopped. Indexing continues where it stopped next time.",
    "index.pause": "Pause",
    "index.resume": "Resume",
    "index.cancel": "Stop",
    "index.failed": "Indexing stopped: {error}",
    # skipped files
    "skipped.title": "Skipped files",
    "skipped.none": "Nothing was skipped.",
    "skipped.retry": "Try again",
    "skipped.col.file": "File",
    "skipped.col.collection": "Collection",
    "skipped.col.reason": "Reason",
    # chats
    "chats.title": "Conversations",
    "chats.new": "New conversation",
    "chats.rename": "Rename…",
    "chats.delete": "Delete…",
    "chats.export": "Export as Markdown…",
    "chats.untitled": "New conversation",
    "chats.delete_confirm": "Delete the conversation “{title}”?",
    "chats.rename_label": "Name:",
    "chats.exported": "Saved to {path}",
    # asking
    "ask.placeholder": "Ask a question about your documents…  (Enter to ask, Shift+Enter "
                       "for a new line)",
    "ask.send": "Ask",
    "ask.stop": "Stop",
    "ask.scope_all": "All collections",
    "ask.scope_some": "{count} collections",
    "ask.scope_tip": "Which collections to search",
    "ask.thinking": "Searching your documents…",
    "ask.writing": "Writing…",
    "ask.no_llm": "The answer model is not downloaded yet: Kura can search, but not "
                  "write answers. Open Settings → Models.",
    "ask.llm_loading": "Loading the answer model…",
    "ask.declined_title": "Not found in your documents",
    "ask.searched": "Searched: {names}",
    "ask.sources": "Sources",
    "ask.stopped": "(stopped)",
    "ask.failed": "Kura could not answer: {error}",
    "ask.empty_library": "Add documents first: Kura answers only from your library.",
    # preview
    "preview.title": "Source",
    "preview.open": "Open file",
    "preview.close": "Close",
    "preview.page": "Page {page} of {count}",
    # search
    "search.title": "Search the library",
    "search.placeholder": "Search words or a question…",
    "search.none": "No passages found.",
    # settings
    "settings.title": "Settings",
    "settings.models": "Models",
    "settings.models_help": "Where Kura's two models are and whether they are complete.",
    "settings.redownload": "Download or repair models…",
    "settings.threads": "Threads",
    "settings.threads_help": "CPU threads for answers; 0 lets Kura choose for this computer.",
    "settings.answer_tokens": "Answer length",
    "settings.answer_tokens_help": "The longest answer, in tokens (about ¾ of a word each).",
    "settings.passages": "Passages per answer",
    "settings.passages_help": "How many passages are retrieved to write an answer from.",
    "settings.threshold": "Relevance threshold",
    "settings.threshold_help": (
        "Below this, Kura says it does not know instead of answering. Higher is stricter."
    ),
    "settings.dims": "Index dimensions",
    "settings.dims_help": (
        "Smaller saves memory on very large libraries; 768 finds the most. Applies after "
        "a restart (the index is rebuilt)."
    ),
    "settings.data": "Data location",
    "settings.data_help": "Your library, chats and models are stored here.",
    "settings.open_data": "Open folder",
    "settings.change_data": "Change…",
    "settings.data_next": "{path} (from the next start; nothing is moved)",
    "settings.theme": "Theme",
    "settings.theme_help": "Follow the system's light or dark appearance, or choose one.",
    "settings.theme.system": "Follow the system",
    "settings.theme.light": "Light",
    "settings.theme.dark": "Dark",
    "settings.language": "Language",
    "settings.language_help": "The language of Kura's window. Applies after a restart.",
    "settings.language.system": "Follow the system",
    "settings.watch_help": "Re-index files when they change while Kura is open.",
    "settings.mirror_help": "Where model files are downloaded from (empty: Hugging Face).",
    "settings.restart": "Some changes apply after Kura restarts.",
    # menus and status
    "menu.file": "&File",
    "menu.add": "Add folder…",
    "menu.search": "Search the library…",
    "menu.settings": "Settings…",
    "menu.quit": "Quit",
    "menu.help": "&Help",
    "menu.about": "About Kura",
    "about.text": "Kura {version}\nAnswers from your own documents, fully offline.\n"
                  "Data: {data}",
    "status.offline": "Offline",
    "error.title": "Kura",
    # the error dialog (desktop_app/gui/crash.py)
    "crash.title": "Kura — something went wrong",
    "crash.error": "Kura ran into an unexpected error.",
    "crash.keep_going": "Kura keeps running, but what you were doing may not have finished. "
                        "If something looks wrong, restart Kura.",
    "crash.startup": "Kura could not start.",
    "crash.log": "The details are in the log file:\n{path}",
    "crash.no_log": "No log file could be written.",
    "crash.open_log": "Show log folder",
}

ZH: dict[str, str] = {
    "app.title": "Kura",
    "app.tagline": "用你自己的文档回答问题",
    "welcome.title": "欢迎使用 Kura",
    "welcome.text": (
        "Kura 根据你自己的文档回答问题，并标出每个答案的出处。一切都留在这台电脑上："
        "下面的模型只需下载一次，之后 Kura 不再联网。"
    ),
    "welcome.models": "模型文件",
    "welcome.download": "下载",
    "welcome.pause": "暂停",
    "welcome.resume": "继续",
    "welcome.cancel": "取消",
    "welcome.import": "从文件夹导入…",
    "welcome.mirror": "镜像",
    "welcome.mirror_help": "留空则从 Hugging Face 下载；也可以填写镜像地址。",
    "welcome.continue": "继续",
    "welcome.role.embedder": "搜索模型（EmbeddingGemma，约 200 MB）",
    "welcome.role.llm": "回答模型（Gemma 3 4B，约 2.5 GB）",
    "welcome.ready": "已就绪",
    "welcome.missing": "未下载",
    "welcome.corrupt": "文件已损坏，请重新下载",
    "welcome.waiting": "等待中",
    "welcome.can_index": "现在就可以添加文档；回答需要等回答模型下载完成。",
    "welcome.progress": "{name}：{done} / {total} · {rate}/秒 · 还剩 {eta}",
    "welcome.progress_unknown": "{name}：{done}",
    "welcome.step": "{name}：{stage}…",
    "welcome.paused": "已暂停。继续时会从中断处接着下载。",
    "welcome.cancelled": "已取消。已下载的部分会保留到下次。",
    "welcome.failed": "下载失败：{error}",
    "welcome.imported": "已导入：{roles}",
    "welcome.import_failed": "导入失败：{error}",
    "welcome.choose_folder": "存放 Kura 模型文件的文件夹",
    "library.title": "资料库",
    "library.add": "添加文件夹…",
    "library.add_tip": "添加一个文档文件夹（Ctrl+O）。也可以把文件夹拖到这里。",
    "library.drop_hint": "把文件夹或文件拖到这里，加入资料库。",
    "library.sync": "重新同步",
    "library.remove": "移除…",
    "library.rename": "重命名…",
    "library.skipped": "跳过的文件…",
    "library.watch": "监视文件夹的变化",
    "library.empty": "还没有文档。把文件夹拖到这里，或按 Ctrl+O。",
    "library.row": "{name}\n{documents} 个文档 · {chunks} 个段落 · {state}",
    "library.state.indexing": "正在索引",
    "library.state.ready": "已是最新",
    "library.state.pending": "等待索引",
    "library.state.errors": "跳过 {count} 个",
    "library.add_title": "加入资料库",
    "library.add_label": "把 {what} 加入资料集：",
    "library.add_help": "输入新名称，或选择已有的资料集。",
    "library.add_each": "每个文件夹各成一个资料集",
    "library.rename_title": "重命名资料集",
    "library.rename_label": "新名称：",
    "library.remove_title": "移除资料集",
    "library.remove_confirm": "从 Kura 中移除“{name}”？文件本身不会被删除；Kura 只是不再收录它们。",
    "library.opening": "正在打开资料库…",
    "library.model_wait": "添加文档需要先下载搜索模型。",
    "index.scan": "正在读取文件：{done} / {total}",
    "index.scan_unknown": "正在查找文件…",
    "index.embed": "正在索引段落：{done} / {total} · 每秒 {rate} 个 · 还剩 {eta}",
    "index.embed_start": "正在索引段落：{done} / {total}",
    "index.index": "正在准备搜索索引…",
    "index.loading": "正在加载搜索模型…",
    "index.done": "已是最新",
    "index.paused": "已暂停",
    "index.paused_for_answer": "回答期间暂停",
    "index.cancelled": "已停止。下次会从中断处继续索引。",
    "index.pause": "暂停",
    "index.resume": "继续",
    "index.cancel": "停止",
    "index.failed": "索引停止：{error}",
    "skipped.title": "跳过的文件",
    "skipped.none": "没有跳过任何文件。",
    "skipped.retry": "重试",
    "skipped.col.file": "文件",
    "skipped.col.collection": "资料集",
    "skipped.col.reason": "原因",
    "chats.title": "对话",
    "chats.new": "新对话",
    "chats.rename": "重命名…",
    "chats.delete": "删除…",
    "chats.export": "导出为 Markdown…",
    "chats.untitled": "新对话",
    "chats.delete_confirm": "删除对话“{title}”？",
    "chats.rename_label": "名称：",
    "chats.exported": "已保存到 {path}",
    "ask.placeholder": "就你的文档提一个问题…（Enter 提问，Shift+Enter 换行）",
    "ask.send": "提问",
    "ask.stop": "停止",
    "ask.scope_all": "全部资料集",
    "ask.scope_some": "{count} 个资料集",
    "ask.scope_tip": "要搜索哪些资料集",
    "ask.thinking": "正在搜索你的文档…",
    "ask.writing": "正在撰写…",
    "ask.no_llm": "回答模型还没有下载：Kura 可以搜索，但还不能写回答。请打开 设置 → 模型。",
    "ask.llm_loading": "正在加载回答模型…",
    "ask.declined_title": "你的文档中没有找到答案",
    "ask.searched": "已搜索：{names}",
    "ask.sources": "出处",
    "ask.stopped": "（已停止）",
    "ask.failed": "Kura 无法回答：{error}",
    "ask.empty_library": "请先添加文档：Kura 只根据你的资料库回答。",
    "preview.title": "出处",
    "preview.open": "打开文件",
    "preview.close": "关闭",
    "preview.page": "第 {page} 页，共 {count} 页",
    "search.title": "搜索资料库",
    "search.placeholder": "输入关键词或问题…",
    "search.none": "没有找到段落。",
    "settings.title": "设置",
    "settings.models": "模型",
    "settings.models_help": "Kura 的两个模型在哪里，以及是否完整。",
    "settings.redownload": "下载或修复模型…",
    "settings.threads": "线程数",
    "settings.threads_help": "回答使用的 CPU 线程数；0 表示由 Kura 为这台电脑选择。",
    "settings.answer_tokens": "回答长度",
    "settings.answer_tokens_help": "回答的最大长度（以词元计，一个汉字约一个词元）。",
    "settings.passages": "每次回答的段落数",
    "settings.passages_help": "写回答时检索多少个段落。",
    "settings.threshold": "相关度阈值",
    "settings.threshold_help": "低于此值时，Kura 会说不知道而不是回答。越高越严格。",
    "settings.dims": "索引维度",
    "settings.dims_help": (
        "较小的值可为很大的资料库节省内存；768 找得最全。重启后生效（索引会重建）。"
    ),
    "settings.data": "数据位置",
    "settings.data_help": "你的资料库、对话和模型都保存在这里。",
    "settings.open_data": "打开文件夹",
    "settings.change_data": "更改…",
    "settings.data_next": "{path}（下次启动时生效；现有数据不会被移动）",
    "settings.theme": "主题",
    "settings.theme_help": "跟随系统的浅色或深色外观，或自行选择。",
    "settings.theme.system": "跟随系统",
    "settings.theme.light": "浅色",
    "settings.theme.dark": "深色",
    "settings.language": "语言",
    "settings.language_help": "Kura 窗口使用的语言。重启后生效。",
    "settings.language.system": "跟随系统",
    "settings.watch_help": "Kura 打开时，文件一有变化就重新索引。",
    "settings.mirror_help": "模型文件的下载地址（留空：Hugging Face）。",
    "settings.restart": "部分更改在 Kura 重启后生效。",
    "menu.file": "文件(&F)",
    "menu.add": "添加文件夹…",
    "menu.search": "搜索资料库…",
    "menu.settings": "设置…",
    "menu.quit": "退出",
    "menu.help": "帮助(&H)",
    "menu.about": "关于 Kura",
    "about.text": "Kura {version}\n用你自己的文档回答问题，完全离线。\n数据：{data}",
    "status.offline": "离线",
    "error.title": "Kura",
    "crash.title": "Kura — 出错了",
    "crash.error": "Kura 遇到了意外错误。",
    "crash.keep_going": "Kura 仍在运行，但刚才的操作可能没有完成。如有异常，请重新启动 Kura。",
    "crash.startup": "Kura 无法启动。",
    "crash.log": "详细信息已写入日志文件：\n{path}",
    "crash.no_log": "无法写入日志文件。",
    "crash.open_log": "打开日志文件夹",
}

CATALOGS: dict[Language, dict[str, str]] = {"en": EN, "zh_CN": ZH}
_current: Language = "en"


def set_language(language: Language) -> None:
    global _current
    _current = language if language in CATALOGS else "en"


def language() -> Language:
    return _current


def language_for_locale(locale_name: str) -> Language:
    """Qt's locale name (``zh_CN``, ``zh_Hans_CN``, ``en_US``) to a catalog."""
    return "zh_CN" if locale_name.lower().startswith("zh") else "en"


def tr(key: str, **values: object) -> str:
    text = CATALOGS[_current].get(key) or EN[key]
    return text.format(**values) if values else text
