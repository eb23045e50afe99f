/*
 * The review UI: hash routing over the /v1 API with the reviewer's bearer
 * token, kept in this tab's sessionStorage only (never in a URL, never in
 * localStorage). Every text from the API is stored text, so hostile: it
 * goes in with textContent, never parsed as HTML, with control characters and
 * bidirectional overrides shown as \uXXXX escapes.
 *
 * Sections: helpers; the API; login; pages (queue, candidate, mutation,
 * skills, skill, agents, agent, research, session, settings, live feed);
 * the router.
 */
'use strict';
(function () {
  var KEY = 'autodev.token';
  var state = { role: '', feed: null, gen: 0 };
  var main = document.getElementById('main');

  /* ---- helpers ---- */

  /* C0/C1 controls (but tab and newline), DEL and bidi overrides, escaped visibly. */
  function clean(v) {
    return String(v === null || v === undefined ? '' : v).replace(
      /[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u200e\u200f\u202a-\u202e\u2066-\u2069]/g,
      function (c) { return '\\u' + ('000' + c.charCodeAt(0).toString(16)).slice(-4); });
  }

  /* h('tag.class', {attr}, children...): children are nodes or text (cleaned). */
  function h(spec, attrs) {
    var parts = spec.split('.'), e = document.createElement(parts[0]);
    if (parts.length > 1) e.className = parts.slice(1).join(' ');
    Object.keys(attrs || {}).forEach(function (k) {
      var v = attrs[k];
      if (v === undefined || v === null || v === false) return;
      if (k.slice(0, 2) === 'on') e.addEventListener(k.slice(2), v);
      else if (k === 'text') e.textContent = clean(v);
      else e.setAttribute(k, v === true ? '' : String(v));
    });
    for (var i = 2; i < arguments.length; i++) add(e, arguments[i]);
    return e;
  }
  function add(e, c) {
    if (c === null || c === undefined || c === false) return;
    if (Array.isArray(c)) { c.forEach(function (x) { add(e, x); }); return; }
    e.appendChild(typeof c === 'object' ? c : document.createTextNode(clean(c)));
  }
  function clear(e) { while (e.firstChild) e.removeChild(e.firstChild); }
  function when(t) { return t ? clean(t).replace('T', ' ').replace(/\.\d+Z?$|Z$/, '') : ''; }
  function num(v, d) { return typeof v === 'number' ? v.toFixed(d === undefined ? 3 : d) : '—'; }
  function json(v) { return JSON.stringify(v, null, 2); }
  function link(href, text) { return h('a', { href: href }, text); }
  function kv(pairs) {
    var dl = h('dl.kv');
    pairs.forEach(function (p) {
      if (p[1] === undefined) return;
      add(dl, [h('dt', {}, p[0]), h('dd', {}, p[1] === null ? '—' : p[1])]);
    });
    return dl;
  }
  function table(cols, rows, empty) {
    if (!rows.length) return h('p.muted', {}, empty || 'None.');
    return h('table', {}, h('thead', {}, h('tr', {}, cols.map(function (c) { return h('th', { scope: 'col' }, c); }))),
             h('tbody', {}, rows.map(function (r) { return h('tr', {}, r.map(function (c) { return h('td', {}, c); })); })));
  }
  function card(title, body) {
    return h('section.card', { 'aria-label': title }, h('h2', {}, title), body);
  }
  function say(msg, kind) {
    var s = document.getElementById('status');
    clear(s);
    if (msg) s.appendChild(h(kind === 'ok' ? 'p.notice' : 'p.error', {}, msg));
  }
  function page(title) {
    clear(main);
    var h1 = h('h1', { tabindex: '-1' }, title);
    main.appendChild(h1);
    return h1;
  }
  function reviewer() { return state.role === 'admin' || state.role === 'reviewer'; }

  /* ---- the API ---- */

  function ApiError(status, code, message) {
    this.status = status; this.code = code; this.message = message;
  }
  function token() { return sessionStorage.getItem(KEY); }

  function api(method, path, body) {
    var headers = { Authorization: 'Bearer ' + token() }, init = { method: method, headers: headers, cache: 'no-store' };
    if (body !== undefined) { headers['Content-Type'] = 'application/json'; init.body = JSON.stringify(body); }
    return fetch(path, init).then(function (r) {
      return r.text().then(function (t) {
        var j = null;
        try { j = t ? JSON.parse(t) : null; } catch (e) { j = null; }
        if (r.status === 401) { logout('Your token was refused (401): log in again.'); throw new ApiError(401, 'unauthorized', 'unauthorized'); }
        if (!r.ok) {
          var e = j && j.error ? j.error : { code: String(r.status), message: t.slice(0, 200) };
          throw new ApiError(r.status, e.code, e.message);
        }
        return j;
      });
    });
  }
  function fail(e) {
    if (e && e.status === 401) return;
    say(e instanceof ApiError ? e.message + ' (' + e.status + ')' : String(e));
  }

  /* ---- login ---- */

  function logout(msg) {
    sessionStorage.removeItem(KEY);
    state.role = '';
    stopFeed();
    document.getElementById('top').hidden = true;
    if (location.hash !== '#/login') history.replaceState(null, '', '#/login');
    showLogin(msg);
  }

  function showLogin(msg) {
    stopFeed();
    document.getElementById('top').hidden = true;
    say('');
    page('Log in');
    var input = h('input', { id: 'token', type: 'password', autocomplete: 'off', required: true,
                             'aria-describedby': 'token-help', spellcheck: 'false' });
    var err = h('p', { role: 'alert', id: 'login-error' }, msg || '');
    if (msg) err.className = 'error';
    var form = h('form.login', { id: 'login-form' },
      h('label', { for: 'token' }, 'API token (reviewer or admin)'), input,
      h('p.muted', { id: 'token-help' }, 'Kept in this tab only (sessionStorage), cleared on log out. Make one with: autodev token create --role reviewer'),
      h('div.actions', {}, h('button.primary', { type: 'submit' }, 'Log in')), err);
    form.addEventListener('submit', function (ev) {
      ev.preventDefault();
      var t = input.value.trim();
      if (!t) { err.className = 'error'; err.textContent = 'A token is needed.'; return; }
      sessionStorage.setItem(KEY, t);
      whoami().then(function () {
        if (!location.hash || location.hash === '#/login') location.hash = '#/queue';
        else route();
      }, function (e) {
        if (e && e.status !== 401) { err.className = 'error'; err.textContent = clean(e.message || String(e)); }
      });
    });
    main.appendChild(form);
    input.focus();
  }

  /*
   * The token's role, as the server says (GET /v1/me). The page is for
   * review: an agent's token may read but not review, so it is refused here
   * with a clear word rather than failing on the first button.
   */
  function whoami() {
    return api('GET', '/v1/me').then(function (j) {
      if (j.role !== 'reviewer' && j.role !== 'admin') {
        var e = new Error('This is an ' + clean(j.role) + ' token: reviewing needs a reviewer or admin token.');
        e.status = 403;
        sessionStorage.removeItem(KEY);
        throw e;
      }
      state.role = j.role;
      document.getElementById('top').hidden = false;
      document.getElementById('who').textContent = 'role: ' + state.role;
      counts();
    });
  }

  function counts() {
    Promise.all([api('GET', '/v1/candidates?status=validated&limit=1000'),
                 api('GET', '/v1/mutations?review=pending&limit=1000')]).then(function (r) {
      var c = pendingCandidates(r[0].items).length, m = r[1].items.length;
      var el = document.getElementById('count-queue');
      el.textContent = String(c + m);
      el.setAttribute('aria-label', c + ' candidates and ' + m + ' mutations waiting for review');
      el.title = c + ' candidates, ' + m + ' mutations';
    }, fail);
  }
  function pendingCandidates(items) {
    return items.filter(function (c) { return c.review_status === 'pending' || !c.review_status; });
  }

  /* A reason form: the reason is required, here and by the server. */
  function rejectForm(id, onReject) {
    var ta = h('textarea', { id: id, required: true, 'aria-required': 'true' });
    var btn = h('button.danger', { type: 'submit' }, 'Reject');
    var f = h('form', {}, h('label', { for: id }, 'Reason for rejecting (required)'), ta, h('div.actions', {}, btn));
    f.addEventListener('submit', function (ev) {
      ev.preventDefault();
      var reason = ta.value.trim();
      if (!reason) { say('A rejection needs a reason.'); ta.focus(); return; }
      btn.disabled = true;
      onReject(reason).then(null, function (e) { btn.disabled = false; fail(e); });
    });
    return f;
  }

  /* ---- queue ---- */

  function queuePage() {
    page('Review queue');
    return Promise.all([api('GET', '/v1/candidates?status=validated&limit=200'),
                        api('GET', '/v1/mutations?review=pending&limit=200')]).then(function (r) {
      var cs = pendingCandidates(r[0].items), ms = r[1].items;
      main.appendChild(h('p', { id: 'queue-counts' }, cs.length + ' candidate(s) and ' + ms.length + ' mutation(s) waiting, newest first.'));
      main.appendChild(card('Skill candidates (' + cs.length + ')', table(['Created', 'Skill', 'Description', 'Status', 'Risk'],
        cs.map(function (c) {
          return [when(c.created_at), link('#/candidate/' + encodeURIComponent(c.id), c.skill_name || c.id),
                  c.skill_description || '', c.status, num(c.risk_score, 2)];
        }), 'No candidate waits for review.')));
      main.appendChild(card('Mutations (' + ms.length + ')', table(['Created', 'Skill', 'Operator', 'Decision', 'Fitness Δ', 'Risk'],
        ms.map(function (m) {
          return [when(m.created_at), link('#/mutation/' + encodeURIComponent(m.id), m.skill + ' #' + m.mutant_index),
                  m.operator || m.proposer || '', m.decision || '', num(m.fitness_delta), m.risk_level || ''];
        }), 'No mutation waits for review.')));
      counts();
    });
  }

  /* ---- candidate ---- */

  function candidatePage(id) {
    page('Candidate');
    return api('GET', '/v1/candidates/' + encodeURIComponent(id)).then(function (c) {
      var fp = c.failure_pattern || {}, v = c.validation_result || {};
      page('Candidate: ' + clean(c.skill_name || c.id));
      main.appendChild(card('Summary', kv([['Description', c.skill_description], ['Status', c.status],
        ['Review', c.review_status], ['Reviewed by', c.reviewed_by], ['Reason', c.reason],
        ['Created', when(c.created_at)], ['Fitness', num(c.fitness_score)], ['Risk score', num(c.risk_score, 2)]])));
      main.appendChild(card('Code', h('pre', { id: 'cand-code' }, h('code', {}, c.generated_code || ''))));
      main.appendChild(card('Failure pattern', [
        kv([['Task', fp.task], ['Task kind', fp.task_kind], ['Error type', fp.error_type],
            ['Tools attempted', (fp.tools_attempted || []).join(', ')], ['Episodes', (fp.episode_ids || []).length]]),
        h('h3', {}, 'Errors'), h('ul', {}, (fp.errors || []).map(function (e) { return h('li', {}, h('code', {}, typeof e === 'string' ? e : json(e))); })),
        h('h3', {}, 'Examples'),
        table(['Input', 'Expected'], (fp.examples || []).map(function (x) {
          return [h('code', {}, json(x.input)), h('code', {}, x.expected === undefined ? '—' : json(x.expected))];
        }), 'No examples.')]));
      main.appendChild(card('Validation', [
        kv([['Summary', v.summary], ['Passed', (v.passed !== undefined ? v.passed + ' of ' + v.total : undefined)],
            ['Held out', v.held_out], ['Warnings', (v.warnings || []).map(String).join('; ') || null],
            ['Risk', v.risk ? (v.risk.level || '') + ' ' + (v.risk.reasons ? '(' + v.risk.reasons.join('; ') + ')' : '') : undefined]]),
        table(['Check', 'Result', 'Error'], (v.checks || []).map(function (k) {
          return [k.name, h(k.ok ? 'span.ok' : 'span.bad', {}, k.ok ? 'passed' : 'failed'), k.error || ''];
        }), 'No checks ran.')]));
      main.appendChild(card('Proposer', kv([['Proposer', fp.proposer === 'synth' ? 'synthesis by example' : fp.proposer],
        ['Model', fp.model ? (fp.provider ? fp.provider + ' / ' : '') + fp.model : undefined],
        ['Tokens', fp.tokens], ['Cost (USD)', typeof fp.cost_usd === 'number' ? fp.cost_usd.toFixed(4) : undefined],
        ['Synthesis', fp.synth_summary], ['Made from', fp.made_from]])));
      var input = h('textarea', { id: 'try-input' }, json(fp.examples && fp.examples[0] ? fp.examples[0].input : {}));
      var out = h('pre', { id: 'try-output', 'aria-live': 'polite' }, '');
      var tryBtn = h('button', { type: 'submit', disabled: !reviewer() }, 'Run in sandbox');
      var tf = h('form', {}, h('label', { for: 'try-input' }, 'Input (JSON object)'), input, h('div.actions', {}, tryBtn), h('h3', {}, 'Result'), out);
      tf.addEventListener('submit', function (ev) {
        ev.preventDefault();
        var body;
        try { body = JSON.parse(input.value); } catch (e) { say('The input is not JSON: ' + e.message); input.focus(); return; }
        out.textContent = 'running…';
        api('POST', '/v1/candidates/' + encodeURIComponent(c.id) + '/test', { input: body }).then(function (r) {
          out.textContent = clean((r.success ? 'ok' : 'failed: ' + r.status) + ' in ' + r.wall_ms + ' ms\n' + json(r.output) + (r.error ? '\n' + r.error : ''));
        }, function (e) { out.textContent = ''; fail(e); });
      });
      main.appendChild(card('Test in sandbox', tf));
      var open = c.status === 'validated' && (c.review_status === 'pending' || !c.review_status);
      var approve = h('button.primary', { type: 'button', id: 'approve', disabled: !open || !reviewer() }, 'Approve: add to the catalog');
      approve.addEventListener('click', function () {
        approve.disabled = true;
        api('POST', '/v1/candidates/' + encodeURIComponent(c.id) + '/approve', {}).then(function (r) {
          say('Approved: skill ' + clean(r.skill) + ' ' + clean(r.semver) + ' is in the catalog.', 'ok');
          location.hash = '#/skill/' + encodeURIComponent(r.skill);
        }, function (e) { approve.disabled = false; fail(e); });
      });
      main.appendChild(card('Decision', open ? [h('div.actions', {}, approve), rejectForm('reject-reason', function (reason) {
        return api('POST', '/v1/candidates/' + encodeURIComponent(c.id) + '/reject', { reason: reason }).then(function () {
          say('Rejected ' + clean(c.skill_name) + '.', 'ok');
          location.hash = '#/queue';
        });
      })] : h('p.muted', {}, 'Not open for review (' + c.status + ', ' + (c.review_status || '') + ').')));
    });
  }

  /* ---- mutation ---- */

  function mutationPage(id) {
    page('Mutation');
    return api('GET', '/v1/mutations/' + encodeURIComponent(id)).then(function (m) {
      var sig = m.proxy_signals || {}, risk = m.risk || {};
      page('Mutation of ' + clean(m.skill) + ' #' + m.mutant_index);
      main.appendChild(card('Summary', kv([['Skill', link('#/skill/' + encodeURIComponent(m.skill), m.skill)],
        ['Parent version', m.parent_semver], ['Operator', m.operator], ['Proposer', m.proposer],
        ['Trigger', m.trigger], ['Status', m.status], ['Decision', m.decision], ['Why', m.decision_reason],
        ['Review', m.review_status], ['Reviewed by', m.reviewed_by], ['Reason', m.reason], ['Created', when(m.created_at)]])));
      var d = window.ADDraw.diffTable(m.parent_code || '', m.mutated_code || '', clean,
                                      ['parent ' + clean(m.parent_semver || ''), 'mutant']);
      d.table.id = 'diff';
      main.appendChild(card('Diff: parent and mutant', d.table));
      var delta = typeof m.fitness_delta === 'number' ? m.fitness_delta : null;
      main.appendChild(card('Signals and fitness', [
        kv([['Fitness delta', delta === null ? null : h(delta > 0 ? 'span.ok' : 'span.bad', {}, (delta > 0 ? '+' : '') + delta.toFixed(3))],
            ['Noise floor', typeof sig.noise_floor_pct === 'number' ? sig.noise_floor_pct + ' %' : undefined],
            ['Repeats', sig.repeats]]),
        table(['Signal', 'Value'], Object.keys(sig).filter(function (k) { return k !== 'noise_floor_pct' && k !== 'repeats'; }).map(function (k) {
          return [k, typeof sig[k] === 'object' ? h('code', {}, json(sig[k])) : String(sig[k])];
        }), 'No other signals.')]));
      main.appendChild(card('Patch risk', [kv([['Level', risk.level || m.risk_level], ['Score', num(risk.score !== undefined ? risk.score : m.risk_score, 2)]]),
        h('h3', {}, 'Reasons'), h('ul', { id: 'risk-reasons' }, (risk.reasons || []).map(function (r) { return h('li', {}, r); }))]));
      var open = m.review_status === 'pending';
      var approve = h('button.primary', { type: 'button', id: 'approve', disabled: !open || !reviewer() }, 'Approve: next version of ' + clean(m.skill));
      approve.addEventListener('click', function () {
        approve.disabled = true;
        api('POST', '/v1/mutations/' + encodeURIComponent(m.id) + '/approve', {}).then(function (r) {
          say('Approved: ' + clean(r.skill || m.skill) + ' ' + clean(r.semver || '') + ' is the current version.', 'ok');
          location.hash = '#/skill/' + encodeURIComponent(m.skill);
        }, function (e) { approve.disabled = false; fail(e); });
      });
      main.appendChild(card('Decision', open ? [h('div.actions', {}, approve), rejectForm('reject-reason', function (reason) {
        return api('POST', '/v1/mutations/' + encodeURIComponent(m.id) + '/reject', { reason: reason }).then(function () {
          say('Rejected the mutation.', 'ok');
          location.hash = '#/queue';
        });
      })] : h('p.muted', {}, 'Not open for review (' + (m.review_status || 'none') + ').')));
    });
  }

  /* ---- skills ---- */

  function skillsPage() {
    page('Skills');
    return api('GET', '/v1/skills?limit=1000').then(function (r) {
      main.appendChild(card('Catalog (' + r.items.length + ')', table(['Skill', 'Description', 'Status', 'Updated'],
        r.items.map(function (s) {
          return [link('#/skill/' + encodeURIComponent(s.name), s.name), s.description, s.status, when(s.updated_at)];
        }), 'The catalog is empty.')));
      main.lastChild.querySelector('table') && (main.lastChild.querySelector('table').id = 'skills');
    });
  }

  function skillPage(name) {
    page('Skill');
    var q = encodeURIComponent(name);
    return Promise.all([api('GET', '/v1/skills/' + q), api('GET', '/v1/skills/' + q + '/versions'),
                        api('GET', '/v1/mutations?skill=' + q + '&limit=1000').catch(function () { return { items: [] }; })]).then(function (r) {
      var s = r[0], vs = r[1].items || r[1], ms = r[2].items;
      page('Skill: ' + clean(s.name));
      main.appendChild(card('Summary', kv([['Description', s.description], ['Entry', s.entry_function],
        ['Status', s.status], ['Current version', s.version ? s.version.semver : null]])));
      main.appendChild(card('Versions', table(['Version', 'Origin', 'Created', 'Current', ''],
        vs.map(function (v) {
          var b = null;
          if (!v.current) {
            b = h('button', { type: 'button', disabled: !reviewer() }, 'Roll back to ' + clean(v.semver));
            b.addEventListener('click', function () {
              b.disabled = true;
              api('POST', '/v1/skills/' + q + '/rollback', { version: v.semver }).then(function () {
                say('Rolled ' + clean(s.name) + ' back to ' + clean(v.semver) + '.', 'ok');
                skillPage(name).catch(fail);
              }, function (e) { b.disabled = false; fail(e); });
            });
          }
          return [v.semver, v.origin, when(v.created_at), v.current ? h('strong', {}, 'current') : '', b];
        }))));
      main.lastChild.querySelector('table').id = 'versions';
      var byId = {};
      vs.forEach(function (v) { byId[v.id] = v; });
      main.appendChild(card('Lineage', window.ADDraw.lineageGraph(vs.map(function (v) {
        return { id: v.id, parent: v.parent_version_id, current: v.current, label: clean(v.semver) + ' · ' + clean(v.origin) };
      }), 'Lineage of ' + clean(s.name) + ': ' + vs.length + ' versions')));
      var pts = ms.filter(function (m) { return typeof m.fitness_delta === 'number'; }).map(function (m) {
        return { x: Date.parse(m.created_at) || 0, y: m.fitness_delta, mark: m.review_status === 'approved' || m.review_status === 'auto_approved' ? 'ok' : m.decision === 'lost' ? 'bad' : '',
                 title: clean(m.operator || '') + ' ' + m.fitness_delta + ' (' + clean(m.decision || '') + ')' };
      }).sort(function (a, b) { return a.x - b.x; });
      main.appendChild(card('Fitness over time', pts.length ? [window.ADDraw.lineChart(pts, {
        label: 'Fitness delta of each evaluated mutation of ' + clean(s.name) + ' over time', ref: { y: 0, label: 'parent' },
        xfmt: function (v) { return new Date(v).toISOString().slice(5, 16).replace('T', ' '); }, xlabel: 'evaluated mutations over time (green: promoted, red: lost)' })]
        : h('p.muted', {}, 'No evaluated mutation yet.')));
    });
  }

  /* ---- agents ---- */

  function agentsPage() {
    page('Agents');
    return api('GET', '/v1/agents?limit=1000').then(function (r) {
      main.appendChild(card('Agents (' + r.items.length + ')', table(['Agent', 'Maturity', 'Episodes', 'Created'],
        r.items.map(function (a) {
          return [link('#/agent/' + encodeURIComponent(a.name), a.name), a.maturity, a.total_episodes !== undefined ? a.total_episodes : '', when(a.created_at)];
        }), 'No agents.')));
    });
  }

  function agentPage(name) {
    page('Agent');
    var q = encodeURIComponent(name);
    return Promise.all([api('GET', '/v1/agents/' + q), api('GET', '/v1/agents/' + q + '/readiness')]).then(function (r) {
      var a = r[0], rd = r[1];
      page('Agent: ' + clean(a.name));
      main.appendChild(card('Maturity', kv([['Maturity', rd.maturity], ['Next level', rd.at_top ? 'at the top' : rd.next],
        ['Readiness', num(rd.score, 2)], ['Ready', rd.ready ? 'yes' : 'no'], ['Episodes', rd.episodes], ['Interventions', rd.interventions]])));
      main.appendChild(card('Readiness criteria', table(['Criterion', 'Value', 'Target', 'Met', 'Gap'],
        (rd.criteria || []).map(function (c) {
          return [c.name, num(c.value), c.op + ' ' + c.target, h(c.met ? 'span.ok' : 'span.bad', {}, c.met ? 'met' : 'not met'), c.gap || ''];
        }))));
      var g = h('button.primary', { type: 'button', id: 'graduate', disabled: !rd.ready || rd.at_top || !reviewer() }, 'Graduate to ' + clean(rd.next || '—'));
      g.addEventListener('click', function () {
        g.disabled = true;
        api('POST', '/v1/agents/' + q + '/graduate', {}).then(function (x) {
          say('Graduated ' + clean(a.name) + ' to ' + clean(x.to) + '.', 'ok');
          agentPage(name).catch(fail);
        }, function (e) { g.disabled = false; fail(e); });
      });
      main.appendChild(card('Graduate', [h('div.actions', {}, g), rd.ready ? null : h('p.muted', {}, 'Not ready: every criterion must be met.')]));
    });
  }

  /* ---- research ---- */

  function researchPage() {
    page('Research');
    return Promise.all([api('GET', '/v1/research/sessions'),
                        api('GET', '/v1/evolve/runs').catch(function (e) { return e.status === 404 || e.status === 405 ? null : { error: e }; })]).then(function (r) {
      var ss = r[0].items;
      main.appendChild(card('Autoresearch sessions (' + ss.length + ')', table(['Session', 'Metric', 'Status', 'Baseline', 'Best', 'Created'],
        ss.map(function (s) {
          return [link('#/research/' + encodeURIComponent(s.id), s.name || s.id), s.metric + ' (' + s.direction + ')', s.status,
                  num(s.baseline), num(s.best), when(s.created_at)];
        }), 'No autoresearch sessions.')));
      var ev = r[1];
      main.appendChild(card('Evolution runs', !ev ? h('p.muted', { id: 'evolve-none' }, 'None: this server has no evolution runs (research mode is not available).')
        : ev.error ? h('p.error', {}, ev.error.message)
        : table(['Run', 'Skill', 'State', 'Generation', 'Evaluations', 'Cost', 'Created'], (ev.items || []).map(function (x) {
            return [link('#/evolve/' + encodeURIComponent(x.id), x.id), x.skill || '', x.state || '', String(x.generation) + ' of ' + String(x.generations),
                    String(x.evaluations), '$' + (typeof x.usd === 'number' ? x.usd.toFixed(4) : '0'), when(x.created_at)];
          }), 'No evolution runs.')));
    });
  }

  function sessionPage(id) {
    page('Research session');
    return api('GET', '/v1/research/sessions/' + encodeURIComponent(id)).then(function (s) {
      var its = s.iterations || [], tokens = 0, usd = 0;
      its.forEach(function (it) {
        var d = it.detail || {};
        tokens += typeof d.tokens === 'number' ? d.tokens : 0;
        usd += typeof d.cost_usd === 'number' ? d.cost_usd : 0;
      });
      page('Research: ' + clean(s.name || s.id));
      main.appendChild(card('Session', kv([['Metric', s.metric + ' (' + s.direction + ' is better)'], ['Status', s.status],
        ['Baseline', num(s.baseline)], ['Best', num(s.best)], ['Noise', num(s.noise)], ['Best commit', s.best_commit],
        ['Kept', its.filter(function (i) { return i.decision === 'kept'; }).length + ' of ' + its.length],
        ['Cost', tokens + ' tokens, $' + usd.toFixed(4)]])));
      var pts = its.filter(function (i) { return typeof i.metric === 'number'; }).map(function (i) {
        return { x: i.seq, y: i.metric, mark: i.decision === 'kept' ? 'ok' : 'bad', title: '#' + i.seq + ' ' + clean(i.decision) };
      });
      main.appendChild(card('Metric curve', pts.length ? window.ADDraw.lineChart(pts, {
        label: clean(s.metric) + ' by iteration', ref: typeof s.baseline === 'number' ? { y: s.baseline, label: 'baseline' } : null,
        xfmt: function (v) { return v.toFixed(0); }, xlabel: 'iteration (green: kept, red: reverted)' }) : h('p.muted', {}, 'No measured iteration yet.')));
      main.appendChild(card('Edits', table(['#', 'Hypothesis', 'Metric', 'Decision', 'Gates', 'Commit'],
        its.map(function (i) {
          var gates = i.gates ? Object.keys(i.gates).map(function (k) { return k + ': ' + (i.gates[k] && i.gates[k].ok ? 'ok' : 'failed'); }).join(', ') : '';
          return [String(i.seq), i.hypothesis || '', num(i.metric), h(i.decision === 'kept' ? 'span.ok' : 'span.bad', {}, i.decision), gates, (i.commit || '').slice(0, 10)];
        }), 'No iterations.')));
    });
  }

  /* One evolution run: its numbers, the best fitness by generation, the best program. */
  function evolvePage(id) {
    page('Evolution run');
    return api('GET', '/v1/evolve/runs/' + encodeURIComponent(id)).then(function (r) {
      var p = r.params || {}, best = r.best || null, curve = r.curve || [];
      page('Evolution run of ' + clean(p.skill || r.skill_id));
      main.appendChild(card('Run', kv([['State', r.state], ['Generation', String(r.generation) + ' of ' + String(p.generations)],
        ['Evaluations', String(r.evaluations)], ['Programs', String(r.programs)], ['Elites', String((r.elites || []).length)],
        ['Cost', String(r.tokens) + ' tokens, $' + (typeof r.usd === 'number' ? r.usd.toFixed(4) : '0')],
        ['Stopped by', r.reason || ''], ['Created', when(r.created_at)]])));
      var pts = curve.filter(function (c) { return typeof c.best === 'number'; }).map(function (c) {
        return { x: c.generation, y: c.best, mark: 'ok', title: 'generation ' + c.generation + ': best ' + c.best + ' (' + c.evaluated + ' of ' + c.programs + ' evaluated)' };
      });
      main.appendChild(card('Best fitness by generation', pts.length ? window.ADDraw.lineChart(pts, {
        label: 'best fitness so far', xfmt: function (v) { return v.toFixed(0); }, xlabel: 'generation' })
        : h('p.muted', {}, 'No evaluated program yet.')));
      main.appendChild(card('Best program', best ? h('div', {},
        kv([['Fitness', num(best.fitness)], ['Generation', String(best.generation)], ['Island', String(best.island)]]),
        h('pre', { id: 'evolve-best' }, h('code', {}, best.code || ''))) : h('p.muted', {}, 'None yet.')));
    });
  }

  /* ---- settings ---- */

  /* The ranges the server holds settings to (src/store/settings.c); it checks them again. */
  var RANGES = {
    max_mutations_per_day: [1, 50], max_skill_candidates_per_day: [1, 20],
    llm_daily_token_cap: [0, 1000000000], llm_daily_cost_cap_cents: [0, 100000000],
    reflection_threshold: [2, 50], reflection_window: [2, 1000], reflection_window_hours: [1, 720],
    reflection_similarity_pct: [1, 100], evolution_latency_ms: [1, 3600000], evolution_tokens: [1, 1000000000],
    evolution_mutants: [1, 16], evolution_repeats: [3, 50], evolution_min_gain_pct: [1, 90],
    evolution_noise_k: [1, 10], evolution_test_inputs: [1, 200], evolution_background_skills: [1, 20],
    evolution_background_hours: [1, 720], fitness_weight_performance: [0, 100], fitness_weight_accuracy: [0, 100],
    fitness_weight_cost: [0, 100], fitness_weight_satisfaction: [0, 100],
    fitness_penalty_email_bounce_pct: [0, 100], fitness_penalty_error_signal_pct: [0, 100]
  };

  function settingsPage() {
    page('Settings');
    return api('GET', '/v1/settings').then(function (s) {
      var admin = state.role === 'admin', inputs = {};
      var toggles = h('div.settings-grid'), limits = h('div.settings-grid');
      Object.keys(s).forEach(function (k) {
        var v = s[k], id = 'set-' + k;
        if (typeof v === 'boolean') {
          inputs[k] = h('input', { type: 'checkbox', id: id, checked: v });
          toggles.appendChild(h('div.check', {}, inputs[k], h('label', { for: id }, k)));
        } else if (typeof v === 'number') {
          var rg = RANGES[k];
          inputs[k] = h('input', { type: 'number', id: id, value: String(v), step: '1', min: rg ? rg[0] : null, max: rg ? rg[1] : null });
          limits.appendChild(h('div', {}, h('label', { for: id }, k, ' ', h('span.range', {}, rg ? '(' + rg[0] + '–' + rg[1] + ')' : '')), inputs[k]));
        }
      });
      var save = h('button.primary', { type: 'submit', id: 'save-settings' }, 'Save changes');
      var fs = h('fieldset', { disabled: !admin }, h('legend', {}, admin ? 'auto_dev (admins may edit)' : 'auto_dev (read only: only admins may edit)'),
                 h('h2', {}, 'Toggles'), toggles, h('h2', {}, 'Limits'), limits, h('div.actions', {}, save));
      var form = h('form', { id: 'settings' }, fs);
      form.addEventListener('submit', function (ev) {
        ev.preventDefault();
        var patch = {}, bad = null;
        Object.keys(inputs).forEach(function (k) {
          var e = inputs[k];
          if (e.type === 'checkbox') { if (e.checked !== s[k]) patch[k] = e.checked; return; }
          var n = Number(e.value), rg = RANGES[k];
          if (e.value === '' || !Number.isInteger(n) || (rg && (n < rg[0] || n > rg[1]))) { bad = bad || e; return; }
          if (n !== s[k]) patch[k] = n;
        });
        if (bad) { say(bad.id.slice(4) + ' must be a whole number' + (RANGES[bad.id.slice(4)] ? ' in ' + RANGES[bad.id.slice(4)].join('..') : '') + '.'); bad.focus(); return; }
        if (!Object.keys(patch).length) { say('Nothing changed.', 'ok'); return; }
        save.disabled = true;
        api('PATCH', '/v1/settings', patch).then(function () {
          say('Saved: ' + Object.keys(patch).join(', ') + '.', 'ok');
          return settingsPage();
        }).then(null, function (e) { save.disabled = false; fail(e); });
      });
      main.appendChild(form);
    });
  }

  /* ---- live feed: SSE read with fetch (EventSource sends no Authorization header) ---- */

  function stopFeed() {
    if (state.feed) { state.feed.stopped = true; state.feed.ctl.abort(); clearTimeout(state.feed.timer); state.feed = null; }
  }

  function livePage() {
    page('Live feed');
    var list = h('ol.feed', { id: 'feed', 'aria-live': 'polite', reversed: true });
    var st = h('p.muted', { id: 'feed-state' }, 'connecting…');
    var filter = h('input', { type: 'text', id: 'feed-topic', placeholder: 'e.g. task.fail,skill.promoted' });
    var f = h('form', {}, h('label', { for: 'feed-topic' }, 'Topics (comma-separated; empty: all)'), filter,
              h('div.actions', {}, h('button', { type: 'submit' }, 'Listen')));
    f.addEventListener('submit', function (ev) { ev.preventDefault(); clear(list); connect(filter.value.trim(), null); });
    main.appendChild(card('Events', [f, st, list]));

    function show(ev) {
      var d = ev.data, p;
      try { p = JSON.parse(d); } catch (e) { p = d; }
      list.insertBefore(h('li', {}, h('span.topic', {}, ev.event || 'message'), h('span.pill', {}, '#' + ev.id), ' ',
        h('code', {}, typeof p === 'string' ? p : json(p.payload !== undefined ? p.payload : p))), list.firstChild);
      while (list.childNodes.length > 300) list.removeChild(list.lastChild);
    }

    function connect(topic, last) {
      stopFeed();
      var feed = { ctl: new AbortController(), last: last, stopped: false, timer: 0, tries: 0 };
      state.feed = feed;
      function open() {
        if (feed.stopped) return;
        var headers = { Authorization: 'Bearer ' + token(), Accept: 'text/event-stream' };
        if (feed.last) headers['Last-Event-ID'] = feed.last;
        fetch('/v1/events' + (topic ? '?topic=' + encodeURIComponent(topic) : ''), { headers: headers, signal: feed.ctl.signal, cache: 'no-store' }).then(function (r) {
          if (r.status === 401) { logout('Your token was refused (401): log in again.'); return; }
          if (!r.ok || !r.body) throw new Error('the event stream answered ' + r.status);
          feed.tries = 0;
          st.textContent = 'listening' + (feed.last ? ' (resumed after #' + feed.last + ')' : '');
          st.dataset.state = 'open';
          return read(r.body.getReader());
        }).then(retry, function (e) {
          if (!feed.stopped) { st.textContent = 'disconnected: ' + clean(e.message) + '; retrying'; retry(); }
        });
      }
      /* Parses the stream by the SSE rules: lines, fields, a blank line ends an event. */
      function read(reader) {
        var dec = new TextDecoder(), buf = '', ev = { data: [] };
        function pump() {
          return reader.read().then(function (x) {
            if (x.done || feed.stopped) return;
            buf += dec.decode(x.value, { stream: true });
            var lines = buf.split(/\r\n|\r|\n/);
            buf = lines.pop();
            lines.forEach(function (line) {
              if (line === '') {
                if (ev.data.length) {
                  var done = { id: ev.id, event: ev.event, data: ev.data.join('\n') };
                  if (ev.id !== undefined) feed.last = ev.id;
                  show(done);
                }
                ev = { data: [] };
                return;
              }
              if (line[0] === ':') return;
              var i = line.indexOf(':'), field = i < 0 ? line : line.slice(0, i), val = i < 0 ? '' : line.slice(i + 1);
              if (val[0] === ' ') val = val.slice(1);
              if (field === 'data') ev.data.push(val);
              else if (field === 'event') ev.event = val;
              else if (field === 'id') ev.id = val;
            });
            return pump();
          });
        }
        return pump();
      }
      function retry() {
        if (feed.stopped) return;
        feed.tries++;
        st.dataset.state = 'retrying';
        feed.timer = setTimeout(open, Math.min(1000 * feed.tries, 10000));
      }
      open();
    }
    connect('', null);
    return Promise.resolve();
  }

  /* ---- the router ---- */

  var routes = [
    [/^#\/queue$/, queuePage, 'queue'], [/^#\/candidate\/(.+)$/, candidatePage, 'queue'],
    [/^#\/mutation\/(.+)$/, mutationPage, 'queue'], [/^#\/skills$/, skillsPage, 'skills'],
    [/^#\/skill\/(.+)$/, skillPage, 'skills'], [/^#\/agents$/, agentsPage, 'agents'],
    [/^#\/agent\/(.+)$/, agentPage, 'agents'], [/^#\/research$/, researchPage, 'research'],
    [/^#\/research\/(.+)$/, sessionPage, 'research'], [/^#\/evolve\/(.+)$/, evolvePage, 'research'], [/^#\/settings$/, settingsPage, 'settings'],
    [/^#\/live$/, livePage, 'live']
  ];

  function route() {
    var hash = location.hash || '#/queue', gen = ++state.gen;
    if (!token()) { showLogin(''); return; }
    if (!state.role) { whoami().then(route, function (e) { if (e.status !== 401) showLogin(e.message); }); return; }
    stopFeed();
    counts();
    if (hash === '#/login') hash = '#/queue';
    var keep = document.getElementById('status').querySelector('.notice');
    if (!keep) say('');
    else setTimeout(function () { if (gen === state.gen) say(''); }, 8000);
    for (var i = 0; i < routes.length; i++) {
      var m = routes[i][0].exec(hash);
      if (!m) continue;
      document.querySelectorAll('nav a').forEach(function (a) {
        if (a.dataset.page === routes[i][2]) a.setAttribute('aria-current', 'page'); else a.removeAttribute('aria-current');
      });
      var done = routes[i][1](m[1] ? decodeURIComponent(m[1]) : undefined);
      done.then(function () {
        if (gen !== state.gen) return;
        var h1 = main.querySelector('h1');
        if (h1) h1.focus();
        main.dataset.ready = hash;
      }, fail);
      return;
    }
    page('Not found');
    main.appendChild(h('p', {}, 'No page ', h('code', {}, hash), '. ', link('#/queue', 'Go to the queue.')));
  }

  document.getElementById('logout').addEventListener('click', function () { logout('Logged out.'); });
  document.getElementById('skip').addEventListener('click', function (ev) { ev.preventDefault(); main.focus(); });
  window.addEventListener('hashchange', route);
  route();
})();
