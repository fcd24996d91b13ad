"""Finance workflows, one module per flow: dues, ledger, payments, sepa, statements, reminders."""


class FinanceError(Exception):
    """A change the rules do not allow; the message is meant for the person who tried it."""
