// mt's dashboard: reads the daemon's JSON API (/api/...) and draws the job list, live curves
// (uPlot), the confusion matrix, misclassified examples and activations. Plain browser
// JavaScript, no build step. Every server string goes into the page as text, never as HTML.
'use strict';

// ---- Small helpers -----------------------------------------------------------------------

// el('div', {class: 'x'}, child, 'text', ...)
function el(tag, attrs, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (k === 'class') e.className = v;
    else if (k.startsWith('on')) e.addEventListener(k.slice(2), v);
    else if (k === 'dataset') Object.assign(e.dataset, v);
    else e.setAttribute(k, v);
  }
  for (const c of children) {
    if (c === null || c === undefined) continue;
    e.append(c instanceof Node ? c : String(c));
  }
  return e;
}

function clear(node) { while (node.firstChild) node.removeChild(node.firstChild); }
function $(id) { return document.getElementById(id); }
const num = (v) => (v === undefined || v === null || v === '' ? 0 : Number(v));
const pct = (f) => (100 * f).toFixed(2) + '%';

function since(ms) {
  const s = Math.max(0, (Date.now() - ms) / 1000);
  if (s < 60) return Math.round(s) + 's ago';
  if (s < 3600) return Math.round(s / 60) + 'm ago';
  if (s < 86400) return Math.round(s / 3600) + 'h ago';
  return Math.round(s / 86400) + 'd ago';
}

// The bearer token, when the daemon requires one: open the page once as /?token=TOKEN; it is
// kept for this tab only and removed from the address bar.
const TOKEN = (() => {
  const url = new URL(location.href);
  const t = url.searchParams.get('token');
  if (t) {
    sessionStorage.setItem('mt-token', t);
    url.searchParams.delete('token');
    history.replaceState(null, '', url.pathname + url.search + url.hash);
  }
  return sessionStorage.getItem('mt-token') || '';
})();

class ApiError extends Error {
  constructor(status, code, message) { super(message); this.status = status; this.code = code; }
}

async function api(path) {
  const headers = TOKEN ? {Authorization: 'Bearer ' + TOKEN} : {};
  const res = await fetch(path, {headers, cache: 'no-store'});
  let body = null;
  try { body = await res.json(); } catch (e) { /* not JSON */ }
  if (!res.ok) {
    const err = (body && body.error) || {};
    throw new ApiError(res.status, err.code || String(res.status), err.message || res.statusText);
  }
  return body;
}

