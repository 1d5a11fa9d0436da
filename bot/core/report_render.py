"""The report as a chat message, a CSV file, a PNG chart and a PDF with the chart in it.

Everything shows case references, counts and rates only. The chart is drawn by matplotlib on its
Agg canvas (no display, no pyplot global state, so two reports can be drawn at once); its alt
text says the same numbers in words, and goes with it wherever it goes (the chat message, the
PDF's image). Cells a spreadsheet would read as a formula are quoted in the CSV.
"""

from __future__ import annotations

import csv
import io
import re
from datetime import date, datetime

from sqlmodel import Session

from bot.core.calendar import format_day
from bot.core.context import Locale
from bot.core.documents.files import Rendered
from bot.core.report import STEPS, Participation, Period, Report, Tally, build_report
from bot.messages import Attachment, Block, Context, Fields, Heading, Message, Text, bullets
from storage.enums import AuditKind
from storage.models import AuditEntry, Person

CHART_SIZE = (1200, 600)  # pixels: 12 x 6 inches at 100 dpi
_DPI = 100
# Okabe-Ito colours, told apart by people with colour-blindness; hatches help in greyscale.
_ON_TIME, _LATE, _MISSED = "#009E73", "#E69F00", "#D55E00"
_RATES = (("attended", "#0072B2", ""), ("updates returned", "#56B4E9", "//"))
MAX_LINES = 12  # groups listed in chat; the CSV and PDF have them all
SOURCE_PREFIX = "report"


def percent(rate: float | None) -> str:
    """A rate as a whole percentage, or "n/a" when nothing was due."""
    return "n/a" if rate is None else f"{round(rate * 100)}%"


def _plural(n: int, word: str) -> str:
    return f"{n} {word}" if n == 1 else f"{n} {word}s"


def title(report: Report) -> str:
    """The report's title: the teams and the period."""
    period = f"{format_day(report.period.start)} to {format_day(report.period.end)}"
    return f"{' and '.join(report.teams) or 'No team'} — core group timeliness, {period}"


def tally_words(tally: Tally) -> str:
    """One tally in words: "3 of 4 on time (75%), 1 late (by 2 working days in all)"."""
    if not tally.decided and not tally.pending:
        return "none due"
    parts = [f"{tally.on_time} of {tally.decided} on time ({percent(tally.on_time_rate)})"]
    if tally.late:
        parts.append(
            f"{tally.late} late (by {_plural(tally.working_days_late, 'working day')} in all)"
        )
    if tally.missed:
        parts.append(f"{tally.missed} missed")
    if tally.pending:
        parts.append(f"{tally.pending} not due yet")
    return ", ".join(parts)


def _participation_words(p: Participation) -> str:
    parts = [
        f"attended {p.attended} of {p.meetings} meetings ({percent(p.attendance_rate)}), "
        f"{p.apologies} apologies, {p.absent} absent"
    ]
    if p.updates_asked:
        parts.append(
            f"{p.updates_returned} of {p.updates_asked} updates returned before the meeting "
            f"({percent(p.updates_rate)})"
        )
    if p.actions_due:
        parts.append(
            f"{p.actions_on_time} of {p.actions_due} actions done on time "
            f"({percent(p.actions_rate)})"
        )
    if p.disagreements:
        parts.append(f"{_plural(p.disagreements, 'disagreement')} raised")
    return "; ".join(parts)


def alt_text(report: Report) -> str:
    """The chart in words: every bar's number, month by month and agency by agency."""
    months = "; ".join(
        f"{month:%B %Y}: {t.on_time} on time, {t.late} late, {t.missed} missed"
        for month, t in report.by_month()
    )
    agencies = "; ".join(
        f"{p.name}: attended {percent(p.attendance_rate)} of meetings, "
        f"updates returned {percent(p.updates_rate)}"
        for p in report.by_agency
    )
    return (
        f"Chart 1, statutory steps by the month they were due — {months or 'none'}. "
        f"Chart 2, participation by agency — {agencies or 'no meetings held'}."
    )


# --- chat ---------------------------------------------------------------------------------------


