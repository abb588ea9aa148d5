"use strict";
const API = "/api/v2/review";
const state = { items: [], current: null, detail: null, editorItem: null, editorCode: "" };
const $ = (id) => document.getElementById(id);

for (const key of ["reviewer", "token"]) {
  $(key).value = localStorage.getItem("mge-review-" + key) || "";
  $(key).addEventListener("change", () => localStorage.setItem("mge-review-" + key, $(key).value));
}

function say(text, kind) {
  const box = $("message");
  box.textContent = text;
  box.className = kind || "";
}

async function call(method, path, body) {
  const headers = { "Content-Type": "application/json" };
  const token = $("token").value.trim();
  if (token) headers["Authorization"] = "Bearer " + token;
  const response = await fetch(API + path, { method, headers, body: body ? JSON.stringify(body) : undefined });
  const data = await response.json().catch(() => ({}));
  if (!response.ok) {
    const detail = typeof data.detail === "string" ? data.detail : JSON.stringify(data.detail);
    throw new Error((data.error || response.status) + ": " + detail);
  }
  return data;
}

function cell(text, cls) {
  const td = document.createElement("td");
  td.textContent = text;
  if (cls) td.className = cls;
  return td;
}

async function loadQueue(keepId) {
  const closed = $("show-closed").checked ? "?all=true" : "";
  const data = await call("GET", "/items" + closed);
  state.items = data.items;
  const body = $("queue-body");
  body.replaceChildren();
  for (const item of data.items) {
    const row = document.createElement("tr");
    row.className = "item";
    row.dataset.id = item.id;
    row.append(cell("P" + item.priority, "prio-" + item.priority), cell(item.atom), cell(item.status),
               cell(item.blocked_dependents), cell(item.confidence.toFixed(2)), cell(item.assigned_to || ""));
    row.addEventListener("click", () => openItem(item.id));
    body.append(row);
  }
  $("queue-empty").hidden = data.items.length > 0;
  const wanted = keepId && data.items.some((i) => i.id === keepId) ? keepId : (data.items[0] || {}).id;
  if (wanted) await openItem(wanted); else { $("item").hidden = true; state.current = null; }
}

function fill(id, text) { $(id).textContent = text == null ? "" : text; }

function renderDiff(target, diff) {
  const box = $(target);
  box.replaceChildren();
  for (const line of (diff || "").split("\n")) {
    const span = document.createElement("span");
    span.textContent = line + "\n";
    if (line.startsWith("+") && !line.startsWith("+++")) span.className = "diff-add";
    if (line.startsWith("-") && !line.startsWith("---")) span.className = "diff-del";
    box.append(span);
  }
}

async function openItem(id) {
  const item = await call("GET", "/items/" + id);
  state.current = id;
  state.detail = item;
  for (const row of document.querySelectorAll("tr.item")) row.classList.toggle("selected", row.dataset.id === id);
  $("item").hidden = false;
  fill("item-atom", item.atom);
  fill("item-status", item.status);
  fill("item-priority", "P" + item.priority);
  $("item-priority").className = "prio-" + item.priority;
  fill("item-blocked", item.blocked_dependents);
  fill("item-confidence", item.confidence.toFixed(2));
  fill("item-due", item.due_at);
  fill("item-holder", item.assigned_to ? "claimed by " + item.assigned_to + " until " + item.claim_expires_at : "");
  fill("item-reason", item.reason);
  // Reloading the open item (after a claim, a release, the reload button) keeps an
  // edit in progress; another item, new code on the server (a regeneration) or an
  // untouched editor shows the item's code.
  const editing = id === state.editorItem && (item.code || "") === state.editorCode &&
    $("editor").value !== state.editorCode;
  if (!editing) {
    $("editor").value = item.code || "";
    fill("edit-diff", "");
  }
  state.editorItem = id;
  state.editorCode = item.code || "";
  renderModelReview(item.model_review);
  await loadPanel(id);
}

// The panel (highlighted code, the file around it, problems by file line, the
// previous attempt, context, evidence, audit trail) is rendered by the server, every
// text in it escaped there; it is put in place as it comes.
async function loadPanel(id) {
  const response = await fetch("/review/items/" + encodeURIComponent(id));
  if (!response.ok) throw new Error("the item panel: HTTP " + response.status);
  const template = document.createElement("template");
  template.innerHTML = await response.text();
  if (state.current !== id) return;  // another item was opened meanwhile
  const open = state.panelItem === id && $("surroundings") !== null && $("surroundings").open;
  state.panelItem = id;
  $("item-view").replaceChildren(template.content.getElementById("panel-main"));
  $("item-more").replaceChildren(template.content.getElementById("panel-more"));
  if (open && $("surroundings")) $("surroundings").open = true;
}

