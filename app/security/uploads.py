"""Checks on uploaded files before anything parses or stores them: archive bombs, allowed
types (by their content, not their name), sizes, and the file name kept only as display text."""

from __future__ import annotations

import io
import re
import zipfile
from dataclasses import dataclass


@dataclass(frozen=True)
class FileData:
    """A file as it arrived (uploaded, sent through the API, attached to an e-mail): the
    sender's name for it (display text only), its type and its bytes."""

    filename: str
    content_type: str
    data: bytes


# An .xlsx is a zip archive: openpyxl would inflate it whole. Refuse archives that would expand
# far beyond any real customer list, or that compress suspiciously well, before it starts.
MAX_UNCOMPRESSED = 100 * 1024 * 1024
MAX_RATIO = 100
MAX_MEMBERS = 500

EVIDENCE_EXTENSIONS = frozenset(
    {"jpg", "jpeg", "png", "gif", "webp", "pdf", "txt", "csv", "doc", "docx", "xls", "xlsx"}
)

# Files that come with a complaint (the customers' form, the complaint mailbox) and evidence of
# an improvement action are kept in the database, so each is small and a complaint's together.
ATTACHMENT_MAX_BYTES = 5 * 1024 * 1024
ATTACHMENT_MAX_TOTAL = 10 * 1024 * 1024
DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
ATTACHMENT_TYPES = frozenset(
    {
        "application/pdf",
        "image/jpeg",
        "image/png",
        "image/gif",
        "text/plain",
        "application/msword",
        DOCX,
        XLSX,
    }
)
# What a file's first bytes are for each type that has a signature: a file claiming one of
# these types must start with it (a renamed program is not a photo).
SIGNATURES = {
    "application/pdf": (b"%PDF-",),
    "image/jpeg": (b"\xff\xd8\xff",),
    "image/png": (b"\x89PNG\r\n\x1a\n",),
    "image/gif": (b"GIF87a", b"GIF89a"),
    "application/msword": (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1",),
    DOCX: (b"PK\x03\x04",),
    XLSX: (b"PK\x03\x04",),
}
# The types recognised from their content alone (``sniff``): one signature, one type.
_SNIFFED = ("application/pdf", "image/jpeg", "image/png", "image/gif")
# zip, gzip, rar, 7z, bzip2, xz, zstd: nothing a customer needs to send, and bombs hide in them.
ARCHIVE_SIGNATURES = (
    b"PK\x03\x04",
    b"PK\x05\x06",
    b"PK\x07\x08",
    b"\x1f\x8b",
    b"Rar!\x1a\x07",
    b"7z\xbc\xaf\x27\x1c",
    b"BZh",
    b"\xfd7zXZ\x00",
    b"\x28\xb5\x2f\xfd",
)
EXTENSIONS = {  # (in the order ``kinds`` names them)
    "image/jpeg": "jpg",
    "image/png": "png",
    "image/gif": "gif",
    "application/pdf": "pdf",
    "text/plain": "txt",
    "application/msword": "doc",
    DOCX: "docx",
    XLSX: "xlsx",
}


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


def sniff(data: bytes) -> str | None:
    """The type a file's first bytes show (PDF, JPEG, PNG, GIF), whatever its name says."""
    return next((t for t in _SNIFFED if data.startswith(SIGNATURES[t])), None)


def is_archive(data: bytes) -> bool:
    return data.startswith(ARCHIVE_SIGNATURES)


def attachment_refusal(
    content_type: str, data: bytes, *, allowed: frozenset[str] = ATTACHMENT_TYPES, stored: int = 0
) -> str | None:
    """Why a file may not be kept with the others (``stored`` bytes so far), in Chinese for the
    sender; None when it may. ``content_type`` is what the file claims to be: a type with a
    signature must start with it, and an Office file (a zip) must not be a zip bomb."""
    if len(data) > ATTACHMENT_MAX_BYTES:
        return f"文件过大，每个附件不能超过 {mb(ATTACHMENT_MAX_BYTES)}"
    if stored + len(data) > ATTACHMENT_MAX_TOTAL:
        return f"附件合计不能超过 {mb(ATTACHMENT_MAX_TOTAL)}"
    if content_type not in allowed:
        if is_archive(data):
            return "不能上传压缩包，请直接上传文件"
        return f"文件类型不支持，仅支持 {kinds(allowed)} 文件"
    if content_type in SIGNATURES and not data.startswith(SIGNATURES[content_type]):
        return "文件内容与类型不符"
    if content_type in (DOCX, XLSX):
        try:
            check_zip(data)
        except UnsafeUpload as err:
            return str(err)
    return None


def kinds(allowed: frozenset[str]) -> str:
    """The allowed types as the sender knows them: "JPG、PNG、PDF"."""
    return "、".join(ext.upper() for t, ext in EXTENSIONS.items() if t in allowed)


def mb(size: int) -> str:
    return f"{size // (1024 * 1024)} MB"


def size_text(size: int) -> str:
    """A file's size as people read it: "820 KB", "2.4 MB"."""
    if size >= 1024 * 1024:
        return f"{size / (1024 * 1024):.1f} MB"
    return f"{max(1, round(size / 1024))} KB"


def base64_size(size: int) -> int:
    """How many characters ``size`` bytes take in Base64 (4 for every 3, padded)."""
    return -(-size // 3) * 4


# Control characters, the direction overrides that make "gpj.exe" read as "exe.jpg", and what
# Windows refuses in a file name.
_UNSAFE_IN_NAME = re.compile(r'[\x00-\x1f\x7f\u200e\u200f\u202a-\u202e\u2066-\u2069<>:"|?*]')


def display_name(filename: str | None, default: str = "附件") -> str:
    """A client's file name as display text only: its base name ("../../x.pdf" is "x.pdf"),
    without control or direction characters, leading dots or characters Windows refuses, and
    at most 200 characters (keeping the extension). Never used to build a path."""
    name = (filename or "").replace("\\", "/").split("/")[-1]
    name = " ".join(_UNSAFE_IN_NAME.sub("_", name).split()).lstrip(". ")
    if len(name) > 200:
        stem, dot, ext = name.rpartition(".")
        name = f"{stem[: 199 - len(ext)]}.{ext}" if dot and len(ext) <= 10 else name[:200]
    return name or default
