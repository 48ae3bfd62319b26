/*
 * app.js - the hotline page: send the pasted text to /api/check, show the
 * verdict sentence, its reasons (rules with the spans they matched
 * highlighted, links and their verdicts, the advice for the caller), and
 * send staff feedback to /api/feedback, with the fraud types of
 * /types.json to choose from.
 *
 * Everything is put on the page with textContent, never innerHTML.  Phone
 * and account numbers stay masked: the reply masks them already, and the
 * pasted text is shown with the reply's masked entities in place of the
 * numbers, any other run of 7+ digits starred and e-mail names hidden.
 */
'use strict';

const MAX_BYTES = 65536; /* hubaod's default --max-text-bytes */

const T = {
  zh: {
    title: 'Hubao 反诈热线核查', textLabel: '粘贴来电者收到的短信：', check: '核查',
    hint: 'Ctrl+Enter 提交', token: '访问令牌',
    hText: '短信原文（号码已隐藏，标黄处为触发规则的内容）', hReasons: '判断依据',
    hLinks: '链接', hFeedback: '这个判断对吗？', right: '判断正确', wrong: '判断有误',
    labelNone: '（正确类别，可选）', typeNone: '（诈骗类型，可选）',
    lHam: '正常短信', lSpam: '广告', lRumour: '谣言', lSmishing: '钓鱼链接', lFraud: '诈骗',
    footer: '号码、账号在页面和记录中均已隐藏。',
    empty: '请先粘贴短信内容。',
    tooLong: '短信太长（超过 64 KB），请只粘贴一条短信。',
    down: '核查服务暂时不可用，请稍后再试或联系技术支持。',
    network: '无法连接核查服务，请检查网络或联系技术支持。',
    rate: '请求太频繁，请稍等一分钟再试。',
    auth: '需要访问令牌：请在按钮旁输入令牌后重试。',
    bad: '请求有误：', checking: '正在核查…',
    noReasons: '没有触发任何规则（由模型判断）。',
    typeByModel: '没有规则直接认定诈骗类型，类型由模型根据措辞判断。',
    linkBad: '恶意链接', linkListed: '列入黑名单：', linkOk: '未列入黑名单', linkScore: '风险',
    fbSaved: '已记录，谢谢！', fbFailed: '反馈没有保存：'
  },
  en: {
    title: 'Hubao hotline check', textLabel: 'Paste the message the caller received:',
    check: 'Check', hint: 'Ctrl+Enter submits', token: 'Access token',
    hText: 'The message (numbers masked; highlighted: what the rules matched)',
    hReasons: 'Why', hLinks: 'Links', hFeedback: 'Was this verdict right?',
    right: 'Right', wrong: 'Wrong', labelNone: '(correct label, optional)',
    typeNone: '(fraud type, optional)', lHam: 'Normal message', lSpam: 'Advertising',
    lRumour: 'Rumour', lSmishing: 'Phishing link', lFraud: 'Fraud',
    footer: 'Phone and account numbers are masked on screen and in records.',
    empty: 'Paste the message text first.',
    tooLong: 'The text is too long (over 64 KB): paste one message only.',
    down: 'The checking service is down. Try again shortly or call technical support.',
    network: 'Cannot reach the checking service. Check the network or call technical support.',
    rate: 'Too many requests: wait a minute and try again.',
    auth: 'An access token is needed: enter it beside the button and try again.',
    bad: 'The request was refused: ', checking: 'Checking…',
    noReasons: 'No rule fired (the model decided).',
    typeByModel: 'No rule names the kind of scam; the model judged it from the wording.',
    linkBad: 'malicious link', linkListed: 'blocklisted by ', linkOk: 'not on any blocklist',
    linkScore: 'risk', fbSaved: 'Saved, thank you!', fbFailed: 'Feedback was not saved: '
  }
};

let lang = 'zh';
let last = null; /* {text, reply} of the verdict on screen */

const $ = (id) => document.getElementById(id);

function el(tag, cls, text) {
  const e = document.createElement(tag);
  if (cls) e.className = cls;
  if (text !== undefined) e.textContent = text;
  return e;
}

function setLang(l) {
  lang = l;
  const t = T[l];
  document.documentElement.lang = l;
  $('lang-zh').classList.toggle('on', l === 'zh');
  $('lang-en').classList.toggle('on', l === 'en');
  $('lang-zh').setAttribute('aria-pressed', String(l === 'zh'));
  $('lang-en').setAttribute('aria-pressed', String(l === 'en'));
  const ids = {
    title: 'title', 'text-label': 'textLabel', check: 'check', hint: 'hint',
    'token-label': 'token', 'h-text': 'hText', 'h-reasons': 'hReasons', 'h-links': 'hLinks',
    'h-feedback': 'hFeedback', 'fb-right': 'right', 'fb-wrong': 'wrong',
    'fb-label-none': 'labelNone', 'fb-type-none': 'typeNone', 'fb-l-ham': 'lHam',
    'fb-l-spam': 'lSpam', 'fb-l-rumour': 'lRumour', 'fb-l-smishing': 'lSmishing',
    'fb-l-fraud': 'lFraud', footer: 'footer'
  };
  for (const [id, key] of Object.entries(ids)) $(id).textContent = t[key];
  document.title = t.title;
  if (last) render(last.text, last.reply);
}

