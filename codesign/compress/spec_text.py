"""The spec.yml of a compressed model: its base's spec plus a `compression:` section (pruning in
`compress.stage`, the circulant projection in `compress.circulant`)."""

from __future__ import annotations

import yaml

from codesign.spec import Spec


def compressed_spec_text(spec: Spec, compression: dict) -> str:
    """The base spec plus a `compression:` section (and the base's comments, when they can be kept)."""
    text = spec.path.read_text()
    data = yaml.safe_load(text)
    header = f"# Written by codesign compress from {spec.folder.name}: the base spec plus `compression`.\n"
    section = yaml.safe_dump({"compression": compression}, sort_keys=False, default_flow_style=None)
    if "compression" in data or "name" in data:
        # A compressed base or a spec naming itself: rewrite the mapping (comments are lost).
        data.pop("name", None)
        data.pop("compression", None)
        return header + yaml.safe_dump(data, sort_keys=False, default_flow_style=None) + section
    return header + text.rstrip("\n") + "\n" + section
