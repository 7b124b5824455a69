// The visualizer end to end in headless Chromium: run by ./scripts/browser-test, which builds
// viz/dist and the CLI (dev build) first.
//
// It serves viz/dist with `kafkasim viz`, opens runs in Chromium through
// playwright-core (which drives the system's /usr/bin/chromium and never downloads one) and
// checks the page's contract: the trace hash equals the CLI's for the same scenario and seed,
// the keyboard, buttons and markers move the cursor, a leader failover shows a new leader in a
// higher epoch, stepping back redraws exactly the previous frame, the URL keeps the cursor
// across a reload, and a bad scenario name shows an error instead of a blank page. It also
// opens a trace file the CLI wrote (the page's hash is the file's; the picker and the URL
// name the trace, not the scenario before it; Run and the knobs are off; it opens at its first
// frame), runs a pasted, edited scenario file (the CLI gives the same hash for the same text;
// pasting it again runs again), shows bad pasted input as an error over the run still on
// screen (the picker stays on that run, so a knob turned next runs it), turns a knob in the
// picker, and runs again with the seed already shown (it completes, with the same hash).
// It prints (does not assert) the time to the first frame, the frame rate while playing and
// the gzipped size of the wasm, and saves screenshots to target/browser/.
//
// Exit code 0 when every check passed, 1 otherwise (each failed check is printed).

import { chromium } from 'playwright-core';
import { spawn, spawnSync } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import zlib from 'node:zlib';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const TARGET_DIR = process.env.CARGO_TARGET_DIR
  ? path.resolve(ROOT, process.env.CARGO_TARGET_DIR)
  : path.join(ROOT, 'target');
// The dev build: ./scripts/test has built it already (its CLI step), so CI pays nothing more.
const KAFKASIM = process.env.KAFKASIM_BIN || path.join(TARGET_DIR, 'debug', 'kafkasim');
const DIST = path.join(ROOT, 'viz', 'dist');
const SHOTS = path.join(ROOT, 'target', 'browser');
const CHROMIUM = process.env.CHROMIUM || '/usr/bin/chromium';
const CHROMIUM_ARGS = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-background-networking',
  '--disable-component-update',
  '--no-first-run',
  '--disable-quic',
  '--disable-sync',
];
/// The whole test, server start to last screenshot; a hang past this is a failure.
const OVERALL_TIMEOUT_MS = 240_000;
/// How long one UI reaction (a key press redrawing the cursor) may take.
const STEP_TIMEOUT_MS = 5_000;
/// How long a page may take to load, simulate and draw its first frame.
const LOAD_TIMEOUT_MS = 60_000;
/// How long running a run again (the same seed, the same pasted text) may keep the Run button
/// on "Running…": a few seconds of simulating; the page used to stay there for good.
const RUN_AGAIN_TIMEOUT_MS = 10_000;

const failures = [];

/// Record a check: printed as `ok` or `FAIL`, failures listed again at the end.
function check(name, ok, detail = '') {
  console.log(`${ok ? 'ok  ' : 'FAIL'} ${name}${detail ? ` — ${detail}` : ''}`);
  if (!ok) failures.push(detail ? `${name} — ${detail}` : name);
  return ok;
}

/// A check that later steps depend on: throws to abandon the rest of its section.
function need(name, ok, detail = '') {
  if (!check(name, ok, detail)) throw new SectionAbandoned(name);
}

class SectionAbandoned extends Error {}

/// An error's message without playwright's long call log.
function firstLine(e) {
  return String(e && e.message ? e.message : e).split('\n')[0];
}

function info(text) {
  console.log(`     ${text}`);
}

/// Run one section; a failed `need` or an unexpected error fails it without stopping the rest.
async function section(title, body) {
  console.log(`\n== ${title}`);
  try {
    await body();
  } catch (e) {
    if (!(e instanceof SectionAbandoned)) {
      check(`${title}: ran to the end`, false, firstLine(e));
    } else {
      info('(the rest of this section depends on that check: skipped)');
    }
  }
}

// ---------------------------------------------------------------------------------------------
// The CLI: the reference the page is compared with.

/// The trace hash `kafkasim run` prints for a scenario and seed (extra args: e.g. --set).
/// `scenario` is a built-in's name or a scenario file's path.
function cliTraceHash(scenario, seed, extra = []) {
  const run = spawnSync(KAFKASIM, ['run', scenario, '--seed', String(seed), '--quiet', ...extra], {
    encoding: 'utf8',
  });
  // Exit 1 is a failed checker verdict: the run happened and printed its hash all the same.
  if (run.status !== 0 && run.status !== 1) {
    throw new Error(`kafkasim run ${scenario} exited ${run.status}: ${run.stderr || run.error}`);
  }
  const match = /trace hash:\s*([0-9a-f]+)/.exec(run.stdout);
  if (!match) throw new Error(`no "trace hash:" line in: ${run.stdout}`);
  return match[1];
}

/// The text `kafkasim show` prints for a built-in scenario.
function cliShow(scenario) {
  const show = spawnSync(KAFKASIM, ['show', scenario], { encoding: 'utf8' });
  if (show.status !== 0) throw new Error(`kafkasim show ${scenario} exited ${show.status}: ${show.stderr || show.error}`);
  return show.stdout;
}

/// `kafkasim run <file>`'s exit code and what it printed to stderr (its error, for bad input).
function cliRunFile(file, seed) {
  const run = spawnSync(KAFKASIM, ['run', file, '--seed', String(seed), '--quiet'], { encoding: 'utf8' });
  return { status: run.status, stderr: run.stderr.trim() };
}

function cliSupportsSet() {
  const help = spawnSync(KAFKASIM, ['run', '--help'], { encoding: 'utf8' });
  return help.status === 0 && /--set\b/.test(help.stdout);
}

/// The CLI prints the first 16 hex digits of the hash; the page may show all 64.
function sameHash(pageHash, cliHash) {
  const page = pageHash.trim().toLowerCase();
  return page.length >= cliHash.length ? page.startsWith(cliHash) : cliHash === page;
}

// ---------------------------------------------------------------------------------------------
// The server: `kafkasim viz` as a child process.

