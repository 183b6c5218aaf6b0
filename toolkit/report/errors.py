"""The report's errors: :class:`ReportError` and its refusal :class:`DataNeedsError`."""

from __future__ import annotations

__all__ = ["DataNeedsError", "ReportError"]


class ReportError(RuntimeError):
    """A notebook failed, a parameter is declared by no notebook, or the data cannot run one.

    A failure is raised after the report (with FAILED lines) was written; an unknown
    parameter or unmet data needs (:class:`DataNeedsError`) before anything runs.
    """


class DataNeedsError(ReportError):
    """The data cannot run some of the selected notebooks; raised before any notebook runs.

    ``str(error)`` is the whole refusal, several lines: per notebook what is missing and how
    to supply it, the notebooks the data can run and the command that runs just those.

    Attributes:
        summary: The first line of the refusal (what the command line prints after ``error:``).
        unmet: ``{notebook file name: [reason, ...]}`` of the notebooks the data cannot run.
        runnable: File names of the notebooks the data can run, in order.
        command: The command that runs just the runnable notebooks with the same parameters
            (``None`` when none is runnable or a parameter cannot be written as ``-p``).
    """

    def __init__(
        self,
        message: str,
        *,
        unmet: dict[str, list[str]],
        runnable: list[str],
        command: str | None,
    ) -> None:
        super().__init__(message)
        self.summary = message.splitlines()[0] if message else ""
        self.unmet = unmet
        self.runnable = runnable
        self.command = command
