// The plan page: a drafted plan as a tree (phases, milestones, tasks with their
// files, interface and tests), edited inline and approved with one action, over
// /api/v2/drafts. Text from the server is set with textContent, never as markup.
"use strict";

const draftId = new URLSearchParams(location.search).get("id");
let plan = null;

function el(tag, text, className) {
  const node = document.createElement(tag);
  if (text !== undefined) node.textContent = text;
  if (className) node.className = className;
  return node;
}

function say(text, isError) {
  const message = document.getElementById("message");
  message.textContent = text;
  message.className = isError ? "error" : "ok";
}

function field(task, key, label, lines) {
  const wrap = el("label", label + " ");
  const input = lines ? document.createElement("textarea") : document.createElement("input");
  input.value = lines ? task[key].join("\n") : task[key].join(", ");
  input.dataset.task = task.id;
  input.dataset.key = key;
  input.className = "task-" + key;
  input.addEventListener("change", () => {
    const parts = lines ? input.value.split("\n") : input.value.split(",");
    task[key] = parts.map((p) => p.trim()).filter((p) => p.length > 0);
  });
  wrap.appendChild(input);
  return wrap;
}

function render(draft) {
  plan = draft.plan;
  document.getElementById("draft-name").textContent = draft.name;
  document.getElementById("draft-status").textContent = draft.status;
  document.getElementById("request").textContent = draft.request;
  const tree = document.getElementById("tree");
  tree.replaceChildren();
  if (!plan) {
    tree.appendChild(el("p", "No plan yet: " + (draft.error || "")));
    return;
  }
  for (const phase of plan.phases) {
    const phaseNode = el("section", undefined, "phase");
    phaseNode.appendChild(el("h2", phase.name));
    for (const milestone of phase.milestones) {
      const ms = el("section", undefined, "milestone");
      ms.appendChild(el("h3", milestone.name));
      ms.appendChild(el("p", "tests: " + (milestone.tests.join(", ") || "-")));
      for (const task of milestone.tasks) {
        const node = el("article", undefined, "task");
        node.dataset.task = task.id;
        node.appendChild(el("h4", task.id + ": " + task.name + " [" + task.complexity + "]"));
        node.appendChild(field(task, "files", "files", false));
        node.appendChild(field(task, "interface", "interface", true));
        node.appendChild(el("p", "depends on: " + (task.depends_on.join(", ") || "-")));
        node.appendChild(el("p", "tests: " + (task.tests.join(", ") || "-"), "task-tests"));
        ms.appendChild(node);
      }
      phaseNode.appendChild(ms);
    }
    tree.appendChild(phaseNode);
  }
  const versions = document.getElementById("versions");
  versions.replaceChildren();
  for (const v of draft.versions) {
    versions.appendChild(el("li", v.note + " by " + v.author + " at " + v.created_at.slice(0, 19)));
  }
}

async function load() {
  const response = await fetch("/api/v2/drafts/" + encodeURIComponent(draftId));
  const body = await response.json();
  if (!response.ok) {
    say(typeof body.detail === "string" ? body.detail : body.detail.message, true);
    return;
  }
  render(body);
}

function problem(body) {
  const detail = body.detail;
  if (typeof detail === "string") return detail;
  if (detail && detail.issues) return detail.issues.map((i) => i.path + ": " + i.message).join("; ");
  return JSON.stringify(detail);
}

async function post(action, payload) {
  const author = document.getElementById("author").value;
  const response = await fetch("/api/v2/drafts/" + encodeURIComponent(draftId) + "/" + action, {
    method: "POST",
    headers: {"content-type": "application/json"},
    body: JSON.stringify(Object.assign({author: author}, payload)),
  });
  const body = await response.json();
  if (!response.ok) {
    say(problem(body), true);
    return;
  }
  say(action === "approve" ? "approved as version " + body.number : "saved as version " + body.number, false);
  await load();
}

document.getElementById("save").addEventListener("click", () => post("edit", {plan: plan}));
document.getElementById("approve").addEventListener("click", () => post("approve", {}));
load();
