// The supervisor's statistics page: anonymous counts per day or week (GET
// /console/api/stats), a bar chart of handoffs, breakdowns, the CSV export, and
// the console's one setting. Counts under 5 come from the server as "<5".
import { get, post } from "./api.js";
import { channelName, h, languageName, riskWords, urgencyWord } from "./format.js";

const $ = (id) => document.getElementById(id);
const MEASURES = {
  conversations: "Conversations with the bot",
  handoffs: "Handoffs to counsellors",
  claimed: "Taken by a counsellor",
  closed: "Closed by a counsellor",
  abandoned: "Left the queue unanswered",
  withdrawn: "Stopped waiting",
  left: "Left for safety while waiting",
};
const DIMENSIONS = { channel: "Channel", language: "Language", severity: "Urgency", risk: "Risk", outcome: "Outcome", counsellor: "Counsellor" };
const BREAKDOWNS = [
  ["handoffs", "channel"], ["handoffs", "language"], ["handoffs", "severity"], ["handoffs", "risk"],
  ["closed", "outcome"], ["closed", "counsellor"], ["conversations", "channel"], ["conversations", "language"],
];

function isoDay(date) {
  return date.toISOString().slice(0, 10);
}

export class StatsView {
  constructor(app) {
    this.app = app;
    this.view = $("stats-view");
    this.wrapup = null;
    const today = new Date();
    $("stats-to").value = isoDay(today);
    $("stats-from").value = isoDay(new Date(today.getTime() - 29 * 86400000));
    $("stats-form").addEventListener("submit", (event) => {
      event.preventDefault();
      this.refresh();
    });
    $("setting-earlier").addEventListener("change", () => this.saveSetting());
  }

  get visible() {
    return !this.view.hidden;
  }

  async show() {
    this.view.hidden = false;
    await Promise.all([this.refresh(), this.readSettings()]);
  }

  hide() {
    this.view.hidden = true;
  }

  query(format) {
    const params = new URLSearchParams({ from: $("stats-from").value, to: $("stats-to").value, by: $("stats-by").value });
    if (format) params.set("format", format);
    return params.toString();
  }

  async refresh() {
    if (this.view.hidden) return;
    $("stats-csv").href = `/console/api/stats?${this.query("csv")}`;
    try {
      if (!this.wrapup) this.wrapup = await get("/wrapup");
      const report = await get(`/stats?${this.query()}`);
      this.render(report);
      $("stats-status").textContent = `${report.from} to ${report.to}, per ${report.by}; days in ${report.timezone}.`;
    } catch (error) {
      if (error.status !== 401) $("stats-status").textContent = `The statistics could not be read: ${error.message}`;
    }
  }

  render(report) {
    const total = report.rows.filter((r) => r.period === "total");
    const cell = (measure, dimension = "all", group = "all") =>
      total.find((r) => r.measure === measure && r.dimension === dimension && r.group === group)?.value ?? 0;
    const cards = [
      ...Object.entries(MEASURES).map(([measure, label]) => [label, cell(measure)]),
      ["Median wait", seconds(cell("wait_median_seconds"))],
      ["90% waited at most", seconds(cell("wait_p90_seconds"))],
    ];
    $("stats-cards").replaceChildren(...cards.map(([label, value]) =>
      h("div", { class: "stat" }, h("p", { class: "stat-label" }, label), h("p", { class: "stat-value" }, String(value)))));
    $("stats-period-word").textContent = report.by;
    this.chart(report.rows.filter((r) => r.period !== "total" && r.measure === "handoffs" && r.dimension === "all"));
    const tables = BREAKDOWNS.map(([measure, dimension]) => this.table(total, measure, dimension));
    for (const field of this.wrapup?.fields || []) tables.push(this.table(total, "closed", `wrapup.${field.id}`, field));
    $("stats-breakdowns").replaceChildren(...tables.filter(Boolean));
  }

  chart(rows) {
    const figure = $("stats-chart");
    const numbers = rows.map((r) => (typeof r.value === "number" ? r.value : 0));
    const top = Math.max(5, ...numbers);
    const bars = h("ol", { class: "bars", "aria-label": "Handoffs per period" });
    for (const row of rows) {
      const small = typeof row.value !== "number";
      const height = small ? 4 : Math.max(2, Math.round((row.value / top) * 100));
      const bar = h("li", { class: small ? "bar small" : "bar", title: `${row.period}: ${row.value}` },
        h("span", { class: "bar-value" }, String(row.value)),
        h("span", { class: "bar-label" }, row.period.length === 10 ? String(Number(row.period.slice(8))) : row.period.slice(5)));
      bar.style.setProperty("--h", `${height}%`); // CSSOM: allowed by the page's CSP
      bars.append(bar);
    }
    figure.replaceChildren(bars);
  }

  table(rows, measure, dimension, field) {
    const found = rows.filter((r) => r.measure === measure && r.dimension === dimension);
    const title = field ? `${field.label} (closed conversations)` : `${MEASURES[measure]} by ${(DIMENSIONS[dimension] || dimension).toLowerCase()}`;
    const name = (group) => {
      if (field) return field.choices.find((c) => c.id === group)?.label || group;
      if (dimension === "channel") return channelName(group);
      if (dimension === "language") return languageName(group);
      if (dimension === "severity") return urgencyWord(group);
      if (dimension === "risk") return group === "none" ? "None (she asked)" : riskWords(group);
      return group;
    };
    const body = found.length
      ? found.map((r) => h("tr", {}, h("td", {}, name(r.group)), h("td", { class: "number" }, String(r.value))))
      : [h("tr", {}, h("td", { colspan: "2", class: "muted" }, "None in this period."))];
    return h("section", { class: "breakdown" },
      h("h4", {}, title),
      h("table", {},
        h("thead", {}, h("tr", {}, h("th", { scope: "col" }, DIMENSIONS[dimension] || (field ? "Choice" : dimension)), h("th", { scope: "col", class: "number" }, "Count"))),
        h("tbody", {}, ...body)));
  }

  async readSettings() {
    try {
      const settings = await get("/settings");
      $("setting-earlier").checked = settings.earlier_transcripts;
    } catch (error) {
      if (error.status !== 401) $("settings-status").textContent = `The settings could not be read: ${error.message}`;
    }
  }

  async saveSetting() {
    const box = $("setting-earlier");
    try {
      const saved = await post("/settings", { earlier_transcripts: box.checked });
      box.checked = saved.earlier_transcripts;
      $("settings-status").textContent = saved.earlier_transcripts
        ? "Saved: counsellors now see her earlier transcripts, marked “Earlier contact”."
        : "Saved: earlier transcripts are hidden; counsellors see her earlier wrap-ups only.";
    } catch (error) {
      box.checked = !box.checked;
      if (error.status !== 401) $("settings-status").textContent = `Not saved: ${error.message}`;
    }
  }
}

function seconds(value) {
  if (typeof value !== "number") return String(value);
  if (value < 60) return `${value} s`;
  if (value < 3600) return `≤ ${Math.round(value / 60)} min`;
  return `≤ ${Math.round((value / 3600) * 10) / 10} h`;
}