function showStatus(msg) {
  $('status').textContent = msg;
  $('status').hidden = !msg;
}

function headers() {
  const h = { 'Content-Type': 'application/json' };
  const tok = $('token').value.trim();
  if (tok) h.Authorization = 'Bearer ' + tok;
  return h;
}

/* The message for a failed API call. */
function errorMessage(status, body) {
  const t = T[lang];
  const code = body && body.error && body.error.code;
  if (status === 502 || status === 503 || status === 504) return t.down;
  if (status === 429) return t.rate;
  if (status === 401) { $('token-box').hidden = false; return t.auth; }
  if (status === 413 || code === 'too_large') return t.tooLong;
  if (code === 'empty_text' || code === 'missing_text') return t.empty;
  return t.bad + ((body && body.error && body.error.message) || status);
}

async function check() {
  const t = T[lang];
  const text = $('text').value;
  if (!text.trim()) { showStatus(t.empty); $('text').focus(); return; }
  if (new TextEncoder().encode(text).length > MAX_BYTES) { showStatus(t.tooLong); return; }
  showStatus('');
  $('result').hidden = true; /* never leave an old verdict to be read out */
  $('check').disabled = true;
  $('check').textContent = t.checking;
  try {
    let res;
    try {
      res = await fetch('/api/check', {
        method: 'POST', headers: headers(), body: JSON.stringify({ text })
      });
    } catch (e) {
      $('result').hidden = true;
      showStatus(t.network);
      return;
    }
    let body = null;
    try { body = await res.json(); } catch (e) { body = null; }
    if (!res.ok || !body || body.error) {
      $('result').hidden = true;
      showStatus(errorMessage(res.status, body));
      return;
    }
    last = { text, reply: body };
    render(text, body);
  } finally {
    $('check').disabled = false;
    $('check').textContent = T[lang].check;
  }
}

/* Star the middle of every run of 7+ digits (ASCII, full-width or Chinese
 * numerals, as numbers are spelt out to dodge filters), and the name of
 * every e-mail address. */
function maskDigits(chars) {
  const isDigit = (c) => /[0-9\uFF10-\uFF19〇零一二三四五六七八九两]/.test(c);
  let i = 0;
  while (i < chars.length) {
    if (!isDigit(chars[i])) { i++; continue; }
    let j = i;
    while (j < chars.length && isDigit(chars[j])) j++;
    if (j - i >= 7) for (let k = i + 3; k < j - 4; k++) chars[k] = '*';
    i = j;
  }
  const local = (c) => /[A-Za-z0-9._+-]/.test(c);
  for (let at = 0; at < chars.length; at++) {
    if (chars[at] !== '@' || !/[A-Za-z0-9]/.test(chars[at + 1] || '')) continue;
    for (let k = at - 1; k >= 0 && local(chars[k]); k--) chars[k] = '*';
  }
}

/* The pasted text with rule matches marked and personal numbers masked.
 * Reply offsets count code points; Array.from splits by code point. */
function highlight(text, reply) {
  const chars = Array.from(text);
  const marked = new Array(chars.length).fill(false);
  const replace = new Map(); /* start -> {end, text} of masked entities */
  for (const task of Object.values(reply.tasks || {})) {
    for (const r of ((task.evidence || {}).rules || [])) {
      for (let k = Math.max(0, r.start); k < Math.min(r.end, chars.length); k++) marked[k] = true;
    }
  }
  for (const e of (reply.entities || [])) {
    if (e.kind === 'phone' || e.kind === 'account' || e.kind === 'handle') {
      replace.set(e.start, { end: e.end, text: e.text });
    }
  }
  maskDigits(chars);
  const out = $('highlight');
  out.replaceChildren();
  let buf = '';
  let inMark = false;
  const flush = () => {
    if (!buf) return;
    out.appendChild(inMark ? el('mark', null, buf) : document.createTextNode(buf));
    buf = '';
  };
  for (let i = 0; i < chars.length; i++) {
    const rep = replace.get(i);
    if (rep && rep.end > i) {
      flush();
      const span = el('span', 'masked', rep.text);
      out.appendChild(marked[i] ? (() => { const m = el('mark'); m.appendChild(span); return m; })() : span);
      i = rep.end - 1;
      continue;
    }
    if (marked[i] !== inMark) { flush(); inMark = marked[i]; }
    buf += chars[i];
  }
  flush();
}

