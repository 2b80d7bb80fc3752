// ruai chat UI: plain JavaScript, no dependencies, no CDN. Document text is only ever put into
// the page as text (textContent / text nodes), never as HTML.
"use strict";

const KEY = "ruai.apiKey";
// between the redirect to the provider and the way back: the PKCE verifier, the state and the
// open conversation (never a token: tokens, the refresh token too, live in this page's memory only)
const SSO = "ruai.signin";
const OPEN = "ruai.openConversation";  // the conversation to reopen after signing in again
const $ = (id) => document.getElementById(id);
const state = { key: null, conversation: null, history: [], busy: false,
                oidc: null, idToken: null, refreshToken: null, refreshTimer: null };

class ApiError extends Error {
  constructor(status, message, type) { super(message); this.status = status; this.type = type; }
}

function el(tag, props = {}, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(props)) {
    if (name === "class") node.className = value;
    else if (name === "text") node.textContent = value;
    else if (name.startsWith("on")) node.addEventListener(name.slice(2), value);
    else node.setAttribute(name, value);
  }
  for (const child of children) node.append(child);
  return node;
}

async function api(path, options = {}, renewed = false) {
  const response = await fetch(path, {
    ...options,
    headers: { "Authorization": `Bearer ${state.key}`, "Content-Type": "application/json",
               ...(options.headers || {}) },
  });
  // an access token that expired before its renewal (a sleeping laptop): renew it, ask once more
  if (response.status === 401 && !renewed && state.refreshToken && await refreshSession())
    return api(path, options, true);
  if (!response.ok) throw await errorOf(response);
  return options.raw ? response : response.json();
}

async function errorOf(response) {
  let message = response.statusText, type = "";
  try {
    const body = await response.json();
    message = body.error?.message || message; type = body.error?.type || "";
  } catch { /* Serve's own 503 (queue full) has a plain-text body */ }
  return new ApiError(response.status, message, type);
}

function describe(error) {
  if (error.status === 401 && state.idToken) return "Сеанс истёк. Войдите снова.";
  if (error.status === 401) return "Неверный или отозванный ключ API. Войдите снова.";
  if (error.status === 403) return `Доступ запрещён: ${error.message}`;
  if (error.status === 503 && /generator/.test(error.message))
    return "Генератор ответов недоступен. Попробуйте позже.";
  if (error.status === 503 && error.type === "service_unavailable")
    return "Сервис временно недоступен (хранилище документов не отвечает). Повторите позже.";
  if (error.status === 503) return "Сервис занят. Повторите запрос через несколько секунд.";
  if (error.status === 404) return `Не найдено: ${error.message}`;
  if (error.status === 413) return `Слишком длинный запрос: ${error.message}`;
  if (error instanceof ApiError) return `Ошибка ${error.status}: ${error.message}`;
  return "Нет связи с сервером. Проверьте подключение и повторите.";
}

function setStatus(text, isError = false, retry = null) {
  const status = $("status");
  status.replaceChildren(text);
  status.classList.toggle("error", isError);
  if (retry) status.append(" ", el("button", { type: "button", text: "Повторить", onclick: retry }));
}

// --- sign-in -------------------------------------------------------------------------------

async function signIn(key, remember = true) {
  state.key = key;
  const models = await api("/v1/models");
  if (remember) sessionStorage.setItem(KEY, key);
  const picker = $("model");
  picker.replaceChildren();
  for (const model of models.data) {
    const label = model.collection ? `Документы: ${model.collection}` : `Модель: ${model.id}`;
    picker.append(el("option", { value: model.id, text: label }));
  }
  await loadConversations();
  $("signin").hidden = true;
  $("app").hidden = false;
  $("question").focus();
}

function signOut(message = "") {
  sessionStorage.removeItem(KEY);
  clearTimeout(state.refreshTimer);
  state.key = null; state.idToken = null; state.refreshToken = null;
  state.conversation = null; state.history = [];
  $("user").hidden = true;
  $("messages").replaceChildren();
  $("conversations").replaceChildren();
  $("app").hidden = true;
  $("signin").hidden = false;
  $("signin-error").textContent = message;
  $("api-key").value = "";
  ($("signin-form").hidden ? $("sso-signin") : $("api-key")).focus();
}

// --- sign-in through the identity provider (authorization code + PKCE) ---------------------

