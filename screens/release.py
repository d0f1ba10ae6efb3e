"""Release and modules: the release profile and which modules to deploy; dependencies come along and are explained."""
from __future__ import annotations

from pathlib import Path

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.widgets import Label, SelectionList, Static

from screens.base import SectionScreen
from screens.questions import FieldError, section_errors


class ReleaseScreen(SectionScreen):
    CSS_PATH = "release.tcss"
    PAGE = "release"
    TITLE_TEXT = "Release and modules"
    INTRO = "Choose the release profile and the modules to deploy. What a module needs is added for you."
    SECTIONS = ("release",)
    BINDINGS = [Binding("ctrl+u", "bundle", "Verify/push bundle")]

    def action_bundle(self) -> None:
        """The air-gap bundle named in the form: verify it and push it to the mirror (screens/bundle.py)."""
        from screens.bundle import BundleScreen

        bundle = (self.forms["release"].data() or {}).get("bundle")
        if isinstance(bundle, dict):
            bundle = bundle.get("file")
        if not bundle:
            self.set_status("Give the bundle's folder under Air-gap bundle first (made by install.sh bundle create).")
            return
        path = Path(str(bundle)).expanduser()
        if not path.is_absolute():
            path = self.wizard.state.base_dir / path
        if not (path / "manifest.json").is_file():
            self.set_status(f"{path} is not a bundle (no manifest.json there).")
            return
        self.app.push_screen(BundleScreen(path))

    def compose_body(self) -> ComposeResult:
        catalog = self.wizard.state.catalog
        form = self.make_form("release", choices={("version",): list(catalog.releases)}, hidden={("modules",)},
                              extra_values=self._modules_value, validator=self._validate)
        self._touched = "modules" in (self.wizard.state.section("release") or {})
        self._syncing = False
        yield form
        yield Label("Modules", classes="modules-title", markup=False)
        yield Static("Space toggles a module.", classes="modules-help", markup=False)
        yield SelectionList[str](id="modules")
        yield Static("", id="modules-explained", markup=False)

    def on_mount(self) -> None:
        super().on_mount()
        self._fill_modules()

    def _validate(self, data) -> list[FieldError]:
        """The section model, then the chart folder: there, a chart tree, and holding every chart the profile
        and modules need. The mistake is made here, and the install would otherwise find it only after the
        database step (screens/chart_checks.py, as line mode asks)."""
        from screens.chart_checks import release_errors

        base_dir = self.wizard.state.base_dir
        return section_errors("release", data, base_dir) or release_errors(data, self.wizard.state.draft, base_dir)

    def _profile(self):
        from installer.answers.models import Release

        data = self.forms["release"].data() or {}
        return self.wizard.state.catalog.releases.get(str(data.get("version") or Release.model_fields["version"].default))

    def _fill_modules(self) -> None:
        profile = self._profile()
        chosen_before = (self.wizard.state.section("release") or {}).get("modules")
        listing = self.query_one("#modules", SelectionList)
        listing.clear_options()
        if profile is None:
            return
        if chosen_before is None:
            chosen_before = [m for m in profile.default_modules if (profile.module(m) and profile.module(m).selectable)]
        for module in profile.modules:
            if module.selectable:
                listing.add_option((Text(f"{module.name}: {module.description}"), module.name, module.name in chosen_before))
        self._initial_selection = self.selected()
        self._explain()

    def selected(self) -> list[str]:
        if not self.query("#modules"):
            return list((self.wizard.state.section("release") or {}).get("modules") or [])
        listing = self.query_one("#modules", SelectionList)
        order = [listing.get_option_at_index(i).value for i in range(listing.option_count)]
        return [name for name in order if name in listing.selected]

    def _modules_value(self) -> dict:
        """Untouched, the answers keep saying "the profile's default set" rather than listing it."""
        chosen = self.selected()
        return {"modules": chosen} if self._touched or chosen != getattr(self, "_initial_selection", chosen) else {}

    def on_selection_list_selected_changed(self, event: SelectionList.SelectedChanged) -> None:
        if self._syncing:
            return
        profile = self._profile()
        listing = self.query_one("#modules", SelectionList)
        if profile is not None:
            needed = profile.with_dependencies(self.selected())
            missing = [name for name in needed if name not in listing.selected and profile.module(name).selectable]
            if missing:
                self._syncing = True
                for name in missing:
                    listing.select(name)
                self._syncing = False
        self._explain()
        self.forms["release"].changed()

    def on_section_form_changed(self, event) -> None:
        super().on_section_form_changed(event)
        profile = self._profile()
        if profile is not None and self.query("#modules") and profile.name != getattr(self, "_shown_profile", None):
            self._shown_profile = profile.name
            self._fill_modules()

    def _explain(self) -> None:
        profile = self._profile()
        if profile is None:
            return
        selected = self.selected()
        everything = profile.with_dependencies(selected)
        added = [name for name in everything if name not in selected]
        lines = []
        if not selected:
            lines.append(f"Nothing chosen: the profile's default set is deployed ({', '.join(profile.default_modules)}).")
        for name in everything:
            module = profile.module(name)
            needed_by = [m for m in everything if name in (profile.module(m).depends if profile.module(m) else [])]
            if name in added or (needed_by and module is not None and module.selectable):
                lines.append(f"+ {name}, needed by {', '.join(needed_by) or 'the release'}: {module.description if module else ''}")
        self.query_one("#modules-explained", Static).update("\n".join(lines))

