/* carenet — the phone app for home visits (/m/).
 *
 * A visit is saved on the phone first and sent afterwards, so it is never lost to a bad signal:
 *   Save -> client_id = crypto.randomUUID() -> the request body is serialised ONCE and kept, encrypted,
 *   in IndexedDB -> POST /api/v1/visits/ -> 200/201 removes it; 409/422 marks it "not accepted" with the
 *   server's message (fix or discard); a network error, a 5xx or an ended session keep it for later.
 * Retries: on load, on the "online" event, every 30 s and from the "Send now" button, always with the
 * identical body, so a retry of a visit the server already stored is answered 200 and stored once.
 *
 * Nothing readable stays on the phone after sign-out: the queue and the cached child list are AES-GCM
 * encrypted under a per-user key from /m/key/ that lives in localStorage only while signed in. Signing
 * out (and opening the sign-in page) deletes the key and the child list; the encrypted queue stays and is
 * sent after the same person signs in again (the server derives the same key for them).
 *
 * Loaded with data-device-wipe (the sign-in page), this script only does that wipe.
 */
(function () {
  "use strict";

  var KEY_STORAGE = "carenet.visits.key";
  var DB_NAME = "carenet-visits";
  var DB_VERSION = 1;
  var QUEUE = "queue"; // {id: client_id, user, created, state, iv, data}: data = encrypted record
  var CACHE = "cache"; // {id: "children:<user>", user, iv, data}: data = encrypted child list

  // ------------------------------------------------------------------ storage

  function openDb() {
    return new Promise(function (resolve, reject) {
      var request = indexedDB.open(DB_NAME, DB_VERSION);
      request.onupgradeneeded = function () {
        var db = request.result;
        if (!db.objectStoreNames.contains(QUEUE)) db.createObjectStore(QUEUE, { keyPath: "id" });
        if (!db.objectStoreNames.contains(CACHE)) db.createObjectStore(CACHE, { keyPath: "id" });
      };
      request.onsuccess = function () { resolve(request.result); };
      request.onerror = function () { reject(request.error); };
      request.onblocked = function () { reject(new Error("IndexedDB blocked")); };
    });
  }

  function tx(store, mode, work) {
    return openDb().then(function (db) {
      return new Promise(function (resolve, reject) {
        var t = db.transaction(store, mode);
        var result;
        t.oncomplete = function () { db.close(); resolve(result); };
        t.onerror = function () { db.close(); reject(t.error); };
        t.onabort = function () { db.close(); reject(t.error || new Error("aborted")); };
        var request = work(t.objectStore(store));
        if (request) request.onsuccess = function () { result = request.result; };
      });
    });
  }

  function dbGetAll(store) { return tx(store, "readonly", function (s) { return s.getAll(); }); }
  function dbGet(store, id) { return tx(store, "readonly", function (s) { return s.get(id); }); }
  function dbPut(store, value) { return tx(store, "readwrite", function (s) { return s.put(value); }); }
  function dbDelete(store, id) { return tx(store, "readwrite", function (s) { return s.delete(id); }); }
  function dbClear(store) { return tx(store, "readwrite", function (s) { return s.clear(); }); }

  /** Sign-out: forget the key and the child list. The queue stays, encrypted, for the next sign-in. */
  function wipeDevice() {
    try { localStorage.removeItem(KEY_STORAGE); } catch (e) { /* storage disabled: nothing kept */ }
    if (!window.indexedDB) return Promise.resolve();
    return dbClear(CACHE).catch(function () { /* no database yet */ });
  }

  var script = document.currentScript;
  if (script && script.hasAttribute("data-device-wipe")) {
    wipeDevice();
    return;
  }

  // ------------------------------------------------------------------ crypto

  function b64encode(bytes) {
    var out = "";
    var chunk = 0x8000;
    for (var i = 0; i < bytes.length; i += chunk) {
      out += String.fromCharCode.apply(null, bytes.subarray(i, i + chunk));
    }
    return btoa(out);
  }

  function b64decode(text) {
    var raw = atob(text);
    var bytes = new Uint8Array(raw.length);
    for (var i = 0; i < raw.length; i++) bytes[i] = raw.charCodeAt(i);
    return bytes;
  }

  function newUuid() {
    if (window.crypto && crypto.randomUUID) return crypto.randomUUID();
    var b = crypto.getRandomValues(new Uint8Array(16));
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    var h = Array.prototype.map.call(b, function (x) { return (x + 0x100).toString(16).slice(1); }).join("");
    return h.slice(0, 8) + "-" + h.slice(8, 12) + "-" + h.slice(12, 16) + "-" + h.slice(16, 20) + "-" + h.slice(20);
  }

  var device = { user: null, key: null }; // the signed-in user's id and CryptoKey

  function importKey(b64) {
    return crypto.subtle.importKey("raw", b64decode(b64), { name: "AES-GCM" }, false, ["encrypt", "decrypt"]);
  }

  function encrypt(value) {
    var iv = crypto.getRandomValues(new Uint8Array(12));
    var plain = new TextEncoder().encode(JSON.stringify(value));
    return crypto.subtle.encrypt({ name: "AES-GCM", iv: iv }, device.key, plain).then(function (data) {
      return { iv: iv, data: data };
    });
  }

  function decrypt(record) {
    return crypto.subtle.decrypt({ name: "AES-GCM", iv: record.iv }, device.key, record.data).then(function (plain) {
      return JSON.parse(new TextDecoder().decode(plain));
    });
  }

  // ------------------------------------------------------------------ config, messages, http

  var config = JSON.parse(document.getElementById("m-config").textContent);
  var M = config.messages;

  function fmt(text, values) {
    return text.replace(/%\((\w+)\)s/g, function (_, name) { return values && name in values ? values[name] : ""; });
  }

  function csrfToken() {
    var name = config.csrf_cookie + "=";
    var parts = document.cookie ? document.cookie.split(";") : [];
    for (var i = 0; i < parts.length; i++) {
      var c = parts[i].trim();
      if (c.indexOf(name) === 0) return decodeURIComponent(c.slice(name.length));
    }
    var field = document.getElementById("m-csrf");
    return field ? field.value : "";
  }

  /** A JSON GET of the API; {status, data} or a thrown network error. */
  function getJson(url) {
    return fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" }, cache: "no-store" })
      .then(function (response) {
        var type = response.headers.get("Content-Type") || "";
        if (response.redirected) return { status: 401, data: null }; // sent to the sign-in page
        if (type.indexOf("json") < 0) return { status: response.ok ? 502 : response.status, data: null };
        return response.json().then(function (data) { return { status: response.status, data: data }; });
      });
  }

  function errorText(data) {
    if (!data || data.detail === undefined) return "";
    if (typeof data.detail === "string") return data.detail;
    return data.detail.map(function (d) { return d.msg; }).join(" ");
  }

  // ------------------------------------------------------------------ device key

  var state = {
    online: navigator.onLine,
    authLost: false,
    sending: false,
    again: false,
    noKey: false,
    children: { today: null, overdue: [], due_soon: [], never_visited: [], recent: [] },
    done: {}, // child id -> date of a visit saved on this phone
    current: null, // the child whose form is open
    editing: null, // client id of a "not accepted" visit being fixed
    photos: [], // [{b64, url}]
    position: null,
    locating: null,
  };

  function rememberedKey() {
    try {
      var kept = JSON.parse(localStorage.getItem(KEY_STORAGE) || "null");
      return kept && kept.key && kept.user ? kept : null;
    } catch (e) {
      return null;
    }
  }

  /** The key of whoever is signed in: from the server when it answers, else the one kept while signed in. */
  function loadKey() {
    return getJson(config.urls.key)
      .then(function (answer) {
        if (answer.status === 200 && answer.data && answer.data.key) {
          var kept = { user: answer.data.user, key: answer.data.key };
          try { localStorage.setItem(KEY_STORAGE, JSON.stringify(kept)); } catch (e) { /* private mode */ }
          state.authLost = false;
          return kept;
        }
        if (answer.status === 401 || answer.status === 403) {
          state.authLost = true;
          wipeDevice(); // signed out elsewhere: the key must not outlive the session
          return null;
        }
        return rememberedKey();
      })
      .catch(function () { return rememberedKey(); }) // offline: the key kept since sign-in
      .then(function (kept) {
        if (!kept) { state.noKey = true; return false; }
        device.user = kept.user;
        return importKey(kept.key).then(function (key) { device.key = key; state.noKey = false; return true; });
      });
  }

  // ------------------------------------------------------------------ the queue

  function ownRecords() {
    return dbGetAll(QUEUE).then(function (all) {
      return all
        .filter(function (r) { return r.user === device.user; })
        .sort(function (a, b) { return a.created - b.created; });
    });
  }

  function enqueue(clientId, body, child) {
    var visit = { body: body, child: child, error: "" };
    return encrypt(visit).then(function (sealed) {
      return dbPut(QUEUE, {
        id: clientId, user: device.user, created: Date.now(), state: "queued", iv: sealed.iv, data: sealed.data,
      });
    });
  }

  function markFailed(record, visit, message) {
    visit.error = message;
    return encrypt(visit).then(function (sealed) {
      record.state = "failed";
      record.iv = sealed.iv;
      record.data = sealed.data;
      return dbPut(QUEUE, record);
    });
  }

  /** Send every waiting visit of this user, oldest first. Stops at the first network or session problem. */
  function sendQueue() {
    if (!device.key) return Promise.resolve(false);
    if (state.sending) { state.again = true; return Promise.resolve(false); } // one more round after this one
    state.sending = true;
    var sentAny = false;
    return ownRecords()
      .then(function (records) {
        var waiting = records.filter(function (r) { return r.state === "queued"; });
        if (waiting.length) renderStatus(M.sending);
        var chain = Promise.resolve(true);
        waiting.forEach(function (record) {
          chain = chain.then(function (goOn) {
            if (!goOn) return false;
            return sendOne(record).catch(function () { return "skip"; }).then(function (outcome) {
              if (outcome === "sent") sentAny = true;
              return outcome !== "wait";
            });
          });
        });
        return chain;
      })
      .catch(function () { /* storage error: retried on the next round */ })
      .then(function () {
        state.sending = false;
        if (sentAny) toast(M.uploaded);
        return renderQueue();
      })
      .then(function () {
        if (!state.again) return sentAny;
        state.again = false; // a visit saved while this round ran
        return sendQueue().then(function (more) { return sentAny || more; });
      });
  }

  function sendOne(record) {
    return decrypt(record).then(function (visit) {
      return fetch(config.urls.visits, {
        method: "POST",
        credentials: "same-origin",
        cache: "no-store",
        redirect: "manual",
        headers: { "Content-Type": "application/json", Accept: "application/json", "X-CSRFToken": csrfToken() },
        body: visit.body, // the string serialised at Save: every retry hashes the same
      }).then(
        function (response) {
          state.online = true;
          if (response.status === 200 || response.status === 201) {
            state.authLost = false;
            return dbDelete(QUEUE, record.id).then(function () { return "sent"; });
          }
          if (response.status === 401 || response.status === 403 || response.type === "opaqueredirect") {
            // The session ended (or was never there): the key must not outlive it on the phone. This
            // page keeps the key in memory; the queue stays and is sent after the next sign-in.
            state.authLost = true;
            try { localStorage.removeItem(KEY_STORAGE); } catch (e) { /* nothing kept */ }
            return "wait";
          }
          if (response.status !== 409 && response.status !== 413 && response.status !== 422) {
            toast(M.server_busy, true); // 5xx, 429, a proxy's error page…: try the same body again later
            return "wait";
          }
          // 409 (the id belongs to another visit), 422 (a field is wrong), 413 (too big): the person must act.
          return response.json().catch(function () { return null; }).then(function (data) {
            return markFailed(record, visit, errorText(data) || response.status + " " + response.statusText)
              .then(function () { return "failed"; });
          });
        },
        function () { return "wait"; } // no network: keep it
      );
    });
  }

  // ------------------------------------------------------------------ status and queue display

  var el = function (id) { return document.getElementById(id); };
  var toastTimer = null;

  function toast(text, isError) {
    var box = el("m-toast");
    box.textContent = text;
    box.classList.toggle("error", !!isError);
    box.hidden = false;
    clearTimeout(toastTimer);
    toastTimer = setTimeout(function () { box.hidden = true; }, 6000);
  }

  /** The status line. `waiting` and `failed` are counts of this user's visits on the phone; left out
   * (while sending) the last counts stay, so data-queued always says how many visits wait. */
  function renderStatus(text, waiting, failed) {
    var bar = el("m-status");
    if (waiting !== undefined) bar.dataset.queued = String(waiting);
    if (failed !== undefined) bar.dataset.failed = String(failed);
    var queuedNow = Number(bar.dataset.queued || 0);
    el("m-net").hidden = state.online;
    el("m-signin").hidden = !state.authLost;
    el("m-send").hidden = !queuedNow || state.sending;
    bar.classList.toggle("waiting", queuedNow > 0 || !state.online);
    bar.classList.toggle("problem", Number(bar.dataset.failed || 0) > 0 || state.authLost || state.noKey);
    el("m-queue-text").textContent = text;
  }

  function renderQueue() {
    if (!device.key) {
      renderStatus(state.noKey ? (state.authLost ? M.sign_in_again : M.no_key_offline) : "", 0, 0);
      return Promise.resolve();
    }
    return ownRecords().then(function (records) {
      return Promise.all(records.map(function (r) {
        return decrypt(r).then(function (v) { return { record: r, visit: v }; }, function () { return null; });
      })).then(function (items) {
        items = items.filter(Boolean);
        var waiting = items.filter(function (i) { return i.record.state === "queued"; }).length;
        var failed = items.length - waiting;
        var parts = [];
        if (waiting) parts.push(fmt(waiting === 1 ? M.queue_one : M.queue_other, { n: waiting }));
        if (failed) parts.push(fmt(failed === 1 ? M.failed_one : M.failed_other, { n: failed }));
        if (!parts.length) parts.push(M.queue_empty);
        if (state.authLost && waiting) parts.push(M.sign_in_again);
        else if (!state.online && waiting) parts.push(M.offline);
        renderStatus(state.sending ? M.sending : parts.join(" · "), waiting, failed);
        var list = el("queue-list");
        list.textContent = "";
        items.forEach(function (item) { list.appendChild(queueItem(item)); });
        el("queue-panel").hidden = items.length === 0;
      });
    });
  }

  function queueItem(item) {
    var li = document.createElement("li");
    var body = JSON.parse(item.visit.body);
    li.className = item.record.state;
    li.dataset.clientId = item.record.id;
    var name = document.createElement("strong");
    name.textContent = item.visit.child.name;
    var meta = document.createElement("span");
    meta.className = "meta";
    meta.textContent = " " + body.visited_on + " · " + (item.record.state === "failed" ? M.state_failed : M.state_queued);
    li.appendChild(name);
    li.appendChild(meta);
    if (item.record.state === "failed") {
      var err = document.createElement("span");
      err.className = "err";
      err.textContent = item.visit.error;
      li.appendChild(err);
      var actions = document.createElement("div");
      actions.className = "actions";
      actions.appendChild(button(M.fix, "", function () { openForm(item.visit.child, body, item.record.id); }));
      actions.appendChild(button(M.discard, "secondary outline", function () {
        if (window.confirm(M.discard_confirm)) dbDelete(QUEUE, item.record.id).then(renderQueue);
      }));
      li.appendChild(actions);
    }
    return li;
  }

  function button(text, cls, onClick) {
    var b = document.createElement("button");
    b.type = "button";
    b.className = cls;
    b.textContent = text;
    b.addEventListener("click", onClick);
    return b;
  }

  // ------------------------------------------------------------------ children

  var GROUPS = ["overdue", "due_soon", "never_visited", "recent"];

  function cacheId() { return "children:" + device.user; }

  function saveChildren() {
    if (!device.key) return Promise.resolve();
    var kept = { children: state.children, done: state.done };
    return encrypt(kept).then(function (sealed) {
      return dbPut(CACHE, { id: cacheId(), user: device.user, iv: sealed.iv, data: sealed.data });
    }).catch(function () {});
  }

  function loadCachedChildren() {
    if (!device.key) return Promise.resolve();
    return dbGet(CACHE, cacheId()).then(function (record) {
      if (!record) return;
      return decrypt(record).then(function (kept) {
        state.children = kept.children;
        state.done = kept.done || {};
      });
    }).catch(function () {});
  }

  function refreshChildren() {
    return getJson(config.urls.due).then(
      function (answer) {
        if (answer.status === 401 || answer.status === 403) { state.authLost = true; return; }
        if (answer.status !== 200) { listNote(M.list_unavailable); return; }
        var recent = state.children.recent || [];
        state.children = {
          today: answer.data.today,
          overdue: answer.data.overdue || [],
          due_soon: answer.data.due_soon || [],
          never_visited: answer.data.never_visited || [],
          recent: recent,
        };
        listNote("");
        renderChildren();
        return saveChildren();
      },
      function () { listNote(M.list_offline); }
    ).then(renderQueue);
  }

  function listNote(text) {
    el("list-note").textContent = text;
    el("list-note").hidden = !text;
  }

  function childMeta(child, group) {
    if (state.done[child.child]) return M.visited_now;
    if (group === "overdue") return fmt(M.overdue_days, { n: child.days_overdue });
    if (group === "due_soon") return fmt(M.due_on, { date: child.next_due_on });
    if (group === "never_visited") return M.never_visited;
    if (child.last_visit_on) return fmt(M.last_visit, { date: child.last_visit_on });
    return child.division_name || "";
  }

  function childButton(child, group) {
    var b = document.createElement("button");
    b.type = "button";
    b.className = "m-child " + group + (state.done[child.child] ? " done" : "");
    b.dataset.child = String(child.child);
    var name = document.createElement("span");
    name.className = "name";
    name.textContent = child.name;
    var meta = document.createElement("span");
    meta.className = "meta";
    meta.textContent = childMeta(child, group);
    b.appendChild(name);
    b.appendChild(meta);
    b.addEventListener("click", function () {
      rememberChild(child);
      openForm(child, null, null, childMeta(child, group));
    });
    return b;
  }

  function fillGroup(group, items) {
    var section = document.querySelector('.m-group[data-group="' + group + '"]');
    var box = section.querySelector(".m-items");
    box.textContent = "";
    items.forEach(function (c) { box.appendChild(childButton(c, group)); });
    section.hidden = items.length === 0;
    return items.length;
  }

  function renderChildren() {
    var shown = {};
    var total = 0;
    GROUPS.forEach(function (group) {
      var items = (state.children[group] || []).filter(function (c) {
        if (shown[c.child]) return false;
        shown[c.child] = true;
        return true;
      });
      total += fillGroup(group, items);
    });
    el("list-empty").textContent = M.no_children;
    el("list-empty").hidden = total > 0;
  }

  /** A child picked from search is kept (encrypted) so the phone can record its next visit offline. */
  function rememberChild(child) {
    var recent = (state.children.recent || []).filter(function (c) { return c.child !== child.child; });
    var due = ["overdue", "due_soon", "never_visited"].some(function (g) {
      return (state.children[g] || []).some(function (c) { return c.child === child.child; });
    });
    if (!due) recent.unshift(child);
    state.children.recent = recent.slice(0, 30);
    saveChildren();
  }

  function search(q) {
    q = q.trim();
    if (!q) { fillGroup("search", []); renderChildren(); return; }
    var url = config.urls.children + "?page_size=20&q=" + encodeURIComponent(q);
    getJson(url).then(
      function (answer) {
        if (answer.status === 401 || answer.status === 403) { state.authLost = true; renderQueue(); return; }
        var found = (answer.data && answer.data.results ? answer.data.results : []).map(function (c) {
          return { child: c.id, name: c.name, division_code: c.division_code, division_name: c.division_name };
        });
        showResults(found);
      },
      function () { showResults(searchOffline(q)); } // offline: search what the phone holds
    );
  }

  function searchOffline(q) {
    var needle = q.toLowerCase();
    var seen = {};
    var found = [];
    GROUPS.forEach(function (g) {
      (state.children[g] || []).forEach(function (c) {
        if (!seen[c.child] && c.name.toLowerCase().indexOf(needle) >= 0) { seen[c.child] = true; found.push(c); }
      });
    });
    return found;
  }

  function showResults(found) {
    fillGroup("search", found);
    el("list-empty").textContent = M.no_results;
    el("list-empty").hidden = found.length > 0;
  }

  // ------------------------------------------------------------------ the form

  var form = el("visit-form");

  function localToday() {
    var d = new Date();
    return new Date(d.getTime() - d.getTimezoneOffset() * 60000).toISOString().slice(0, 10);
  }

  function daysBefore(iso, days) {
    var d = new Date(iso + "T12:00:00Z");
    d.setUTCDate(d.getUTCDate() - days);
    return d.toISOString().slice(0, 10);
  }

  function setRadio(name, value) {
    var wanted = value === null || value === undefined ? "" : String(value);
    form.querySelectorAll('input[name="' + name + '"]').forEach(function (r) { r.checked = r.value === wanted; });
  }

  function radio(name) {
    var picked = form.querySelector('input[name="' + name + '"]:checked');
    return picked ? picked.value : "";
  }

  function triState(name) {
    var v = radio(name);
    return v === "" ? null : v === "true";
  }

  var TEXT_FIELDS = ["met_others", "living_note", "guardianship_change", "grade", "health", "safety_concern", "needs", "notes"];
  var TRI_FIELDS = ["guardian_present", "guardian_capable", "school_enrolled", "school_attending"];

  function showView(name) {
    document.body.dataset.view = name;
    el("view-list").hidden = name !== "list";
    el("view-form").hidden = name !== "form";
    window.scrollTo(0, 0);
  }

  /** Open the form for a child: defaults for a routine visit, or a stored body being fixed. */
  function openForm(child, body, editing, meta) {
    state.current = child;
    state.editing = editing || null;
    form.reset();
    var today = localToday();
    var date = el("f-visited_on");
    date.max = today;
    date.min = daysBefore(today, config.max_age_days);
    body = body || {};
    date.value = body.visited_on || today;
    setRadio("met_child", body.met_child === undefined ? true : body.met_child);
    setRadio("met_guardian", !!body.met_guardian);
    setRadio("living", body.living || "good");
    TRI_FIELDS.forEach(function (f) { setRadio(f, body[f] === undefined ? null : body[f]); });
    setRadio("dropout_risk", !!body.dropout_risk);
    TEXT_FIELDS.forEach(function (f) { form.elements[f].value = body[f] || ""; });
    form.querySelectorAll("details.m-more").forEach(function (d) {
      // A routine visit keeps the extra sections folded; a visit being fixed shows what it holds.
      var texts = d.querySelectorAll("input[type=text], textarea");
      var picks = d.querySelectorAll("input[type=radio]:checked");
      d.open = Array.prototype.some.call(texts, function (i) { return i.value; }) ||
        Array.prototype.some.call(picks, function (r) { return r.value !== "" && !(r.name === "dropout_risk" && r.value === "false"); });
    });
    el("problem-list").textContent = "";
    (body.problems || []).forEach(addProblem);
    el("problems-box").open = (body.problems || []).length > 0;
    updateProblemCount();
    state.photos = (body.photos || []).map(function (b64) {
      return { b64: b64, url: "data:image/jpeg;base64," + b64 };
    });
    renderPhotos();
    el("form-child-name").textContent = child.name;
    el("form-child-meta").textContent = meta || "";
    formError("");
    el("save").disabled = false;
    showView("form");
    if (!history.state || history.state.view !== "form") history.pushState({ view: "form" }, "");
    state.position = body.location || null;
    el("f-use-location").checked = body.visited_on ? !!body.location : true;
    if (!body.visited_on) locate();
    else el("location-status").textContent = body.location ? fmt(M.located, { m: body.location.accuracy || "?" }) : "";
  }

  function closeForm() {
    state.current = null;
    state.editing = null;
    state.photos.forEach(function (p) { if (p.url.indexOf("blob:") === 0) URL.revokeObjectURL(p.url); });
    state.photos = [];
    showView("list");
  }

  function formError(text) {
    el("form-error").textContent = text;
    el("form-error").hidden = !text;
  }

  function readForm() {
    var body = {
      client_id: newUuid(),
      child: state.current.child,
      visited_on: el("f-visited_on").value,
      living: radio("living") || "good",
      met_child: radio("met_child") !== "false",
      met_guardian: radio("met_guardian") === "true",
      dropout_risk: radio("dropout_risk") === "true",
    };
    TRI_FIELDS.forEach(function (f) { body[f] = triState(f); });
    TEXT_FIELDS.forEach(function (f) { body[f] = form.elements[f].value.trim(); });
    body.location = el("f-use-location").checked && state.position ? state.position : null;
    body.photos = state.photos.map(function (p) { return p.b64; });
    body.problems = Array.prototype.map.call(el("problem-list").children, function (box) {
      var value = function (f) { return box.querySelector('[data-field="' + f + '"]').value.trim(); };
      return {
        category: value("category"),
        severity: value("severity"),
        description: value("description"),
        owner_kind: value("owner_kind"),
        owner_department: value("owner_kind") === "department" ? value("owner_department") : "",
      };
    });
    return body;
  }

  function checkForm(body) {
    var today = localToday();
    if (!body.visited_on) return M.date_required;
    if (body.visited_on > today) return M.date_future;
    if (body.visited_on < daysBefore(today, config.max_age_days)) return fmt(M.date_too_old, { n: config.max_age_days });
    for (var i = 0; i < body.problems.length; i++) {
      if (!body.problems[i].description) return M.problem_required;
    }
    return "";
  }

  function save(event) {
    event.preventDefault();
    if (!state.current) return;
    if (!device.key) { formError(state.authLost ? M.sign_in_again : M.no_key_offline); return; }
    el("save").disabled = true;
    waitForLocation(1500).then(function () {
      var body = readForm();
      var problem = checkForm(body);
      if (problem) { formError(problem); el("save").disabled = false; return; }
      var child = { child: state.current.child, name: state.current.name, division_code: state.current.division_code || "" };
      var replaced = state.editing;
      return enqueue(body.client_id, JSON.stringify(body), child)
        .then(function () { return replaced ? dbDelete(QUEUE, replaced) : null; })
        .then(function () {
          state.done[child.child] = body.visited_on;
          saveChildren();
          renderChildren();
          toast(M.saved_queued);
          if (history.state && history.state.view === "form") history.back();
          else closeForm();
          return renderQueue().then(sync);
        });
    }).catch(function (err) {
      el("save").disabled = false;
      formError(fmt(M.save_failed, { error: String(err && err.message || err) }));
    });
  }

  // Problems found during the visit.
  function addProblem(problem) {
    var box = el("problem-tpl").content.firstElementChild.cloneNode(true);
    problem = problem || {};
    ["category", "severity", "description", "owner_kind", "owner_department"].forEach(function (f) {
      if (problem[f]) box.querySelector('[data-field="' + f + '"]').value = problem[f];
    });
    var owner = box.querySelector('[data-field="owner_kind"]');
    var dept = box.querySelector('[data-role="department"]');
    var sync = function () { dept.hidden = owner.value !== "department"; };
    owner.addEventListener("change", sync);
    sync();
    box.querySelector('[data-role="remove"]').addEventListener("click", function () {
      box.remove();
      updateProblemCount();
    });
    el("problem-list").appendChild(box);
    updateProblemCount();
    return box;
  }

  function updateProblemCount() {
    var boxes = el("problem-list").children;
    Array.prototype.forEach.call(boxes, function (box, i) {
      box.querySelector('[data-role="title"]').textContent = fmt(M.problem_n, { n: i + 1 });
    });
    el("problem-count").textContent = String(boxes.length);
    el("problem-count").hidden = boxes.length === 0;
  }

  // ------------------------------------------------------------------ photos

  function loadImage(file) {
    if (window.createImageBitmap) {
      return createImageBitmap(file, { imageOrientation: "from-image" }).catch(function () { return imageElement(file); });
    }
    return imageElement(file);
  }

  function imageElement(file) {
    return new Promise(function (resolve, reject) {
      var url = URL.createObjectURL(file);
      var img = new Image();
      img.onload = function () { resolve(img); };
      img.onerror = function () { URL.revokeObjectURL(url); reject(new Error("unreadable")); };
      img.src = url;
    });
  }

  function toJpeg(image, edge, quality) {
    var w = image.width;
    var h = image.height;
    var scale = Math.min(1, edge / Math.max(w, h));
    var canvas = document.createElement("canvas");
    canvas.width = Math.max(1, Math.round(w * scale));
    canvas.height = Math.max(1, Math.round(h * scale));
    var ctx = canvas.getContext("2d");
    ctx.fillStyle = "#fff"; // transparent PNGs become white, not black, in a JPEG
    ctx.fillRect(0, 0, canvas.width, canvas.height);
    ctx.drawImage(image, 0, 0, canvas.width, canvas.height);
    return new Promise(function (resolve, reject) {
      canvas.toBlob(function (blob) { blob ? resolve(blob) : reject(new Error("unreadable")); }, "image/jpeg", quality);
    });
  }

  /** At most photo_max_edge px on the long side, JPEG ~0.7, squeezed further until under the size limit. */
  function compress(file) {
    return loadImage(file).then(function (image) {
      var edge = config.photo_max_edge;
      var quality = 0.7;
      var attempt = function (n) {
        return toJpeg(image, edge, quality).then(function (blob) {
          if (blob.size <= config.photo_target_bytes || n >= 8) return blob;
          if (quality > 0.45) quality -= 0.15;
          else edge = Math.round(edge * 0.75);
          return attempt(n + 1);
        });
      };
      return attempt(0);
    });
  }

  function blobToBase64(blob) {
    return blob.arrayBuffer().then(function (buf) { return b64encode(new Uint8Array(buf)); });
  }

  function addPhotos(files) {
    var room = config.max_photos - state.photos.length;
    var picked = Array.prototype.slice.call(files, 0, Math.max(0, room));
    if (files.length > room) formError(fmt(M.too_many_photos, { n: config.max_photos }));
    return picked.reduce(function (chain, file) {
      return chain.then(function () {
        return compress(file).then(function (blob) {
          return blobToBase64(blob).then(function (b64) {
            state.photos.push({ b64: b64, url: URL.createObjectURL(blob) });
            renderPhotos();
          });
        }, function () { formError(M.photo_unreadable); });
      });
    }, Promise.resolve());
  }

  function renderPhotos() {
    var box = el("photo-thumbs");
    box.textContent = "";
    state.photos.forEach(function (photo, index) {
      var item = document.createElement("div");
      item.className = "m-thumb";
      var img = document.createElement("img");
      img.src = photo.url;
      img.alt = "";
      var remove = button("×", "", function () {
        var gone = state.photos.splice(index, 1)[0];
        if (gone.url.indexOf("blob:") === 0) URL.revokeObjectURL(gone.url);
        renderPhotos();
      });
      remove.setAttribute("aria-label", M.photo_remove);
      item.appendChild(img);
      item.appendChild(remove);
      box.appendChild(item);
    });
    var full = state.photos.length >= config.max_photos;
    el("f-photo").disabled = full;
    el("photo-label").setAttribute("aria-disabled", full ? "true" : "false");
    el("photo-label").hidden = full;
  }

  // ------------------------------------------------------------------ location (never blocks saving)

  function locate() {
    state.position = null;
    var status = el("location-status");
    if (!el("f-use-location").checked) { status.textContent = M.location_off; return; }
    if (!navigator.geolocation) { status.textContent = M.no_location; return; }
    status.textContent = M.locating;
    var forChild = state.current;
    state.locating = new Promise(function (resolve) {
      navigator.geolocation.getCurrentPosition(
        function (pos) {
          if (state.current === forChild) {
            state.position = {
              latitude: Math.round(pos.coords.latitude * 1e6) / 1e6,
              longitude: Math.round(pos.coords.longitude * 1e6) / 1e6,
              accuracy: pos.coords.accuracy === null ? null : Math.round(pos.coords.accuracy),
            };
            status.textContent = fmt(M.located, { m: state.position.accuracy });
          }
          resolve();
        },
        function () {
          if (state.current === forChild) status.textContent = M.no_location;
          resolve();
        },
        { enableHighAccuracy: true, timeout: 10000, maximumAge: 120000 }
      );
    });
    state.locating.then(function () { state.locating = null; });
  }

  function waitForLocation(ms) {
    if (!state.locating || !el("f-use-location").checked) return Promise.resolve();
    return Promise.race([state.locating, new Promise(function (r) { setTimeout(r, ms); })]);
  }

  // ------------------------------------------------------------------ wiring

  /** Send what waits, then reload the child list. One request at a time: a village signal is weak, and
   * the list read after the upload already shows the new due dates. */
  var syncs = 0;

  function sync() {
    return sendQueue()
      .then(function () { return refreshChildren(); })
      .catch(function () {})
      .then(function () { document.body.dataset.synced = String(++syncs); }); // for tests and debugging
  }

  function onNetwork() {
    state.online = navigator.onLine;
    renderQueue();
    if (state.online) {
      var ready = device.key ? Promise.resolve(true) : loadKey();
      ready.then(function () { return loadCachedChildren(); }).then(function () {
        renderChildren();
        return sync();
      });
    }
  }

  form.addEventListener("submit", save);
  el("form-back").addEventListener("click", function () {
    if (history.state && history.state.view === "form") history.back();
    else closeForm();
  });
  window.addEventListener("popstate", function () { if (state.current) closeForm(); });
  el("problem-add").addEventListener("click", function () {
    var box = addProblem(null);
    box.querySelector('[data-field="description"]').focus();
  });
  el("f-photo").addEventListener("change", function (event) {
    var files = event.target.files;
    addPhotos(files).then(function () { event.target.value = ""; });
  });
  el("f-use-location").addEventListener("change", function () {
    if (this.checked) locate();
    else { state.position = null; el("location-status").textContent = M.location_off; }
  });
  el("m-send").addEventListener("click", sendQueue);
  el("child-search").addEventListener("submit", function (event) {
    event.preventDefault();
    search(el("child-q").value);
  });
  el("child-q").addEventListener("search", function () { if (!this.value) search(""); });
  window.addEventListener("online", onNetwork);
  window.addEventListener("offline", onNetwork);
  document.querySelectorAll("form[data-device-wipe]").forEach(function (signOut) {
    signOut.addEventListener("submit", function (event) {
      event.preventDefault();
      var done = function () { signOut.submit(); };
      wipeDevice().then(done, done);
    });
  });

  function registerWorker() {
    if (!("serviceWorker" in navigator)) return;
    navigator.serviceWorker.register(config.urls.sw, { scope: config.urls.scope }).catch(function () {
      /* no offline shell (e.g. plain http on a LAN address); the queue still works while the page is open */
    });
  }

  showView("list");
  loadKey()
    .then(function () { return loadCachedChildren(); })
    .then(function () {
      renderChildren();
      return renderQueue();
    })
    .then(function () {
      if (!device.key) return;
      setInterval(function () { if (navigator.onLine) sendQueue(); }, config.retry_seconds * 1000);
      return sync();
    })
    .catch(function (err) { renderStatus(fmt(M.save_failed, { error: String(err && err.message || err) }), 0, 1); })
    .then(function () {
      document.body.dataset.ready = "true";
      registerWorker(); // after the page's own requests, so installing the offline copy does not compete
    });
})();
