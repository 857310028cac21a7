// noob live view: draws what the server pushes over /ws; plain DOM and canvas, no library.
'use strict';
var $ = function (id) { return document.getElementById(id); };
var graph = null, socket = null, picked = {}, readonly = false, status = null;

function fmt(x, digits) {
  if (x === null || x === undefined) return '–';
  if (Math.abs(x) >= 1000) return x.toFixed(0);
  return x.toFixed(digits === undefined ? 2 : digits);
}
function ms(x) { return x === null || x === undefined ? '–' : (x < 1 ? x.toFixed(3) : x < 100 ? x.toFixed(2) : x.toFixed(0)); }
function pct(x) { return (100 * (x || 0)).toFixed(x >= 0.1 ? 0 : 1) + '%'; }
function el(tag, attrs, text) {
  var e = document.createElement(tag);
  for (var k in attrs || {}) e.setAttribute(k, attrs[k]);
  if (text !== undefined) e.textContent = text;
  return e;
}

function send(cmd) {
  if (socket && socket.readyState === 1) socket.send(JSON.stringify(cmd));
  else fetch('/api/control', { method: 'POST', body: JSON.stringify(cmd) });
}

function setPicked(name, on) {
  var dot = name.lastIndexOf('.');
  send({ op: on ? 'pick' : 'unpick', node: name.slice(0, dot), signal: name.slice(dot + 1) });
}

function boxOf(node) { return document.querySelector('#canvas g.box.node[data-node="' + CSS.escape(node) + '"]'); }

function buildGraph(g) {
  graph = g;
  readonly = g.readonly;
  $('tube').textContent = g.tube;
  $('canvas').innerHTML = g.svg;
  Object.keys(g.signals).forEach(function (node) {
    var box = boxOf(node);
    if (!box) return;
    box.querySelectorAll('text.signal').forEach(function (t, i) {
      var name = node + '.' + g.signals[node][i];
      t.setAttribute('data-signal', name);
      t.addEventListener('click', function () { setPicked(name, !picked[name]); });
    });
  });
  var body = document.querySelector('#nodes tbody');
  Object.keys(g.signals).forEach(function (node) {
    var tr = el('tr', { 'data-node': node });
    tr.appendChild(el('td', {}, node));
    ['state', 'calls', 'rate', 'p50', 'p99', 'share'].forEach(function (c) {
      tr.appendChild(el('td', { 'class': c + (c === 'state' ? '' : ' num') }, '–'));
    });
    var sigs = el('td');
    g.signals[node].forEach(function (s) {
      var name = node + '.' + s, label = el('label', { 'class': 'sig' }), box = el('input', { type: 'checkbox', 'data-signal': name });
      box.addEventListener('change', function () { setPicked(name, box.checked); });
      label.appendChild(box); label.appendChild(document.createTextNode(s));
      sigs.appendChild(label);
    });
    tr.appendChild(sigs);
    var td = el('td'), toggle = el('button', { type: 'button', 'class': 'toggle' }, 'disable');
    toggle.disabled = readonly;
    toggle.addEventListener('click', function () { send({ op: toggle.textContent, node: node }); });
    td.appendChild(toggle); tr.appendChild(td);
    body.appendChild(tr);
  });
  ['pause', 'resume', 'stop'].forEach(function (op) {
    $(op).disabled = readonly;
    $(op).addEventListener('click', function () { send({ op: op }); });
  });
}

function notice(text) { $('notice').hidden = !text; $('notice').textContent = text || ''; }

