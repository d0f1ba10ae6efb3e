"""What every wizard page shares: the step header, Back/Next, help, and a form per section."""
from __future__ import annotations

from typing import TYPE_CHECKING, Any

from textual import events, on
from textual.app import ComposeResult
from textual.await_complete import AwaitComplete
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.reactive import reactive
from textual.screen import ModalScreen, Screen
from textual.widget import Widget
from textual.widgets import Button, Footer, Label, Static

from screens.widgets.field_row import FieldRow
from screens.widgets.group_box import GroupBox
from screens.widgets.items_editor import ItemsEditor
from screens.widgets.section_form import SectionForm
from screens.widgets.union_box import UnionBox
from screens.questions import FieldError, Question, section_question, top_level_question

if TYPE_CHECKING:
    from screens.app import WizardApp


class HelpScreen(ModalScreen[None]):
    """F1: what the focused field means and what DIGIT needs it for."""

    DEFAULT_CSS = """
    HelpScreen { align: center middle; }
    HelpScreen > Vertical {
        width: 70; max-width: 95%; height: auto; max-height: 90%; border: thick $primary; background: $surface; padding: 1 2;
    }
    HelpScreen .help-title { text-style: bold; }
    HelpScreen .help-key { color: $text-muted; }
    HelpScreen Button { margin-top: 1; }
    """
    BINDINGS = [Binding("escape,f1,q", "dismiss", "Close")]

    def __init__(self, title: str, key: str, text: str) -> None:
        super().__init__()
        self.help_title, self.key, self.text = title, key, text

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Label(self.help_title, classes="help-title", markup=False)
            if self.key:
                yield Label(f"answers file key: {self.key}", classes="help-key", markup=False)
            yield Static(self.text or "No further help for this field.", markup=False)
            yield Button("Close (Esc)", id="close-help")

    @on(Button.Pressed, "#close-help")
    def _close(self) -> None:
        self.dismiss()


# what a page returns when it is done: go on, go back, or (a page's name) go there
NEXT, BACK = "next", "back"
LOADED, RESUMED = "loaded", "resumed"  # the welcome page loaded a file (to edit it, or to resume its install)


class WizardScreen(Screen[str]):
    """A page of the wizard with a step header and Back/Next; it returns (dismisses with) where to go next."""

    DEFAULT_CSS = """
    WizardScreen { layout: vertical; }
    WizardScreen > .page-header { height: 1; background: $primary; color: $text; padding: 0 1; }
    WizardScreen > .page-intro { padding: 0 1; color: $text-muted; height: auto; max-height: 3; }
    WizardScreen > .page-body { height: 1fr; padding: 0 1; }
    WizardScreen > .page-status { height: auto; max-height: 3; padding: 0 1; color: $warning; }
    WizardScreen > .page-nav { height: 1; align-horizontal: right; padding: 0 1; }
    WizardScreen > .page-nav Button { margin-left: 2; }
    """
    BINDINGS = [
        Binding("ctrl+n", "next", "Next"),
        Binding("ctrl+b", "back", "Back"),
        Binding("f1", "help", "Help"),
        Binding("question_mark", "help", "Help", show=False),
        Binding("ctrl+s", "app.save_draft", "Save draft"),
        Binding("ctrl+q", "app.request_quit", "Quit"),
    ]
    AUTO_FOCUS = ("#body Input, #body Select, #body RadioSet, #body SelectionList, #body DataTable, #body Switch, "
                  "#body SecretPaste, .page-nav Button")
    PAGE = ""
    TITLE_TEXT = ""
    INTRO = ""
    NEXT_LABEL = "Next"
    # a page's own work under way (the upgrade's checks, its backup): Back waits for it, and the footer says so
    running: reactive[bool] = reactive(False, repaint=False, bindings=True)
    left_at: Widget | None = None  # the field the page was left from (set as it is dismissed)

    @property
    def wizard(self) -> WizardApp:
        return self.app  # type: ignore[return-value]

    def compose(self) -> ComposeResult:
        yield Label(self.header_text(), classes="page-header", markup=False)
        if self.INTRO:
            yield Static(self.INTRO, classes="page-intro", markup=False)
        with VerticalScroll(classes="page-body", id="body"):
            yield from self.compose_body()
        yield Static("", classes="page-status", id="status", markup=False)
        with Horizontal(classes="page-nav"):
            yield from self.compose_buttons()
        yield Footer()

    @on(events.ScreenResume)
    def _arrive(self) -> None:
        """Arriving on a page by Next starts at its top with its first field focused; coming back to it (Back, or
        any earlier page) lands on the field the operator left it from, in view.

        The focus moves at once, so keys typed right after the page appears (a burst over SSH) land in that
        field; the scroll waits for the layout. The header says where the page stands in the flow as it is now
        (going back from `--interactive`'s first page adds the pages before it)."""
        for header in self.query(".page-header"):
            # only a step header: the run pages write their outcome there
            if isinstance(header, Label) and str(header.render()).startswith(" DIGIT installer  ·  Step "):
                header.update(self.header_text())
        left, self.left_at = self.left_at, None
        body = self.query("#body")
        if (getattr(self.wizard, "came_back", False) and left is not None and left.is_attached and left.focusable
                and body and body.first() in left.ancestors):
            left.focus(scroll_visible=False)
            self.call_after_refresh(lambda: left.scroll_visible(animate=False) if self.focused is left else None)
            return
        first = next((w for w in self.query(self.AUTO_FOCUS) if w.focusable), None)
        if first is None:
            return
        first.focus(scroll_visible=False)

        def to_top() -> None:
            if self.focused is first:
                for body in self.query("#body"):
                    body.scroll_home(animate=False)

        self.call_after_refresh(to_top)

    def on_descendant_focus(self, event: events.DescendantFocus) -> None:
        """Keep a focused field's title in view: scrolling to the input alone left labels above the top."""
        node: Any = event.widget.parent
        title = None
        if isinstance(node, FieldRow) and not node.compact:
            title = node.query_children(".field-title").first() if node.query_children(".field-title") else None
        elif isinstance(node, Horizontal) and isinstance(node.parent, FieldRow) and not node.parent.compact:
            title = node.parent.query_children(".field-title").first() if node.parent.query_children(".field-title") else None
        elif isinstance(node, UnionBox):
            title = node.query_children(".union-title").first()
        elif isinstance(node, Horizontal) and isinstance(node.parent, GroupBox) and node.parent.query_children(".group-title"):
            title = node.parent.query_children(".group-title").first()
        body = self.query("#body")
        if title is not None and body and not body.first().region.contains_region(title.region):
            # at once, not after a refresh: a late scroll could move a drop-down the operator has just opened
            title.scroll_visible(animate=False, immediate=True)
            event.widget.scroll_visible(animate=False, immediate=True)

    def dismiss(self, result: str | None = None) -> AwaitComplete:
        """Leaving the page: the field it is left from is where coming back to it lands."""
        self.left_at = self.focused
        return super().dismiss(result)

    def compose_buttons(self) -> ComposeResult:
        if self.wizard.can_go_back(self.PAGE):
            yield Button("< Back", id="back", compact=True)
        yield Button(f"{self.NEXT_LABEL} >", id="next", variant="primary", compact=True)

    def header_text(self) -> str:
        position = self.wizard.position(self.PAGE)
        return f" DIGIT installer  ·  {position}{self.TITLE_TEXT}"

    def compose_body(self) -> ComposeResult:
        yield from ()

    def set_status(self, text: str) -> None:
        status = self.query_one("#status", Static)
        if getattr(status, "_text", None) != text:
            status._text = text  # type: ignore[attr-defined]
            status.update(text)

    @on(Button.Pressed, "#next")
    def _next_pressed(self) -> None:
        self.action_next()

    @on(Button.Pressed, "#back")
    def _back_pressed(self) -> None:
        self.action_back()

    def action_next(self) -> None:
        self.dismiss(NEXT)

    def back_possible(self) -> bool:
        """Whether Back leads anywhere from here now: not on the first page, not while the page's own work runs."""
        return self.wizard.can_go_back(self.PAGE) and not self.running

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """The footer offers Ctrl+B exactly where Back is possible (it offered it on the welcome page, where it did nothing)."""
        if action == "back":
            return self.back_possible()
        return True

    def action_back(self) -> None:
        if self.back_possible():
            self.store()
            self.dismiss(BACK)

    def store(self) -> None:
        """Copy what this page holds into the draft."""

    def action_help(self) -> None:
        focused = self.focused
        node: Any = focused
        while node is not None and not isinstance(node, (FieldRow, GroupBox, UnionBox, ItemsEditor)):
            node = node.parent
        if node is None:
            self.app.push_screen(HelpScreen(self.TITLE_TEXT, "", self.page_help()))
            return
        question: Question = node.question
        section = getattr(node, "section", None) or getattr(getattr(node, "form", None), "section", "")
        from screens.questions import explain, key_path

        key = key_path((section, *question.loc))
        self.app.push_screen(HelpScreen(question.title, key, explain(question, key)))

    def page_help(self) -> str:
        return self.INTRO


