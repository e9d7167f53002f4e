"""Verilator-style .f file lists (sources, include folders, defines, nested lists), read the same way for
simulation (`codesign.sim`) and synthesis (`codesign.synth`)."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from codesign.errors import CodesignError

HEADER_SUFFIXES = (".svh", ".vh")


@dataclass
class FileList:
    files: list[Path] = field(default_factory=list)
    include_dirs: list[Path] = field(default_factory=list)
    defines: dict[str, str | None] = field(default_factory=dict)

    def headers(self) -> list[Path]:
        """The headers in the include folders: part of the RTL as much as the sources (hashes, copies)."""
        return sorted(f for d in self.include_dirs for f in Path(d).iterdir() if f.suffix in HEADER_SUFFIXES)


def read_file_list(path: Path, base: Path | None = None) -> FileList:
    """Read a Verilator-style .f file: sources, +incdir+ / -I, +define+ / -D, nested -f / -F.

    A relative path is looked up beside the .f file first, then in `base` (default: the working
    directory), because both conventions exist. Headers (.svh, .vh) become include directories.
    Tool switches (-W..., --...) are ignored; anything else unknown is an error.
    """
    path = Path(path)
    if not path.is_file():
        raise CodesignError(f"{path}: file list not found")
    base = Path.cwd() if base is None else Path(base)
    result = FileList()
    tokens: list[tuple[int, str]] = []
    for lineno, raw in enumerate(path.read_text().splitlines(), 1):
        line = raw.split("//", 1)[0]
        if line.lstrip().startswith("#"):
            continue
        tokens += [(lineno, t) for t in line.split()]

    def resolve(lineno: int, name: str, want_dir: bool = False) -> Path:
        for root in (path.parent, base):
            candidate = (root / name).resolve()
            if candidate.is_dir() if want_dir else candidate.is_file():
                return candidate
        raise CodesignError(f"{path}:{lineno}: no such {'folder' if want_dir else 'file'} {name!r}")

    def add_define(item: str) -> None:
        name, _, value = item.partition("=")
        result.defines[name] = value if _ else None

    it = iter(tokens)
    for lineno, tok in it:
        if tok.startswith("+incdir+"):
            result.include_dirs += [resolve(lineno, d, True) for d in tok[8:].split("+") if d]
        elif tok.startswith("+define+"):
            for item in tok[8:].split("+"):
                if item:
                    add_define(item)
        elif tok in ("-I", "-D", "-f", "-F", "-v"):
            arg = next(it, (lineno, None))[1]
            if arg is None:
                raise CodesignError(f"{path}:{lineno}: {tok} needs an argument")
            if tok == "-I":
                result.include_dirs.append(resolve(lineno, arg, True))
            elif tok == "-D":
                add_define(arg)
            elif tok == "-v":
                result.files.append(resolve(lineno, arg))
            else:
                nested = read_file_list(resolve(lineno, arg), base)
                result.files += nested.files
                result.include_dirs += nested.include_dirs
                result.defines.update(nested.defines)
        elif tok.startswith("-I"):
            result.include_dirs.append(resolve(lineno, tok[2:], True))
        elif tok.startswith("-D"):
            add_define(tok[2:])
        elif tok.startswith(("-W", "--")):
            continue
        elif tok.startswith(("-", "+")):
            raise CodesignError(f"{path}:{lineno}: unsupported option {tok!r} in a file list")
        else:
            source = resolve(lineno, tok)
            if source.suffix in HEADER_SUFFIXES:
                if source.parent not in result.include_dirs:
                    result.include_dirs.append(source.parent)
            else:
                result.files.append(source)
    return result