function base64url(bytes) {
  return btoa(String.fromCharCode(...bytes)).replace(/\+/g, "-").replace(/\//g, "_")
    .replace(/=+$/, "");
}

async function discovery() {
  const response = await fetch(`${state.oidc.issuer.replace(/\/$/, "")}/.well-known/openid-configuration`);
  if (!response.ok) throw new Error("поставщик учётных записей недоступен");
  return response.json();
}

async function startProviderSignIn() {
  const provider = await discovery();
  const verifier = base64url(crypto.getRandomValues(new Uint8Array(32)));
  const digest = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(verifier));
  const nonce = base64url(crypto.getRandomValues(new Uint8Array(16)));
  sessionStorage.setItem(SSO, JSON.stringify({ verifier, state: nonce,
    conversation: state.conversation?.id || sessionStorage.getItem(OPEN) }));
  const url = new URL(provider.authorization_endpoint);
  url.search = new URLSearchParams({
    response_type: "code", client_id: state.oidc.client_id, scope: state.oidc.scope,
    redirect_uri: `${location.origin}/`, state: nonce, code_challenge: base64url(new Uint8Array(digest)),
    code_challenge_method: "S256" }).toString();
  location.assign(url.toString());
}

async function finishProviderSignIn(params) {
  const saved = JSON.parse(sessionStorage.getItem(SSO) || "null");
  sessionStorage.removeItem(SSO);
  history.replaceState(null, "", "/");
  if (params.get("error")) throw new Error(params.get("error_description") || params.get("error"));
  if (!saved || saved.state !== params.get("state")) throw new Error("ответ поставщика не совпал с запросом");
  const provider = await discovery();
  const response = await fetch(provider.token_endpoint, { method: "POST", body: new URLSearchParams({
    grant_type: "authorization_code", code: params.get("code"), redirect_uri: `${location.origin}/`,
    client_id: state.oidc.client_id, code_verifier: saved.verifier }) });
  if (!response.ok) throw new Error("поставщик не выдал токен");
  const tokens = await response.json();
  keepTokens(tokens);
  await signIn(tokens.access_token, false);
  const claims = claimsOf(tokens.access_token);
  const name = claims.preferred_username || claims.name || claims.sub;
  const groups = (claims.groups || []).join(", ");
  $("user").textContent = groups ? `${name} · ${groups}` : name;
  $("user").hidden = false;
  if (saved.conversation) await openConversation(saved.conversation).catch(() => {});
}

function claimsOf(jwt) {
  const json = atob(jwt.split(".")[1].replace(/-/g, "+").replace(/_/g, "/"));
  return JSON.parse(new TextDecoder().decode(Uint8Array.from(json, (c) => c.charCodeAt(0))));
}

// the provider's tokens, in memory; the access token is renewed with the refresh token (the
// provider rotates it) at three quarters of its lifetime, silently
function keepTokens(tokens) {
  state.key = tokens.access_token;
  state.idToken = tokens.id_token || state.idToken;
  state.refreshToken = tokens.refresh_token || state.refreshToken;
  clearTimeout(state.refreshTimer);
  if (!state.refreshToken) return;  // no refresh token: the user signs in again when it expires
  const { iat, exp } = claimsOf(tokens.access_token);
  const lifetime = exp - (iat || Math.floor(Date.now() / 1000));
  state.refreshTimer = setTimeout(() => refreshSession(), Math.max(1, 0.75 * lifetime) * 1000);
}

let renewing = null;  // one renewal at a time: the refresh token is spent by its first use
function refreshSession() {
  renewing ??= renew().finally(() => { renewing = null; });
  return renewing;
}

async function renew() {
  const refreshToken = state.refreshToken;
  if (!refreshToken) return false;
  try {
    const provider = await discovery();
    const response = await fetch(provider.token_endpoint, { method: "POST", body: new URLSearchParams({
      grant_type: "refresh_token", refresh_token: refreshToken, client_id: state.oidc.client_id }) });
    if (!response.ok) throw new Error(`HTTP ${response.status}`);
    if (state.refreshToken !== refreshToken) return false;  // signed out meanwhile
    keepTokens(await response.json());
    return true;
  } catch {
    // the provider refused or is unreachable: the token in hand serves until it expires, then
    // the user signs in again and the open conversation is reopened
    return false;
  }
}

async function signOutEverywhere() {
  if (!state.idToken) return signOut();
  const provider = await discovery();
  const url = new URL(provider.end_session_endpoint);
  url.search = new URLSearchParams({ id_token_hint: state.idToken, client_id: state.oidc.client_id,
                                     post_logout_redirect_uri: `${location.origin}/` }).toString();
  signOut();
  sessionStorage.removeItem(OPEN);  // signed out on purpose: the next user starts afresh
  location.assign(url.toString());
}

