"use strict";
// mesos-replay inspect --html: draws the data of the page (the element
// #data, written by crates/mesos-replay/src/inspect/html.rs). Only what is
// in view is in the DOM (the sequence's rows, the task lanes), so 100 000
// entries load and scroll like a few.
(async function () {
  const $ = (id) => document.getElementById(id);
  const scriptStart = performance.now();
  // The data and the session's lines, gzipped in base64: inflated here,
  // then their elements dropped (the document stays small).
  async function inflate(id) {
    const node = $(id);
    const text = atob(node.textContent);
    node.remove();
    const bytes = new Uint8Array(text.length);
    for (let i = 0; i < text.length; i++) bytes[i] = text.charCodeAt(i);
    const stream = new Blob([bytes]).stream().pipeThrough(new DecompressionStream("gzip"));
    return new Response(stream).text();
  }
  if (typeof DecompressionStream === "undefined") {
    document.body.textContent = "This browser cannot inflate the page's data (it lacks DecompressionStream): open it in Chromium 80, Firefox 113, Safari 16.4 or later.";
    return;
  }
  const D = JSON.parse(await inflate("data"));
  const RAW = (await inflate("raw")).split("\n");
  const E = D.entries;
  const N = E.seq.length;
  const R = D.rows;
  const NR = R.entry.length;
  const raw = (e) => RAW[e] || "";
  const secs = (ms) => (ms / 1000).toFixed(3);
  const el = (tag, cls, text) => {
    const x = document.createElement(tag);
    if (cls) x.className = cls;
    if (text !== undefined) x.textContent = text;
    return x;
  };

  // Entry → its row (a folded heartbeat → its run's row).
  const rowOf = R.of;
  const divergenceAt = new Map();
  for (const d of D.divergences) if (d.e !== null) divergenceAt.set(d.e, (divergenceAt.get(d.e) || []).concat(d.text));
  const taskOfUpdate = new Map();
  D.tasks.forEach((t, i) => t.updates.forEach((u) => taskOfUpdate.set(u.e, i)));

  $("names").textContent = D.sessions.join(", ");
  $("stats").textContent = `${N} entries (${NR} rows, heartbeats folded), ${D.tasks.length} tasks, ${D.offers.length} offers, ${D.agents.length} agents, ${D.notes.length} notes, ${D.divergences.length} divergences, ${secs(D.end)} s`;

  // ---- details
  let selected = -1;
  function details(e, extra) {
    selected = e;
    let line = raw(e);
    let entry = null;
    try { entry = JSON.parse(line); } catch (_) { entry = null; }
    let decoded = D.decoded[String(e)];
    if (decoded === undefined && entry) {
      const text = entry.body !== undefined ? entry.body : entry.record;
      if (typeof text === "string" && text.length > 0) {
        try { decoded = JSON.parse(text); } catch (_) { decoded = text; }
      } else if (entry.body_b64 || entry.record_b64) {
        decoded = "(bytes that are not a message this page decodes)";
      }
    }
    const parts = [];
    if (extra) parts.push(extra);
    const divs = divergenceAt.get(e);
    if (divs) parts.push("divergence: " + divs.join("\n"));
    if (decoded !== undefined) parts.push(typeof decoded === "string" ? decoded : JSON.stringify(decoded, null, 2));
    $("decoded").textContent = parts.join("\n\n") || "(no message)";
    $("rawLine").textContent = line;
    $("detailsTitle").textContent = `entry ${e}: ${D.sessions[E.session[e]]} seq ${E.seq[e]}, ${secs(E.t[e])} s, conn ${E.conn[e]}: ${E.label[e]}`;
    cursorAt(E.t[e]);
    renderSeq();
  }

  // ---- the sequence diagram
  const seq = $("seq");
  let rowH = 20;
  let seqPending = false;
  function rowEl(r) {
    const e = R.entry[r];
    const k = E.kind[e];
    const n = R.count[r];
    const row = el("div", "row k-" + k);
    if (E.flag[e] === 1) row.classList.add("err");
    if (E.flag[e] === 2) row.classList.add("gap");
    if (divergenceAt.has(e)) row.classList.add("div");
    if (e === selected) row.classList.add("sel");
    row.classList.add(k === "q" ? "toM" : "toF");
    row.style.top = r * rowH + "px";
    row.style.height = rowH + "px";
    row.dataset.e = e;
    row.appendChild(el("span", "time", secs(E.t[e])));
    const arrow = el("div", "arrow");
    if (k === "q" || k === "r" || k === "e") {
      arrow.appendChild(el("div", "line"));
      arrow.appendChild(el("span", "head", k === "q" ? "▶" : "◀"));
    }
    const lbl = el("div", "lbl");
    const sign = { q: "→", r: "←", e: "⇐", c: "×", n: "!", x: "■" }[k] || "";
    lbl.appendChild(el("b", null, `${sign} ${E.label[e]}${n > 1 ? " ×" + n : ""}`));
    if (E.ids[e]) lbl.appendChild(el("span", "ids", E.ids[e]));
    if (divergenceAt.has(e)) lbl.appendChild(el("span", "ids", "◆ " + divergenceAt.get(e).join("; ")));
    arrow.appendChild(lbl);
    row.appendChild(arrow);
    return row;
  }
  function renderSeq() {
    seqPending = false;
    $("seqSpacer").style.height = NR * rowH + "px";
    const top = seq.scrollTop;
    const h = seq.clientHeight || 600;
    const first = Math.max(0, Math.floor(top / rowH) - 5);
    const last = Math.min(NR, Math.ceil((top + h) / rowH) + 5);
    for (const old of seq.querySelectorAll(".row")) old.remove();
    const frag = document.createDocumentFragment();
    for (let r = first; r < last; r++) frag.appendChild(rowEl(r));
    seq.appendChild(frag);
  }
  seq.addEventListener("scroll", () => {
    if (!seqPending) { seqPending = true; requestAnimationFrame(renderSeq); }
  });
  seq.addEventListener("click", (ev) => {
    const row = ev.target.closest(".row");
    if (row) details(+row.dataset.e);
  });
  function showEntry(e, extra) {
    const r = rowOf[e];
    seq.scrollTop = Math.max(0, r * rowH - (seq.clientHeight || 600) / 2);
    details(e, extra);
  }
  function rowsZoom(factor) {
    const topRow = seq.scrollTop / rowH;
    rowH = Math.max(12, Math.min(40, Math.round(rowH * factor)));
    seq.scrollTop = topRow * rowH;
    renderSeq();
  }
  $("rowsBigger").onclick = () => rowsZoom(1.25);
  $("rowsSmaller").onclick = () => rowsZoom(0.8);

  // ---- the time window of the lanes and the offers
  const full = Math.max(D.end, 1);
  let view = { a: 0, b: full };
  const lanes = $("lanes");
  const trackWidth = () => Math.max(50, lanes.clientWidth - 124);
  const xOf = (t, w) => ((t - view.a) / (view.b - view.a)) * w;
  function zoom(factor, center) {
    const c = center === undefined ? (view.a + view.b) / 2 : center;
    const span = Math.min(full, Math.max(0.001, (view.b - view.a) * factor));
    let a = c - (c - view.a) * (span / (view.b - view.a));
    a = Math.max(0, Math.min(full - span, a));
    view = { a, b: a + span };
    renderTime();
  }
  function pan(fraction) {
    const span = view.b - view.a;
    const a = Math.max(0, Math.min(full - span, view.a + span * fraction));
    view = { a, b: a + span };
    renderTime();
  }
  $("zoomIn").onclick = () => zoom(0.5, selected >= 0 ? E.t[selected] : undefined);
  $("zoomOut").onclick = () => zoom(2);
  $("panLeft").onclick = () => pan(-0.5);
  $("panRight").onclick = () => pan(0.5);
  $("fit").onclick = () => { view = { a: 0, b: full }; renderTime(); };
  for (const pane of [lanes, $("agents"), $("axis")]) {
    pane.addEventListener("wheel", (ev) => {
      if (!ev.ctrlKey && !ev.shiftKey) return;
      ev.preventDefault();
      if (ev.shiftKey) { pan(ev.deltaY > 0 ? 0.1 : -0.1); return; }
      const rect = pane.getBoundingClientRect();
      const w = trackWidth();
      const t = view.a + ((ev.clientX - rect.left - 120) / w) * (view.b - view.a);
      zoom(ev.deltaY > 0 ? 1.25 : 0.8, t);
    }, { passive: false });
  }

  function renderAxis() {
    const axis = $("axis");
    axis.textContent = "";
    const w = trackWidth();
    const span = view.b - view.a;
    // A step of 1, 2 or 5 times a power of ten, about 8 ticks in view.
    const raw8 = Math.max(span / 8, 0.001);
    const power = Math.pow(10, Math.floor(Math.log10(raw8)));
    const step = [1, 2, 5, 10].map((m) => m * power).find((s) => s >= raw8);
    for (let t = Math.ceil(view.a / step) * step; t <= view.b; t += step) {
      const tick = el("span", null, secs(t) + " s");
      tick.style.left = xOf(t, w) + "px";
      axis.appendChild(tick);
    }
  }

  // ---- task lanes
  const laneH = 22;
  let lanesPending = false;
  let cursorT = null;
  function laneEl(i, w) {
    const t = D.tasks[i];
    const lane = el("div", "lane");
    lane.dataset.task = t.id;
    lane.style.top = i * laneH + "px";
    const name = el("div", "name", t.id);
    name.title = `${t.id} on ${t.agent || "?"} (framework ${t.framework})`;
    name.onclick = () => { if (t.updates.length) showEntry(t.updates[0].e); else if (t.launch) showEntry(t.launch[0]); };
    lane.appendChild(name);
    const track = el("div", "track");
    const add = (node, t0, t1) => {
      const left = xOf(t0, w);
      const right = t1 === undefined ? left + 12 : xOf(t1, w);
      node.style.left = left + "px";
      if (t1 !== undefined) node.style.width = Math.max(2, right - left) + "px";
      track.appendChild(node);
    };
    t.updates.forEach((u, j) => {
      const next = j + 1 < t.updates.length ? E.t[t.updates[j + 1].e] : D.end;
      const s = el("span", "state", u.state.replace("TASK_", ""));
      s.dataset.state = u.state;
      s.dataset.e = u.e;
      if (u.uuid && !u.ack && !t.updates.slice(j + 1).some((v) => v.uuid === u.uuid)) s.classList.add("unacked");
      if (u.resent) s.classList.add("resent");
      s.title = `${u.state} at ${secs(E.t[u.e])} s${u.resent ? " (re-sent)" : ""}${u.uuid ? (u.ack ? `, acknowledged at ${secs(E.t[u.ack[0]])} s (${u.ack[1] ?? "no answer"})` : ", NOT acknowledged") : ""}${u.reason ? ", " + u.reason : ""}${u.message ? ": " + u.message : ""}`;
      s.onclick = () => showEntry(u.e, s.title);
      add(s, E.t[u.e], Math.max(next, E.t[u.e]));
      if (u.ack) {
        const m = el("span", "mark ack", "✓");
        m.title = "ACKNOWLEDGE " + (u.ack[1] ?? "no answer");
        m.onclick = () => showEntry(u.ack[0], m.title);
        add(m, E.t[u.ack[0]]);
      }
    });
    if (t.launch) {
      const m = el("span", "mark launch", "▸");
      m.title = "launched (ACCEPT " + (t.launch[1] ?? "no answer") + ")";
      m.onclick = () => showEntry(t.launch[0], m.title);
      add(m, E.t[t.launch[0]]);
    }
    for (const k of t.kills) {
      const m = el("span", "mark kill", "✖");
      m.title = "KILL " + (k[1] ?? "no answer");
      m.onclick = () => showEntry(k[0], m.title);
      add(m, E.t[k[0]]);
    }
    lane.appendChild(track);
    return lane;
  }
  function renderLanes() {
    lanesPending = false;
    $("lanesSpacer").style.height = D.tasks.length * laneH + "px";
    const w = trackWidth();
    const top = lanes.scrollTop;
    const h = lanes.clientHeight || 300;
    const first = Math.max(0, Math.floor(top / laneH) - 3);
    const last = Math.min(D.tasks.length, Math.ceil((top + h) / laneH) + 3);
    for (const old of lanes.querySelectorAll(".lane, .cursor")) old.remove();
    const frag = document.createDocumentFragment();
    for (let i = first; i < last; i++) frag.appendChild(laneEl(i, w));
    if (cursorT !== null) {
      const c = el("div", "cursor");
      c.style.left = 120 + xOf(cursorT, w) + "px";
      c.style.top = top + "px";
      c.style.height = h + "px";
      frag.appendChild(c);
    }
    lanes.appendChild(frag);
  }
  lanes.addEventListener("scroll", () => {
    if (!lanesPending) { lanesPending = true; requestAnimationFrame(renderLanes); }
  });

  // ---- offers per agent
  const offersOf = new Map(D.agents.map((a) => [a, []]));
  D.offers.forEach((o, i) => { if (!offersOf.has(o.agent)) offersOf.set(o.agent, []); offersOf.get(o.agent).push(i); });
  const colours = { accepted: "#7cc47f", declined: "#b0b7c3", rescinded: "#e57373", outstanding: "#64b5f6" };
  const canvases = [];
  for (const [agent, list] of offersOf) {
    const row = el("div", "agent");
    row.dataset.agent = agent;
    const host = list.length ? D.offers[list[0]].host : "";
    const name = el("div", "name", agent.replace(/^.*-(S\d+)$/, "$1") + (host ? " " + host : ""));
    name.title = agent;
    row.appendChild(name);
    const canvas = el("canvas");
    canvas.dataset.offers = list.length;
    row.appendChild(canvas);
    $("agents").appendChild(row);
    canvases.push({ canvas, list });
    canvas.addEventListener("click", (ev) => {
      const rect = canvas.getBoundingClientRect();
      const t = view.a + ((ev.clientX - rect.left) / rect.width) * (view.b - view.a);
      const lane = Math.floor((ev.clientY - rect.top) / (rect.height / 3));
      let best = null;
      list.forEach((i, j) => {
        const o = D.offers[i];
        const t0 = E.t[o.e], t1 = o.end ? E.t[o.end[0]] : D.end;
        if (j % 3 === lane && t >= t0 - (view.b - view.a) / 200 && t <= Math.max(t1, t0 + (view.b - view.a) / 200)) best = o;
      });
      if (best) showEntry(best.end ? best.end[0] : best.e, offerText(best));
    });
  }
  function offerText(o) {
    const end = o.end ? ` at ${secs(E.t[o.end[0]])} s (${o.end[1] ?? "no answer"})` : "";
    return `offer ${o.id} on ${o.agent} (${o.host}): ${o.res}\noffered at ${secs(E.t[o.e])} s, ${o.outcome}${end}${o.detail ? ": " + o.detail : ""}`;
  }
  function renderAgents() {
    for (const { canvas, list } of canvases) {
      const ratio = window.devicePixelRatio || 1;
      const w = canvas.clientWidth || 300, h = canvas.clientHeight || 40;
      canvas.width = w * ratio; canvas.height = h * ratio;
      const g = canvas.getContext("2d");
      g.scale(ratio, ratio);
      g.clearRect(0, 0, w, h);
      const bandH = h / 3;
      list.forEach((i, j) => {
        const o = D.offers[i];
        const t0 = E.t[o.e], t1 = o.end ? E.t[o.end[0]] : D.end;
        if (t1 < view.a || t0 > view.b) return;
        const x0 = xOf(t0, w), x1 = Math.max(x0 + 2, xOf(t1, w));
        g.fillStyle = colours[o.outcome] || "#999";
        g.fillRect(x0, (j % 3) * bandH + 1, x1 - x0, bandH - 2);
      });
      if (cursorT !== null) {
        g.strokeStyle = "#d32f2f";
        g.beginPath(); g.moveTo(xOf(cursorT, w), 0); g.lineTo(xOf(cursorT, w), h); g.stroke();
      }
    }
  }

  // ---- frameworks: calls and events counted, what became of their offers,
  // and their dominant share over time (DRF's view): the resources of their
  // launched tasks until each one's terminal update, over the cluster's,
  // taken as the largest offer of each agent.
  const TERMINAL = new Set(["TASK_FINISHED", "TASK_FAILED", "TASK_KILLED", "TASK_LOST", "TASK_ERROR", "TASK_DROPPED", "TASK_GONE", "TASK_GONE_BY_OPERATOR"]);
  const capacity = {};
  {
    const perAgent = new Map();
    for (const o of D.offers) {
      const most = perAgent.get(o.agent) || {};
      for (const [k, v] of Object.entries(o.scalars || {})) most[k] = Math.max(most[k] || 0, v);
      perAgent.set(o.agent, most);
    }
    for (const most of perAgent.values()) for (const [k, v] of Object.entries(most)) capacity[k] = (capacity[k] || 0) + v;
  }
  const palette = ["#1565c0", "#c62828", "#2e7d32", "#6a1b9a", "#ef6c00", "#00838f", "#5d4037", "#ad1457"];
  const shares = D.frameworks.map((f) => {
    const steps = [];
    for (const t of D.tasks) {
      if (t.framework !== f.id || !t.launch || (t.launch[1] !== null && t.launch[1] >= 400)) continue;
      steps.push([E.t[t.launch[0]], t.res, 1]);
      const end = t.updates.find((u) => TERMINAL.has(u.state));
      if (end) steps.push([E.t[end.e], t.res, -1]);
    }
    steps.sort((a, b) => a[0] - b[0]);
    const held = {};
    const series = [[0, 0]];
    let most = 0;
    for (const [t, res, sign] of steps) {
      for (const [k, v] of Object.entries(res || {})) held[k] = (held[k] || 0) + sign * v;
      let share = 0;
      for (const k of ["cpus", "mem", "disk", "gpus"]) if (capacity[k] > 0) share = Math.max(share, (held[k] || 0) / capacity[k]);
      series.push([t, share]);
      most = Math.max(most, share);
    }
    return { series, most };
  });
  const shareCanvas = el("canvas");
  shareCanvas.id = "shares";
  {
    const table = el("table");
    const head = el("tr");
    for (const h of ["framework", "calls", "events", "offers", "tasks", "most dominant share"]) head.appendChild(el("th", null, h));
    table.appendChild(head);
    const counts = (m) => Object.entries(m).map(([k, v]) => `${k} ${v}`).join(", ");
    D.frameworks.forEach((f, i) => {
      const outcomes = {};
      for (const o of D.offers) if (o.framework === f.id) outcomes[o.outcome] = (outcomes[o.outcome] || 0) + 1;
      const tasks = D.tasks.filter((t) => t.framework === f.id).length;
      const row = el("tr");
      row.dataset.framework = f.id;
      const name = el("td", null, "■ " + (f.id || "(no id yet)"));
      name.style.color = palette[i % palette.length];
      row.appendChild(name);
      const share = (100 * shares[i].most).toFixed(1) + " %";
      for (const text of [counts(f.calls), counts(f.events), counts(outcomes), String(tasks), share]) row.appendChild(el("td", null, text));
      table.appendChild(row);
    });
    $("frameworks").appendChild(table);
    $("frameworks").appendChild(shareCanvas);
  }
  function renderShares() {
    const ratio = window.devicePixelRatio || 1;
    const w = shareCanvas.clientWidth || 300, h = shareCanvas.clientHeight || 50;
    shareCanvas.width = w * ratio; shareCanvas.height = h * ratio;
    const g = shareCanvas.getContext("2d");
    g.scale(ratio, ratio);
    g.clearRect(0, 0, w, h);
    const top = Math.max(0.05, ...shares.map((s) => s.most));
    const y = (share) => h - 2 - (share / top) * (h - 4);
    shares.forEach((s, i) => {
      g.strokeStyle = palette[i % palette.length];
      g.beginPath();
      let last = 0;
      g.moveTo(0, y(0));
      for (const [t, share] of s.series) {
        const x = xOf(t, w);
        g.lineTo(Math.max(0, Math.min(w, x)), y(last));
        g.lineTo(Math.max(0, Math.min(w, x)), y(share));
        last = share;
      }
      g.lineTo(w, y(last));
      g.stroke();
    });
    g.fillStyle = "#667";
    g.fillText(`${(100 * top).toFixed(1)} %`, 2, 10);
  }

  // ---- notes and divergences
  for (const n of D.notes) {
    const d = el("div", n.gap ? "gap" : "", `${secs(E.t[n.e])} s  ! ${n.text}`);
    d.onclick = () => showEntry(n.e, n.text);
    $("marks").appendChild(d);
  }
  for (const v of D.divergences) {
    const d = el("div", "dv", `◆ ${v.line ? "line " + v.line + ": " : ""}${v.text}`);
    if (v.e !== null) d.onclick = () => showEntry(v.e, v.text);
    $("marks").appendChild(d);
  }
  if (!D.notes.length && !D.divergences.length) $("marks").textContent = "none";

  function cursorAt(t) { cursorT = t; renderLanes(); renderAgents(); }
  function renderTime() { renderAxis(); renderLanes(); renderAgents(); renderShares(); }

  // ---- search by id
  const results = $("results");
  function search(q) {
    results.textContent = "";
    if (!q) { results.hidden = true; return; }
    const add = (text, go) => { const d = el("div", null, text); d.onclick = () => { results.hidden = true; go(); }; results.appendChild(d); };
    D.tasks.forEach((t, i) => {
      if (t.id.includes(q)) add(`task ${t.id}: ${t.updates.map((u) => u.state.replace("TASK_", "")).join(" → ")}`, () => {
        lanes.scrollTop = i * laneH; renderLanes();
        if (t.updates.length) showEntry(t.updates[0].e);
      });
    });
    for (const o of D.offers) if (o.id.includes(q)) add(offerText(o).split("\n").join("; "), () => showEntry(o.e, offerText(o)));
    let found = 0;
    for (let e = 0; e < N && found < 200; e++) {
      if (E.ids[e].includes(q) || raw(e).includes(q)) {
        found++;
        add(`${secs(E.t[e])} s #${E.seq[e]} ${E.label[e]} ${E.ids[e]}`, () => showEntry(e));
      }
    }
    if (!results.childElementCount) add("nothing found", () => {});
    results.hidden = false;
  }
  $("search").addEventListener("keydown", (ev) => {
    if (ev.key === "Escape") { results.hidden = true; return; }
    if (ev.key === "Enter") search(ev.target.value.trim());
  });

  window.addEventListener("resize", () => { renderSeq(); renderTime(); });
  renderSeq();
  renderTime();
  // page.html#e=N opens on entry N (a link to one moment of a session);
  // page.html#q=ID opens with the search for ID.
  function follow() {
    const e = /^#e=(\d+)$/.exec(location.hash);
    if (e && +e[1] < N) showEntry(+e[1]);
    const q = /^#q=(.+)$/.exec(location.hash);
    if (q) {
      $("search").value = decodeURIComponent(q[1]);
      search($("search").value.trim());
    }
  }
  follow();
  window.addEventListener("hashchange", follow);
  document.body.dataset.entries = N;
  document.body.dataset.rows = NR;
  document.body.dataset.tasks = D.tasks.length;
  document.body.dataset.offers = D.offers.length;
  document.body.dataset.scriptMs = (performance.now() - scriptStart).toFixed(0);
  document.body.dataset.loadMs = performance.now().toFixed(0);
  document.body.dataset.ready = "1";
})();
