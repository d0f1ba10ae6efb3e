"""The air-gap bundle from the wizard: verify the bundle the release page names, then push it to the mirror.

Opened from the release page (Ctrl+U). The work runs in a thread worker that only posts messages
(progress, outcome); the dialog alone touches its widgets. The same domain functions as
`install.sh bundle verify` and `bundle push` do the work, so the wizard and the command line agree.
"""
from __future__ import annotations

from pathlib import Path

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.message import Message
from textual.screen import ModalScreen
from textual.widgets import Button, Label, ProgressBar, Static


class BundleScreen(ModalScreen[None]):
    """Verify (every file re-hashed, with a progress bar), then push into registry.mirror."""

    DEFAULT_CSS = """
    BundleScreen { align: center middle; }
    BundleScreen > Vertical { width: 76; max-width: 95%; height: auto; max-height: 90%; border: thick $primary;
                              background: $surface; padding: 1 2; }
    BundleScreen .bundle-title { text-style: bold; }
    BundleScreen #bundle-status { height: auto; max-height: 12; margin: 1 0; }
    BundleScreen Horizontal { height: auto; margin-top: 1; }
    BundleScreen Button { margin-right: 2; }
    """
    BINDINGS = [Binding("escape", "close", "Close")]

    class Progress(Message):
        def __init__(self, done: int, total: int | None) -> None:
            super().__init__()
            self.done, self.total = done, total

    class Finished(Message):
        def __init__(self, action: str, ok: bool, text: str) -> None:
            super().__init__()
            self.action, self.ok, self.text = action, ok, text

    def __init__(self, bundle: Path) -> None:
        super().__init__()
        self.bundle = Path(bundle)
        self.busy = False

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Label(f"Air-gap bundle {self.bundle}", classes="bundle-title", markup=False)
            yield Static("Verify re-hashes every file of the bundle; push then copies every image into the "
                         "registry mirror (registry.mirror), continuing where an earlier push stopped.",
                         id="bundle-status", markup=False)
            yield ProgressBar(id="bundle-progress", show_eta=False)
            with Horizontal():
                yield Button("Verify", id="bundle-verify", variant="primary")
                yield Button("Push to the mirror", id="bundle-push", disabled=True)
                yield Button("Close (Esc)", id="bundle-close")

    def _status(self, text: str) -> None:
        self.query_one("#bundle-status", Static).update(text)

    def _start(self, action: str) -> None:
        self.busy = True
        for button in self.query(Button):
            button.disabled = button.id != "bundle-close"
        self.query_one("#bundle-progress", ProgressBar).update(total=None, progress=0)
        self._status(f"{action} ...")

    @on(Button.Pressed, "#bundle-verify")
    def _verify_pressed(self) -> None:
        self._start("verifying")
        self._verify()

    @on(Button.Pressed, "#bundle-push")
    def _push_pressed(self) -> None:
        self._start("pushing")
        self._push()

    @on(Button.Pressed, "#bundle-close")
    def action_close(self) -> None:
        if self.busy:
            self._status("still working; it can be closed when this step ends")
            return
        self.dismiss()

    def _update(self, done: int, total: int | None) -> None:
        self.post_message(self.Progress(done, total))

    @work(thread=True, exclusive=True)
    def _verify(self) -> None:
        from installer import redact
        from installer.bundle.manifest import BundleError, remember_verified, verify
        from installer.state import state_root

        try:
            result = verify(self.bundle, on_update=self._update)
        except BundleError as exc:
            self.post_message(self.Finished("verify", False, redact.mask(str(exc))))
            return
        if not result.ok:
            text = f"{len(result.problems)} file(s) missing or corrupt; this bundle cannot be used:\n" + \
                "\n".join(result.problems[:10])
            self.post_message(self.Finished("verify", False, text))
            return
        remember_verified(state_root(), self.bundle)
        rate = result.bytes_checked / max(result.seconds, 1e-6) / 1048576
        self.post_message(self.Finished("verify", True, f"every file matches manifest.json "
                                                        f"({result.bytes_checked / 1048576:.1f} MiB at {rate:.0f} MiB/s)"))

    @work(thread=True, exclusive=True)
    def _push(self) -> None:
        from installer import redact
        from installer.adapters.registry import RegistryError
        from installer.answers import AnswersError
        from installer.bundle.manifest import BundleError
        from installer.bundle.push import mirror_endpoint, push
        from installer.state import ensure_state_dir, state_dir_for

        try:
            answers = self.app.state.validate()  # type: ignore[attr-defined]
            endpoint, prefix = mirror_endpoint(answers)
            state_dir = ensure_state_dir(state_dir_for(answers.name))
            notes: list[str] = []
            result = push(self.bundle, endpoint, prefix, state_dir, say=notes.append, on_update=self._update)
        except AnswersError as exc:
            self.post_message(self.Finished("push", False, "the answers are not complete yet: "
                                            + "; ".join(str(p) for p in exc.problems[:3])))
            return
        except (BundleError, RegistryError, OSError) as exc:
            self.post_message(self.Finished("push", False, redact.mask(str(exc))))
            return
        except Exception as exc:  # shown in the dialog, never a traceback on the operator's screen
            self.post_message(self.Finished("push", False, redact.mask(f"{type(exc).__name__}: {exc}")))
            return
        self.post_message(self.Finished("push", True, redact.mask(
            f"pushed {result.images} images to {answers.registry.mirror}: {result.bytes_sent} bytes sent, "
            f"{result.blobs_skipped} blobs already there, {result.blobs_resumed} continued")))

    def on_bundle_screen_progress(self, message: BundleScreen.Progress) -> None:
        bar = self.query_one("#bundle-progress", ProgressBar)
        bar.update(total=message.total or None, progress=message.done)

    def on_bundle_screen_finished(self, message: BundleScreen.Finished) -> None:
        self.busy = False
        self._status(("" if message.ok else "FAILED: ") + message.text)
        self.query_one("#bundle-verify", Button).disabled = False
        # push once verified; after a push (done or failed) it may be run again, it continues by digest
        self.query_one("#bundle-push", Button).disabled = not (message.ok or message.action == "push")