class SectionScreen(WizardScreen):
    """A page made of generated forms, one per answers section."""

    SECTIONS: tuple[str, ...] = ()

    def __init__(self) -> None:
        super().__init__()
        self.forms: dict[str, SectionForm] = {}

    def make_form(self, section: str, **options: Any) -> SectionForm:
        state = self.wizard.state
        if section == "name":
            from screens.state import name_errors

            question = top_level_question("name")
            options.setdefault("validator", name_errors)
        else:
            question = section_question(section)
        form = SectionForm(section, question, state.section(section), base_dir=lambda: state.base_dir,
                           secrets=state.secrets, answers_path=lambda: state.answers_path, **options)
        self.forms[section] = form
        return form

    def compose_body(self) -> ComposeResult:
        for section in self.SECTIONS:
            yield self.make_form(section)

    def on_mount(self) -> None:
        for form in self.forms.values():
            form.call_after_refresh(form.validate)

    def store(self) -> None:
        from installer.answers import Answers

        for section, form in self.forms.items():
            value = form.data()
            if value == {} and not Answers.model_fields[section].is_required() and section not in (form.initial or {}) and not form.initial:
                value = None
            self.wizard.state.put(section, value)

    def page_errors(self) -> list[FieldError]:
        errors: list[FieldError] = []
        for form in self.forms.values():
            form.show_all = True
            errors += form.validate()
        return errors

    def on_section_form_changed(self, event: SectionForm.Changed) -> None:
        errors = [e for form in self.forms.values() for e in form.errors if form.show_all or not e.missing]
        if not errors:
            self.set_status("")

    def action_next(self) -> None:
        errors = self.page_errors()
        if errors:
            first = errors[0]
            more = f" (and {len(errors) - 1} more)" if len(errors) > 1 else ""
            self.set_status(f"Next is blocked: {first.key or 'this page'}: {first.message}{more}")
            for form in self.forms.values():
                row = form.first_invalid()
                if row is not None:
                    row.scroll_visible()
                    target = row.query("Input, Select, Switch").first()
                    target.focus()
                    break
            return
        self.set_status("")
        self.store()
        self.dismiss(NEXT)