def summary_message(report: Report, *, attachment: Attachment | None = None) -> Message:
    """The report in chat: totals per step, the groups with something late, each agency."""
    blocks: list[Block] = [
        Heading(title(report)),
        Text(
            f"{_plural(len(report.groups), 'core group')}. Overall: {tally_words(report.total())}."
        ),
        Fields(tuple((step.value.capitalize(), tally_words(report.total(step))) for step in STEPS)),
        Text(
            f"Actions at {format_day(report.as_of)}: {report.open_actions} open, "
            f"{report.overdue_actions} overdue. Outcomes with no change for 4 weeks: "
            f"{report.drifting_outcomes}."
        ),
    ]
    behind = [g for g in report.groups if g.tally().late or g.tally().missed]
    if behind:
        lines = [f"{g.reference}: {tally_words(g.tally())}" for g in behind[:MAX_LINES]]
        if len(behind) > MAX_LINES:
            lines.append(f"and {len(behind) - MAX_LINES} more: see the CSV")
        blocks += [Text("Groups with a late or missed step:"), bullets(lines)]
    if report.by_agency:
        blocks += [
            Text("Participation by agency:"),
            bullets([f"{p.name}: {_participation_words(p)}" for p in report.by_agency]),
        ]
    if attachment is not None and attachment.mime_type == "image/png":
        blocks.append(Context(f"The chart, in words: {alt_text(report)}"))
    blocks.append(
        Context(
            "Case references and counts only. A step belongs to the period its deadline falls in; "
            f"as of {format_day(report.today)}."
        )
    )
    total = report.total()
    return Message(
        text=f"{title(report)}: {total.on_time} of {total.decided} steps on time",
        blocks=tuple(blocks),
        attachment=attachment,
    )


# --- files --------------------------------------------------------------------------------------


def _slug(report: Report) -> str:
    teams = "-".join(re.sub(r"[^a-z0-9]+", "-", t.lower()).strip("-") for t in report.teams)
    return f"report-{teams or 'teams'}-{report.period.start}-to-{report.period.end}"


def _cell(value: object) -> str:
    """A CSV cell; text a spreadsheet would run as a formula is quoted with a leading '."""
    if value is None:
        return ""
    if isinstance(value, float):
        return f"{value:.3f}"
    text = str(value)
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


CSV_COLUMNS = (
    "section",
    "team",
    "case_reference",
    "subject",
    "on_time",
    "late",
    "missed",
    "pending",
    "working_days_late",
    "on_time_rate",
    "open_actions",
    "overdue_actions",
    "drifting_outcomes",
    "attended",
    "apologies",
    "absent",
    "attendance_rate",
    "updates_asked",
    "updates_returned",
    "updates_rate",
    "actions_due",
    "actions_on_time",
    "actions_late",
    "actions_not_done",
    "actions_on_time_rate",
    "disagreements",
)


def _tally_cells(tally: Tally) -> dict[str, object]:
    return {
        "on_time": tally.on_time,
        "late": tally.late,
        "missed": tally.missed,
        "pending": tally.pending,
        "working_days_late": tally.working_days_late,
        "on_time_rate": tally.on_time_rate,
    }


def _participation_cells(p: Participation) -> dict[str, object]:
    return {
        "subject": p.name,
        "attended": p.attended,
        "apologies": p.apologies,
        "absent": p.absent,
        "attendance_rate": p.attendance_rate,
        "updates_asked": p.updates_asked,
        "updates_returned": p.updates_returned,
        "updates_rate": p.updates_rate,
        "actions_due": p.actions_due,
        "actions_on_time": p.actions_on_time,
        "actions_late": p.actions_late,
        "actions_not_done": p.actions_not_done,
        "actions_on_time_rate": p.actions_rate,
        "disagreements": p.disagreements,
    }


def csv_rows(report: Report) -> list[dict[str, object]]:
    """The CSV's rows: per group per step, each group's total, the totals, months, agencies, roles.

    `section` says what a row is: "step" (one step of one group, or of all groups when
    case_reference is "ALL"), "group" (a group's total with its actions and drift), "month",
    "agency" and "role".
    """
    teams = " and ".join(report.teams)
    rows: list[dict[str, object]] = []
    for group in report.groups:
        for step in STEPS:
            tally = group.tally(step)
            if tally.decided or tally.pending:
                rows.append(
                    {
                        "section": "step",
                        "team": group.team,
                        "case_reference": group.reference,
                        "subject": step.value,
                        **_tally_cells(tally),
                    }
                )
        rows.append(
            {
                "section": "group",
                "team": group.team,
                "case_reference": group.reference,
                "subject": "all steps",
                **_tally_cells(group.tally()),
                "open_actions": group.open_actions,
                "overdue_actions": group.overdue_actions,
                "drifting_outcomes": group.drifting_outcomes,
            }
        )
    for step in STEPS:
        rows.append(
            {
                "section": "step",
                "team": teams,
                "case_reference": "ALL",
                "subject": step.value,
                **_tally_cells(report.total(step)),
            }
        )
    rows.append(
        {
            "section": "group",
            "team": teams,
            "case_reference": "ALL",
            "subject": "all steps",
            **_tally_cells(report.total()),
            "open_actions": report.open_actions,
            "overdue_actions": report.overdue_actions,
            "drifting_outcomes": report.drifting_outcomes,
        }
    )
    for month, tally in report.by_month():
        rows.append(
            {"section": "month", "team": teams, "subject": f"{month:%Y-%m}", **_tally_cells(tally)}
        )
    for section, found in (("agency", report.by_agency), ("role", report.by_role)):
        for p in found:
            rows.append({"section": section, "team": teams, **_participation_cells(p)})
    return rows


