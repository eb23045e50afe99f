/*
 * The review UI's drawing: a line diff (longest common subsequence) laid
 * out side by side, a lineage graph and line charts drawn as SVG. Every
 * text goes in with textContent: nothing here parses HTML.
 */
'use strict';
(function () {
  var SVGNS = 'http://www.w3.org/2000/svg';

  /*
   * The LCS line diff of a and b (arrays of lines): a list of
   * {op: '=', '-', '+', a: index or -1, b: index or -1}. Memory is
   * O(n*m); a file over 4000 lines a side falls back to "all changed".
   */
  function diffLines(a, b) {
    var n = a.length, m = b.length, ops = [], i, j;
    if (n * m > 16000000) {
      for (i = 0; i < n; i++) ops.push({ op: '-', a: i, b: -1 });
      for (j = 0; j < m; j++) ops.push({ op: '+', a: -1, b: j });
      return ops;
    }
    var w = m + 1, t = new Uint32Array((n + 1) * w);
    for (i = n - 1; i >= 0; i--)
      for (j = m - 1; j >= 0; j--)
        t[i * w + j] = a[i] === b[j] ? t[(i + 1) * w + j + 1] + 1
                                     : Math.max(t[(i + 1) * w + j], t[i * w + j + 1]);
    i = 0; j = 0;
    while (i < n && j < m) {
      if (a[i] === b[j]) { ops.push({ op: '=', a: i, b: j }); i++; j++; }
      else if (t[(i + 1) * w + j] >= t[i * w + j + 1]) { ops.push({ op: '-', a: i, b: -1 }); i++; }
      else { ops.push({ op: '+', a: -1, b: j }); j++; }
    }
    for (; i < n; i++) ops.push({ op: '-', a: i, b: -1 });
    for (; j < m; j++) ops.push({ op: '+', a: -1, b: j });
    return ops;
  }

  function splitLines(s) {
    s = String(s || '');
    if (s.endsWith('\n')) s = s.slice(0, -1);
    return s === '' ? [] : s.split('\n');
  }

  function td(cls, text) {
    var c = document.createElement('td');
    if (cls) c.className = cls;
    c.textContent = text;
    return c;
  }

  /*
   * A side-by-side table of the diff of left and right: a run of deletions
   * beside the run of insertions that follows it, equal lines on both sides.
   */
  function diffTable(left, right, clean, captions) {
    var a = splitLines(left), b = splitLines(right), ops = diffLines(a, b);
    var table = document.createElement('table'), body = document.createElement('tbody');
    var cap = document.createElement('caption'), head = document.createElement('thead');
    var hr = document.createElement('tr'), k = 0, adds = 0, dels = 0;
    table.className = 'diff';
    cap.className = 'muted';
    table.appendChild(cap);
    ['', captions[0], '', captions[1]].forEach(function (h) {
      var th = document.createElement('th');
      th.textContent = h;
      hr.appendChild(th);
    });
    head.appendChild(hr);
    table.appendChild(head);
    while (k < ops.length) {
      if (ops[k].op === '=') {
        var r = document.createElement('tr');
        r.appendChild(td('n', String(ops[k].a + 1)));
        r.appendChild(td('', clean(a[ops[k].a])));
        r.appendChild(td('n', String(ops[k].b + 1)));
        r.appendChild(td('', clean(b[ops[k].b])));
        body.appendChild(r);
        k++;
        continue;
      }
      var d = [], p = [];
      while (k < ops.length && ops[k].op === '-') d.push(ops[k++].a);
      while (k < ops.length && ops[k].op === '+') p.push(ops[k++].b);
      dels += d.length; adds += p.length;
      for (var x = 0; x < Math.max(d.length, p.length); x++) {
        var row = document.createElement('tr');
        row.appendChild(td('n', x < d.length ? String(d[x] + 1) : ''));
        row.appendChild(x < d.length ? td('del', clean(a[d[x]])) : td('gap', ''));
        row.appendChild(td('n', x < p.length ? String(p[x] + 1) : ''));
        row.appendChild(x < p.length ? td('add', clean(b[p[x]])) : td('gap', ''));
        body.appendChild(row);
      }
    }
    cap.textContent = dels + ' line(s) removed, ' + adds + ' added';
    table.appendChild(body);
    return { table: table, adds: adds, dels: dels };
  }

  function el(name, attrs, text) {
    var e = document.createElementNS(SVGNS, name);
    Object.keys(attrs || {}).forEach(function (k) { e.setAttribute(k, String(attrs[k])); });
    if (text !== undefined) e.textContent = text;
    return e;
  }

  function svgRoot(w, h, cls, label) {
    var s = el('svg', { viewBox: '0 0 ' + w + ' ' + h, width: w, height: h, role: 'img', class: cls });
    s.appendChild(el('title', {}, label));
    return s;
  }

  /*
   * Versions as a tree: nodes {id, label, parent, current}; each node's
   * column is its depth, its row the order it comes in; an edge from parent.
   */
  function lineageGraph(nodes, label) {
    var byId = {}, depth = {}, rows = {}, cols = [], W = 150, H = 46;
    nodes.forEach(function (n) { byId[n.id] = n; });
    function d(n, seen) {
      if (depth[n.id] !== undefined) return depth[n.id];
      if (!n.parent || !byId[n.parent] || seen[n.id]) return (depth[n.id] = 0);
      seen[n.id] = 1;
      return (depth[n.id] = d(byId[n.parent], seen) + 1);
    }
    nodes.forEach(function (n) {
      var c = d(n, {});
      cols[c] = (cols[c] || 0) + 1;
      rows[n.id] = cols[c] - 1;
    });
    var maxRows = Math.max.apply(null, cols.concat([1]));
    var w = Math.max(cols.length, 1) * W + 20, h = maxRows * H + 20;
    var s = svgRoot(w, h, 'graph', label);
    function pos(n) { return { x: 10 + depth[n.id] * W, y: 10 + rows[n.id] * H }; }
    nodes.forEach(function (n) {
      if (n.parent && byId[n.parent]) {
        var p = pos(byId[n.parent]), q = pos(n);
        s.appendChild(el('line', { x1: p.x + 110, y1: p.y + 15, x2: q.x, y2: q.y + 15,
                                   stroke: '#8791a0', 'stroke-width': 1.5 }));
      }
    });
    nodes.forEach(function (n) {
      var p = pos(n), g = el('g', { class: 'node' });
      g.appendChild(el('rect', { x: p.x, y: p.y, width: 110, height: 30, rx: 5,
                                 fill: n.current ? '#dbe8fb' : '#fff',
                                 stroke: n.current ? '#1f5fbf' : '#8791a0',
                                 'stroke-width': n.current ? 2.5 : 1 }));
      g.appendChild(el('text', { x: p.x + 8, y: p.y + 19 }, n.label));
      s.appendChild(g);
    });
    return s;
  }

  /*
   * A line chart of points {x: number, y: number, mark: 'ok'|'bad'|''} with
   * an optional horizontal reference line {y, label}. xfmt/yfmt format ticks.
   */
  function lineChart(points, opt) {
    var w = opt.width || 640, h = opt.height || 240, L = 60, R = 16, T = 14, B = 34;
    var s = svgRoot(w, h, 'chart', opt.label);
    var xs = points.map(function (p) { return p.x; }), ys = points.map(function (p) { return p.y; });
    if (opt.ref) ys.push(opt.ref.y);
    var x0 = Math.min.apply(null, xs), x1 = Math.max.apply(null, xs);
    var y0 = Math.min.apply(null, ys), y1 = Math.max.apply(null, ys);
    if (x0 === x1) { x0 -= 1; x1 += 1; }
    if (y0 === y1) { y0 -= 1; y1 += 1; }
    var pad = (y1 - y0) * 0.08; y0 -= pad; y1 += pad;
    function X(v) { return L + (v - x0) / (x1 - x0) * (w - L - R); }
    function Y(v) { return T + (1 - (v - y0) / (y1 - y0)) * (h - T - B); }
    s.appendChild(el('line', { x1: L, y1: h - B, x2: w - R, y2: h - B, stroke: '#5b6472' }));
    s.appendChild(el('line', { x1: L, y1: T, x2: L, y2: h - B, stroke: '#5b6472' }));
    for (var i = 0; i <= 4; i++) {
      var yv = y0 + (y1 - y0) * i / 4, xv = x0 + (x1 - x0) * i / 4;
      s.appendChild(el('text', { x: 4, y: Y(yv) + 4 }, (opt.yfmt || fmt)(yv)));
      s.appendChild(el('text', { x: X(xv) - 14, y: h - B + 16 }, (opt.xfmt || fmt)(xv)));
    }
    if (opt.ref) {
      s.appendChild(el('line', { x1: L, y1: Y(opt.ref.y), x2: w - R, y2: Y(opt.ref.y),
                                 stroke: '#8a5a00', 'stroke-dasharray': '5 4' }));
      s.appendChild(el('text', { x: w - R - 90, y: Y(opt.ref.y) - 4 }, opt.ref.label));
    }
    if (points.length > 1) {
      s.appendChild(el('polyline', { points: points.map(function (p) { return X(p.x) + ',' + Y(p.y); }).join(' '),
                                     fill: 'none', stroke: '#1f5fbf', 'stroke-width': 2 }));
    }
    points.forEach(function (p) {
      var c = el('circle', { cx: X(p.x), cy: Y(p.y), r: 4.5,
                             fill: p.mark === 'ok' ? '#1b7a3a' : p.mark === 'bad' ? '#b3261e' : '#1f5fbf' });
      if (p.title) c.appendChild(el('title', {}, p.title));
      s.appendChild(c);
    });
    s.appendChild(el('text', { x: L, y: h - 4 }, opt.xlabel || ''));
    return s;
  }

  function fmt(v) {
    var a = Math.abs(v);
    return a >= 1000 ? v.toFixed(0) : a >= 10 ? v.toFixed(1) : v.toFixed(3);
  }

  window.ADDraw = { diffLines: diffLines, diffTable: diffTable, lineageGraph: lineageGraph,
                    lineChart: lineChart, splitLines: splitLines };
})();
