"""Checks on uploaded files before anything parses them: archive bombs and allowed types."""

from __future__ import annotations

import io
import zipfile

# An .xlsx is a zip archive: openpyxl would inflate it whole. Refuse archives that would expand
# far beyond any real customer list, or that compress suspiciously well, before it starts.
MAX_UNCOMPRESSED = 100 * 1024 * 1024
MAX_RATIO = 100
MAX_MEMBERS = 500

EVIDENCE_EXTENSIONS = frozenset(
    {"jpg", "jpeg", "png", "gif", "webp", "pdf", "txt", "csv", "doc", "docx", "xls", "xlsx"}
)


class UnsafeUpload(ValueError):
    """The file is refused; the message is Chinese and can be shown to the uploader."""


def check_zip(data: bytes) -> None:
    """Raise UnsafeUpload for a damaged archive or one that would expand absurdly (zip bomb)."""
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            members = archive.infolist()
    except (zipfile.BadZipFile, ValueError, OSError) as err:
        raise UnsafeUpload("无法读取 Excel 文件，请确认是 .xlsx 格式") from err
    if len(members) > MAX_MEMBERS:
        raise UnsafeUpload("文件结构异常（包含的部件过多），已拒绝")
    total = sum(m.file_size for m in members)
    packed = sum(m.compress_size for m in members) or 1
    worst = max((m.file_size / max(m.compress_size, 1) for m in members), default=0)
    if total > MAX_UNCOMPRESSED or total / packed > MAX_RATIO or worst > MAX_RATIO * 10:
        raise UnsafeUpload("文件解压后体积异常（疑似压缩炸弹），已拒绝")


def extension(filename: str | None) -> str:
    name = (filename or "").rsplit("/", 1)[-1].rsplit("\\", 1)[-1]
    return name.rsplit(".", 1)[-1].lower() if "." in name else ""
