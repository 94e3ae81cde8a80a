/* levpref operator console (SPEC §6.2): plain JS, no framework, no external assets.
 *
 * Rules:
 * - Every action goes through the admin API under /admin/v1 with "Authorization: Bearer <token>"; the token lives
 *   in sessionStorage only.
 * - Numbers are shown exactly as the API wrote them: responses are parsed by parseExact, which keeps every JSON
 *   number as its source text (an Exact), never a JS double. Inputs are sent as JSON strings.
 * - API data reaches the page through textContent only (never innerHTML).
 * - The page tolerates missing fields: anything absent shows as "—".
 */
"use strict";

(() => {
  const TOKEN_KEY = "levpref.console.token";
  const API = "/admin/v1";
  const AUDIT_PAGE = 50;
  const REFRESH_MS = 2000;
  const ACCOUNT_PAGES = 100; // at most 100 000 accounts in the list
  const DASH = "—";

  // ---- exact JSON -------------------------------------------------------------------------------------------

  /** A JSON number kept as the text the server sent. */
  class Exact {
    constructor(text) { this.text = text; }
    toString() { return this.text; }
  }

  const NUMBER = /-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?(?:[eE][+-]?[0-9]+)?/y;
  const STRING = /"(?:[^"\\\u0000-\u001f]|\\(?:["\\/bfnrt]|u[0-9a-fA-F]{4}))*"/y;

  /** JSON.parse, except that numbers become Exact (their literal text) and objects have no prototype. */
  function parseExact(source) {
    let at = 0;
    const fail = () => { throw new SyntaxError(`bad JSON at ${at}`); };
    const space = () => { while (at < source.length && " \t\n\r".includes(source[at])) at += 1; };
    const match = (pattern) => {
      pattern.lastIndex = at;
      const found = pattern.exec(source);
      if (found === null) fail();
      at = pattern.lastIndex;
      return found[0];
    };
    const expect = (ch) => { space(); if (source[at] !== ch) fail(); at += 1; };
    const value = () => {
      space();
      const ch = source[at];
      if (ch === "{") {
        at += 1;
        const object = Object.create(null);
        space();
        if (source[at] === "}") { at += 1; return object; }
        for (;;) {
          space();
          const key = JSON.parse(match(STRING));
          expect(":");
          object[key] = value();
          space();
          if (source[at] === ",") { at += 1; continue; }
          expect("}");
          return object;
        }
      }
      if (ch === "[") {
        at += 1;
        const array = [];
        space();
        if (source[at] === "]") { at += 1; return array; }
        for (;;) {
          array.push(value());
          space();
          if (source[at] === ",") { at += 1; continue; }
          expect("]");
          return array;
        }
      }
      if (ch === '"') return JSON.parse(match(STRING));
      for (const [word, result] of [["true", true], ["false", false], ["null", null]]) {
        if (source.startsWith(word, at)) { at += word.length; return result; }
      }
      return new Exact(match(NUMBER));
    };
    const result = value();
    space();
    if (at !== source.length) fail();
    return result;
  }

  /** Compact JSON text of a parsed value, numbers as received. */
  function compact(value) {
    if (value instanceof Exact) return value.text;
    if (value === null || value === undefined) return "null";
    if (Array.isArray(value)) return `[${value.map(compact).join(",")}]`;
    if (typeof value === "object") {
      return `{${Object.keys(value).map((k) => `${JSON.stringify(k)}:${compact(value[k])}`).join(",")}}`;
    }
    return JSON.stringify(value);
  }

  /** Display text of a scalar field: exact numbers and strings verbatim, nothing as "—". */
  function text(value) {
    if (value === null || value === undefined || value === "") return DASH;
    if (value instanceof Exact) return value.text;
    if (typeof value === "boolean") return value ? "yes" : "no";
    if (typeof value === "object") return compact(value);
    return String(value);
  }

  /** The first present field among several spellings (snake_case and camelCase). */
  function field(object, ...names) {
    if (object === null || typeof object !== "object") return undefined;
    for (const name of names) if (object[name] !== undefined) return object[name];
    return undefined;
  }

  const DECIMAL = /^(-?)([0-9]+)(?:\.([0-9]+))?$/;

  /** Sign of a − b for plain decimal texts (no float); null when either is not one. */
  function compareDecimal(a, b) {
    const x = DECIMAL.exec(text(a)), y = DECIMAL.exec(text(b));
    if (x === null || y === null) return null;
    const scale = Math.max((x[3] || "").length, (y[3] || "").length);
    const big = (m) => BigInt(m[1] + m[2] + (m[3] || "").padEnd(scale, "0"));
    const d = big(x) - big(y);
    return d > 0n ? 1 : d < 0n ? -1 : 0;
  }

  // ---- DOM helpers ------------------------------------------------------------------------------------------

  const $ = (id) => document.getElementById(id);

  function el(tag, attrs = {}, children = []) {
    const node = document.createElement(tag);
    for (const [name, value] of Object.entries(attrs)) {
      if (value === undefined || value === null || value === false) continue;
      if (name === "text") node.textContent = value;
      else if (name === "className") node.className = value;
      else if (name.startsWith("on")) node.addEventListener(name.slice(2), value);
      else node.setAttribute(name, value === true ? "" : String(value));
    }
    for (const child of children) if (child) node.append(child);
    return node;
  }

  const cell = (value, name, numeric = true) =>
    el("td", { className: numeric ? "num" : undefined, "data-field": name, text: text(value) });

  /** A left-aligned cell in monospace (times, request ids). */
  const mono = (value, name) => el("td", { className: "mono", "data-field": name, text: text(value) });

  /** A numeric cell coloured by its sign (P&L, available margin). */
  const signed = (value, name, showGains = true) => {
    const td = cell(value, name);
    const shown = text(value);
    if (/[1-9]/.test(shown)) { // a zero (even "-0") is neither
      if (shown.startsWith("-")) td.classList.add("neg");
      else if (showGains) td.classList.add("pos");
    }
    return td;
  };

  function fill(table, rows, columns, emptyText) {
    const body = table.tBodies[0];
    body.replaceChildren(...rows);
    if (rows.length === 0) {
      body.append(el("tr", { className: "empty" }, [el("td", { colspan: columns, text: emptyText })]));
    }
    alignDecimals(body);
  }

  /**
   * Line up the decimal points of each numeric column without changing a digit: the fraction (with its point)
   * goes in a left-aligned box as wide as the column's longest fraction (the font is monospace), the integer part
   * stays right-aligned before it. The cell's text is unchanged.
   */
  function alignDecimals(body) {
    const widths = new Map();
    const cells = [];
    for (const row of body.rows) {
      for (const td of row.cells) {
        const found = td.classList.contains("num") ? DECIMAL.exec(td.textContent) : null;
        if (found === null) continue;
        const fraction = found[3] === undefined ? "" : `.${found[3]}`;
        cells.push([td, td.textContent.slice(0, td.textContent.length - fraction.length), fraction]);
        widths.set(td.cellIndex, Math.max(widths.get(td.cellIndex) || 0, fraction.length));
      }
    }
    for (const [td, whole, fraction] of cells) {
      const width = widths.get(td.cellIndex);
      if (width === 0) continue;
      const box = el("span", { className: "frac", text: fraction });
      box.style.minWidth = `${width}ch`; // CSSOM, allowed by the page's CSP (no inline style attribute)
      td.replaceChildren(document.createTextNode(whole), box);
    }
  }

  function say(target, message, kind) {
    target.textContent = message;
    target.classList.toggle("error", kind === "error");
    target.classList.toggle("ok", kind === "ok");
  }

  const stamp = () => new Date().toISOString().slice(11, 19);

  function status(message, kind) { say($("status"), `${stamp()}  ${message}`, kind); }

  // ---- the admin API ----------------------------------------------------------------------------------------

  class ApiError extends Error {
    constructor(status, detail) { super(detail); this.status = status; this.detail = detail; }
  }

  function detailOf(data, status) {
    const error = field(data, "error");
    const errors = field(data, "errors");
    return text(
      field(data, "detail")
        ?? (Array.isArray(errors) && errors.length ? field(errors[0], "message") : undefined)
        ?? (typeof error === "string" ? error : undefined)
        ?? `HTTP ${status}`,
    );
  }

  const token = () => sessionStorage.getItem(TOKEN_KEY) || "";
  const seg = (value) => encodeURIComponent(value);

  async function api(method, path, body, contentType = "application/json") {
    const headers = { Authorization: `Bearer ${token()}`, Accept: "application/json" };
    if (body !== undefined) headers["Content-Type"] = contentType;
    let response;
    try {
      response = await fetch(path, { method, headers, body, cache: "no-store", credentials: "omit" });
    } catch (error) {
      throw new ApiError(0, `server unreachable (${error.message})`);
    }
    const raw = await response.text();
    let data = null;
    try { data = raw ? parseExact(raw) : null; } catch { data = null; }
    if (!response.ok) {
      if (response.status === 401) signOut(`token refused: ${detailOf(data, 401)}`);
      throw new ApiError(response.status, detailOf(data, response.status));
    }
    return data;
  }

  const json = (object) => JSON.stringify(object);

  // ---- state ------------------------------------------------------------------------------------------------

  const state = {
    account: null, // the selected account id
    auditPages: [null], // before_id cursors of the pages seen, page 1 first
    auditNext: null,
    auditNewest: null, // newest entry id seen on page 1: a change refreshes the account view
    timer: null,
    busy: new Set(),
  };

  /** Run one refresh at a time per name (a slow server never piles up requests). */
  async function once(name, work) {
    if (state.busy.has(name)) return;
    state.busy.add(name);
    try { await work(); } finally { state.busy.delete(name); }
  }

  // ---- accounts ---------------------------------------------------------------------------------------------

  /** Every account, page by page along the `next.after` cursor (1000 a page). */
  async function fetchAccounts() {
    const list = [];
    let after = null;
    for (let pages = 0; pages < ACCOUNT_PAGES; pages += 1) {
      const query = after === null ? "" : `?${new URLSearchParams({ after })}`;
      const data = await api("GET", `${API}/accounts${query}`);
      const accounts = field(data, "accounts");
      if (Array.isArray(accounts)) list.push(...accounts);
      after = field(field(data, "next"), "after");
      if (after === undefined || after === null) break;
      after = text(after);
    }
    return list;
  }

  /** Show the accounts; select `preferred` if it is one of them, else keep the selection, else the first. */
  async function loadAccounts(preferred = null) {
    const list = await fetchAccounts();
    $("accounts").replaceChildren(...list.map((account) => {
      const id = text(field(account, "id"));
      const active = field(account, "active");
      return el("li", { "data-testid": `account-${id}` }, [
        el("button", {
          type: "button",
          "data-account": id,
          "aria-current": id === state.account ? "true" : "false",
          onclick: () => selectAccount(id),
        }, [
          el("span", { text: id }),
          active === false ? el("span", { className: "badge bad", text: "inactive" })
            : active === true ? el("span", { className: "badge good", text: "active" }) : null,
        ]),
      ]);
    }));
    $("accounts-empty").hidden = list.length > 0;
    const ids = list.map((account) => text(field(account, "id")));
    const chosen = [preferred, state.account, ids[0]].find((id) => id !== null && id !== undefined && ids.includes(id));
    if (chosen === undefined) clearAccount();
    else if (chosen !== state.account || preferred !== null) await selectAccount(chosen);
  }

  function clearAccount() {
    clearPreview();
    state.account = null;
    history.replaceState(null, "", location.pathname);
    $("account-title").textContent = "No account selected";
    $("account-updated").textContent = "";
    renderPools(null);
    renderPositions(null);
    renderPreferences(null);
    renderKeys(null);
  }

  async function selectAccount(id) {
    if (id !== state.account) clearPreview();
    state.account = id;
    history.replaceState(null, "", `#account=${seg(id)}`);
    for (const button of $("accounts").querySelectorAll("button[data-account]")) {
      button.setAttribute("aria-current", button.dataset.account === id ? "true" : "false");
    }
    $("account-title").textContent = `Account ${id}`;
    if ($("audit-scope").checked) resetAudit();
    await Promise.all([refreshAccount(), $("audit-scope").checked ? refreshAudit() : null]);
  }

  function underMaintenance(equity, maintenance) {
    return compareDecimal(equity, maintenance) === -1;
  }

  async function refreshAccount() {
    const id = state.account;
    if (id === null) return;
    let data;
    try {
      data = await api("GET", `${API}/accounts/${seg(id)}/pools`);
    } catch (error) {
      status(`account ${id}: ${error.detail}`, "error");
      return;
    }
    if (id !== state.account) return; // another account was selected meanwhile
    renderPools(data);
    renderPositions(field(data, "positions"));
    renderPreferences(field(data, "preferences"));
    renderKeys(field(data, "keys"));
    $("account-updated").textContent = `updated ${stamp()}`;
  }

  function renderPools(data) {
    const rows = [];
    const cross = field(data, "cross");
    if (cross && typeof cross === "object") {
      const equity = field(cross, "equity");
      const maintenance = field(cross, "maintenance_margin", "maintenanceMargin");
      rows.push(el("tr", { "data-testid": "pool-cross", className: underMaintenance(equity, maintenance) ? "under" : undefined }, [
        cell("cross", "pool", false),
        cell(equity, "equity"),
        cell(field(cross, "initial_margin", "initialMargin"), "initial_margin"),
        cell(maintenance, "maintenance_margin"),
        signed(field(cross, "available"), "available", false),
        cell(undefined, "allocated_margin"),
        cell(undefined, "liquidation_price"),
      ]));
    }
    const isolated = field(data, "isolated");
    for (const pool of Array.isArray(isolated) ? isolated : []) {
      const symbol = text(field(pool, "symbol"));
      const equity = field(pool, "equity");
      const maintenance = field(pool, "maintenance_margin", "maintenanceMargin");
      rows.push(el("tr", { "data-testid": `pool-${symbol}`, className: underMaintenance(equity, maintenance) ? "under" : undefined }, [
        cell(`isolated ${symbol}`, "pool", false),
        cell(equity, "equity"),
        cell(field(pool, "initial_margin", "initialMargin"), "initial_margin"),
        cell(maintenance, "maintenance_margin"),
        signed(field(pool, "available"), "available", false),
        cell(field(pool, "allocated_margin", "allocatedMargin"), "allocated_margin"),
        cell(field(pool, "liquidation_price", "liquidationPrice"), "liquidation_price"),
      ]));
    }
    fill($("pools"), rows, 7, "No pools.");
  }

  function renderPositions(positions) {
    const list = Array.isArray(positions) ? positions : [];
    const rows = list.map((position) => {
      const symbol = text(field(position, "symbol"));
      const size = field(position, "size");
      const side = text(size).startsWith("-") ? "short" : "long";
      const mode = field(position, "margin_mode", "marginMode");
      return el("tr", { "data-testid": `position-${symbol}` }, [
        cell(symbol, "symbol", false),
        cell(mode, "margin_mode", false),
        el("td", { className: side, "data-field": "side", text: size === undefined ? DASH : side }),
        cell(size, "size"),
        cell(field(position, "entry_price", "entryPrice"), "entry_price"),
        cell(field(position, "mark_price", "markPrice"), "mark_price"),
        cell(field(position, "notional"), "notional"),
        signed(field(position, "unrealized_pnl", "unrealizedPnl"), "unrealized_pnl"),
        cell(field(position, "max_leverage", "maxLeverage"), "max_leverage"),
        cell(field(position, "liquidation_price", "liquidationPrice"), "liquidation_price"),
        el("td", { className: "actions" }, [
          el("button", {
            type: "button", "data-testid": `edit-position-${symbol}`, title: "Copy into the forms", text: "use",
            onclick: () => usePosition(position),
          }),
        ]),
      ]);
    });
    fill($("positions"), rows, 11, "No positions.");
    $("symbols").replaceChildren(...list.map((p) => el("option", { value: text(field(p, "symbol")) })));
  }

  /** A field as an input's value: its exact text, or empty when absent. */
  const editable = (v) => (v === null || v === undefined ? "" : text(v));

  function usePosition(position) {
    const symbol = text(field(position, "symbol"));
    for (const id of ["preview-symbol", "mark-symbol", "position-symbol"]) $(id).value = symbol;
    $("position-size").value = editable(field(position, "size"));
    $("position-entry").value = editable(field(position, "entry_price", "entryPrice"));
    $("mark-price").value = editable(field(position, "mark_price", "markPrice"));
    $("preview-leverage").value = editable(field(position, "max_leverage", "maxLeverage"));
  }

  function renderPreferences(preferences) {
    const list = Array.isArray(preferences) ? preferences : [];
    fill($("preferences"), list.map((p) => {
      const symbol = text(field(p, "symbol"));
      const leverage = field(p, "max_leverage", "maxLeverage");
      return el("tr", { "data-testid": `preference-${symbol}` }, [
        cell(symbol, "symbol", false),
        el("td", { className: "num", "data-field": "max_leverage", text: leverage === null ? "cross" : text(leverage) }),
        cell(field(p, "pnl_currency", "pnlCurrency"), "pnl_currency", false),
      ]);
    }), 3, "No preferences (all cross, USD).");
  }

  function renderKeys(keys) {
    const list = Array.isArray(keys) ? keys : [];
    fill($("keys"), list.map((key) => {
      const pub = text(field(key, "public", "public_key", "publicKey"));
      const revoked = field(key, "revoked") === true;
      return el("tr", { "data-testid": `key-${pub}` }, [
        el("td", { className: "key", title: pub, "data-field": "public", text: pub }),
        cell(field(key, "access"), "access", false),
        el("td", { "data-field": "revoked" }, [
          el("span", { className: revoked ? "badge bad" : "badge good", text: revoked ? "revoked" : "valid" }),
        ]),
      ]);
    }), 3, "No keys.");
  }

  // ---- audit ------------------------------------------------------------------------------------------------

  function resetAudit() {
    state.auditPages = [null];
    state.auditNext = null;
    state.auditNewest = null;
  }

  function auditPath() {
    const page = state.auditPages[state.auditPages.length - 1];
    const query = new URLSearchParams({ limit: String(AUDIT_PAGE) });
    if (page !== null) query.set("before_id", page);
    const scoped = $("audit-scope").checked && state.account !== null;
    return `${scoped ? `${API}/accounts/${seg(state.account)}/audit` : `${API}/audit`}?${query}`;
  }

  async function refreshAudit() {
    let data;
    try {
      data = await api("GET", auditPath());
    } catch (error) {
      status(`audit: ${error.detail}`, "error");
      return;
    }
    const entries = field(data, "audit");
    const list = Array.isArray(entries) ? entries : [];
    const next = field(field(data, "next"), "before_id");
    state.auditNext = next === null || next === undefined ? null : text(next);
    fill($("audit"), list.map(auditRow), 10, "No entries.");
    $("audit-page").textContent = `page ${state.auditPages.length}`;
    $("audit-older").disabled = state.auditNext === null;
    $("audit-newer").disabled = state.auditPages.length === 1;
    if (state.auditPages.length === 1 && list.length > 0) {
      const newest = text(field(list[0], "id"));
      if (state.auditNewest !== null && newest !== state.auditNewest) {
        void once("accounts", async () => {
          await loadAccounts().catch((error) => status(`accounts: ${error.detail}`, "error"));
          await refreshAccount();
        });
      }
      state.auditNewest = newest;
    }
  }

  /** An audit entry's before/after object as "key=value" pairs that wrap ({} and nothing: "—"). */
  function pairs(value) {
    if (value === null || typeof value !== "object" || value instanceof Exact || Array.isArray(value)) return text(value);
    const keys = Object.keys(value);
    if (keys.length === 0) return DASH;
    return keys.map((k) => `${k}=${typeof value[k] === "string" ? value[k] : compact(value[k])}`).join(" ");
  }

  function auditRow(entry) {
    const id = text(field(entry, "id"));
    const json = (value, name) => el("td", { className: "json", "data-field": name, title: text(value), text: pairs(value) });
    return el("tr", { "data-testid": `audit-${id}` }, [
      cell(id, "id"),
      mono(field(entry, "at"), "at"),
      cell(field(entry, "account"), "account", false),
      cell(field(entry, "actor"), "actor", false),
      cell(field(entry, "action"), "action", false),
      cell(field(entry, "symbol"), "symbol", false),
      json(field(entry, "before"), "before"),
      json(field(entry, "after"), "after"),
      cell(field(entry, "margin_moved", "marginMoved"), "margin_moved"),
      mono(field(entry, "request_id"), "request_id"),
    ]);
  }

  function tick() {
    if (document.hidden || !$("audit-live").checked || state.auditPages.length !== 1) return;
    void once("audit", refreshAudit);
  }

  // ---- actions ----------------------------------------------------------------------------------------------

  /** Run a form's request; show its answer (or the refusal's detail) under the form and in the status line. */
  async function act(output, button, label, work) {
    button.disabled = true;
    say(output, `${label}…`);
    try {
      const message = await work();
      // the answer is shown once the view shows its effect
      await Promise.all([refreshAccount(), state.auditPages.length === 1 ? once("audit", refreshAudit) : null]);
      say(output, message, "ok");
      status(message, "ok");
    } catch (error) {
      const detail = error instanceof ApiError ? error.detail : String(error);
      say(output, `refused: ${detail}`, "error");
      status(`${label}: ${detail}`, "error");
    } finally {
      button.disabled = false;
    }
  }

  const value = (id) => $(id).value.trim();

  function needAccount() {
    if (state.account === null) throw new ApiError(0, "select an account first");
    return state.account;
  }

  function onMark(event) {
    event.preventDefault();
    const symbol = value("mark-symbol"), price = value("mark-price");
    void act($("mark-result"), $("mark-button"), "set mark", async () => {
      const data = await api("PUT", `${API}/marks/${seg(symbol)}`, json({ price }));
      return `mark ${text(field(data, "symbol") ?? symbol)} = ${text(field(data, "price") ?? price)}`;
    });
  }

  function onCollateral(event) {
    event.preventDefault();
    const currency = value("collateral-currency"), quantity = value("collateral-quantity");
    void act($("collateral-result"), $("collateral-button"), "set collateral", async () => {
      const id = needAccount();
      await api("PUT", `${API}/accounts/${seg(id)}/collateral/${seg(currency)}`, json({ quantity }));
      return `${id}: ${currency} = ${quantity}`;
    });
  }

  function onPosition(event) {
    event.preventDefault();
    const symbol = value("position-symbol"), size = value("position-size"), entry = value("position-entry");
    void act($("position-result"), $("position-button"), "set position", async () => {
      const id = needAccount();
      const data = await api(
        "PUT", `${API}/accounts/${seg(id)}/positions/${seg(symbol)}`, json({ size, entry_price: entry }),
      );
      const allocated = field(data, "allocated_margin", "allocatedMargin");
      return `${id}: ${symbol} ${size} @ ${entry}` + (allocated === null || allocated === undefined ? "" : `, allocated ${text(allocated)}`);
    });
  }

  function onDeletePosition() {
    const symbol = value("position-symbol");
    if (!$("position-form").reportValidity()) return;
    void act($("position-result"), $("position-delete"), "delete position", async () => {
      const id = needAccount();
      await api("DELETE", `${API}/accounts/${seg(id)}/positions/${seg(symbol)}`);
      return `${id}: ${symbol} deleted`;
    });
  }

  function onScenario(event) {
    event.preventDefault();
    const file = $("scenario-file").files[0];
    if (!file) return;
    const toml = /\.toml$/i.test(file.name) || file.type === "application/toml";
    void act($("scenario-result"), $("scenario-button"), "load scenario", async () => {
      const data = await api("PUT", `${API}/scenario`, await file.text(), toml ? "application/toml" : "application/json");
      const keys = field(data, "keys");
      resetAudit();
      await loadAccounts(); // the selected account if it still exists, else the first
      return `loaded ${file.name}` + (Array.isArray(keys) ? ` (${keys.length} keys)` : "");
    });
  }

  function onPreview(event) {
    event.preventDefault();
    const symbol = value("preview-symbol"), leverage = value("preview-leverage");
    const output = $("preview-result"), button = $("preview-button");
    button.disabled = true;
    say(output, "previewing…");
    (async () => {
      try {
        const id = needAccount();
        const query = new URLSearchParams({ symbol });
        if (leverage !== "") query.set("maxLeverage", leverage);
        const data = await api("GET", `${API}/accounts/${seg(id)}/preview?${query}`);
        const preview = field(data, "preview");
        if (id !== state.account) { say(output, ""); return; } // another account was selected meanwhile
        renderPreview(preview, id, symbol, leverage);
        const outcome = text(field(preview, "outcome"));
        const error = errorText(field(preview, "error"));
        say(output, `${outcome}${error === undefined ? "" : `: ${error}`} (shown under the pools)`,
          outcome === "refused" ? "error" : "ok");
      } catch (error) {
        clearPreview();
        say(output, `refused: ${error instanceof ApiError ? error.detail : String(error)}`, "error");
      } finally {
        button.disabled = false;
      }
    })();
  }

  function errorText(error) {
    if (error === null || error === undefined) return undefined;
    if (typeof error !== "object") return text(error);
    const code = field(error, "code"), message = field(error, "message");
    if (message !== undefined) return code === undefined ? text(message) : `${text(code)} ${text(message)}`;
    return text(field(error, "error", "detail") ?? error);
  }

  const POOL_FIGURES = ["equity", "initialMargin", "maintenanceMargin", "availableMargin", "allocatedMargin"];
  const negative = (v) => v instanceof Exact && v.text.startsWith("-") && /[1-9]/.test(v.text);

  /** "cross" or "isolated ×10.00" for a max leverage (null: cross). */
  const modeText = (leverage) => (leverage === null ? "cross" : `isolated ×${text(leverage)}`);

  /** One pool at one moment; the contract's liquidation price sits in the pool that holds its position then. */
  function previewPoolRow(pool, when, figures, liquidation, title, failed) {
    const under = figures !== null
      && underMaintenance(field(figures, "equity"), field(figures, "maintenanceMargin"));
    const cells = POOL_FIGURES.map((name) => {
      const v = figures === null ? null : field(figures, name);
      const bad = negative(v) || (name === "equity" && under);
      return el("td", { className: `num${bad ? " neg" : ""}`, "data-field": name, text: text(v) });
    });
    return el("tr", { "data-testid": `preview-${pool}-${when}`, className: failed ? "failed" : undefined }, [
      el("td", { text: when === "before" ? title : "" }),
      el("td", { className: "when", text: when }),
      ...cells,
      cell(liquidation, "liquidationPrice"),
    ]);
  }

  /** The preview (SPEC §6.1) under the pools: verdict, the error the PUT would answer, the rule, the pools. */
  function renderPreview(preview, account, symbol, leverage) {
    const outcome = text(field(preview, "outcome"));
    const kind = outcome === "accepted" ? "good" : outcome === "refused" ? "bad" : "warn";
    const shown = text(field(preview, "symbol") ?? symbol);
    const before = field(preview, "before") ?? null, after = field(preview, "after") ?? null;
    const decided = before !== null; // false: refused by validation, before any margin figure
    const leverages = field(preview, "maxLeverage");
    const asked = decided ? modeText(field(leverages, "after") ?? null) : leverage === "" ? "cross" : `isolated ×${leverage}`;
    const from = decided ? `${modeText(field(leverages, "before") ?? null)} → ` : "→ ";
    $("preview-summary").replaceChildren(
      el("span", { className: `badge ${kind}`, "data-testid": "preview-outcome", text: outcome }),
      el("span", { className: "mono", "data-testid": "preview-change", text: `${account} ${shown} ${from}${asked}` }),
      el("span", { className: "muted mono", text: `at ${stamp()}, nothing changed` }),
    );
    const failed = field(preview, "failedPool") ?? null;
    const facts = [
      ["error", "error", errorText(field(preview, "error"))],
      ["rule", "rule", field(preview, "rule")],
      ["failed-pool", "failed pool", failed],
      ["margin-moved", "margin moved", field(preview, "marginMoved")],
    ].filter(([, , v]) => v !== undefined && v !== null);
    $("preview-facts").replaceChildren(...facts.map(([id, name, v]) => el("span", {
      className: id === "error" ? "fact error" : "fact", "data-testid": `preview-${id}`,
    }, [el("span", { className: "muted", text: `${name} ` }), el("span", { className: "mono", text: text(v) })])));
    const rows = [];
    const liquidation = field(preview, "liquidationPrice");
    const modes = field(preview, "marginMode");
    for (const [pool, title] of [["cross", "cross"], ["isolated", `isolated ${shown}`]]) {
      const b = field(before, pool) ?? null, a = field(after, pool) ?? null;
      if (b === null && a === null) continue;
      for (const [when, figures] of [["before", b], ["after", a]]) {
        const held = field(modes, when) === pool ? field(liquidation, when) : null;
        rows.push(previewPoolRow(pool, when, figures, held, title, failed === pool && when === "after"));
      }
    }
    $("preview-table").tBodies[0].replaceChildren(...rows);
    alignDecimals($("preview-table").tBodies[0]);
    $("preview-table").hidden = rows.length === 0;
    $("preview-panel").hidden = false;
  }

  function clearPreview() {
    $("preview-panel").hidden = true;
    $("preview-table").tBodies[0].replaceChildren();
    say($("preview-result"), "");
  }

  // ---- session ----------------------------------------------------------------------------------------------

  async function start() {
    $("signin-panel").hidden = true;
    say($("signin-error"), "");
    $("session").hidden = false;
    $("app").hidden = false;
    const wanted = /^#account=(.+)$/.exec(location.hash);
    state.account = null;
    resetAudit();
    try {
      await loadAccounts(wanted ? decodeURIComponent(wanted[1]) : null); // a refused token signs out here
      status("signed in", "ok");
    } catch (error) {
      if (error instanceof ApiError && error.status === 401) return;
      status(`accounts: ${error instanceof ApiError ? error.detail : String(error)}`, "error");
    }
    void once("audit", refreshAudit);
    if (state.timer === null) state.timer = setInterval(tick, REFRESH_MS);
  }

  function signOut(message) {
    sessionStorage.removeItem(TOKEN_KEY);
    if (state.timer !== null) clearInterval(state.timer);
    state.timer = null;
    state.account = null;
    $("app").hidden = true;
    $("session").hidden = true;
    $("signin-panel").hidden = false;
    $("token").value = "";
    say($("signin-error"), message || "", "error");
    status(message || "signed out", message ? "error" : undefined);
    $("token").focus();
  }

  function onSignIn(event) {
    event.preventDefault();
    const presented = $("token").value.trim();
    if (!presented) return;
    sessionStorage.setItem(TOKEN_KEY, presented);
    $("token").value = "";
    void start();
  }

  function clock() { $("clock").textContent = `${new Date().toISOString().slice(0, 19).replace("T", " ")} UTC`; }

  document.addEventListener("DOMContentLoaded", () => {
    $("signin").addEventListener("submit", onSignIn);
    $("signout-button").addEventListener("click", () => signOut());
    $("accounts-refresh").addEventListener("click", () => loadAccounts().catch((e) => status(`accounts: ${e.detail}`, "error")));
    $("mark-form").addEventListener("submit", onMark);
    $("collateral-form").addEventListener("submit", onCollateral);
    $("position-form").addEventListener("submit", onPosition);
    $("position-delete").addEventListener("click", onDeletePosition);
    $("scenario-form").addEventListener("submit", onScenario);
    $("preview-form").addEventListener("submit", onPreview);
    $("preview-close").addEventListener("click", clearPreview);
    $("audit-scope").addEventListener("change", () => { resetAudit(); void once("audit", refreshAudit); });
    $("audit-newest").addEventListener("click", () => { resetAudit(); void once("audit", refreshAudit); });
    $("audit-older").addEventListener("click", () => {
      if (state.auditNext === null) return;
      state.auditPages.push(state.auditNext);
      void once("audit", refreshAudit);
    });
    $("audit-newer").addEventListener("click", () => {
      if (state.auditPages.length > 1) state.auditPages.pop();
      void once("audit", refreshAudit);
    });
    clock();
    setInterval(clock, 1000);
    if (token()) void start();
    else $("token").focus();
  });

  // exposed for tests and for the curious operator's devtools; nothing in the page depends on it
  window.levprefConsole = { parseExact, compareDecimal, Exact };
})();