/// Start `kafkasim viz` on a free port and resolve with its base URL once it prints it.
///
/// `--port 0` lets the kernel choose the port and the server prints the one it got, so two
/// test runs never race for a port; `--exit-after` stops it even if this process is killed.
function startServer() {
  const child = spawn(KAFKASIM, ['viz', '--dir', DIST, '--port', '0', '--exit-after', '300'], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  const url = new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no URL from kafkasim viz in 30 s: ${stdout}${stderr}`)), 30_000);
    child.stdout.on('data', (chunk) => {
      stdout += chunk;
      const match = /kafkasim visualizer: (http:\/\/127\.0\.0\.1:\d+\/)/.exec(stdout);
      if (match) {
        clearTimeout(timer);
        resolve(match[1]);
      }
    });
    child.stderr.on('data', (chunk) => (stderr += chunk));
    child.on('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`kafkasim viz exited with ${code} before serving: ${stderr}`));
    });
    child.on('error', (e) => {
      clearTimeout(timer);
      reject(e);
    });
  });
  return { child, url };
}

// ---------------------------------------------------------------------------------------------
// Reading the page.

const LADDERS = '[data-testid="ladder"]';

/// The cursor: `{ line, lines }`, or null while it is not drawn.
async function cursor(page) {
  return page.evaluate(() => {
    const el = document.querySelector('[data-testid="cursor"]');
    if (!el) return null;
    return { line: Number(el.getAttribute('data-line')), lines: Number(el.getAttribute('data-lines')) };
  });
}

/// Every marker as `{ kind, line }`, in line order.
async function markers(page) {
  const all = await page.$$eval('[data-testid="marker"]', (els) =>
    els.map((el) => ({ kind: el.getAttribute('data-kind'), line: Number(el.getAttribute('data-line')) })),
  );
  return all.sort((a, b) => a.line - b.line);
}

/// The markers a pointer can click: those on top at their own centre, in line order.
async function clickableMarkers(page) {
  const all = await page.$$eval('[data-testid="marker"]', (els) =>
    els
      .filter((el) => {
        const box = el.getBoundingClientRect();
        return box.width > 0 && el === document.elementFromPoint(box.x + box.width / 2, box.y + box.height / 2);
      })
      .map((el) => ({ kind: el.getAttribute('data-kind'), line: Number(el.getAttribute('data-line')) })),
  );
  return all.sort((a, b) => a.line - b.line);
}

/// One partition's ladder: each replica row's attributes, the leader row, and whether a
/// high-watermark mark is drawn.
async function ladder(page, partition) {
  return page.evaluate((partition) => {
    const box = document.querySelector(`[data-testid="ladder"][data-partition="${partition}"]`);
    if (!box) return null;
    const rows = [...box.querySelectorAll('[data-testid="replica-row"]')].map((row) => ({
      broker: row.getAttribute('data-broker'),
      role: row.getAttribute('data-role'),
      epoch: Number(row.getAttribute('data-leader-epoch')),
      hw: row.getAttribute('data-hw'),
      leo: row.getAttribute('data-leo'),
      hwMark: row.querySelector('[data-testid="hw-mark"]') !== null,
      truncated: row.querySelector('[data-testid="truncated"]') !== null,
    }));
    return { rows, leader: rows.find((r) => r.role === 'leader') || null };
  }, partition);
}

/// The outerHTML of all ladders: what "the same frame" means for the replica ladder.
async function laddersHtml(page) {
  return page.$$eval(LADDERS, (els) => els.map((el) => el.outerHTML).join('\n'));
}

function describe(state) {
  if (!state) return 'no ladder';
  return state.rows.map((r) => `${r.broker}:${r.role}@${r.epoch} hw=${r.hw} leo=${r.leo}`).join(', ');
}

// ---------------------------------------------------------------------------------------------
// Driving the page.

/// Open `query` and wait until the run is simulated and drawn.
async function open(page, base, query) {
  await page.goto(`${base}${query}`, { waitUntil: 'load', timeout: LOAD_TIMEOUT_MS });
  await waitForRun(page);
}

/// Wait until the page shows a run: its trace hash and the cursor.
async function waitForRun(page) {
  await page.waitForSelector('[data-testid="trace-hash"]', { timeout: LOAD_TIMEOUT_MS });
  await page.waitForFunction(
    () => {
      const hash = document.querySelector('[data-testid="trace-hash"]');
      const c = document.querySelector('[data-testid="cursor"]');
      return hash && /[0-9a-f]{8}/i.test(hash.textContent) && c && c.hasAttribute('data-line');
    },
    null,
    { timeout: LOAD_TIMEOUT_MS },
  );
}

/// The trace hash on screen (the short form), or '' while none is drawn.
async function shownHash(page) {
  return page.evaluate(() => {
    const el = document.querySelector('[data-testid="trace-hash"]');
    return el ? el.textContent.trim() : '';
  });
}

/// The error on screen, or '' when there is none.
async function shownError(page) {
  return page.evaluate(() => {
    const el = document.querySelector('[data-testid="error"]');
    return el ? el.textContent.trim() : '';
  });
}

/// What the page shows now, to tell a later outcome from it: `{ hash, error }`.
async function shown(page) {
  return { hash: await shownHash(page), error: await shownError(page) };
}

/// Wait until the page has answered new input, i.e. it shows something other than `before`
/// (what `shown` returned before the input): a run with another trace hash (drawn, with its
/// cursor) or another error, and it is no longer simulating (the Run button does not say
/// "Running…"; it stays disabled, by design, while an opened trace is played).
/// `{ hash, error }` then, or null if no answer came within LOAD_TIMEOUT_MS.
async function waitForOutcome(page, before) {
  const settled = await page
    .waitForFunction(
      ({ hash: oldHash, error: oldError }) => {
        const text = (selector) => {
          const el = document.querySelector(selector);
          return el ? el.textContent.trim() : '';
        };
        const c = document.querySelector('[data-testid="cursor"]');
        const run = document.querySelector('[data-testid="run"]');
        const newRun = text('[data-testid="trace-hash"]') !== oldHash && c && c.hasAttribute('data-line');
        const newError = text('[data-testid="error"]') !== '' && text('[data-testid="error"]') !== oldError;
        return (newRun || newError) && !(run && run.textContent.includes('Running'));
      },
      before,
      { timeout: LOAD_TIMEOUT_MS },
    )
    .then(() => true)
    .catch(() => false);
  return settled ? shown(page) : null;
}

/// The picker's "Open or paste a scenario or a trace" <details>, opened.
async function openOrPaste(page) {
  const summary = page.locator('summary', { hasText: 'Open or paste a scenario or a trace' });
  const details = page.locator('details', { has: summary });
  if (!(await details.evaluate((d) => d.open))) await summary.click();
  need('"Open or paste a scenario or a trace" opens', await details.evaluate((d) => d.open));
  return details;
}

/// The Run button as the user sees it: `{ disabled, text }`, or null when it is absent.
async function runButton(page) {
  return page.evaluate(() => {
    const b = document.querySelector('[data-testid="run"]');
    return b ? { disabled: b.disabled, text: b.textContent.trim() } : null;
  });
}

/// The text of the scenario select's selected option ('' when none is selected).
async function selectedScenario(page) {
  return page.$eval('[data-testid="scenario-select"]', (s) =>
    s.selectedIndex >= 0 ? s.options[s.selectedIndex].textContent.trim() : '',
  );
}

/// Start a run with `trigger` that may give the trace hash already on screen (so
/// waitForOutcome cannot tell it happened) and wait until it is over: the Run button went busy
/// (disabled or "Running…"; a MutationObserver sees even a brief state) and is back to an
/// enabled "Run". `{ done, sawBusy, ms, button }`: done is false if that took longer than
/// RUN_AGAIN_TIMEOUT_MS, and button is the Run button then.
async function runAndSettle(page, trigger) {
  await page.evaluate(() => {
    window.__runWentBusy = false;
    const note = () => {
      const b = document.querySelector('[data-testid="run"]');
      if (b && (b.disabled || b.textContent.includes('Running'))) window.__runWentBusy = true;
    };
    if (window.__runObserver) window.__runObserver.disconnect();
    window.__runObserver = new MutationObserver(note);
    window.__runObserver.observe(document.body, { subtree: true, childList: true, characterData: true, attributes: true });
  });
  const t0 = Date.now();
  await trigger();
  const done = await page
    .waitForFunction(
      () => {
        const b = document.querySelector('[data-testid="run"]');
        return window.__runWentBusy && b && !b.disabled && b.textContent.trim() === 'Run';
      },
      null,
      { timeout: RUN_AGAIN_TIMEOUT_MS },
    )
    .then(() => true)
    .catch(() => false);
  const ms = Date.now() - t0;
  const sawBusy = await page.evaluate(() => {
    window.__runObserver.disconnect();
    return window.__runWentBusy;
  });
  return { done, sawBusy, ms, button: await runButton(page) };
}

/// A runAndSettle result in words, for a failed check.
function describeSettle(r) {
  const button = r.button ? `${r.button.disabled ? 'disabled' : 'enabled'} "${r.button.text}"` : 'absent';
  return `${r.sawBusy ? 'went busy' : 'never went busy'}; after ${r.ms} ms the Run button is ${button}`;
}

/// Paste `text` into the picker's textarea and press "Run what I pasted".
async function paste(page, text) {
  const details = await openOrPaste(page);
  await details.locator('textarea').fill(text);
  await details.getByRole('button', { name: 'Run what I pasted' }).click();
}

/// Keyboard input goes to the focused element; clear focus so keys reach the page's body
/// (and Space does not also press a focused button).
async function focusBody(page) {
  await page.evaluate(() => {
    if (document.activeElement && document.activeElement !== document.body) document.activeElement.blur();
  });
}

/// Wait until the cursor's line satisfies `predicate`; the cursor then (or null on timeout).
async function waitForLine(page, predicate, timeout = STEP_TIMEOUT_MS) {
  const deadline = Date.now() + timeout;
  for (;;) {
    const c = await cursor(page);
    if (c && predicate(c.line)) return c;
    if (Date.now() > deadline) return null;
    await page.waitForTimeout(20);
  }
}

/// Press `key` on the body and wait until the cursor reaches `expected` (a line, or a predicate).
async function press(page, key, expected) {
  await focusBody(page);
  await page.keyboard.press(key);
  const predicate = typeof expected === 'function' ? expected : (line) => line === expected;
  return waitForLine(page, predicate);
}

/// Press Home and return the line it settles on: the first line the page shows (the app
/// may start after line 0, at the trace's first snapshot).
async function goHome(page) {
  await focusBody(page);
  await page.keyboard.press('Home');
  let last = (await cursor(page)).line;
  for (let stable = 0; stable < 5; ) {
    await page.waitForTimeout(20);
    const now = (await cursor(page)).line;
    stable = now === last ? stable + 1 : 0;
    last = now;
  }
  return last;
}

/// Press `]` until the cursor is at `line` (markers at or before it are passed on the way);
/// true if it got there.
async function jumpToMarker(page, line) {
  for (let i = 0; i < 200; i++) {
    const now = await cursor(page);
    if (now.line === line) return true;
    if (now.line > line) return false;
    const moved = await press(page, ']', (l) => l !== now.line);
    if (!moved) return false;
  }
  return false;
}

/// Count requestAnimationFrame callbacks in the page for `ms`: the frames the page can draw.
async function framesPerSecond(page, ms) {
  const { frames, elapsed } = await page.evaluate(
    (ms) =>
      new Promise((resolve) => {
        let frames = 0;
        const start = performance.now();
        const tick = (now) => {
          frames++;
          if (now - start < ms) requestAnimationFrame(tick);
          else resolve({ frames, elapsed: now - start });
        };
        requestAnimationFrame(tick);
      }),
    ms,
  );
  return (frames * 1000) / elapsed;
}

async function screenshot(page, name) {
  const file = path.join(SHOTS, name);
  await page.screenshot({ path: file });
  info(`screenshot: ${path.relative(ROOT, file)}`);
}

// ---------------------------------------------------------------------------------------------
// The sections.

/// leader-failover seed 1: the crash of the leader, the election, step back, reload, hash.
async function leaderFailover(page, base) {
  const t0 = Date.now();
  await open(page, base, '?scenario=leader-failover&seed=1');
  const firstFrame = await page.evaluate(() => window.__kafkasimFirstFrame);
  info(`page loaded and drawn in ${Date.now() - t0} ms (as the test saw it)`);
  if (check('window.__kafkasimFirstFrame is set after the first frame', typeof firstFrame === 'number', String(firstFrame))) {
    info(`MEASURE first frame: ${firstFrame.toFixed(0)} ms after navigation start`);
  }

  const pageHash = (await page.textContent('[data-testid="trace-hash"]')).trim();
  const cliHash = cliTraceHash('leader-failover', 1);
  check('trace hash equals the CLI\'s (kafkasim run leader-failover --seed 1)', sameHash(pageHash, cliHash), `page ${pageHash}, CLI ${cliHash}`);

  const start = await cursor(page);
  need('cursor has integer data-line and data-lines', Number.isInteger(start.line) && Number.isInteger(start.lines) && start.lines > 0, JSON.stringify(start));
  info(`cursor at load: line ${start.line} of ${start.lines}`);
  info(`orders-0 at load: ${describe(await ladder(page, 'orders-0'))}`);

  const all = await markers(page);
  info(`markers: ${all.map((m) => `${m.kind}@${m.line}`).join(' ')}`);
  check('every marker has a known kind and a line inside the trace', all.length > 0 && all.every((m) => ['fault', 'election', 'isr', 'rebalance', 'finding'].includes(m.kind) && Number.isInteger(m.line) && m.line >= 0 && m.line < start.lines), `${all.length} markers`);
  const fault = all.find((m) => m.kind === 'fault');
  need('a fault marker (the crash of broker-1)', fault !== undefined);
  const election = all.find((m) => m.kind === 'election' && m.line > fault.line);
  need('an election marker after the fault', election !== undefined);

  const home = await goHome(page);
  need('Home moves the cursor before the first marker', home < all[0].line, `Home: line ${home}, first marker: line ${all[0].line}`);
  info(`Home: line ${home}`);
  need(`] jumps marker by marker to the fault at line ${fault.line}`, await jumpToMarker(page, fault.line), `cursor ${JSON.stringify(await cursor(page))}`);

  need('ArrowLeft steps one line back, to just before the fault', (await press(page, 'ArrowLeft', fault.line - 1)) !== null);
  const before = await ladder(page, 'orders-0');
  info(`orders-0 just before the fault: ${describe(before)}`);
  await screenshot(page, 'leader-failover-before.png');
  need('orders-0 has a leader before the fault', before && before.leader !== null, describe(before));
  need('ArrowRight steps one line forward, onto the fault', (await press(page, 'ArrowRight', fault.line)) !== null);

  need(`] goes on to the election at line ${election.line}`, await jumpToMarker(page, election.line), `cursor ${JSON.stringify(await cursor(page))}`);
  need('ArrowLeft: one line before the election', (await press(page, 'ArrowLeft', election.line - 1)) !== null);
  await page.waitForTimeout(100);
  const previousHtml = await laddersHtml(page);
  need('ArrowRight: back onto the election', (await press(page, 'ArrowRight', election.line)) !== null);
  await page.waitForTimeout(100); // let any redraw triggered by the move settle
  const after = await ladder(page, 'orders-0');
  info(`orders-0 at the election: ${describe(after)}`);
  await screenshot(page, 'leader-failover-after-election.png');
  check('orders-0 has a leader after the election', after && after.leader !== null, describe(after));
  if (after && after.leader && before.leader) {
    check('the new leader is another broker', after.leader.broker !== before.leader.broker, `${before.leader.broker} -> ${after.leader.broker}`);
    check('in a higher leader epoch', after.leader.epoch > before.leader.epoch, `${before.leader.epoch} -> ${after.leader.epoch}`);
  }
  check('a high-watermark mark is drawn', after && after.rows.some((r) => r.hwMark), describe(after));

  const back = await press(page, 'ArrowLeft', election.line - 1);
  check('ArrowLeft from the election goes back exactly one line', back !== null, JSON.stringify(await cursor(page)));
  await page.waitForTimeout(100);
  const backHtml = await laddersHtml(page);
  check('after ArrowLeft the ladders are exactly the frame one step earlier', backHtml === previousHtml, firstDifference(previousHtml, backHtml));

  const search = await page.evaluate(() => location.search);
  const at = new URLSearchParams(search).get('at');
  check('the URL keeps the cursor (at= the line)', at !== null && Number(at) === election.line - 1, search);
  const beforeReload = await cursor(page);
  await page.reload({ waitUntil: 'load', timeout: LOAD_TIMEOUT_MS });
  await waitForRun(page);
  const reloaded = await waitForLine(page, (l) => l === beforeReload.line, 10_000);
  check('after a reload the cursor is on the same line', reloaded !== null, `${beforeReload.line} -> ${JSON.stringify(await cursor(page))}`);
  await page.waitForTimeout(100);
  const reloadedHtml = await laddersHtml(page);
  check('after a reload the ladders are the same', reloadedHtml === backHtml, firstDifference(backHtml, reloadedHtml));
  const reloadedHash = (await page.textContent('[data-testid="trace-hash"]')).trim();
  check('after a reload the trace hash is the same', reloadedHash === pageHash, `${pageHash} -> ${reloadedHash}`);
}

/// The buttons, marker clicks, End and the frame rate while playing.
async function controls(page, base) {
  await open(page, base, '?scenario=leader-failover&seed=1');
  const { lines } = await cursor(page);
  check('End moves the cursor to the last line', (await press(page, 'End', lines - 1)) !== null, JSON.stringify(await cursor(page)));
  const home = await goHome(page);
  need('Home moves the cursor back from the end', home < lines - 1, `line ${home}`);
  check('ArrowLeft at Home stays there', (await press(page, 'ArrowLeft', home)) !== null, JSON.stringify(await cursor(page)));

  await page.click('[data-testid="step-forward"]');
  check('the step-forward button steps one line', (await waitForLine(page, (l) => l === home + 1)) !== null, JSON.stringify(await cursor(page)));
  await page.click('[data-testid="step-back"]');
  check('the step-back button steps one line back', (await waitForLine(page, (l) => l === home)) !== null, JSON.stringify(await cursor(page)));

  const all = await markers(page);
  const reachable = await clickableMarkers(page);
  const covered = all.length - reachable.length;
  if (covered > 0) info(`${covered} of ${all.length} markers are covered by a neighbour and cannot be clicked`);
  const target = reachable.find((m) => m.kind === 'election' && m.line > home) || reachable.find((m) => m.line > home);
  if (check('a marker after Home that a pointer can click', target !== undefined, `${reachable.length} clickable`)) {
    await page.click(`[data-testid="marker"][data-kind="${target.kind}"][data-line="${target.line}"]`, { timeout: STEP_TIMEOUT_MS });
    check(`clicking the ${target.kind} marker moves the cursor to line ${target.line}`, (await waitForLine(page, (l) => l === target.line)) !== null, JSON.stringify(await cursor(page)));
    const previous = all.filter((m) => m.line < target.line).pop();
    if (previous) {
      check(`[ jumps back to the previous marker (line ${previous.line})`, (await press(page, '[', previous.line)) !== null, JSON.stringify(await cursor(page)));
    }
  }

  await goHome(page);
  await focusBody(page);
  const appFrames = () => page.evaluate(() => window.__kafkasimFrames || 0);
  const appBefore = await appFrames();
  // A window listener runs after the app's document listener: it sees whether the app's
  // preventDefault took effect (it does not in a passive listener), i.e. whether Space
  // would also scroll the page.
  await page.evaluate(() => window.addEventListener('keydown', (e) => (window.__spacePrevented = e.defaultPrevented)));
  await page.keyboard.press('Space');
  const fps = await framesPerSecond(page, 3000);
  const appDrawn = (await appFrames()) - appBefore;
  info(`MEASURE playing leader-failover: ${fps.toFixed(1)} frames per second (requestAnimationFrame callbacks over 3 s; the app counted ${appDrawn} frames of its own, window.__kafkasimFrames)`);
  const playing = await cursor(page);
  check('Space plays: the cursor moves forward', playing.line > home, `${home} -> ${playing.line}`);
  const prevented = await page.evaluate(() => window.__spacePrevented);
  check('Space is not also a page scroll (the app\'s keydown prevents the default)', prevented === true, `defaultPrevented ${prevented}`);
  await focusBody(page);
  await page.keyboard.press('Space');
  await page.waitForTimeout(300); // a frame already scheduled may still advance it once
  const paused = await cursor(page);
  await page.waitForTimeout(700);
  const later = await cursor(page);
  check('Space again pauses: the cursor stays', later.line === paused.line, `${paused.line} -> ${later.line}`);

  await page.click('[data-testid="play"]');
  const moved = await waitForLine(page, (l) => l > later.line || l === lines - 1, 3000);
  check('the play button plays', moved !== null, JSON.stringify(await cursor(page)));
  await page.click('[data-testid="play"]');
}

/// A knob override in the URL runs the changed scenario, as `kafkasim run --set` does.
async function overrides(page, base) {
  if (!cliSupportsSet()) {
    info('kafkasim run has no --set: comparing an overridden run with the CLI is skipped');
    return;
  }
  await open(page, base, '?scenario=leader-failover&seed=1&acks=1');
  const pageHash = (await page.textContent('[data-testid="trace-hash"]')).trim();
  const cliHash = cliTraceHash('leader-failover', 1, ['--set', 'acks=1']);
  check('acks=1 in the URL gives the hash of kafkasim run --set acks=1', sameHash(pageHash, cliHash), `page ${pageHash}, CLI ${cliHash}`);
}

/// kip-101-hw-truncation: a screenshot of the frame that best shows the truncation.
async function kip101(page, base) {
  await open(page, base, '?scenario=kip-101-hw-truncation&seed=1');
  const pageHash = (await page.textContent('[data-testid="trace-hash"]')).trim();
  const cliHash = cliTraceHash('kip-101-hw-truncation', 1);
  check('kip-101-hw-truncation: trace hash equals the CLI\'s', sameHash(pageHash, cliHash), `page ${pageHash}, CLI ${cliHash}`);
  const all = await markers(page);
  const fault = all.find((m) => m.kind === 'fault');
  const election = fault && all.find((m) => m.kind === 'election' && m.line > fault.line);
  need('kip-101: an election marker after a fault', election !== undefined, all.map((m) => `${m.kind}@${m.line}`).join(' '));
  await goHome(page);
  need(`kip-101: ] reaches the election at line ${election.line}`, await jumpToMarker(page, election.line));
  const truncated = await stepUntilTruncated(page, 400);
  if (truncated !== null) {
    info(`a [data-testid="truncated"] row first shows at line ${truncated}`);
  } else {
    info(`no [data-testid="truncated"] within 400 lines after the election; the shot shows the election (line ${election.line})`);
    await goHome(page);
    await jumpToMarker(page, election.line);
  }
  await page.waitForTimeout(100);
  info(`ladders: ${(await page.$$eval(LADDERS, (els) => els.map((e) => e.getAttribute('data-partition')))).join(', ')}`);
  await screenshot(page, 'kip-101-hw-truncation.png');
}

/// Step forward until a ladder row shows a truncation; its line, or null.
async function stepUntilTruncated(page, limit) {
  for (let i = 0; i < limit; i++) {
    const shown = await page.$(`${LADDERS} [data-testid="replica-row"] [data-testid="truncated"]`);
    const now = await cursor(page);
    if (shown) return now.line;
    if (now.line >= now.lines - 1) return null;
    if (!(await press(page, 'ArrowRight', now.line + 1))) return null;
  }
  return null;
}

/// A trace file written by `kafkasim run --trace`, opened with the picker's file input.
async function openTraceFile(page, base, tmp) {
  const file = path.join(tmp, 't.jsonl');
  const cliHash = cliTraceHash('kip-101-hw-truncation', 2, ['--trace', file]);
  const fileHash = crypto.createHash('sha256').update(fs.readFileSync(file)).digest('hex');
  info(`kafkasim run kip-101-hw-truncation --seed 2 --trace ${file}: trace hash ${cliHash}`);
  need('the CLI\'s trace hash is the SHA-256 of the file it wrote', fileHash.startsWith(cliHash), `file ${fileHash}, CLI ${cliHash}`);

  // Far into leader-failover (13619 lines) and inside the trace (4257): the trace must still
  // open at its own first frame, not at the line the page was on.
  await open(page, base, '?scenario=leader-failover&seed=1&at=3000');
  need('?at=3000 puts the cursor on line 3000 before the trace is opened', (await waitForLine(page, (l) => l === 3000)) !== null, JSON.stringify(await cursor(page)));
  const before = await shown(page);
  const details = await openOrPaste(page);
  await details.locator('input[type="file"]').setInputFiles(file);
  const outcome = await waitForOutcome(page, before);
  need('opening the trace file shows a run', outcome !== null && outcome.error === '', JSON.stringify(outcome));
  check('the page\'s trace hash is the CLI\'s (the hash of the file\'s bytes)', sameHash(outcome.hash, cliHash), `page ${outcome.hash}, CLI ${cliHash}`);
  const fullHash = await page.getAttribute('[data-testid="trace-hash"]', 'title');
  check('its full hash (the title) is the SHA-256 of the file', fullHash === fileHash, `title ${fullHash}, file ${fileHash}`);
  const repro = await page.$('[data-testid="repro"]');
  check('an opened trace shows no command line ([data-testid="repro"] is absent)', repro === null, repro ? (await repro.textContent()).trim() : '');

  // A trace is not in the URL: a reload must not claim to show the scenario that was there.
  // The URL is rewritten by an effect after the render: give it a moment.
  const noScenario = () => !new URLSearchParams(location.search).has('scenario');
  await page.waitForFunction(noScenario, null, { timeout: STEP_TIMEOUT_MS }).catch(() => {});
  const search = await page.evaluate(() => location.search);
  check('the URL no longer names a scenario (location.search has no scenario=)', !new URLSearchParams(search).has('scenario'), `location.search ${JSON.stringify(search)}`);
  const selected = await selectedScenario(page);
  check('the scenario select names the trace ("(trace …)")', selected.startsWith('(trace'), `selected: ${JSON.stringify(selected)}`);
  const run = await runButton(page);
  check('the Run button is disabled while a trace is played', run !== null && run.disabled, JSON.stringify(run));
  const knobs = await page.$$eval('select[data-knob]', (els) => els.map((e) => e.getAttribute('data-knob')));
  check('no knob is offered while a trace is played (no select[data-knob])', knobs.length === 0, knobs.join(', '));

  const start = await cursor(page);
  need('the cursor is drawn over the opened trace', start !== null, JSON.stringify(start));
  info(`cursor after opening: line ${start.line} of ${start.lines}; URL ${JSON.stringify(search)}`);
  const home = await goHome(page);
  check('the trace opens at its first frame (the line Home gives), not at line 3000', start.line === home, `opened at line ${start.line}, Home: line ${home}`);
  const from = (await cursor(page)).line;
  const stepped = await press(page, 'ArrowRight', from + 1);
  check('ArrowRight steps the opened trace one line', stepped !== null, `${from} -> ${JSON.stringify(await cursor(page))}`);
  // The partitions exist from the controller's first metadata on; the first marker is after.
  const first = (await markers(page))[0];
  need('the opened trace has markers', first !== undefined);
  need(`] jumps to its first marker (${first.kind} at line ${first.line})`, (await press(page, ']', first.line)) !== null, JSON.stringify(await cursor(page)));
  const ladders = await page.$$eval(LADDERS, (els) => els.map((e) => e.getAttribute('data-partition')));
  check('the opened trace\'s ladders are drawn', ladders.length > 0, ladders.join(', ') || 'none');
  // Moving the cursor rewrites the URL: still without the old scenario.
  await page.waitForTimeout(100);
  const moved = await page.evaluate(() => location.search);
  check('after stepping through the trace the URL still names no scenario', !new URLSearchParams(moved).has('scenario'), `location.search ${JSON.stringify(moved)}`);
}

/// A scenario file pasted into the picker, edited: the page runs exactly that text.
async function pasteScenario(page, base, tmp) {
  await open(page, base, '?scenario=leader-failover&seed=1');
  const original = cliShow('leader-failover');
  const baseHash = cliTraceHash('leader-failover', 1);
  need('kafkasim show leader-failover has `duration_ms = 20000`', /^duration_ms = 20000$/m.test(original));

  // 12 s ends the run before the consumer starts (start_ms = 14000): the CLI refuses that
  // file, and so must the page, with the same reason.
  const tooShort = original.replace(/^duration_ms = 20000$/m, 'duration_ms = 12000');
  const tooShortFile = path.join(tmp, 'too-short.toml');
  fs.writeFileSync(tooShortFile, tooShort);
  const refused = cliRunFile(tooShortFile, 1);
  info(`kafkasim run (duration_ms = 12000) exits ${refused.status}: ${refused.stderr}`);
  let before = await shown(page);
  await paste(page, tooShort);
  let outcome = await waitForOutcome(page, before);
  need('pasting the scenario with duration_ms = 12000 gives an answer', outcome !== null);
  check('duration_ms = 12000 is refused by the page as by the CLI (exit 2), for the same field', refused.status === 2 && outcome.error.includes('start_ms') && refused.stderr.includes('start_ms'), `page: ${outcome.error || `a run, hash ${outcome.hash}`}`);

  const edited = original.replace(/^duration_ms = 20000$/m, 'duration_ms = 16000');
  const editedFile = path.join(tmp, 'pasted.toml');
  fs.writeFileSync(editedFile, edited);
  const cliHash = cliTraceHash(editedFile, 1);
  before = await shown(page);
  await paste(page, edited);
  outcome = await waitForOutcome(page, before);
  need('the pasted scenario (duration_ms = 16000) runs', outcome !== null && outcome.error === '' && outcome.hash !== '', JSON.stringify(outcome));
  check('its trace hash differs from leader-failover seed 1\'s', !sameHash(outcome.hash, baseHash), `pasted ${outcome.hash}, leader-failover ${baseHash}`);
  check('its trace hash is kafkasim run <that file> --seed 1\'s', sameHash(outcome.hash, cliHash), `page ${outcome.hash}, CLI ${cliHash}`);

  // The same text again: the same request, which once left the page on "Running…".
  const again = await runAndSettle(page, () => paste(page, edited));
  info(`"Run what I pasted" again with the same text: ${describeSettle(again)}`);
  check('"Run what I pasted" twice with the same text: the second run completes (the Run button is back to an enabled "Run")', again.done, describeSettle(again));
  check('the second run of the same text gives the same trace hash', sameHash(await shownHash(page), cliHash), `page ${await shownHash(page)}, CLI ${cliHash}`);
  check('the second run of the same text shows no error', (await shownError(page)) === '', await shownError(page));
  const first = (await markers(page))[0];
  need('the pasted run has markers', first !== undefined);
  need(`] jumps to its first marker (${first.kind} at line ${first.line})`, (await press(page, ']', first.line)) !== null, JSON.stringify(await cursor(page)));
  check('the pasted run\'s ladders are drawn', (await page.$$(LADDERS)).length > 0, describe(await ladder(page, 'orders-0')));
}

/// Bad pasted input: an error naming what is wrong, and the run on screen stays.
async function badPaste(page) {
  // Goes on from the pasted run of pasteScenario, at a line with ladders.
  const before = await shown(page);
  const hash = before.hash;
  need('a run is on screen before the bad input', hash !== '' && before.error === '', JSON.stringify(before));
  const laddersBefore = await laddersHtml(page);

  await paste(page, 'this is not toml [');
  let outcome = await waitForOutcome(page, before);
  need('bad TOML: [data-testid="error"] appears', outcome !== null && outcome.error !== '', JSON.stringify(outcome));
  // format::parse's errors are `file:line:column: message`.
  check('the error names the line', /\bline\b/i.test(outcome.error) || /pasted\.toml:1:\d+/.test(outcome.error), outcome.error);
  check('the previous run stays on screen (the same trace hash)', (await shownHash(page)) === hash, `${hash} -> ${await shownHash(page)}`);
  const laddersAfter = await laddersHtml(page);
  check('the previous run\'s ladders are still drawn', laddersAfter !== '' && laddersAfter === laddersBefore, laddersAfter === '' ? 'no ladders' : firstDifference(laddersBefore, laddersAfter));

  await paste(page, '{"trace_version": 999}');
  outcome = await waitForOutcome(page, outcome);
  need('a trace with a wrong header: the error changes', outcome !== null && outcome.error !== '', JSON.stringify(outcome));
  check('the error names the trace version', outcome.error.includes('version') && outcome.error.includes('999'), outcome.error);
  check('the run stays on screen', (await shownHash(page)) === hash && (await page.$$(LADDERS)).length > 0, await shownHash(page));
}

/// Run with the seed already shown: the same request again, which once left the page on
/// "Running…" for good.
async function runAgain(page, base) {
  await open(page, base, '?scenario=leader-failover&seed=1');
  const hash = await shownHash(page);
  const seed = await page.inputValue('[data-testid="seed-input"]');
  need('the seed input shows the seed on screen (1)', seed.trim() === '1', JSON.stringify(seed));
  const again = await runAndSettle(page, () => page.click('[data-testid="run"]'));
  info(`Run with the seed shown: ${describeSettle(again)}`);
  check('Run with the seed already shown completes: the Run button is enabled again and says "Run"', again.done, describeSettle(again));
  check('Run with the same seed gives the same trace hash', (await shownHash(page)) === hash && hash !== '', `${hash} -> ${await shownHash(page)}`);
  check('Run with the same seed shows no error', (await shownError(page)) === '', await shownError(page));
  check('the run is drawn again (the cursor is there)', (await cursor(page)) !== null, JSON.stringify(await cursor(page)));
}

/// A failed paste over a built-in scenario: the picker stays on that scenario, so a knob turned
/// next runs it (not the bad file, not a stale request).
async function badPasteThenKnob(page, base) {
  await open(page, base, '?scenario=leader-failover&seed=1');
  const before = await shown(page);
  await paste(page, 'this is not toml [');
  const outcome = await waitForOutcome(page, before);
  need('bad TOML over leader-failover: [data-testid="error"] appears', outcome !== null && outcome.error !== '', JSON.stringify(outcome));
  need('leader-failover stays on screen (the same trace hash)', (await shownHash(page)) === before.hash, `${before.hash} -> ${await shownHash(page)}`);
  const selected = await selectedScenario(page);
  const value = await page.inputValue('[data-testid="scenario-select"]');
  check('the scenario select shows leader-failover, the scenario on screen (not "(your file …)")', selected.startsWith('leader-failover') && value === 'leader-failover', `selected: ${JSON.stringify(selected)}, value ${JSON.stringify(value)}`);
  if (!cliSupportsSet()) {
    info('kafkasim run has no --set: the knob after the bad paste is not compared with the CLI');
    return;
  }
  const beforeKnob = await shown(page);
  await page.selectOption('select[data-knob="acks"]', '1');
  const knob = await waitForOutcome(page, beforeKnob);
  need('choosing acks = 1 after the bad paste runs', knob !== null && knob.error === '', JSON.stringify(knob));
  const cliHash = cliTraceHash('leader-failover', 1, ['--set', 'acks=1']);
  check('it runs leader-failover: the trace hash is kafkasim run leader-failover --seed 1 --set acks=1\'s', sameHash(knob.hash, cliHash), `page ${knob.hash}, CLI ${cliHash}`);
}

/// A knob turned in the picker: the URL records it and the run is kafkasim run --set's.
async function knobInPicker(page, base) {
  if (!cliSupportsSet()) {
    info('kafkasim run has no --set: the knob in the picker is not compared with the CLI');
    return;
  }
  await open(page, base, '?scenario=leader-failover&seed=1');
  const before = await shown(page);
  await page.selectOption('select[data-knob="acks"]', '1');
  const outcome = await waitForOutcome(page, before);
  need('choosing acks = 1 runs again', outcome !== null && outcome.error === '', JSON.stringify(outcome));
  const search = await page.evaluate(() => location.search);
  check('the URL now has acks=1', new URLSearchParams(search).get('acks') === '1', search);
  const cliHash = cliTraceHash('leader-failover', 1, ['--set', 'acks=1']);
  check('the trace hash is kafkasim run leader-failover --seed 1 --set acks=1\'s', sameHash(outcome.hash, cliHash), `page ${outcome.hash}, CLI ${cliHash}`);
}

/// eager-vs-cooperative seed 1: a screenshot of the groups panel at the first rebalance.
async function groupsShot(page, base) {
  await open(page, base, '?scenario=eager-vs-cooperative&seed=1');
  const all = await markers(page);
  const rebalance = all.find((m) => m.kind === 'rebalance');
  need('eager-vs-cooperative has a rebalance marker', rebalance !== undefined, all.map((m) => `${m.kind}@${m.line}`).join(' '));
  await goHome(page);
  need(`] reaches the rebalance at line ${rebalance.line}`, await jumpToMarker(page, rebalance.line), JSON.stringify(await cursor(page)));
  const group = page.locator('[data-testid="group"]').first();
  need('the groups panel shows a group', (await group.count()) > 0 && (await group.isVisible()));
  const groups = await page.$$eval('[data-testid="group"]', (els) =>
    els.map((e) => `${e.getAttribute('data-group')}:${e.getAttribute('data-state')}@${e.getAttribute('data-generation')}`),
  );
  info(`groups at the rebalance: ${groups.join(', ')}`);
  await group.scrollIntoViewIfNeeded();
  await page.waitForTimeout(100);
  await screenshot(page, 'leader-failover-groups.png');
}

/// A bad scenario name: an error message, not a blank page.
async function badScenario(page, base) {
  await page.goto(`${base}?scenario=no-such-thing`, { waitUntil: 'load', timeout: LOAD_TIMEOUT_MS });
  const error = await page.waitForSelector('[data-testid="error"]', { state: 'visible', timeout: LOAD_TIMEOUT_MS }).catch(() => null);
  const text = error ? (await error.textContent()).trim() : '';
  check('?scenario=no-such-thing shows [data-testid="error"] with a message', text.length > 0, text);
  check('the error names the scenario', text.includes('no-such-thing'), text);
  const body = await page.evaluate(() => document.body.innerText.trim().length);
  check('the page is not blank', body > 0, `${body} characters of text`);
}

/// The first place where two HTML strings differ, for a readable failure.
function firstDifference(a, b) {
  if (a === b) return '';
  let i = 0;
  while (i < a.length && i < b.length && a[i] === b[i]) i++;
  return `differ at ${i}: expected …${a.slice(Math.max(0, i - 60), i + 60)}… got …${b.slice(Math.max(0, i - 60), i + 60)}…`;
}

function wasmSize() {
  const file = path.join(DIST, 'kafkasim_viz_bg.wasm');
  const raw = fs.readFileSync(file);
  const gzipped = zlib.gzipSync(raw, { level: 9 });
  info(`MEASURE wasm: ${raw.length} bytes raw (${(raw.length / 1024).toFixed(0)} KB), ${gzipped.length} bytes gzipped (${(gzipped.length / 1024).toFixed(0)} KB)`);
}

// ---------------------------------------------------------------------------------------------

async function main() {
  for (const [what, file] of [['the CLI', KAFKASIM], ['the built app', path.join(DIST, 'index.html')], ['Chromium', CHROMIUM]]) {
    if (!fs.existsSync(file)) {
      console.error(`error: ${what} is missing (${file}); run ./scripts/browser-test, which builds and installs it`);
      return 2;
    }
  }
  fs.mkdirSync(SHOTS, { recursive: true });
  // The trace and scenario files the CLI writes and runs for the comparisons.
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'kafkasim-browser-'));
  const server = startServer();
  let browser = null;
  const watchdog = setTimeout(() => {
    console.error(`FAIL the browser test did not finish in ${OVERALL_TIMEOUT_MS / 1000} s`);
    server.child.kill('SIGKILL');
    process.exit(1);
  }, OVERALL_TIMEOUT_MS);
  try {
    const base = await server.url;
    info(`serving viz/dist at ${base}`);
    browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS });
    info(`Chromium ${browser.version()}`);
    const context = await browser.newContext({ viewport: { width: 1280, height: 720 } });
    const page = await context.newPage();
    const pageErrors = [];
    const consoleErrors = new Set();
    page.on('pageerror', (e) => pageErrors.push(String(e)));
    page.on('console', (m) => {
      if (m.type() === 'error') consoleErrors.add(`${m.text()}${m.location().url ? ` (${m.location().url})` : ''}`);
    });

    await section('leader-failover seed 1: failover, step back, reload, trace hash', () => leaderFailover(page, base));
    await section('controls: End, buttons, marker clicks, [ and play', () => controls(page, base));
    await section('knob overrides in the URL', () => overrides(page, base));
    await section('kip-101-hw-truncation seed 1: screenshot', () => kip101(page, base));
    await section('opening a trace file', () => openTraceFile(page, base, tmp));
    await section('pasting a scenario file', () => pasteScenario(page, base, tmp));
    await section('bad pasted input', () => badPaste(page));
    await section('a knob in the picker', () => knobInPicker(page, base));
    await section('Run again with the seed already shown', () => runAgain(page, base));
    await section('a bad paste over a built-in scenario, then a knob', () => badPasteThenKnob(page, base));
    await section('eager-vs-cooperative seed 1: the groups panel at a rebalance', () => groupsShot(page, base));
    const errorsBefore = pageErrors.length;
    await section('a bad scenario name', () => badScenario(page, base));
    await section('measurements', async () => wasmSize());

    check('no uncaught errors in the page (other than for the bad scenario)', errorsBefore === 0, pageErrors.slice(0, 5).join(' | '));
    if (pageErrors.length > errorsBefore) info(`page errors for the bad scenario: ${pageErrors.slice(errorsBefore, errorsBefore + 3).join(' | ')}`);
    for (const message of consoleErrors) info(`console error (not judged): ${message}`);
  } catch (e) {
    check('the browser test ran', false, firstLine(e));
  } finally {
    clearTimeout(watchdog);
    if (browser) await browser.close().catch(() => {});
    server.child.kill('SIGTERM');
    fs.rmSync(tmp, { recursive: true, force: true });
  }
  console.log();
  if (failures.length > 0) {
    console.log(`${failures.length} check(s) failed:`);
    for (const f of failures) console.log(`  - ${f}`);
    return 1;
  }
  console.log('every browser check passed');
  return 0;
}

process.exitCode = await main();
// Nothing may keep node alive after the verdict (a stray timer, the child's pipes).
process.exit(process.exitCode);
