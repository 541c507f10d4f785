// Words for what the API gives as codes: urgency, risk, language, channel, time.

import { CHANNEL_LABELS } from "./channels.js"; // served from the channel registry

const languageNames = new Intl.DisplayNames(["en"], { type: "language" });

/** "ro" -> "Romanian"; the code itself when the browser has no name for it. */
export function languageName(code) {
  if (!code) return "Language unknown";
  try {
    return languageNames.of(code) || code;
  } catch {
    return code;
  }
}

export const URGENCY_WORDS = { critical: "Critical", high: "High", medium: "Medium", asked: "Asked" };
export const URGENCY_ORDER = ["critical", "high", "medium", "asked"];

export function urgencyWord(level) {
  return URGENCY_WORDS[level] || "Unknown urgency";
}

/** A CSS-safe urgency class name (never built from free text). */
export function urgencyClass(level) {
  return URGENCY_WORDS[level] ? `urgency-${level}` : "urgency-unknown";
}

// The concepts of flows/risk/concepts.yaml; another name shows as its words.
const RISK_WORDS = {
  threat_to_kill: "Threat to kill",
  violence_now: "Violence now",
  self_harm: "Self-harm",
  medical_emergency: "Medical emergency",
  rape: "Rape",
  forced_sex: "Forced sex",
  threat_to_family: "Threat to family",
  documents_withheld: "Documents withheld",
  debt_bondage: "Debt bondage",
  minor: "A minor",
  being_moved: "Being moved",
  forced_labour: "Forced labour",
  unwanted_touching: "Unwanted touching",
  model: "The model's reading",
  // The categories of the lexicons before concepts, still on conversations
  // queued before an upgrade.
  imminent_violence: "Immediate violence",
  sexual_violence: "Sexual violence",
  trafficking_control: "Trafficking control",
  child_at_risk: "Child at risk",
};

export function riskWords(category) {
  if (!category) return "Asked for a counsellor";
  if (RISK_WORDS[category]) return RISK_WORDS[category];
  const words = String(category).replaceAll("_", " ");
  return words.charAt(0).toUpperCase() + words.slice(1);
}

export function channelName(channel) {
  return CHANNEL_LABELS[channel] || channel || "Unknown channel";
}

/** 75 -> "1 min 15 s"; 4000 -> "1 h 6 min". Seconds stop mattering after 10 minutes. */
export function duration(seconds) {
  const s = Math.max(0, Math.floor(seconds));
  if (s < 60) return `${s} s`;
  const minutes = Math.floor(s / 60);
  if (minutes < 10) return `${minutes} min ${s % 60} s`;
  if (minutes < 60) return `${minutes} min`;
  const hours = Math.floor(minutes / 60);
  return `${hours} h ${minutes % 60} min`;
}

const timeOfDay = new Intl.DateTimeFormat("en-GB", { hour: "2-digit", minute: "2-digit" });
const dayAndTime = new Intl.DateTimeFormat("en-GB", { day: "numeric", month: "short", hour: "2-digit", minute: "2-digit" });

/** Unix seconds -> "14:05" today, "3 Mar, 14:05" on another day. */
export function clock(at) {
  if (typeof at !== "number") return "";
  const date = new Date(at * 1000);
  const today = new Date();
  return date.toDateString() === today.toDateString() ? timeOfDay.format(date) : dayAndTime.format(date);
}

/** Build an element: h("span", {class: "badge"}, "text", child...). Text is always text. */
export function h(tag, attributes = {}, ...children) {
  const element = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes)) {
    if (value === undefined || value === null || value === false) continue;
    if (name === "class") element.className = value;
    else if (name === "hidden") element.hidden = Boolean(value);
    else if (name === "disabled") element.disabled = Boolean(value);
    else element.setAttribute(name, value === true ? "" : String(value));
  }
  for (const child of children) {
    if (child === undefined || child === null || child === false) continue;
    element.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return element;
}
