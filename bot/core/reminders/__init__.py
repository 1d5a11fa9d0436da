"""Reminders: what is due, derived from the current state, and the ledger that sends each once.

Where things are:
- `settings`: the kinds of reminder, their settings, one derived occurrence;
- `state`: the state of many groups, loaded in a fixed number of queries;
- `plan`: the planning rules (derivation of occurrences inside a window);
- `bulk_state`, `bulk_plan`: a batch of groups read as plain rows and written to the ledger in
  a few set-based statements (first start, change of rules, routine re-plan);
- `changes`: change tracking, which groups need planning again;
- `ledger`: upsert, withdraw, claim, mark, retry;
- `triage`: what goes out now, checked against the current state and merged per person;
- `message`, `wording`, `digest`: the messages and what each reminder says;
- `snooze`: sending one message's reminders again tomorrow.

Only groups that changed, or whose look-ahead is running out, are planned on a tick, in batches
loaded with a handful of set-based queries, so the work per tick does not grow with the number
of groups.
"""

from bot.core.reminders.bulk_plan import write_batch
from bot.core.reminders.bulk_state import load_plan_states
from bot.core.reminders.changes import mark_changed, table_of, track_changes
from bot.core.reminders.ledger import (
    PlanDue,
    Sent,
    claim_due,
    defer,
    ensure_plan_states,
    finish_plans,
    groups_to_plan,
    mark_all_sent,
    notify_failures,
    plan_window,
    record_failure,
    release_claims,
    release_expired,
    renew_claims,
    set_aside,
    settle_found,
    upsert,
    withdraw_stale,
)
from bot.core.reminders.message import (
    Outgoing,
    Part,
    Prepared,
    Recipient,
    batch_key,
    compose,
    recipient_of,
)
from bot.core.reminders.plan import Planner, derivation_reads
from bot.core.reminders.settings import (
    ASAP,
    NOT_SNOOZABLE,
    SCHEDULE_ASK,
    SNOOZE_ACTION,
    UNPLANNED_PREFIXES,
    Kind,
    Occurrence,
    ReminderSettings,
)
from bot.core.reminders.snooze import Snoozed, snooze
from bot.core.reminders.state import GroupState, digest_managers, load_states
from bot.core.reminders.triage import Triage, prepare
from bot.core.reminders.wording import build_part

__all__ = [
    "ASAP",
    "NOT_SNOOZABLE",
    "SCHEDULE_ASK",
    "SNOOZE_ACTION",
    "UNPLANNED_PREFIXES",
    "GroupState",
    "Kind",
    "Occurrence",
    "Outgoing",
    "Part",
    "PlanDue",
    "Planner",
    "Prepared",
    "Recipient",
    "ReminderSettings",
    "Sent",
    "Snoozed",
    "Triage",
    "batch_key",
    "build_part",
    "claim_due",
    "compose",
    "defer",
    "derivation_reads",
    "digest_managers",
    "ensure_plan_states",
    "finish_plans",
    "groups_to_plan",
    "load_plan_states",
    "load_states",
    "mark_changed",
    "mark_all_sent",
    "notify_failures",
    "plan_window",
    "prepare",
    "recipient_of",
    "record_failure",
    "release_claims",
    "release_expired",
    "renew_claims",
    "set_aside",
    "settle_found",
    "snooze",
    "table_of",
    "track_changes",
    "upsert",
    "withdraw_stale",
    "write_batch",
]
