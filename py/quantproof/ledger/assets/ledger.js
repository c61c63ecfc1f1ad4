(function () {
  'use strict';
  var dataEl = document.getElementById('qp-data');
  var data = JSON.parse(dataEl.textContent);
  var table = document.getElementById('claims-table');
  if (!table) { return; }
  var bodies = Array.prototype.slice.call(table.tBodies);
  var text = {};
  Object.keys(data.search).forEach(function (k) { text[k] = data.search[k].toLowerCase(); });
  var q = document.getElementById('f-q');
  var selects = Array.prototype.slice.call(document.querySelectorAll('select[data-filter]'));
  var vboxes = Array.prototype.slice.call(document.querySelectorAll('input[name=verdict]'));
  var changedOnly = document.getElementById('f-changed');
  var countEl = document.getElementById('count');
  var emptyEl = document.getElementById('empty');
  var total = bodies.length;

  function apply() {
    var terms = q.value.toLowerCase().split(/\s+/).filter(function (t) { return t.length > 0; });
    var verdicts = {};
    vboxes.forEach(function (b) { if (b.checked) { verdicts[b.value] = true; } });
    var shown = 0;
    bodies.forEach(function (tb) {
      var ok = verdicts.hasOwnProperty(tb.dataset.verdict);
      for (var i = 0; ok && i < selects.length; i++) {
        var s = selects[i];
        if (s.value !== '' && tb.dataset[s.dataset.filter] !== s.value) { ok = false; }
      }
      if (ok && changedOnly && changedOnly.checked && !tb.dataset.diff) { ok = false; }
      if (ok && terms.length) {
        var hay = text[tb.id] || '';
        for (var j = 0; j < terms.length; j++) { if (hay.indexOf(terms[j]) < 0) { ok = false; break; } }
      }
      tb.hidden = !ok;
      if (ok) { shown++; }
    });
    countEl.textContent = 'Showing ' + shown + ' of ' + total + ' claims.';
    emptyEl.hidden = shown !== 0;
  }

  function setOpen(tb, open) {
    var btn = tb.querySelector('button.toggle');
    var row = document.getElementById(btn.getAttribute('aria-controls'));
    btn.setAttribute('aria-expanded', open ? 'true' : 'false');
    row.hidden = !open;
    tb.classList.toggle('open', open);
  }

  var sortKey = null, sortDir = 1;
  var rankKeys = {verdict: 'verdictRank', kind: 'kindRank', formal: 'formalRank', tests: 'testsRank',
                  measurements: 'measurementsRank'};
  function sortBy(key) {
    if (sortKey === key) { sortDir = -sortDir; } else { sortKey = key; sortDir = 1; }
    var rk = rankKeys[key];
    var sorted = bodies.slice().sort(function (a, b) {
      var c = 0;
      if (rk) { c = Number(a.dataset[rk]) - Number(b.dataset[rk]); }
      if (c === 0) {
        var x = (a.dataset[key] || '').toLowerCase(), y = (b.dataset[key] || '').toLowerCase();
        c = x < y ? -1 : (x > y ? 1 : 0);
      }
      if (c === 0) { return Number(a.dataset.order) - Number(b.dataset.order); }
      return c * sortDir;
    });
    sorted.forEach(function (tb) { table.appendChild(tb); });
    Array.prototype.forEach.call(table.tHead.rows[0].cells, function (th) {
      if (th.dataset.col === key) { th.setAttribute('aria-sort', sortDir > 0 ? 'ascending' : 'descending'); }
      else { th.removeAttribute('aria-sort'); }
    });
  }

  function reveal(id) {
    var tb = document.getElementById(id);
    if (!tb || !tb.classList.contains('claim')) { return; }
    if (tb.hidden) { resetFilters(); }
    setOpen(tb, true);
    tb.scrollIntoView({block: 'start'});
    tb.querySelector('button.toggle').focus({preventScroll: true});
  }

  function resetFilters() {
    q.value = '';
    selects.forEach(function (s) { s.value = ''; });
    vboxes.forEach(function (b) { b.checked = true; });
    if (changedOnly) { changedOnly.checked = false; }
    apply();
  }

  document.getElementById('filters').addEventListener('submit', function (e) { e.preventDefault(); });
  q.addEventListener('input', apply);
  selects.forEach(function (s) { s.addEventListener('change', apply); });
  vboxes.forEach(function (b) { b.addEventListener('change', apply); });
  if (changedOnly) { changedOnly.addEventListener('change', apply); }
  document.getElementById('v-all').addEventListener('click', function () {
    vboxes.forEach(function (b) { b.checked = true; }); apply(); });
  document.getElementById('v-none').addEventListener('click', function () {
    vboxes.forEach(function (b) { b.checked = false; }); apply(); });
  document.getElementById('reset').addEventListener('click', resetFilters);
  document.getElementById('expand-all').addEventListener('click', function () {
    bodies.forEach(function (tb) { if (!tb.hidden) { setOpen(tb, true); } }); });
  document.getElementById('collapse-all').addEventListener('click', function () {
    bodies.forEach(function (tb) { setOpen(tb, false); }); });

  table.addEventListener('click', function (e) {
    var sb = e.target.closest('button.sort');
    if (sb) { sortBy(sb.dataset.sort); return; }
    var tg = e.target.closest('button.toggle');
    if (tg) { var tb = tg.closest('tbody'); setOpen(tb, tg.getAttribute('aria-expanded') !== 'true'); }
  });
  table.addEventListener('keydown', function (e) {
    var tg = e.target.closest && e.target.closest('button.toggle');
    if (!tg || (e.key !== 'ArrowDown' && e.key !== 'ArrowUp')) { return; }
    var visible = Array.prototype.slice.call(table.tBodies).filter(function (tb) { return !tb.hidden; });
    var i = visible.indexOf(tg.closest('tbody'));
    var next = visible[i + (e.key === 'ArrowDown' ? 1 : -1)];
    if (next) { e.preventDefault(); next.querySelector('button.toggle').focus(); }
  });
  document.addEventListener('click', function (e) {
    var a = e.target.closest('a[href^="#c-"]');
    if (a) { e.preventDefault(); reveal(a.getAttribute('href').slice(1)); }
  });
  window.addEventListener('hashchange', function () { reveal(location.hash.slice(1)); });
  document.documentElement.classList.add('js');
  apply();
  if (location.hash.length > 1) { reveal(location.hash.slice(1)); }
})();
(function () {
  'use strict';
  // The seed documents: a unit link opens the panel with its claims (or its no-claim reason) right after the
  // block it sits in; Escape or the close button returns to the unit. Without JavaScript the links jump to the
  // panels, which the noscript stylesheet shows under each document.
  var seeds = document.getElementById('seeds');
  if (!seeds) { return; }
  function panelOf(u) { return document.getElementById(u.getAttribute('aria-controls')); }
  function closeUnit(u, focusUnit) {
    var p = panelOf(u);
    if (p) { p.hidden = true; }
    u.setAttribute('aria-expanded', 'false');
    u.classList.remove('sel');
    if (focusUnit) { u.focus(); }
  }
  function openUnit(u) {
    var doc = u.closest('.seed-doc');
    Array.prototype.forEach.call(doc.querySelectorAll('a.unit[aria-expanded=true]'), function (o) {
      if (o !== u) { closeUnit(o, false); }
    });
    var p = panelOf(u);
    if (!p) { return; }
    var block = u.closest('.sd-block');
    if (block) { block.parentNode.insertBefore(p, block.nextSibling); }
    p.hidden = false;
    u.setAttribute('aria-expanded', 'true');
    u.classList.add('sel');
    p.focus({preventScroll: true});
    p.scrollIntoView({block: 'nearest'});
  }
  function showUnit(id) {
    var u = document.getElementById(id);
    if (!u || !u.classList.contains('unit')) { return; }
    var d = u.closest('details');
    if (d) { d.open = true; }
    u.scrollIntoView({block: 'center'});
    if (u.getAttribute('aria-expanded') !== 'true') { openUnit(u); }
    u.focus({preventScroll: true});
  }
  seeds.addEventListener('click', function (e) {
    var c = e.target.closest('button.up-close');
    if (c) {
      var owner = document.getElementById(c.dataset.close);
      if (owner) { closeUnit(owner, true); }
      return;
    }
    var u = e.target.closest('a.unit');
    if (u && u.id) {
      e.preventDefault();
      if (u.getAttribute('aria-expanded') === 'true') { closeUnit(u, true); } else { openUnit(u); }
    }
  });
  seeds.addEventListener('keydown', function (e) {
    if (e.key !== 'Escape') { return; }
    var p = e.target.closest('.unit-panel');
    if (!p) { return; }
    var u = seeds.querySelector('a.unit[aria-controls="' + p.id + '"]');
    if (u) { e.preventDefault(); closeUnit(u, true); }
  });
  document.addEventListener('click', function (e) {
    var a = e.target.closest('a.unit-link, a.up-back');
    if (a) { e.preventDefault(); showUnit(a.getAttribute('href').slice(1)); }
  });
  window.addEventListener('hashchange', function () {
    if (location.hash.indexOf('#u-') === 0) { showUnit(location.hash.slice(1)); }
  });
  if (location.hash.indexOf('#u-') === 0) { showUnit(location.hash.slice(1)); }
})();
