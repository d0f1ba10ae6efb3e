"""Sizing: pick a profile, see what it needs, override with live checks against its figures."""
from __future__ import annotations

from textual.app import ComposeResult
from textual.widgets import DataTable, Static

from installer.answers.rules import OVERRIDE_FIGURES
from screens.base import SectionScreen
from screens.questions import FieldError
from screens.widgets.readonly_table import ReadOnlyTable


class SizingScreen(SectionScreen):
    CSS_PATH = "sizing.tcss"
    PAGE = "sizing"
    TITLE_TEXT = "Sizing"
    INTRO = "A sizing profile says how many machines of what size DIGIT needs, and its data volumes."
    SECTIONS = ("sizing",)

    def compose_body(self) -> ComposeResult:
        names = list(self.wizard.state.catalog.sizing)
        form = self.make_form("sizing", choices={("profile",): names}, validator=self._validate)
        yield form

    async def on_mount(self) -> None:
        super().on_mount()
        form = self.forms["sizing"]
        await form.mount(Static("", id="profile-description", markup=False),
                         ReadOnlyTable(id="profile-nodes", cursor_type="none", zebra_stripes=True),
                         ReadOnlyTable(id="profile-volumes", cursor_type="none", zebra_stripes=True),
                         after=form.field_row(("profile",)))
        self.query_one("#profile-nodes", DataTable).add_columns("role", "count", "vCPU", "RAM GB", "disk GB")
        self.query_one("#profile-volumes", DataTable).add_columns("volume", "count", "size GB")
        self._show_profile()

    def on_section_form_changed(self, event) -> None:
        super().on_section_form_changed(event)
        self._show_profile()

    def _profile(self):
        data = self.forms["sizing"].data() or {}
        return self.wizard.state.catalog.sizing.get(str(data.get("profile")))

    def _show_profile(self) -> None:
        profile = self._profile()
        if not self.query("#profile-nodes"):
            return
        nodes = self.query_one("#profile-nodes", DataTable)
        volumes = self.query_one("#profile-volumes", DataTable)
        nodes.clear()
        volumes.clear()
        self._show_profile_figures(profile)
        if profile is None:
            self.query_one("#profile-description", Static).update("Choose a profile to see what it needs.")
            return
        kinds = ", ".join(profile.target_kinds)
        from screens.cloud_sizing import machines_line

        on_cloud = machines_line(self.wizard.state.draft, profile, (self.forms["sizing"].data() or {}).get("overrides"))
        self.query_one("#profile-description", Static).update(f"{profile.description}\nFor: {kinds}"
                                                              + (f"\n{on_cloud}" if on_cloud else ""))
        for role, spec in profile.nodes.items():
            nodes.add_row(role, str(spec.count), str(spec.vcpu), str(spec.memory_gb), str(spec.disk_gb))
        for volume, spec in profile.volumes.items():
            volumes.add_row(volume, str(spec.count), str(spec.size_gb))

    def _show_profile_figures(self, profile) -> None:
        """An override left empty keeps the profile's figure: show that figure in the empty field."""
        from textual.widgets import Input

        form = self.forms["sizing"]
        for key, (read, _what) in OVERRIDE_FIGURES.items():
            row = form.field_row(("overrides", key))
            figure = read(profile) if profile is not None else None
            if row is not None:
                row.query_one("#value", Input).placeholder = f"{figure} from profile {profile.name}" if figure is not None else ""

    def _validate(self, data) -> list[FieldError]:
        """The section model, then the profile's minimums and target kinds (as the loader's rules do)."""
        from screens.questions import section_errors

        errors = section_errors("sizing", data, self.wizard.state.base_dir)
        profile = self.wizard.state.catalog.sizing.get(str((data or {}).get("profile")))
        if errors or profile is None:
            return errors
        kind = (self.wizard.state.draft.get("target") or {}).get("kind")
        if kind and kind not in profile.target_kinds:
            errors.append(FieldError(("profile",), "sizing.profile",
                                     f"profile {profile.name} is for {', '.join(profile.target_kinds)}, not {kind}"))
        if not data.get("allow_undersized"):
            for key, value in (data.get("overrides") or {}).items():
                read, what = OVERRIDE_FIGURES[key]
                minimum = read(profile)
                if minimum is not None and int(value) < minimum:
                    errors.append(FieldError(("overrides", key), f"sizing.overrides.{key}",
                                             f"{value} is below profile {profile.name}'s {minimum} {what}; raise it, or allow undersized"))
        return errors
