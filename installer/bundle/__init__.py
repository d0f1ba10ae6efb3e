"""The air-gap bundle: built on a connected machine, carried in, verified, pushed to the site's mirror.

    create.py    charts, images (computed from the rendered plan), the installer's wheelhouse, artifacts
    layout.py    the OCI image layout holding every image by digest
    manifest.py  manifest.json, the streaming verification and its record, the optional signature
    push.py      images into registry.mirror, resumable by digest
    check.py     before Helm: every image of the plan in the mirror (check id images.in_mirror)
    command.py   `install.sh bundle create|verify|push`
"""