def render_csv(report: Report) -> Rendered:
    """The report as a CSV file (UTF-8 with a byte-order mark, so Excel reads it right)."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(CSV_COLUMNS)
    for row in csv_rows(report):
        writer.writerow([_cell(row.get(column)) for column in CSV_COLUMNS])
    return Rendered(
        f"{_slug(report)}.csv",
        "text/csv",
        out.getvalue().encode("utf-8-sig"),
        f"{title(report)} (CSV)",
    )


def render_png(report: Report) -> Rendered:
    """The chart: steps on time, late and missed by month; attendance and updates by agency."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    width, height = CHART_SIZE
    figure = Figure(figsize=(width / _DPI, height / _DPI), dpi=_DPI)
    FigureCanvasAgg(figure)
    months, steps = figure.subplots(1, 2, gridspec_kw={"width_ratios": (1, 1)})
    found = report.by_month()
    labels = [f"{m:%b %Y}" for m, _ in found]
    bottom = [0] * len(found)
    for name, colour, hatch, values in (
        ("on time", _ON_TIME, "", [t.on_time for _, t in found]),
        ("late", _LATE, "//", [t.late for _, t in found]),
        ("missed", _MISSED, "xx", [t.missed for _, t in found]),
    ):
        months.bar(labels, values, bottom=bottom, label=name, color=colour, hatch=hatch)
        bottom = [b + v for b, v in zip(bottom, values, strict=True)]
    months.set_ylim(0, max([*bottom, 1]) * 1.15)
    if len(found) > 12:  # two years: every other month named, so the labels stay readable
        for i, label in enumerate(months.get_xticklabels()):
            label.set_visible(i % 2 == 0)
    months.set_title("Statutory steps by month due")
    months.set_ylabel("steps")
    months.yaxis.get_major_locator().set_params(integer=True)
    months.legend(loc="upper left", frameon=False)
    months.tick_params(axis="x", labelrotation=45 if len(found) > 4 else 0)
    agencies = report.by_agency
    names = [p.name if len(p.name) <= 28 else p.name[:27] + "…" for p in agencies]
    positions = list(range(len(agencies)))
    bar = 0.38
    for i, (name, colour, hatch) in enumerate(_RATES):
        rates = [(p.attendance_rate if i == 0 else p.updates_rate) or 0.0 for p in agencies]
        steps.barh(
            [y + (i - 0.5) * bar for y in positions],
            [r * 100 for r in rates],
            height=bar,
            label=name,
            color=colour,
            hatch=hatch,
        )
    steps.set_yticks(positions, names)
    steps.invert_yaxis()
    steps.set_xlim(0, 100)
    steps.set_xlabel("% of meetings / updates asked for")
    steps.set_title("Participation by agency")
    if agencies:
        steps.legend(loc="best", frameon=False)
    else:
        steps.text(50, 0, "no meetings held", ha="center", va="center")
    figure.suptitle(title(report), fontsize=11)
    figure.tight_layout(rect=(0, 0, 1, 0.94))
    out = io.BytesIO()
    figure.savefig(out, format="png", dpi=_DPI, metadata={"Software": None})
    return Rendered(f"{_slug(report)}.png", "image/png", out.getvalue(), alt_text(report))


