/* Kitaru UI: progressive enhancement for server-rendered pages (no inline scripts; CSP script-src 'self'). */
"use strict";
(function () {
  const $ = (sel, root) => (root || document).querySelector(sel);
  const $$ = (sel, root) => Array.from((root || document).querySelectorAll(sel));
  const el = (tag, attrs, text) => {
    const e = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) e.setAttribute(k, v);
    if (text !== undefined) e.textContent = text;
    return e;
  };
  const localTime = (iso) => (iso ? new Date(iso).toLocaleString() : "");
  const fmtTs = (epoch) => new Date(epoch * 1000).toLocaleString();

  function localTimes(root) {
    $$("time[datetime]", root).forEach((t) => { if (t.getAttribute("datetime")) t.textContent = localTime(t.getAttribute("datetime")); });
  }

  function confirmations() {
    $$("form[data-confirm]").forEach((f) => f.addEventListener("submit", (ev) => {
      if (!ev.defaultPrevented && !window.confirm(f.dataset.confirm)) ev.preventDefault();
    }));
  }

  function bars() {
    $$(".bar[data-left]").forEach((b) => { b.style.marginLeft = b.dataset.left + "%"; b.style.width = b.dataset.width + "%"; });
  }

  async function getJSON(url) {
    const r = await fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } });
    if (!r.ok) throw new Error("HTTP " + r.status);
    return r.json();
  }

  /* executions list: refresh running/waiting rows without reloading */
  function liveList() {
    const table = $("#executions");
    if (!table) return;
    const tick = async () => {
      const active = $$("tr.row", table).filter((r) => ["running", "waiting"].includes(r.dataset.status));
      if (!active.length) return;
      try {
        const data = await getJSON(table.dataset.liveUrl + "?ids=" + active.map((r) => r.dataset.id).join(","));
        active.forEach((r) => {
          const d = data[r.dataset.id];
          if (!d) return;
          r.dataset.status = d.status;
          const cell = $(".status", r);
          cell.textContent = "";
          cell.append(el("span", { class: "badge s-" + d.status }, d.status));
          if (d.status === "waiting") { cell.append(" "); cell.append(el("span", { class: "badge wait" }, "needs input")); }
          $(".duration", r).textContent = d.duration;
          $(".runs", r).textContent = d.runs;
        });
      } catch (e) { /* next tick */ }
      setTimeout(tick, 2000);
    };
    setTimeout(tick, 2000);
  }

  /* execution page: follow the status; reload when it changes */
  function liveExecution() {
    const box = $("#exec");
    if (!box || !["running", "waiting"].includes(box.dataset.status)) return;
    const tick = async () => {
      try {
        const data = await getJSON("/ui/api/status?ids=" + encodeURIComponent(box.dataset.id));
        const d = data[box.dataset.id];
        if (d && d.status !== box.dataset.status) { window.location.replace(window.location.pathname); return; }
      } catch (e) { /* retry */ }
      setTimeout(tick, 1000);
    };
    setTimeout(tick, 1000);
  }

  function checkpointBodies() {
    $$("details.cp[data-body-url]").forEach((d) => d.addEventListener("toggle", async () => {
      const body = $(".cp-body", d);
      if (!d.open || !body || d.dataset.loaded) return;
      d.dataset.loaded = "1";
      try {
        const r = await fetch(d.dataset.bodyUrl, { credentials: "same-origin" });
        if (!r.ok) throw new Error("HTTP " + r.status);
        body.innerHTML = await r.text(); /* server-rendered, autoescaped fragment from our own origin */
        localTimes(body);
      } catch (e) { body.textContent = "could not load this checkpoint: " + e.message; delete d.dataset.loaded; }
    }));
  }

  /* logs: level filter, checkpoint filter, follow by long-polling */
  function logs() {
    const box = $("#logs-box");
    if (!box) return;
    const body = $("#logs tbody"), level = $("#log-level"), cp = $("#log-checkpoint"), follow = $("#log-follow");
    let after = 0, generation = 0;
    const levelOk = (l) => !level.value || l === level.value;
    const add = (line) => {
      const tr = el("tr", { class: "log lv-" + line.level, "data-level": line.level });
      tr.append(el("td", { class: "ts" }, fmtTs(line.ts)), el("td", {}, line.level), el("td", { class: "mono" }, line.checkpoint || ""),
                el("td", { class: "msg" }, line.message));
      tr.hidden = !levelOk(line.level);
      body.append(tr);
    };
    const load = async (gen) => {
      while (gen === generation) {
        const following = follow.checked;
        let url = box.dataset.url + "?after=" + after + (cp.value ? "&checkpoint=" + encodeURIComponent(cp.value) : "");
        if (following) url += "&wait=20";
        let data;
        try { data = await getJSON(url); } catch (e) { await new Promise((r) => setTimeout(r, 2000)); continue; }
        if (gen !== generation) return;
        data.lines.forEach(add);
        if (data.lines.length) { after = data.lines[data.lines.length - 1].id; continue; }
        if (!following) return;
        if (data.status !== "running") { await new Promise((r) => setTimeout(r, 1000)); }
      }
    };
    const restart = () => { generation += 1; after = 0; body.textContent = ""; load(generation); };
    level.addEventListener("change", () => $$("tr.log", body).forEach((tr) => { tr.hidden = !levelOk(tr.dataset.level); }));
    cp.addEventListener("change", restart);
    document.addEventListener("click", (ev) => {  /* buttons arrive with lazily loaded checkpoint bodies */
      const b = ev.target.closest && ev.target.closest("button.cp-logs");
      if (b) { cp.value = b.dataset.checkpoint; restart(); box.scrollIntoView(); }
    });
    follow.addEventListener("change", () => { if (follow.checked) { generation += 1; load(generation); } });
    load(generation);
  }

  /* wait forms generated from the wait's JSON schema; the raw JSON field is the fallback */
  function resolve(schema, root, depth) {
    schema = schema || {};
    if (depth > 20) return schema;
    if (typeof schema.$ref === "string" && schema.$ref.startsWith("#/")) {
      let target = root;
      for (const part of schema.$ref.slice(2).split("/")) target = target ? target[part.replace(/~1/g, "/").replace(/~0/g, "~")] : undefined;
      const { $ref, ...rest } = schema;
      return resolve({ ...(target || {}), ...rest }, root, depth + 1);
    }
    if (Array.isArray(schema.allOf) && schema.allOf.length === 1) {
      const { allOf, ...rest } = schema;
      return resolve({ ...resolve(allOf[0], root, depth + 1), ...rest }, root, depth + 1);
    }
    return schema;
  }

  function field(schema, label, root) {
    root = root || schema || {};
    schema = resolve(schema, root, 0);
    const wrap = el("div", { class: "field" });
    const lab = el("label", {}, label || "");
    if (schema.description) wrap.append(el("small", { class: "hint" }, schema.description));
    const type = Array.isArray(schema.type) ? schema.type.find((t) => t !== "null") : schema.type;
    if (Array.isArray(schema.enum)) {
      const sel = el("select");
      schema.enum.forEach((v, i) => sel.append(el("option", { value: String(i) }, typeof v === "string" ? v : JSON.stringify(v))));
      lab.append(sel); wrap.prepend(lab);
      return { node: wrap, get: () => schema.enum[Number(sel.value)], empty: () => false };
    }
    if (type === "boolean") {
      const cb = el("input", { type: "checkbox" });
      if (schema.default === true) cb.checked = true;
      lab.prepend(cb); wrap.prepend(lab);
      return { node: wrap, get: () => cb.checked, empty: () => false };
    }
    if (type === "integer" || type === "number") {
      const inp = el("input", { type: "number", step: type === "integer" ? "1" : "any" });
      if (schema.default !== undefined) inp.value = schema.default;
      lab.append(inp); wrap.prepend(lab);
      return {
        node: wrap, empty: () => inp.value.trim() === "",
        get: () => {
          const n = Number(inp.value);
          if (inp.value.trim() === "" || Number.isNaN(n)) throw new Error((label || "value") + ": enter a number");
          if (type === "integer" && !Number.isInteger(n)) throw new Error((label || "value") + ": enter a whole number");
          if (schema.minimum !== undefined && n < schema.minimum) throw new Error((label || "value") + ": must be ≥ " + schema.minimum);
          if (schema.maximum !== undefined && n > schema.maximum) throw new Error((label || "value") + ": must be ≤ " + schema.maximum);
          return n;
        },
      };
    }
    if (type === "string") {
      const inp = (schema.maxLength || 0) > 200 ? el("textarea", { rows: "3" }) : el("input", { type: "text" });
      if (schema.default !== undefined) inp.value = schema.default;
      lab.append(inp); wrap.prepend(lab);
      return {
        node: wrap, empty: () => inp.value === "",
        get: () => {
          const v = inp.value;
          if (schema.minLength !== undefined && v.length < schema.minLength) throw new Error((label || "value") + ": at least " + schema.minLength + " characters");
          if (schema.maxLength !== undefined && v.length > schema.maxLength) throw new Error((label || "value") + ": at most " + schema.maxLength + " characters");
          if (schema.pattern && !new RegExp(schema.pattern, "u").test(v)) throw new Error((label || "value") + ": does not match " + schema.pattern);
          return v;
        },
      };
    }
    if (type === "object" && schema.properties) {
      const fs = el("fieldset");
      if (label) fs.append(el("legend", {}, label));
      const required = new Set(schema.required || []);
      const kids = Object.entries(schema.properties).map(([k, s]) => {
        const f = field(s, k + (required.has(k) ? " *" : ""), root);
        if (f) fs.append(f.node);
        return [k, f];
      });
      if (kids.some(([, f]) => !f)) return null; /* a part without a form: raw JSON for the whole answer */
      wrap.append(fs);
      return {
        node: wrap, empty: () => false,
        get: () => {
          const out = {};
          for (const [k, f] of kids) {
            if (f.empty()) { if (required.has(k)) throw new Error(k + ": required"); continue; }
            out[k] = f.get();
          }
          return out;
        },
      };
    }
    if (type === "array") {
      const fs = el("fieldset", { class: "array" });
      if (label) fs.append(el("legend", {}, label));
      const list = el("div"), items = [];
      const addBtn = el("button", { type: "button", class: "add" }, "+ add");
      const addItem = () => {
        const f = field(schema.items || {}, "#" + (items.length + 1), root) || rawItem();
        const rm = el("button", { type: "button", class: "remove" }, "×");
        rm.addEventListener("click", () => { items.splice(items.indexOf(f), 1); f.node.remove(); });
        f.node.append(rm); list.append(f.node); items.push(f);
      };
      addBtn.addEventListener("click", addItem);
      fs.append(list, addBtn); wrap.append(fs);
      return {
        node: wrap, empty: () => false,
        get: () => {
          if (schema.minItems !== undefined && items.length < schema.minItems) throw new Error((label || "list") + ": at least " + schema.minItems + " items");
          return items.map((f) => f.get());
        },
      };
    }
    return null; /* no form for this schema: raw JSON only */
  }

  function rawItem() {
    const wrap = el("div", { class: "field" }), ta = el("textarea", { rows: "2", spellcheck: "false" });
    ta.value = "null";
    wrap.append(el("label", {}, "JSON"), ta);
    return { node: wrap, empty: () => false, get: () => JSON.parse(ta.value) };
  }

  function waitForms() {
    $$("form.wait-form").forEach((form) => {
      const schema = JSON.parse($("script.schema", form).textContent || "null");
      const raw = $("details.raw", form), text = $(".value-json", form), err = $(".form-error", form);
      const gen = schema ? field(schema, "") : null;
      if (gen) $(".generated", form).append(gen.node); else raw.open = true;
      form.addEventListener("submit", (ev) => {
        err.hidden = true;
        try {
          if (raw.open || !gen) JSON.parse(text.value);
          else text.value = JSON.stringify(gen.get());
        } catch (e) {
          ev.preventDefault();
          err.textContent = e instanceof SyntaxError ? "Not valid JSON: " + e.message : e.message;
          err.hidden = false;
        }
      }, true);
    });
  }

  /* replay overrides: one JSON editor per overridden checkpoint, merged with the raw object field */
  function jsonFields() {
    $$("textarea[data-json=object]").forEach((ta) => {
      const form = ta.form, err = $(".form-error", form), box = $(".override-editors", form);
      const rows = [];
      if (box) {
        const names = (box.dataset.checkpoints || "").split(" ").filter(Boolean);
        const add = el("button", { type: "button", class: "add-override" }, "+ override a checkpoint's output");
        add.addEventListener("click", () => {
          const row = el("div", { class: "override" }), sel = el("select", { class: "override-name" });
          names.forEach((n) => sel.append(el("option", { value: n }, n)));
          const value = el("textarea", { class: "override-value", rows: "2", spellcheck: "false", placeholder: "JSON value" });
          const rm = el("button", { type: "button" }, "×");
          rm.addEventListener("click", () => { rows.splice(rows.indexOf(row), 1); row.remove(); });
          row.append(sel, value, rm); row._get = () => [sel.value, value.value];
          rows.push(row); box.insertBefore(row, add);
        });
        box.append(add);
      }
      form.addEventListener("submit", (ev) => {
        err.hidden = true;
        try {
          let v = {};
          if (ta.value.trim()) {
            try { v = JSON.parse(ta.value); } catch (e) { throw new Error("Overrides are not valid JSON: " + e.message); }
            if (v === null || typeof v !== "object" || Array.isArray(v)) throw new Error('Overrides must be a JSON object: {"checkpoint.name": value}');
          }
          for (const row of rows) {
            const [name, text] = row._get();
            try { v["checkpoint." + name] = JSON.parse(text); } catch (e) { throw new Error("Override of " + name + " is not valid JSON: " + e.message); }
          }
          if (rows.length) ta.value = JSON.stringify(v);
        } catch (e) {
          ev.preventDefault();
          err.textContent = e.message;
          err.hidden = false;
        }
      }, true);
    });
  }

  document.addEventListener("DOMContentLoaded", () => {
    localTimes(document); bars(); waitForms(); jsonFields(); confirmations();
    liveList(); liveExecution(); checkpointBodies(); logs();
  });
})();
