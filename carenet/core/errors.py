from __future__ import annotations


class CarenetError(Exception):
    """A rule was broken; `message` is translated and safe to show; `field` names the input at fault."""

    def __init__(self, message: str, *, field: str | None = None, row: int | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field
        self.row = row


class PermissionDeniedError(CarenetError):
    pass


class RowErrors(CarenetError):
    """Bad rows in an uploaded file: nothing was written; `errors` lists (row number, message)."""

    def __init__(self, message: str, errors: list[tuple[int, str]]) -> None:
        super().__init__(message)
        self.errors = errors