function render(text, reply) {
  const t = T[lang];
  const summary = reply.summary || {};
  $('verdict').textContent = summary[lang] || summary.en || reply.verdict;
  $('verdict').className = ['fraud', 'possible_fraud', 'spam', 'rumour', 'clean']
    .includes(reply.verdict) ? reply.verdict : '';
  const advice = reply.advice && (reply.advice[lang] || reply.advice.en);
  $('advice').textContent = advice || '';
  $('advice').hidden = !(advice && ['fraud', 'possible_fraud'].includes(reply.verdict));
  highlight(text, reply);

  const reasons = $('reasons');
  reasons.replaceChildren();
  const seen = new Set();
  for (const [name, task] of Object.entries(reply.tasks || {})) {
    for (const r of ((task.evidence || {}).rules || [])) {
      if (seen.has(r.id)) continue;
      seen.add(r.id);
      const desc = (lang === 'zh' && r.description_zh) ? r.description_zh : r.description;
      const li = el('li', null, desc + ' ');
      li.appendChild(el('span', 'match', '「' + r.match + '」 (' + name + ')'));
      reasons.appendChild(li);
    }
  }
  for (const b of (reply.brands || [])) {
    if (!b.reason) continue;
    const cls = b.status === 'impersonation' ? 'bad' : b.status === 'official' ? 'ok' : null;
    reasons.appendChild(el('li', cls, b.reason[lang] || b.reason.en));
  }
  if (!reasons.children.length) reasons.appendChild(el('li', 'match', t.noReasons));
  const fraud = (reply.tasks || {}).fraud;
  if (fraud && fraud.type_by === 'model' && ['fraud', 'possible_fraud'].includes(reply.verdict)) {
    reasons.appendChild(el('li', null, t.typeByModel));
  }

  const links = $('links');
  links.replaceChildren();
  for (const u of (reply.urls || [])) {
    const li = el('li', null, u.url + ' — ');
    if (u.feed) li.appendChild(el('span', 'bad', t.linkListed + u.feed));
    else if (u.malicious || u.decided_fraud) li.appendChild(el('span', 'bad', t.linkBad));
    else li.appendChild(el('span', 'ok', t.linkOk));
    if (typeof u.probability === 'number') {
      li.appendChild(document.createTextNode(' (' + t.linkScore + ' ' +
        Math.round(u.probability * 100) + '%)'));
    }
    links.appendChild(li);
  }
  $('links-box').hidden = !links.children.length;
  $('fb-status').textContent = '';
  $('result').hidden = false;
}

async function feedback(correct) {
  if (!last) return;
  const t = T[lang];
  const body = { verdict: last.reply, text: last.text, correct };
  if ($('fb-label').value) body.label = $('fb-label').value;
  if ($('fb-type').value) body.fraud_type = $('fb-type').value;
  let res = null;
  let reply = null;
  try {
    res = await fetch('/api/feedback', {
      method: 'POST', headers: headers(), body: JSON.stringify(body)
    });
    reply = await res.json();
  } catch (e) {
    $('fb-status').textContent = t.fbFailed + (res ? res.status : t.network);
    return;
  }
  $('fb-status').textContent = res.ok ? t.fbSaved : t.fbFailed + errorMessage(res.status, reply);
}

/* The fraud types feedback may name: the server's types.tsv, so that a
 * type added there is offered here without editing the page.  If the list
 * cannot be had, the type stays optional and unset. */
async function loadTypes() {
  let list = [];
  try {
    const res = await fetch('/types.json');
    if (res.ok) list = (await res.json()).types || [];
  } catch (e) {
    return;
  }
  for (const t of list) {
    const opt = document.createElement('option');
    opt.value = t.type;
    opt.textContent = t.name_zh + ' / ' + t.name_en;
    $('fb-type').appendChild(opt);
  }
}

document.addEventListener('DOMContentLoaded', () => {
  $('form').addEventListener('submit', (ev) => { ev.preventDefault(); check(); });
  $('text').addEventListener('keydown', (ev) => {
    if (ev.key === 'Enter' && (ev.ctrlKey || ev.metaKey)) { ev.preventDefault(); check(); }
  });
  $('lang-zh').addEventListener('click', () => setLang('zh'));
  $('lang-en').addEventListener('click', () => setLang('en'));
  $('fb-right').addEventListener('click', () => feedback(true));
  $('fb-wrong').addEventListener('click', () => feedback(false));
  setLang('zh');
  loadTypes();
});
