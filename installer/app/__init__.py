"""The composition root: what the installer does, assembled from the layers below.

    pipeline.py        the steps of an install, one literal list per target kind
    install.py         start_install(): the one way the headless run and the wizard start a run
    headless.py        `install.sh --answers FILE` (confirmation, face, exit code)
    status.py          `install.sh status`
    support_bundle.py  `install.sh support-bundle`
    validate.py        `install.sh validate` and `install.sh schema`
    checks.py          the pipeline's validate step
    answers_file.py    loading the answers and finding the state directory, for every command

The `plan` and `preflight` commands live in their domain packages (plan/command.py,
preflight/command.py). Nothing below this package imports it; cli.py and screens/ sit above.
"""