function handle(error) {
  if (error.status === 401) signOut(describe(error));
  else setStatus(describe(error), true);
}

// --- conversations -------------------------------------------------------------------------

async function loadConversations() {
  const list = (await api("/v1/conversations")).data;
  const ul = $("conversations");
  ul.replaceChildren();
  for (const conversation of list) {
    const current = state.conversation?.id === conversation.id;
    ul.append(el("li", { class: current ? "current" : "", "data-id": conversation.id },
      el("button", { type: "button", text: conversation.title, title: conversation.title,
                     "aria-current": current ? "true" : "false",
                     onclick: () => openConversation(conversation.id).catch(handle) }),
      el("button", { type: "button", class: "icon rename", text: "✎",
                     "aria-label": `Переименовать «${conversation.title}»`,
                     onclick: () => renameConversation(conversation).catch(handle) }),
      el("button", { type: "button", class: "icon delete", text: "✕",
                     "aria-label": `Удалить «${conversation.title}»`,
                     onclick: () => deleteConversation(conversation).catch(handle) })));
  }
}

function newConversation() {
  state.conversation = null; state.history = [];
  sessionStorage.removeItem(OPEN);
  $("messages").replaceChildren();
  $("conversation-title").textContent = "Новый разговор";
  setStatus("");
  loadConversations().catch(handle);
  $("question").focus();
}

async function openConversation(id) {
  const conversation = await api(`/v1/conversations/${encodeURIComponent(id)}`);
  state.conversation = conversation;
  sessionStorage.setItem(OPEN, conversation.id);
  state.history = [];
  $("messages").replaceChildren();
  $("conversation-title").textContent = conversation.title;
  if ([...$("model").options].some((o) => o.value === conversation.model))
    $("model").value = conversation.model;
  let question = "";
  for (const message of conversation.messages) {
    state.history.push({ role: message.role, content: message.content });
    if (message.role === "user") { question = message.content; addUserMessage(message.content); }
    else renderAnswer(addAnswer(), message.content, message.meta || {}, question);
  }
  setStatus("");
  await loadConversations();
}

async function renameConversation(conversation) {
  const title = prompt("Новое название разговора", conversation.title);
  if (!title || !title.trim()) return;
  const renamed = await api(`/v1/conversations/${conversation.id}`,
                            { method: "PATCH", body: JSON.stringify({ title: title.trim() }) });
  if (state.conversation?.id === renamed.id) $("conversation-title").textContent = renamed.title;
  await loadConversations();
}

async function deleteConversation(conversation) {
  if (!confirm(`Удалить разговор «${conversation.title}»?`)) return;
  await api(`/v1/conversations/${conversation.id}`, { method: "DELETE" });
  if (state.conversation?.id === conversation.id) newConversation();
  else await loadConversations();
}

// --- messages ------------------------------------------------------------------------------

function addUserMessage(text) {
  const li = el("li", { class: "message user" }, el("div", { class: "text", text }));
  $("messages").append(li);
  li.scrollIntoView({ block: "end" });
}

function addAnswer() {
  const li = el("li", { class: "message assistant" }, el("div", { class: "text" }));
  li.dataset.uid = Math.random().toString(36).slice(2);
  $("messages").append(li);
  return li;
}

// the answer's text with each [n] as a link to source card n (text nodes only)
function renderText(li, text, sources) {
  const node = li.querySelector(".text");
  node.replaceChildren();
  const known = new Set((sources || []).map((s) => s.n));
  let last = 0;
  for (const match of text.matchAll(/\[(\d+)\]/g)) {
    node.append(text.slice(last, match.index));
    const n = Number(match[1]);
    if (known.has(n)) {
      const target = `src-${li.dataset.uid}-${n}`;
      node.append(el("a", { class: "cite", href: `#${target}`, text: match[0],
                            "aria-label": `Источник ${n}`,
                            onclick: (event) => { event.preventDefault(); showCard(target); } }));
    } else node.append(match[0]);
    last = match.index + match[0].length;
  }
  node.append(text.slice(last));
}

function showCard(id) {
  const card = $(id);
  if (!card) return;
  card.scrollIntoView({ block: "nearest" });
  card.classList.add("flash");
  setTimeout(() => card.classList.remove("flash"), 1500);
  card.querySelector("button")?.focus();
}