function setStatus(text, bad) {
  const s = $('status');
  s.textContent = text;
  s.classList.toggle('bad', !!bad);
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// ---- Routing -----------------------------------------------------------------------------

let view = null;  // the current view's stop()

function route() {
  if (view) view.stop();
  const m = location.hash.match(/^#\/job\/([A-Za-z0-9_.-]+)/);
  $('list-view').hidden = !!m;
  $('job-view').hidden = !m;
  // #/job/ID?compare=ID2,ID3 opens the job with those runs overlaid (a link to share).
  const cmp = location.hash.match(/[?&]compare=([A-Za-z0-9_.,-]+)/);
  view = m ? new JobView(m[1], cmp ? cmp[1].split(',') : []) : new ListView();
}
window.addEventListener('hashchange', route);
window.addEventListener('DOMContentLoaded', route);

// ---- Job list ----------------------------------------------------------------------------

function progressOf(job) {
  const total = num(job.spec && job.spec.epochs);
  return total > 0 ? Math.min(1, num(job.epochs_done) / total) : 0;
}

class ListView {
  constructor() {
    this.stopped = false;
    this.loop();
  }
  stop() { this.stopped = true; }
  async loop() {
    while (!this.stopped) {
      try {
        const r = await api('/api/jobs');
        this.render(r.jobs);
        setStatus('updated ' + new Date().toLocaleTimeString());
      } catch (e) {
        setStatus(e.message, true);
      }
      await sleep(3000);
    }
  }
  render(jobs) {
    const body = $('jobs').querySelector('tbody');
    clear(body);
    $('jobs-empty').hidden = jobs.length > 0;
    for (const j of jobs) {
      const p = progressOf(j);
      body.append(el('tr', {},
        el('td', {}, el('a', {href: '#/job/' + j.id}, j.id)),
        el('td', {}, `${j.spec.task} / ${j.spec.model}`),
        el('td', {}, el('span', {class: 'state s-' + j.state.toLowerCase()}, j.state.toLowerCase())),
        el('td', {}, el('div', {class: 'mini-progress', title: pct(p)},
                        el('div', {style: `width:${(100 * p).toFixed(1)}%`})),
           ` ${num(j.epochs_done)}/${num(j.spec.epochs)} epochs`),
        el('td', {}, num(j.epochs_done) > 0 ?
                         `${pct(num(j.best_valid_accuracy))} (epoch ${num(j.best_epoch)})` : '–'),
        el('td', {title: new Date(num(j.created_unix_ms)).toLocaleString()},
           since(num(j.created_unix_ms)))));
    }
  }
}

// ---- One run's history ---------------------------------------------------------------------

// What the events of one job say, folded: the series for the curves, the latest confusion
// matrix, the latest batch progress.
class Run {
  constructor(id) {
    this.id = id;
    this.nextSeq = 1;
    this.progressVersion = 0;
    this.steps = [];      // [{step, epoch, value}] "train/loss" every few batches (persisted)
    this.epochs = new Map();  // epoch → EpochMetrics
    this.confusion = null;
    this.progress = null;
    this.state = '';
    this.finished = false;
  }

  add(r) {
    for (const e of r.events) this.addEvent(e);
    this.nextSeq = r.next_seq;
    this.finished = r.finished;
    if (r.progress && r.progress.progress) {
      this.progressVersion = r.progress_version;
      this.progress = r.progress.progress;  // the bar and its text; the curves use events
    }
  }

  addEvent(e) {
    if (e.state) this.state = e.state.state;
    if (e.epoch) {
      this.epochs.set(num(e.epoch.epoch), e.epoch);
      this.progress = null;
    }
    if (e.scalars) {
      for (const p of e.scalars.points || []) {
        if ((p.tag || '') !== 'train/loss') continue;
        const step = num(p.step);
        // A resumed job repeats its interrupted epoch: its points replace those from there on.
        while (this.steps.length && this.steps[this.steps.length - 1].step >= step) this.steps.pop();
        this.steps.push({step, epoch: num(p.epoch), value: num(p.value)});
      }
    }
    if (e.confusion) this.confusion = e.confusion;
  }

  // Training loss every few batches (the daemon's "train/loss" points, x in epochs).
  trainLoss() { return this.steps.map((p) => [p.epoch, p.value]); }
  perEpoch(field) {
    return [...this.epochs.values()]
        .filter((m) => m[field] !== undefined)
        .map((m) => [num(m.epoch), num(m[field])]);
  }
}

// Follows a job's events: long polls /events until the job's stream is finished.
async function follow(run, onUpdate, isStopped) {
  while (!isStopped()) {
    try {
      const wait = run.nextSeq === 1 ? 0 : 10000;
      const r = await api(`/api/jobs/${run.id}/events?from_seq=${run.nextSeq}` +
                          `&wait_ms=${wait}&progress_version=${run.progressVersion}`);
      if (isStopped()) return;
      run.add(r);
      onUpdate();
      if (r.finished && wait > 0) return;
      if (r.finished && run.state && ['SUCCEEDED', 'FAILED', 'CANCELLED', 'INTERRUPTED'].includes(run.state)) return;
      await sleep(250);  // at most four updates a second, however fast batches go
    } catch (e) {
      setStatus(e.message, true);
      await sleep(2000);
    }
  }
}

// ---- Charts ------------------------------------------------------------------------------

const COLORS = ['#2563eb', '#dc2626', '#059669', '#d97706', '#7c3aed', '#db2777', '#0891b2'];

// series: [{label, points: [[x, y], ...], color, dash, points_only}] → uPlot's aligned data.
function aligned(series) {
  const xs = [...new Set(series.flatMap((s) => s.points.map((p) => p[0])))].sort((a, b) => a - b);
  const index = new Map(xs.map((x, i) => [x, i]));
  const ys = series.map((s) => {
    const y = new Array(xs.length).fill(null);
    for (const [x, v] of s.points) y[index.get(x)] = v;
    return y;
  });
  return [xs, ...ys];
}

class Chart {
  constructor(container, yLabel) {
    this.container = container;
    this.yLabel = yLabel;
    this.plot = null;
    this.key = '';
  }
  draw(series) {
    const data = aligned(series);
    const key = series.map((s) => s.label).join('|');
    const width = Math.max(300, this.container.clientWidth || 560);
    if (typeof uPlot === 'undefined') {
      clear(this.container);
      this.container.append(el('p', {class: 'bad'},
          'uPlot is missing: run scripts/setup.sh (it installs web/node_modules).'));
      return;
    }
    if (this.plot && key === this.key) {
      this.plot.setData(data);
      return;
    }
    if (this.plot) this.plot.destroy();
    clear(this.container);
    this.key = key;
    const opts = {
      width, height: 260,
      scales: {x: {time: false}},
      axes: [{label: 'epoch'}, {label: this.yLabel}],
      legend: {live: true},
      series: [{label: 'epoch'}, ...series.map((s) => ({
        label: s.label,
        stroke: s.color,
        width: s.points_only ? 0 : 1.5,
        dash: s.dash,
        spanGaps: true,
        // Per-epoch series are sparse (one point an epoch, a single one after the first):
        // always marked, so that even one point shows.
        points: {show: !!(s.points_only || s.markers), size: 6, fill: s.color},
      }))],
    };
    this.plot = new uPlot(opts, data, this.container);
  }
}

// ---- Job page ----------------------------------------------------------------------------

class JobView {
  constructor(id, compare) {
    this.id = id;
    this.compare = compare || [];
    this.stopped = false;
    this.main = new Run(id);
    this.others = new Map();  // id → Run, overlaid for comparison
    this.job = null;
    this.classNames = [];
    this.inputKind = '';
    this.lossChart = new Chart($('loss-chart'), 'loss');
    this.accChart = new Chart($('acc-chart'), 'accuracy');
    this.pending = false;
    this.galleryKey = '';
    this.firstPoints = -1;
    clear($('activations'));
    $('activations').append(el('p', {class: 'muted'}, 'Choose a validation example (or click one in the gallery) once an epoch has finished.'));
    $('act-form').onsubmit = (ev) => { ev.preventDefault(); this.showActivations(num($('act-index').value)); };
    this.start();
  }
  stop() { this.stopped = true; }

  async start() {
    try {
      const r = await api('/api/jobs/' + this.id);
      this.job = r.job;
      this.classNames = r.class_names || [];
      this.inputKind = r.input;
    } catch (e) {
      $('job-title').textContent = this.id;
      $('job-summary').textContent = e.message;
      setStatus(e.message, true);
      return;
    }
    this.renderSummary();
    this.loadCompareList();
    this.refreshJobLoop();
    follow(this.main, () => this.schedule(), () => this.stopped);
  }

  // The job's row (state, best accuracy) every few seconds; events drive everything else.
  async refreshJobLoop() {
    while (!this.stopped) {
      await sleep(2000);
      try {
        this.job = (await api('/api/jobs/' + this.id)).job;
        this.renderSummary();
        setStatus('live · updated ' + new Date().toLocaleTimeString());
      } catch (e) { setStatus(e.message, true); }
    }
  }

  schedule() {
    if (this.pending) return;
    this.pending = true;
    requestAnimationFrame(() => { this.pending = false; this.render(); });
  }

  renderSummary() {
    const j = this.job;
    $('job-title').textContent = j.id;
    const st = $('job-state');
    st.textContent = j.state.toLowerCase();
    st.className = 'state s-' + j.state.toLowerCase();
    document.body.dataset.jobState = j.state;
    const s = j.spec;
    const items = [
      ['task', `${s.task} / ${s.model}`], ['device', j.device || s.device],
      ['epochs', `${num(j.epochs_done)} / ${num(s.epochs)}`],
      ['best valid acc', num(j.epochs_done) ? `${pct(num(j.best_valid_accuracy))} (epoch ${num(j.best_epoch)})` : '–'],
      ['batch size', num(s.batch_size)], ['optimizer', `${s.optimizer} lr ${num(s.learning_rate)}`],
    ];
    if (j.owner) items.push(['owner', j.owner]);
    if (j.waiting_reason && j.state === 'QUEUED') items.push(['waiting', j.waiting_reason]);
    if (j.error) items.push(['error', j.error]);
    const box = $('job-summary');
    clear(box);
    for (const [k, v] of items) box.append(el('div', {}, el('span', {class: 'k'}, k), el('span', {class: 'v'}, v)));
    this.renderProgress();
  }

  renderProgress() {
    const j = this.job;
    if (!j) return;
    const total = Math.max(1, num(j.spec.epochs));
    const p = this.main.progress;
    let done = num(j.epochs_done);
    let text = `${done}/${total} epochs`;
    if (p && j.state === 'RUNNING') {
      done = num(p.epoch) - 1 + num(p.batch) / Math.max(1, num(p.num_batches));
      text = `epoch ${num(p.epoch)}/${total} · batch ${num(p.batch)}/${num(p.num_batches)} · loss ${num(p.mean_loss).toFixed(4)}`;
    }
    $('job-progress-bar').style.width = (100 * Math.min(1, done / total)).toFixed(1) + '%';
    $('job-progress-text').textContent = text;
  }

  render() {
    this.renderProgress();
    this.renderCurves();
    this.renderConfusion();
    this.renderGallery();
    // Once a checkpoint exists, show the activations of an example without being asked: the
    // first misclassified one when there is a confusion matrix, else example 0.
    if (!this.shownActivations && this.main.epochs.size > 0) {
      this.shownActivations = true;
      const first = this.main.confusion && (this.main.confusion.misclassified || [])[0];
      const index = first ? num(first.valid_index) : 0;
      $('act-index').value = index;
      this.showActivations(index);
    }
  }

  renderCurves() {
    const runs = [this.main, ...this.others.values()];
    const loss = [];
    const acc = [];
    runs.forEach((run, i) => {
      const color = COLORS[i % COLORS.length];
      const name = i === 0 ? '' : run.id + ' ';
      loss.push({label: name + 'train loss', points: run.trainLoss(), color});
      loss.push({label: name + 'train loss (epoch)', points: run.perEpoch('train_loss'), color, points_only: true});
      loss.push({label: name + 'valid loss', points: run.perEpoch('valid_loss'), color, dash: [6, 4], markers: true});
      acc.push({label: name + 'valid acc', points: run.perEpoch('valid_accuracy'), color, markers: true});
      acc.push({label: name + 'train acc', points: run.perEpoch('train_accuracy'), color, dash: [6, 4], markers: true});
    });
    this.lossChart.draw(loss);
    this.accChart.draw(acc);
    // For tests and the curious: how many points the main run's curves hold now, and at the
    // first drawing (growth without a reload shows the page is live).
    const n = loss.slice(0, 3).concat(acc.slice(0, 2)).reduce((a, s) => a + s.points.length, 0);
    if (this.firstPoints < 0) this.firstPoints = n;
    const c = $('curve-points');
    c.textContent = n;
    c.dataset.count = n;
    c.dataset.first = this.firstPoints;
  }

  renderConfusion() {
    const cm = this.main.confusion;
    const box = $('confusion');
    if (!cm) return;
    const k = num(cm.num_classes);
    const counts = (cm.counts || []).map(num);
    const names = (cm.class_names && cm.class_names.length ? cm.class_names : this.classNames);
    const label = (i) => names[i] !== undefined ? names[i] : String(i);
    $('confusion-epoch').textContent = `(epoch ${num(cm.epoch)})`;
    clear(box);
    const table = el('table', {class: 'confusion', id: 'confusion-table'});
    table.append(el('tr', {}, el('th', {class: 'corner'}, 'true ↓ / predicted →'),
                    ...Array.from({length: k}, (_, j) => el('th', {}, label(j)))));
    for (let i = 0; i < k; ++i) {
      const row = counts.slice(i * k, (i + 1) * k);
      const total = row.reduce((a, b) => a + b, 0) || 1;
      const tr = el('tr', {}, el('th', {}, label(i)));
      row.forEach((c, j) => {
        const f = c / total;
        const hue = i === j ? '142, 71%, 35%' : '0, 72%, 51%';
        tr.append(el('td', {style: `background: hsla(${hue}, ${c ? 0.12 + 0.88 * f : 0})`,
                            title: `true ${label(i)}, predicted ${label(j)}: ${c} (${pct(f)} of the row)`,
                            class: f > 0.55 ? 'dark' : ''}, c));
      });
      table.append(tr);
    }
    box.append(table);
  }

  renderGallery() {
    const cm = this.main.confusion;
    if (!cm) return;
    const list = (cm.misclassified || []).slice(0, 24);
    const key = num(cm.epoch) + ':' + list.map((m) => m.valid_index).join(',');
    if (key === this.galleryKey) return;
    this.galleryKey = key;
    const names = (cm.class_names && cm.class_names.length ? cm.class_names : this.classNames);
    const label = (i) => names[i] !== undefined ? names[i] : String(i);
    $('gallery-count').textContent =
        `(${list.length} of ${num(cm.misclassified_total)} at epoch ${num(cm.epoch)})`;
    const box = $('gallery');
    clear(box);
    if (!list.length) box.append(el('p', {class: 'muted'}, `Every validation example was right at epoch ${num(cm.epoch)}.`));
    for (const m of list) {
      const index = num(m.valid_index);
      const thumb = el('div', {class: 'thumb-img'});
      const card = el('button', {class: 'thumb', type: 'button', title: `validation example ${index}`,
                                 onclick: () => { $('act-index').value = index; this.showActivations(index); }},
        thumb,
        el('div', {class: 'thumb-label'}, el('span', {class: 'good'}, label(num(m.label))), ' → ',
           el('span', {class: 'bad'}, label(num(m.predicted)))),
        el('div', {class: 'muted small'}, '#' + index));
      box.append(card);
      // Each example's input, fetched from the latest checkpoint (one at a time keeps it light).
      this.queueThumb(index, thumb);
    }
  }

  async queueThumb(index, node) {
    this.thumbChain = (this.thumbChain || Promise.resolve()).then(async () => {
      if (this.stopped) return;
      try {
        const r = await api(`/api/jobs/${this.id}/example?index=${index}`);
        node.append(this.inputKind === 'text' ? tokensView(r.tokens, true) : imageCanvas(r.input, 3));
      } catch (e) { node.append(el('span', {class: 'bad small'}, e.message)); }
    });
  }

  async showActivations(index) {
    const box = $('activations');
    clear(box);
    box.append(el('p', {class: 'muted'}, `loading example ${index}…`));
    let r;
    let pred;
    try {
      [r, pred] = await Promise.all([api(`/api/jobs/${this.id}/activations?index=${index}`),
                                     api(`/api/jobs/${this.id}/predict?index=${index}`)]);
    } catch (e) {
      clear(box);
      box.append(el('p', {class: 'bad'}, e.message));
      return;
    }
    clear(box);
    const names = pred.class_names && pred.class_names.length ? pred.class_names : this.classNames;
    const label = (i) => names[i] !== undefined ? names[i] : String(i);
    const text = this.inputKind === 'text';
    const input = el('div', {class: 'act-input'},
      el('h3', {}, `Input: validation example ${index}`),
      text ? tokensView(r.tokens, false) : imageCanvas(r.input, 8),
      el('p', {}, 'label ', el('b', {}, label(num(r.label))), ' · predicted ',
         el('b', {class: num(pred.predicted_class) === num(r.label) ? 'good' : 'bad'}, label(num(pred.predicted_class))),
         ` (${pct(Math.max(...pred.probabilities.map(num)))}, checkpoint of epoch ${num(pred.checkpoint_epoch)})`),
      probabilityBars(pred.probabilities.map(num), label));
    const layers = el('div', {class: 'act-layers'});
    for (const l of r.layers) layers.append(layerView(l, text ? r.tokens : null, label));
    box.append(el('div', {class: 'act'}, input, layers));
  }

  async loadCompareList() {
    try {
      const r = await api('/api/jobs');
      const box = $('compare-list');
      clear(box);
      const others = r.jobs.filter((j) => j.id !== this.id && j.spec.task === this.job.spec.task);
      if (!others.length) box.append(el('p', {class: 'muted'}, 'No other runs of this task.'));
      for (const j of others.slice(0, 30)) {
        const cb = el('input', {type: 'checkbox', onchange: (ev) => this.toggleCompare(j.id, ev.target.checked)});
        if (this.compare.includes(j.id)) {
          cb.checked = true;
          this.toggleCompare(j.id, true);
        }
        box.append(el('label', {class: 'cmp'}, cb,
            ` ${j.id} · ${j.spec.model} · ${j.state.toLowerCase()} · best ${pct(num(j.best_valid_accuracy))}`));
      }
    } catch (e) { /* the list is optional */ }
  }

  toggleCompare(id, on) {
    if (!on) {
      const run = this.others.get(id);
      if (run) run.stopped = true;
      this.others.delete(id);
      this.schedule();
      return;
    }
    const run = new Run(id);
    this.others.set(id, run);
    follow(run, () => this.schedule(), () => this.stopped || run.stopped);
  }
}

// ---- Pictures ----------------------------------------------------------------------------

// A perceptual colour map (viridis, 5 stops interpolated) for activation values in [0, 1].
const VIRIDIS = [[68, 1, 84], [59, 82, 139], [33, 145, 140], [94, 201, 98], [253, 231, 37]];
function viridis(t) {
  t = Math.min(1, Math.max(0, t)) * (VIRIDIS.length - 1);
  const i = Math.min(VIRIDIS.length - 2, Math.floor(t));
  const f = t - i;
  return VIRIDIS[i].map((c, k) => Math.round(c + f * (VIRIDIS[i + 1][k] - c)));
}

function range(data) {
  let lo = Infinity;
  let hi = -Infinity;
  for (const v of data) { if (v < lo) lo = v; if (v > hi) hi = v; }
  return [lo, hi > lo ? hi : lo + 1e-9];
}

// An (h, w) plane of `data` at `offset` drawn `scale` times larger, pixels kept sharp.
function planeCanvas(data, offset, h, w, scale, lo, hi, gray) {
  const c = el('canvas', {width: w * scale, height: h * scale, class: 'tile-canvas'});
  const ctx = c.getContext('2d');
  const img = ctx.createImageData(w, h);
  for (let i = 0; i < h * w; ++i) {
    const t = (data[offset + i] - lo) / (hi - lo);
    const [r, g, b] = gray ? [255 * t, 255 * t, 255 * t] : viridis(t);
    img.data[4 * i] = r; img.data[4 * i + 1] = g; img.data[4 * i + 2] = b; img.data[4 * i + 3] = 255;
  }
  const small = el('canvas', {width: w, height: h});
  small.getContext('2d').putImageData(img, 0, 0);
  ctx.imageSmoothingEnabled = false;
  ctx.drawImage(small, 0, 0, w * scale, h * scale);
  return c;
}

// The model's input picture (shape (1, 1, H, W) or (1, H, W)), grey, upscaled.
function imageCanvas(input, scale) {
  const s = input.shape.map(num);
  const h = s[s.length - 2];
  const w = s[s.length - 1];
  const [lo, hi] = range(input.data);
  return planeCanvas(input.data, 0, h, w, scale, lo, hi, true);
}

function tokensView(tokens, compact) {
  const shown = compact ? tokens.slice(0, 10) : tokens;
  return el('div', {class: 'tokens' + (compact ? ' small' : '')},
            ...shown.filter((t) => t !== '<pad>').map((t) => el('span', {class: 'token'}, t)),
            compact && tokens.length > 10 ? '…' : null);
}

function probabilityBars(probs, label) {
  const box = el('div', {class: 'probs'});
  probs.forEach((p, i) => box.append(el('div', {class: 'prob'},
      el('span', {class: 'prob-label'}, label(i)),
      el('span', {class: 'prob-bar'}, el('span', {style: `width:${(100 * p).toFixed(1)}%`})),
      el('span', {class: 'prob-value'}, pct(p)))));
  return box;
}

function legend(lo, hi) {
  const bar = el('canvas', {width: 120, height: 10, class: 'legend-bar'});
  const ctx = bar.getContext('2d');
  for (let x = 0; x < 120; ++x) {
    const [r, g, b] = viridis(x / 119);
    ctx.fillStyle = `rgb(${r},${g},${b})`;
    ctx.fillRect(x, 0, 1, 10);
  }
  return el('span', {class: 'legend'}, lo.toPrecision(3), bar, hi.toPrecision(3));
}

// One layer: 2D feature maps as a grid of labelled tiles; 1D feature maps (text) as rows of
// cells with the tokens under them; vectors as one row of cells (class names when they fit).
function layerView(layer, tokens, label) {
  const s = layer.shape.map(num);
  const data = layer.data;
  const [lo, hi] = range(data);
  const head = el('div', {class: 'layer-head'}, el('b', {}, layer.name), ` (${s.join('×')}) `, legend(lo, hi));
  const box = el('div', {class: 'layer'}, head);
  if (s.length === 4) {
    const [, c, h, w] = s;
    const scale = Math.max(2, Math.floor(72 / Math.max(h, w)));
    const grid = el('div', {class: 'tiles'});
    const shown = Math.min(c, 64);
    for (let k = 0; k < shown; ++k) {
      grid.append(el('figure', {class: 'tile'}, planeCanvas(data, k * h * w, h, w, scale, lo, hi, false),
                     el('figcaption', {}, `${layer.name} · ch ${k}`)));
    }
    box.append(grid);
    if (c > shown) box.append(el('p', {class: 'muted small'}, `first ${shown} of ${c} channels`));
  } else if (s.length === 3 && tokens && s[1] === tokens.length && s[2] !== tokens.length) {
    // (1, T, D): a vector per token (embeddings): one row per token, labelled with it.
    const [, t, dim] = s;
    const cell = Math.max(2, Math.min(8, Math.floor(640 / Math.max(1, dim))));
    const rows = el('div', {class: 'rows'});
    for (let i = 0; i < t; ++i) {
      rows.append(el('div', {class: 'row'}, el('span', {class: 'row-label', title: tokens[i]}, tokens[i]),
                     planeCanvas(data, i * dim, 1, dim, cell, lo, hi, false)));
    }
    box.append(rows);
  } else if (s.length === 3) {
    // (1, C, L): 1D feature maps, one row per channel, the tokens under the positions. A
    // convolution padded by k-1 on each side has L = T + k - 1 outputs: position p covers
    // tokens p-k+1..p, so token i sits under the window centred on it, (L - T) / 2 further on.
    const [, c, t] = s;
    const cell = Math.max(8, Math.min(28, Math.floor(640 / Math.max(1, t))));
    const shown = Math.min(c, 24);
    const rows = el('div', {class: 'rows'});
    for (let k = 0; k < shown; ++k) {
      rows.append(el('div', {class: 'row'}, el('span', {class: 'row-label'}, `ch ${k}`),
                     planeCanvas(data, k * t, 1, t, cell, lo, hi, false)));
    }
    if (tokens) {
      const shift = Math.max(0, Math.floor((t - tokens.length) / 2));
      const words = el('div', {class: 'row token-row'}, el('span', {class: 'row-label'}, 'token'));
      for (let p = 0; p < t; ++p) {
        const w = tokens[p - shift] || '';
        words.append(el('span', {class: 'token-cell', style: `width:${cell}px`, title: w}, w));
      }
      rows.append(words);
    }
    box.append(rows);
    if (c > shown) box.append(el('p', {class: 'muted small'}, `first ${shown} of ${c} channels`));
  } else {
    const n = data.length;
    const cell = Math.max(6, Math.min(40, Math.floor(560 / Math.max(1, n))));
    box.append(planeCanvas(data, 0, 1, n, cell, lo, hi, false));
    if (n <= 20) {
      box.append(el('div', {class: 'row'}, ...Array.from({length: n},
          (_, i) => el('span', {class: 'token-cell', style: `width:${cell}px`}, label(i)))));
    }
  }
  return box;
}