function update(s) {
  status = s;
  $('state').textContent = s.state; $('state').className = 'badge ' + s.state;
  $('epochs').textContent = s.epochs;
  $('rate').textContent = fmt(s.rate_hz, 1);
  $('inflight').textContent = s.in_flight;
  $('uptime').textContent = fmt(s.uptime_s, 0);
  $('exhausted').textContent = s.exhausted_sources.length ? s.exhausted_sources.join(', ') : 'none';
  $('runner').textContent = s.runner + ' · ' + s.core + ' core' + (readonly ? ' · read-only' : '') +
    (s.controls.driven || readonly ? '' : ' · stop and enable/disable need a driver calling view.between_epochs()');
  var over = ['finished', 'failed', 'stopped', 'interrupted'].indexOf(s.state) >= 0;
  if (!readonly) {
    $('pause').disabled = s.controls.paused || over;
    $('resume').disabled = !s.controls.paused || over;
    $('stop').textContent = over ? 'close' : 'stop';
  }
  var now = {};
  s.picked.forEach(function (n) { now[n] = true; });
  picked = now;
  document.querySelectorAll('[data-signal]').forEach(function (e) {
    var on = !!picked[e.getAttribute('data-signal')];
    if (e.tagName === 'INPUT') e.checked = on; else e.classList.toggle('picked', on);
  });
  Object.keys(s.nodes).forEach(function (node) {
    var n = s.nodes[node], box = boxOf(node), tr = document.querySelector('#nodes tr[data-node="' + CSS.escape(node) + '"]');
    if (box) {
      box.setAttribute('class', 'box node st-' + n.state);
      box.querySelector('text.type').textContent = n.calls + ' calls · ' + fmt(n.rate_hz, 1) + ' Hz';
      box.querySelector('text.detail').textContent = ms(n.p50_ms) + '/' + ms(n.p99_ms) + ' ms · ' + pct(n.share);
    }
    if (tr) {
      tr.className = 'st-' + n.state;
      tr.querySelector('.state').textContent = n.state;
      tr.querySelector('.calls').textContent = n.calls;
      tr.querySelector('.rate').textContent = fmt(n.rate_hz, 1);
      tr.querySelector('.p50').textContent = ms(n.p50_ms);
      tr.querySelector('.p99').textContent = ms(n.p99_ms);
      tr.querySelector('.share').textContent = pct(n.share);
      var toggle = tr.querySelector('.toggle');
      toggle.textContent = n.state === 'disabled' ? 'enable' : 'disable';
      toggle.disabled = readonly || over || !s.controls.driven;
    }
  });
  var list = $('errors');
  if (list.childElementCount !== s.errors.length || (s.errors.length && list.getAttribute('data-last') !== String(s.errors[s.errors.length - 1].time))) {
    list.innerHTML = '';
    s.errors.slice().reverse().forEach(function (e) {
      var li = el('li', { 'data-node': e.node });
      li.appendChild(el('b', {}, e.node)); li.appendChild(document.createTextNode(' in epoch ' + e.epoch + ': ' + e.type + ': ' + e.message));
      e.notes.forEach(function (note) { li.appendChild(el('span', { 'class': 'note' }, note)); });
      list.appendChild(li);
    });
    if (s.errors.length) list.setAttribute('data-last', String(s.errors[s.errors.length - 1].time));
    $('no-errors').hidden = s.errors.length > 0;
  }
  drawValues(s.values || {});
}

function card(name) {
  var box = document.querySelector('.value[data-signal="' + CSS.escape(name) + '"]');
  if (!box) {
    box = el('div', { 'class': 'value', 'data-signal': name });
    box.appendChild(el('h3', {}, name));
    box.appendChild(el('div', { 'class': 'body' }));
    box.appendChild(el('div', { 'class': 'meta caption' }));
    $('values').appendChild(box);
  }
  return box;
}

function canvasIn(box, cls, w, h) {
  var body = box.querySelector('.body'), c = body.querySelector('canvas.' + cls);
  if (!c) { body.innerHTML = ''; c = el('canvas', { 'class': cls }); body.appendChild(c); }
  if (c.width !== w) c.width = w;
  if (c.height !== h) c.height = h;
  box.setAttribute('data-kind', cls === 'plot' ? 'plot' : 'image');
  return c;
}