function renderAnswer(li, text, meta, question) {
  const sources = meta.sources || [];
  renderText(li, text, sources);
  li.classList.toggle("partial", Boolean(meta.partial));
  li.querySelectorAll(".badge, .sources, .feedback").forEach((n) => n.remove());
  if (meta.partial) li.append(el("p", { class: "badge", text: meta.partial_reason ||
                                        "Ответ неполный: соединение прервалось." }));
  if (sources.length) {
    const list = el("ol", { class: "sources", "aria-label": "Источники" });
    for (const source of sources) list.append(sourceCard(li, source, meta.model, question));
    li.append(list);
  }
  if (meta.response_id) li.append(feedbackForm(meta.response_id));
}

// where in the file the cited chunk lies: «стр. 12», «слайд 3», «лист "Тарифы"», «вложение …»
function placeLabel(source) {
  const parts = [];
  if (source.attachment != null) parts.push(`вложение «${source.attachment}»`);
  if (source.page != null) parts.push(`стр. ${source.page}`);
  if (source.slide != null) parts.push(`слайд ${source.slide}`);
  if (source.sheet != null) parts.push(`лист "${source.sheet}"`);
  return parts.join(", ");
}

function sourceCard(li, source, model, question) {
  const name = (source.source || "").split("/").pop();
  if (source.withheld) {  // a document this user may no longer read: no text, no link
    return el("li", { class: "card", id: `src-${li.dataset.uid}-${source.n}`, tabindex: "-1" },
      el("h3", { text: `[${source.n}] ${name}` }),
      el("p", { class: "snippet", text: "Документ вам больше недоступен." }));
  }
  const where = [name, placeLabel(source), `релевантность ${Number(source.score).toFixed(3)}`];
  return el("li", { class: "card", id: `src-${li.dataset.uid}-${source.n}`, tabindex: "-1" },
    el("h3", { text: `[${source.n}] ${source.title || name}` }),
    el("p", { class: "source", text: where.filter(Boolean).join(" · ") }),
    el("p", { class: "snippet", text: source.snippet || source.text || "" }),
    el("button", { type: "button", text: "Открыть в документе",
                   onclick: () => openContext(source, model, question).catch(handle) }));
}

async function openContext(source, model, question) {
  const doc = await api("/v1/context", { method: "POST", body: JSON.stringify({
    model: model || $("model").value, source: source.source, chunk_id: source.chunk_id,
    query: question || source.title || source.snippet || "документ" }) });
  $("context-title").textContent = doc.title || source.title || "Документ";
  $("context-source").textContent = [doc.source, placeLabel(source)].filter(Boolean).join(" · ");
  const body = $("context-body");
  body.replaceChildren();
  let cited = null;
  for (const chunk of doc.chunks) {
    const node = el(chunk.cited ? "mark" : "p", { text: chunk.text });
    if (chunk.cited) cited = node;
    body.append(node);
  }
  $("context").showModal();
  cited?.scrollIntoView({ block: "center" });
}

function feedbackForm(responseId) {
  const comment = el("input", { type: "text", placeholder: "Комментарий (необязательно)",
                                "aria-label": "Комментарий к ответу", maxlength: "4000" });
  const form = el("div", { class: "feedback", role: "group", "aria-label": "Оценка ответа" });
  const send = async (rating, button) => {
    try {
      await api("/v1/feedback", { method: "POST", body: JSON.stringify({
        response_id: responseId, rating, comment: comment.value.trim() || null, source: "ui" }) });
      form.querySelectorAll("button").forEach((b) => b.setAttribute("aria-pressed", "false"));
      button.setAttribute("aria-pressed", "true");
      setStatus("Спасибо, отзыв сохранён.");
    } catch (error) { handle(error); }
  };
  const up = el("button", { type: "button", class: "up", text: "▲ +1", "aria-pressed": "false",
                            "aria-label": "Хороший ответ", onclick: () => send(1, up) });
  const down = el("button", { type: "button", class: "down", text: "▼ −1", "aria-pressed": "false",
                              "aria-label": "Плохой ответ", onclick: () => send(-1, down) });
  form.append(up, down, comment);
  return form;
}

// --- asking --------------------------------------------------------------------------------

