// The page's behaviour: a session kept in localStorage, the next query from the
// server, answers by button or key (1 / 2 / t / s), and the model's belief after each.
"use strict";
(function () {
  const STORE = "pluralist-page";
  const $ = (id) => document.getElementById(id);
  let session = JSON.parse(localStorage.getItem(STORE) || "null");
  let query = null, busy = false;

  function save() { localStorage.setItem(STORE, JSON.stringify(session)); }
  function say(text, error) { $("status").textContent = text; $("status").className = error ? "status error" : "status"; }
  function letter(i) { return String.fromCharCode(65 + i); }
  function short(text, n) { return text.length > n ? text.slice(0, n - 1) + "…" : text; }

  async function call(method, path, body) {
    const headers = { "Content-Type": "application/json" };
    if (session && session.token) headers.Authorization = "Bearer " + session.token;
    const response = await fetch(path, { method, headers, body: body ? JSON.stringify(body) : undefined });
    const data = await response.json().catch(() => ({}));
    if (!response.ok) {
      const detail = typeof data.detail === "string" ? data.detail : JSON.stringify(data.detail);
      throw Object.assign(new Error(detail || response.statusText), { status: response.status });
    }
    return data;
  }

  async function startSession(rater) {
    const body = rater ? { rater } : {};
    const granted = await call("POST", "/page/session", body);
    session = { rater: granted.rater, token: granted.token, skipped: [] };
    save();
    await refresh();
  }

  function setBusy(value) {
    busy = value;
    document.querySelectorAll(".answers button").forEach((b) => { b.disabled = value || !query; });
    $("question").dataset.busy = value ? "1" : "";
  }

  async function refresh() {
    $("rater").textContent = session.rater;
    showBelief(await call("GET", "/page/me"));
    await nextQuery();
  }

  async function nextQuery() {
    const next = await call("POST", "/page/next", { skipped: session.skipped });
    query = next.query ? next : null;
    $("question").dataset.query = query ? query.query : "";
    $("prompt").textContent = query ? query.prompt || "(no prompt)" : "";
    $("response-a").textContent = query ? query.a : "";
    $("response-b").textContent = query ? query.b : "";
    if (!query) say(next.reason || "No questions left.");
    setBusy(false);
  }

  async function answer(outcome) {
    if (busy || !query) return;
    setBusy(true);
    try {
      if (outcome === "skip") {
        session.skipped.push(query.row); save();
        say("Skipped.");
      } else {
        showBelief(await call("POST", "/page/answer", { query: query.query, outcome, skipped: session.skipped }));
        say(outcome === "tie" ? "Stored: a tie." : "Stored: you preferred the " + (outcome === "a" ? "left" : "right") + " response.");
      }
      await nextQuery();
    } catch (err) { fail(err); }
  }

  function showBelief(belief) {
    $("progress").max = Math.max(belief.target, belief.answered);
    $("progress").value = belief.answered;
    $("progress-count").textContent = belief.answered + " of " + belief.target + " (" + belief.open_questions + " questions left)";
    $("progress-count").dataset.answered = belief.answered;
    $("sureness").textContent = surenessText(belief);
    $("closest").textContent = closestText(belief.closest);
    $("chosen-by").textContent = "Each question is the one the model expects to learn most from (" + belief.chosen_by + ").";
    showShowcase(belief.showcase);
    showAnswers(belief.answers);
  }

  function surenessText(belief) {
    const s = belief.sureness;
    if (!belief.personalised) return "This model ranks the same for everyone: your answers are stored, but it has no personal parameters to change.";
    if (!belief.answered) return "No answers yet: the model treats you as the average rater.";
    let text = "";
    if (s.expected_accuracy !== null) text += "The model expects to predict " + Math.round(100 * s.expected_accuracy) + "% of your remaining choices correctly. ";
    if (s.start_spread > 0 && s.criterion !== "none" && s.criterion !== "membership") {
      const less = Math.round(100 * (1 - s.spread / s.start_spread));
      text += "Its uncertainty about you is " + (less >= 0 ? less + "% lower" : -less + "% higher") + " than before your first answer (posterior spread " + s.spread.toFixed(3) + ").";
    }
    if (s.trust !== null) text += s.trust === 0 ? " For now it ranks for you as for everyone: with this many answers it does not yet trust a personal fit."
      : s.trust === 1 ? " It now ranks for you by your own fit alone."
      : " It ranks for you by a blend: " + Math.round(100 * s.trust) + "% your own fit, " + (100 - Math.round(100 * s.trust)) + "% the population's.";
    return text;
  }

  function closestText(c) {
    if (!c) return "This model has no groups of raters to compare you with.";
    if (c.kind === "rater") return "Of the " + c.raters + " raters the model was trained on, your taste is nearest to " + c.rater + "'s (distance " + c.distance.toFixed(2) + "; the median distance is " + c.median_distance.toFixed(2) + ").";
    return "You are closest to " + c.kind + " " + c.group + " of " + c.groups + " (weight " + Math.round(100 * c.weight) + "%); " + c.members + " of the " + c.raters + " trained raters lean the same way.";
  }

  function showShowcase(show) {
    $("showcase-prompt").textContent = show.prompt;
    const place = {};
    show.population.forEach((index, rank) => { place[index] = rank; });
    fillRanking($("yours"), show.yours, show.responses, place);
    fillRanking($("population"), show.population, show.responses, null);
    $("yours").dataset.order = show.yours.join(",");
    const texts = $("showcase-texts");
    texts.replaceChildren(...show.responses.map((t) => Object.assign(document.createElement("li"), { textContent: t })));
  }

  function fillRanking(list, order, responses, population) {
    list.replaceChildren(...order.map((index, rank) => {
      const item = document.createElement("li");
      item.dataset.index = index;
      const tag = Object.assign(document.createElement("span"), { className: "tag", textContent: letter(index) });
      item.append(tag, short(responses[index].replace(/\s+/g, " "), 140));
      if (population && population[index] !== rank) {
        const up = population[index] > rank;
        const moved = Object.assign(document.createElement("span"), { className: up ? "moved" : "moved down",
          textContent: " " + (up ? "▲" : "▼") + Math.abs(population[index] - rank) });
        moved.setAttribute("aria-label", (up ? "up " : "down ") + Math.abs(population[index] - rank) + " from the population's ranking");
        item.append(moved);
      }
      return item;
    }));
  }

  function showAnswers(answers) {
    $("answers-empty").hidden = answers.length > 0;
    $("delete").hidden = answers.length === 0;
    $("answers").replaceChildren(...answers.map((a) => {
      const item = document.createElement("li");
      const pick = Object.assign(document.createElement("span"), { className: "pick", textContent: a.tie ? "Tie: " : "You preferred: " });
      item.append(short(a.prompt, 80) + " — ", pick, short(a.chosen.replace(/\s+/g, " "), 120));
      if (!a.tie) item.append(" over " + short(a.rejected.replace(/\s+/g, " "), 60));
      return item;
    }));
  }

  function fail(err) {
    setBusy(false);
    say(err.message, true);
    if (err.status === 401 || err.status === 403) { localStorage.removeItem(STORE); }
  }

  document.querySelectorAll(".answers button").forEach((b) => b.addEventListener("click", () => answer(b.dataset.outcome)));
  document.addEventListener("keydown", (event) => {
    if (event.target.closest && event.target.closest("input, textarea") || event.ctrlKey || event.metaKey || event.altKey) return;
    const outcome = { "1": "a", "2": "b", t: "tie", s: "skip" }[event.key.toLowerCase()];
    if (outcome) { event.preventDefault(); answer(outcome); }
  });
  $("who").addEventListener("submit", (event) => {
    event.preventDefault();
    const rater = $("rater-input").value.trim();
    if (rater) startSession(rater).then(() => { $("rater-input").value = ""; say("Now answering as " + rater + "."); }).catch(fail);
  });
  $("new-id").addEventListener("click", () => startSession(null).then(() => say("A new id was made for you.")).catch(fail));
  $("delete").addEventListener("click", async () => {
    if (!window.confirm("Delete all of your answers from this server?")) return;
    try {
      const done = await call("DELETE", "/page/me");
      session.skipped = []; save();
      say("Deleted " + done.deleted_comparisons + " answers.");
      await refresh();
    } catch (err) { fail(err); }
  });

  setBusy(true);
  (session && session.token ? refresh() : startSession(null)).catch(fail);
})();