function plot(box, xs, ys) {
  var c = canvasIn(box, 'plot', 568, 240), g = c.getContext('2d'), W = c.width, H = c.height;
  g.clearRect(0, 0, W, H);
  var lo = Infinity, hi = -Infinity;
  ys.forEach(function (y) { if (y !== null) { lo = Math.min(lo, y); hi = Math.max(hi, y); } });
  if (!isFinite(lo)) return;
  if (hi === lo) { hi += 1; lo -= 1; }
  var x0 = xs[0], x1 = xs[xs.length - 1]; if (x1 === x0) x1 = x0 + 1;
  g.strokeStyle = '#3b78c4'; g.lineWidth = 2; g.beginPath();
  ys.forEach(function (y, i) {
    if (y === null) return;
    var px = 40 + (W - 50) * (xs[i] - x0) / (x1 - x0), py = H - 10 - (H - 20) * (y - lo) / (hi - lo);
    if (i === 0) g.moveTo(px, py); else g.lineTo(px, py);
  });
  g.stroke();
  g.fillStyle = '#666'; g.font = '18px sans-serif';
  g.fillText(fmt(hi, 3), 2, 18); g.fillText(fmt(lo, 3), 2, H - 4);
}

function image(box, v) {
  var c = canvasIn(box, 'image', v.w, v.h), g = c.getContext('2d');
  var raw = atob(v.data), img = g.createImageData(v.w, v.h), d = img.data, ch = v.channels;
  for (var p = 0, q = 0; p < v.w * v.h; p++, q += ch) {
    var r = raw.charCodeAt(q);
    d[4 * p] = r;
    d[4 * p + 1] = ch >= 3 ? raw.charCodeAt(q + 1) : r;
    d[4 * p + 2] = ch >= 3 ? raw.charCodeAt(q + 2) : r;
    d[4 * p + 3] = ch === 4 ? raw.charCodeAt(q + 3) : 255;
  }
  g.putImageData(img, 0, 0);
}

function drawValues(values) {
  document.querySelectorAll('.value').forEach(function (box) {
    if (!picked[box.getAttribute('data-signal')]) box.remove();
  });
  Object.keys(values).forEach(function (name) {
    if (!picked[name]) return;
    var v = values[name], box = card(name), caption = box.querySelector('.caption');
    if (v.kind === 'number') {
      plot(box, v.history.map(function (p) { return p[0]; }), v.history.map(function (p) { return p[1]; }));
      caption.textContent = 'last ' + fmt(v.value, 4) + ' at ' + fmt(v.t, 1) + ' s';
    } else if (v.kind === 'line') {
      plot(box, v.y.map(function (_, i) { return i; }), v.y);
      caption.textContent = v.n + ' points' + (v.n > v.y.length ? ' (' + v.y.length + ' shown)' : '') + ' at ' + fmt(v.t, 1) + ' s';
    } else if (v.kind === 'image') {
      image(box, v);
      caption.textContent = v.shape.join('×') + ' ' + v.dtype + ' shown ' + v.w + '×' + v.h + ', ' + fmt(v.lo, 3) + '…' + fmt(v.hi, 3) + ' at ' + fmt(v.t, 1) + ' s';
    } else {
      var body = box.querySelector('.body');
      body.innerHTML = ''; box.setAttribute('data-kind', 'text');
      body.appendChild(el('pre', {}, v.kind === 'none' ? '(no value yet)' : v.repr));
      caption.textContent = v.t === null ? '' : 'at ' + fmt(v.t, 1) + ' s';
    }
  });
}

function connect() {
  var url = (location.protocol === 'https:' ? 'wss://' : 'ws://') + location.host + '/ws';
  socket = new WebSocket(url);
  socket.onopen = function () { $('link').textContent = 'live'; $('link').className = 'link'; };
  socket.onmessage = function (m) {
    var data = JSON.parse(m.data);
    if (data.reply) { if (!data.reply.ok) notice(data.reply.error); return; }
    update(data);
  };
  socket.onclose = function () {
    $('link').textContent = 'offline (the run has ended or the process is gone)'; $('link').className = 'link off';
    setTimeout(connect, 1000);
  };
}

fetch('/api/graph').then(function (r) { return r.json(); }).then(function (g) { buildGraph(g); connect(); });