function renderModelReview(review) {
  const box = $("model-review");
  box.className = review.status;
  if (review.status === "done") {
    box.textContent = "Model review (" + review.model + "): " + review.verdict +
      (review.summary ? " — " + review.summary : "") + " [" + review.input_tokens + " in / " +
      review.output_tokens + " out tokens, $" + Number(review.cost_usd).toFixed(4) + "]";
  } else {
    box.textContent = "Model review: " + (review.note || review.status);
  }
  $("btn-model-review").hidden = review.status !== "done" && review.status !== "error";
}

$("btn-model-review").addEventListener("click", async () => {
  if (!state.current) return;
  try {
    say("asking the model…");
    const review = await call("POST", "/items/" + state.current + "/model-review");
    say("model review: " + (review.status === "done" ? review.verdict : review.note), review.status === "done" ? "ok" : "error");
    await openItem(state.current);
  } catch (error) {
    say(error.message, "error");
  }
});

let diffTimer = null;
$("editor").addEventListener("input", () => {
  clearTimeout(diffTimer);
  diffTimer = setTimeout(async () => {
    if (!state.current) return;
    const data = await call("POST", "/items/" + state.current + "/diff", { code: $("editor").value });
    renderDiff("edit-diff", data.diff);
  }, 250);
});

function reviewer() {
  const name = $("reviewer").value.trim();
  if (!name) throw new Error("enter your reviewer name first");
  localStorage.setItem("mge-review-reviewer", name);
  return name;
}

async function act(action, extra, moveOn) {
  if (!state.current) return;
  const id = state.current;
  try {
    const body = Object.assign({ reviewer: reviewer() }, extra || {});
    say(action + "…");
    const result = await call("POST", "/items/" + id + "/" + action, body);
    let text = action + ": " + result.status + " (atom " + result.atom_status + ")";
    if (result.unblocked) text += "; " + result.unblocked + " blocked atoms back to pending";
    if (result.message) text += " — " + result.message;
    say(text, result.passed === false ? "error" : "ok");
    if (moveOn) {
      const index = state.items.findIndex((i) => i.id === id);
      const next = state.items[index + 1] || state.items[index - 1];
      await loadQueue(next ? next.id : null);
    } else {
      await loadQueue(id);
    }
  } catch (error) {
    say(error.message, "error");
  }
}

const note = () => $("note").value.trim() || null;
$("btn-claim").addEventListener("click", () => act("claim"));
$("btn-release").addEventListener("click", () => act("release"));
$("btn-approve").addEventListener("click", () => act("approve", { note: note() }, true));
$("btn-save-edit").addEventListener("click", () => act("edit", { code: $("editor").value, note: note() }, true));
$("btn-regenerate").addEventListener("click", () => act("regenerate", { feedback: note() || "" }, false));
$("btn-skip").addEventListener("click", () => act("skip", { note: note() }, true));
$("btn-reject").addEventListener("click", () => act("reject", { note: note() || "" }, true));
$("reload").addEventListener("click", () => loadQueue(state.current).catch((e) => say(e.message, "error")));
$("show-closed").addEventListener("change", () => loadQueue(state.current).catch((e) => say(e.message, "error")));

function step(delta) {
  const index = state.items.findIndex((i) => i.id === state.current);
  const next = state.items[index + delta];
  if (next) openItem(next.id).catch((e) => say(e.message, "error"));
}

document.addEventListener("keydown", (event) => {
  const tag = (event.target.tagName || "").toLowerCase();
  if (tag === "textarea" || tag === "input" || event.ctrlKey || event.metaKey || event.altKey) return;
  const keys = { j: () => step(1), k: () => step(-1), a: () => $("btn-approve").click(),
                 c: () => $("btn-claim").click(), s: () => $("btn-skip").click(),
                 e: () => $("editor").focus() };
  if (keys[event.key]) { event.preventDefault(); keys[event.key](); }
});

loadQueue(null).catch((e) => say(e.message, "error"));