async function ask(question) {
  if (state.busy) return;
  state.busy = true; $("send").disabled = true;
  setStatus("Ищу в документах…");
  const model = $("model").value;
  const messages = [...state.history, { role: "user", content: question }];
  let response;
  try {
    response = await api("/v1/chat/completions", { method: "POST", raw: true,
      body: JSON.stringify({ model, messages, stream: true }) });
  } catch (error) {
    state.busy = false; $("send").disabled = false;
    if (error.status === 401) return signOut(describe(error));
    const retryable = !(error instanceof ApiError) || error.status === 503;
    return setStatus(describe(error), true, retryable ? () => ask(question) : null);
  }
  $("question").value = "";
  try {
    if (!state.conversation) {
      state.conversation = await api("/v1/conversations", { method: "POST",
        body: JSON.stringify({ title: question.slice(0, 80), model }) });
      sessionStorage.setItem(OPEN, state.conversation.id);
      $("conversation-title").textContent = state.conversation.title;
    }
    addUserMessage(question);
    state.history.push({ role: "user", content: question });
    await saveMessage("user", question, {});
    const li = addAnswer();
    const meta = { model, sources: [], partial: false };
    const text = await readStream(response, li, meta);
    renderAnswer(li, text, meta, question);
    state.history.push({ role: "assistant", content: text });
    await saveMessage("assistant", text, meta);
    setStatus(meta.partial ? meta.partial_reason : "");
    if (meta.partial) $("status").classList.add("error");
    await loadConversations();
  } catch (error) {
    handle(error);
  } finally {
    state.busy = false; $("send").disabled = false;
  }
}

async function saveMessage(role, content, meta) {
  await api(`/v1/conversations/${state.conversation.id}/messages`,
            { method: "POST", body: JSON.stringify({ role, content, meta }) });
}

// reads the SSE stream of /v1/chat/completions; marks the answer partial when it breaks off
async function readStream(response, li, meta) {
  const reader = response.body.getReader();
  const decoder = new TextDecoder();
  let buffer = "", text = "", done = false;
  setStatus("Отвечаю…");
  try {
    while (!done) {
      const chunk = await reader.read();
      if (chunk.done) break;
      buffer += decoder.decode(chunk.value, { stream: true });
      let cut;
      while ((cut = buffer.indexOf("\n\n")) >= 0) {
        const event = buffer.slice(0, cut); buffer = buffer.slice(cut + 2);
        const data = event.split("\n").filter((l) => l.startsWith("data:"))
                          .map((l) => l.slice(5).trim()).join("");
        if (!data) continue;
        if (data === "[DONE]") { done = true; break; }
        const payload = JSON.parse(data);
        if (payload.error) {
          meta.partial = true;
          meta.partial_reason = "Ответ неполный: генератор прервал ответ. " + payload.error.message;
          return text;
        }
        meta.response_id = meta.response_id || payload.id;
        if (payload.sources) meta.sources = payload.sources;
        const delta = payload.choices?.[0]?.delta?.content;
        if (delta) { text += delta; renderText(li, text, []); }
      }
    }
  } catch {
    done = false;
  }
  if (!done) {
    meta.partial = true;
    meta.partial_reason = "Ответ неполный: соединение прервалось.";
  }
  return text;
}

// --- wiring --------------------------------------------------------------------------------

document.addEventListener("DOMContentLoaded", () => {
  $("signin-form").addEventListener("submit", (event) => {
    event.preventDefault();
    $("signin-error").textContent = "";
    signIn($("api-key").value.trim()).catch((error) => {
      sessionStorage.removeItem(KEY);
      $("signin-error").textContent = describe(error);
    });
  });
  $("ask-form").addEventListener("submit", (event) => {
    event.preventDefault();
    const question = $("question").value.trim();
    if (question) ask(question);
  });
  $("question").addEventListener("keydown", (event) => {
    if (event.key === "Enter" && !event.shiftKey) {
      event.preventDefault();
      $("ask-form").requestSubmit();
    }
  });
  $("new-conversation").addEventListener("click", newConversation);
  $("signout").addEventListener("click", () => signOutEverywhere().catch(() => signOut()));
  $("sso-signin").addEventListener("click", () => startProviderSignIn().catch((error) => {
    $("sso-error").textContent = `Вход не удался: ${error.message}`;
  }));
  $("context-close").addEventListener("click", () => $("context").close());
  start().catch((error) => signOut(describe(error)));
});

async function start() {
  const config = await fetch("/ui/config.json").then((r) => r.json());
  state.oidc = config.oidc;
  $("sso").hidden = !config.oidc;
  $("signin-form").hidden = !config.api_key_form;
  const params = new URLSearchParams(location.search);
  if (config.oidc && (params.has("code") || params.has("error"))) {
    return finishProviderSignIn(params).catch((error) => {
      signOut();
      $("sso-error").textContent = `Вход не удался: ${error.message}`;
    });
  }
  const saved = config.api_key_form ? sessionStorage.getItem(KEY) : null;
  if (saved) return signIn(saved);
  signOut();
}
