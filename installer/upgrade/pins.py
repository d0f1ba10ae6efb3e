"""Images a release profile pins that its charts render at another tag or digest.

A profile's `images` list and pin what it installs; they set nothing. A site profile that lists a new tag
there without setting it in `release_values` changes nothing, and the upgrade's plan must say so. Image
references are read by the bundle's parser, and repositories matched as the mirror stores them, so a
rendered image pulled through the registry mirror is the image the profile names.
"""
from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from installer.bundle.reference import ImageRef, ReferenceError, mirror_path, parse


def pins_not_rendered(profile: Any, rendered: Iterable[str], registry: str | None = None
                      ) -> list[tuple[str, list[str]]]:
    """(pinned image, what the charts render of its repository) for each such pin, in the pins' order.

    A pin whose repository nothing renders (a module not chosen) is no finding. Only the profile's own
    `images` are pins: a module's list is the release manifest's description of the module (digit-2.9-lts's
    come from the v2.9 release manifest, older than the LTS commit's tags)."""
    prefix = registry.rstrip("/") + "/" if registry else None
    by_repository: dict[str, set[str]] = {}
    for image in rendered:
        upstream = image[len(prefix):] if prefix and image.startswith(prefix) else image
        try:
            by_repository.setdefault(mirror_path(upstream), set()).add(upstream)
        except ReferenceError:
            continue
    found = []
    for pinned in sorted(profile.images):
        try:
            pin, images = parse(pinned), by_repository.get(mirror_path(pinned))
        except ReferenceError:
            continue
        if images and not any(_installs(pin, parse(image)) for image in images):
            found.append((pinned, sorted(images)))
    return found


def _installs(pin: ImageRef, image: ImageRef) -> bool:
    """The rendered image is the pinned one: the same tag, and the pin's digest unless it names none."""
    return image.tag == pin.tag and (pin.digest is None or image.digest in (None, pin.digest))