def render_pdf(report: Report, *, marking: str) -> Rendered:
    """The report as a PDF: the totals, the chart (with its alt text) and the tables."""
    from fpdf import FPDF
    from fpdf.enums import XPos, YPos

    from bot.core.documents.render_pdf import FONT, font_path, printable

    chart = render_png(report)

    class _Pdf(FPDF):
        def header(self) -> None:
            if marking:
                self.set_font(FONT, "B", 9)
                self.cell(0, 6, printable(marking), align="C", new_x=XPos.LMARGIN, new_y=YPos.NEXT)

        def footer(self) -> None:
            self.set_y(-15)
            self.set_font(FONT, "", 8)
            self.cell(0, 4, f"Page {self.page_no()} of {{nb}}", align="C")

    pdf = _Pdf(format="A4")
    pdf.add_font(FONT, "", str(font_path()))
    pdf.add_font(FONT, "B", str(font_path(bold=True)))
    pdf.set_lang("en-GB")
    pdf.set_title(printable(title(report)))
    pdf.set_creator("Core Group Bot")
    pdf.set_auto_page_break(auto=True, margin=20)
    pdf.add_page()

    def line(text: str, size: float = 10, style: str = "") -> None:
        pdf.set_font(FONT, style, size)
        pdf.multi_cell(0, size * 0.5, printable(text), new_x=XPos.LMARGIN, new_y=YPos.NEXT)
        pdf.ln(1)

    line(title(report), 14, "B")
    line(
        f"{_plural(len(report.groups), 'core group')}; as of {format_day(report.today)}. "
        "Case references and counts only."
    )
    line(f"Overall: {tally_words(report.total())}.")
    for step in STEPS:
        line(f"{step.value.capitalize()}: {tally_words(report.total(step))}.", 9.5)
    line(
        f"Actions at {format_day(report.as_of)}: {report.open_actions} open, "
        f"{report.overdue_actions} overdue. Outcomes with no change for 4 weeks: "
        f"{report.drifting_outcomes}.",
        9.5,
    )
    pdf.image(io.BytesIO(chart.data), w=pdf.epw, alt_text=printable(alt_text(report)))
    line(f"The chart, in words: {alt_text(report)}", 8.5)

    def table(header: tuple[str, ...], rows: list[tuple[str, ...]]) -> None:
        if not rows:
            return
        pdf.ln(3)
        pdf.set_font(FONT, "", 8.5)
        with pdf.table(first_row_as_headings=True, text_align="LEFT") as found:
            for cells in (header, *rows):
                row = found.row()
                for cell in cells:
                    row.cell(printable(cell))

    table(
        ("Case", "On time", "Late", "Missed", "Not due", "Open actions", "Overdue", "Drifting"),
        [
            (
                g.reference,
                *(str(n) for n in _counts(g.tally())),
                str(g.open_actions),
                str(g.overdue_actions),
                str(g.drifting_outcomes),
            )
            for g in report.groups
        ],
    )
    table(
        ("Agency", "Attended", "Apologies", "Absent", "Updates", "Actions on time", "Disagreed"),
        [
            (
                p.name,
                f"{p.attended} ({percent(p.attendance_rate)})",
                str(p.apologies),
                str(p.absent),
                f"{p.updates_returned}/{p.updates_asked}",
                f"{p.actions_on_time}/{p.actions_due}",
                str(p.disagreements),
            )
            for p in report.by_agency
        ],
    )
    return Rendered(
        f"{_slug(report)}.pdf", "application/pdf", bytes(pdf.output()), f"{title(report)} (PDF)"
    )


def _counts(tally: Tally) -> tuple[int, int, int, int]:
    return tally.on_time, tally.late, tally.missed, tally.pending


def render(report: Report, fmt: str, *, marking: str) -> Rendered:
    """The report in `fmt`: csv, png or pdf."""
    if fmt == "csv":
        return render_csv(report)
    if fmt == "png":
        return render_png(report)
    return render_pdf(report, marking=marking)


def source_of(team_ids: list[int], report: Report, fmt: str) -> str:
    """How to make the file again for a download link: "report/3+4/2027-01-01/2027-03-31/csv"."""
    teams = "+".join(str(t) for t in sorted(team_ids))
    return f"{SOURCE_PREFIX}/{teams}/{report.period.start}/{report.period.end}/{fmt}"


def attachment(file: Rendered, source: str) -> Attachment:
    """A report file as a message attachment."""
    return Attachment(file.filename, file.mime_type, file.data, file.title, source)


FORMATS = ("csv", "png", "pdf")


def parse_source(source: str) -> tuple[list[int], date, date, str] | None:
    """The teams, period and format a report source names; None if it names no report."""
    parts = source.split("/")
    if len(parts) != 5 or parts[0] != SOURCE_PREFIX or parts[4] not in FORMATS:
        return None
    try:
        teams = [int(t) for t in parts[1].split("+")]
        return teams, date.fromisoformat(parts[2]), date.fromisoformat(parts[3]), parts[4]
    except ValueError:
        return None


def download(
    session: Session, *, source: str, person_id: int, locale: Locale, now: datetime
) -> Rendered | None:
    """The report file a signed link names, made afresh if the person still manages the team.

    Checked at download time: someone who is no longer the team's manager gets nothing. Every
    download is audited, like a run of the report.
    """
    parsed = parse_source(source)
    person = session.get(Person, person_id)
    if parsed is None or person is None or not person.is_team_manager:
        return None
    teams, start, end, fmt = parsed
    if teams != [person.team_id]:
        return None
    period = Period(start, end)
    report = build_report(session, team_ids=teams, period=period, now=now, locale=locale)
    detail = f"teams={teams[0]} from={start} to={end} format={fmt}"
    session.add(
        AuditEntry(
            at=now, actor_id=person_id, kind=AuditKind.READ, what="report:download", detail=detail
        )
    )
    session.add_all(
        AuditEntry(
            at=now,
            actor_id=person_id,
            kind=AuditKind.READ,
            what="report:download",
            group_id=g.group_id,
        )
        for g in report.groups
    )
    return render(report, fmt, marking=locale.documents.marking)
