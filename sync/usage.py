"""Which accounts still have work, so that an account's clients close as soon as it is done."""

from __future__ import annotations

from collections.abc import Collection

from sync.plan import ExplorerQuery
from sync.scheduler import Item


class AccountUsage:
    """Work items not yet finished per account, so an account's clients close when it is done.

    An item uses the accounts of its scopes (a Resource Explorer scope may fall back to the
    account's own service API) and, for a query, the account whose view it reads.
    """

    def __init__(self) -> None:
        self._open: dict[str, int] = {}

    @staticmethod
    def _accounts(item: Item) -> set[str]:
        accounts = {key.account_id for key in item.keys}
        if isinstance(item, ExplorerQuery):
            accounts.add(item.account_id)
        return accounts

    def add(self, items: Collection[Item]) -> None:
        for item in items:
            for account_id in self._accounts(item):
                self._open[account_id] = self._open.get(account_id, 0) + 1

    def hold(self, accounts: Collection[str]) -> None:
        """Keep accounts open while more of their work is being planned (e.g. during a probe)."""
        for account_id in accounts:
            self._open[account_id] = self._open.get(account_id, 0) + 1

    def unhold(self, accounts: Collection[str]) -> list[str]:
        """Undo hold(); the accounts that had nothing else open."""
        return self._close(accounts)

    def done(self, item: Item) -> list[str]:
        """The accounts this item was the last open item of."""
        return self._close(self._accounts(item))

    def _close(self, accounts: Collection[str]) -> list[str]:
        finished = []
        for account_id in accounts:
            self._open[account_id] -= 1
            if self._open[account_id] == 0:
                del self._open[account_id]
                finished.append(account_id)
        return finished
