"""Messages the console posts to its screens (data flows one way: the app collects, the active
screen shows)."""

from __future__ import annotations

from textual.message import Message

from console.core.assessment import Assessment


class AssessmentUpdated(Message, bubble=False):
    """A new assessment — or a change in how the current one is shown (pause) — for the active
    screen. A burst of them costs one render: a newer one replaces an older one in the queue."""

    def __init__(self, assessment: Assessment) -> None:
        super().__init__()
        self.assessment = assessment

    def can_replace(self, message: Message) -> bool:
        return isinstance(message, AssessmentUpdated)
