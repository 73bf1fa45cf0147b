/**
 * The live dashboard: one self-contained page (no external scripts, styles or fonts, so it works
 * offline and inside the compose network) that polls /dashboard/stats every second and draws the
 * last two minutes as SVG. Each figure has an id, which the dashboard's end-to-end test reads.
 */
export const dashboardPage = /* html */ `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>boxoffice · ticket sale</title>
<style>
  :root { --bg: #0f1419; --panel: #1a2129; --text: #e6e6e6; --muted: #8b98a5; --accepted: #4ea1ff; --processed: #5ad17a; --queue: #f5a623; --bad: #ff6b6b; }
  * { box-sizing: border-box; }
  body { margin: 0; padding: 24px; background: var(--bg); color: var(--text); font: 14px/1.4 system-ui, sans-serif; }
  h1 { margin: 0 0 4px; font-size: 20px; font-weight: 600; }
  p.lead { margin: 0 0 20px; color: var(--muted); }
  .tiles { display: grid; grid-template-columns: repeat(auto-fit, minmax(160px, 1fr)); gap: 12px; margin-bottom: 16px; }
  .tile { background: var(--panel); border-radius: 8px; padding: 12px 14px; }
  .tile .label { color: var(--muted); font-size: 12px; text-transform: uppercase; letter-spacing: .04em; }
  .tile .value { font-size: 30px; font-variant-numeric: tabular-nums; font-weight: 600; }
  .accepted .value { color: var(--accepted); } .processed .value { color: var(--processed); } .queue .value { color: var(--queue); }
  .chart { background: var(--panel); border-radius: 8px; padding: 12px 14px; margin-bottom: 12px; }
  .chart .label { color: var(--muted); font-size: 12px; margin-bottom: 6px; }
  svg { width: 100%; height: 160px; display: block; }
  .legend span { margin-right: 14px; } .legend .max { float: right; margin: 0; } .legend i { display: inline-block; width: 10px; height: 10px; border-radius: 2px; margin-right: 4px; }
  #status { color: var(--muted); font-size: 12px; } #status.down { color: var(--bad); }
</style>
</head>
<body>
<h1>Ticket sale</h1>
<p class="lead">Checkout accepts orders at once (202) and queues a charge for each; Billing takes them off the queue at its own safe rate. During a spike the queue fills; after it, the queue drains.</p>

<div class="tiles">
  <div class="tile accepted"><div class="label">Accepted / s</div><div class="value" id="accepted-per-second">–</div></div>
  <div class="tile processed"><div class="label">Processed / s</div><div class="value" id="processed-per-second">–</div></div>
  <div class="tile queue"><div class="label">Charge queue</div><div class="value" id="queue-depth">–</div></div>
  <div class="tile"><div class="label">Outbox pending</div><div class="value" id="outbox-pending">–</div></div>
  <div class="tile"><div class="label">Billing consumers</div><div class="value" id="queue-consumers">–</div></div>
</div>
<div class="tiles">
  <div class="tile"><div class="label">Pending</div><div class="value" id="orders-pending">–</div></div>
  <div class="tile"><div class="label">Confirmed</div><div class="value" id="orders-confirmed">–</div></div>
  <div class="tile"><div class="label">Rejected</div><div class="value" id="orders-rejected">–</div></div>
  <div class="tile"><div class="label">Orders</div><div class="value" id="orders-total">–</div></div>
</div>
<div class="tiles">
  <div class="tile"><div class="label">Waiting line</div><div class="value" id="line-length">–</div></div>
  <div class="tile"><div class="label">Line moves / s</div><div class="value" id="line-drain">–</div></div>
  <div class="tile"><div class="label">A new buyer waits (s)</div><div class="value" id="line-wait">–</div></div>
  <div class="tile"><div class="label">The line is</div><div class="value" id="line-open">–</div></div>
</div>

<div class="chart">
  <div class="label legend"><span><i style="background:var(--accepted)"></i>accepted / s</span><span><i style="background:var(--processed)"></i>processed / s</span> — last 2 minutes <span class="max">top: <b id="rates-max">–</b></span></div>
  <svg id="rates-chart" viewBox="0 0 600 160" preserveAspectRatio="none"></svg>
</div>
<div class="chart">
  <div class="label legend"><span><i style="background:var(--queue)"></i>charge queue depth</span> — last 2 minutes <span class="max">top: <b id="queue-max">–</b></span></div>
  <svg id="queue-chart" viewBox="0 0 600 160" preserveAspectRatio="none"></svg>
</div>
<div id="status">connecting…</div>

<script>
  const HISTORY = 120;
  const history = [];
  const $ = (id) => document.getElementById(id);
  const show = (id, value) => { $(id).textContent = value === null || value === undefined ? '–' : Number(value).toLocaleString('en'); };

  function line(values, max, color, fill) {
    if (values.length === 0) return '';
    const step = 600 / (HISTORY - 1);
    const offset = (HISTORY - values.length) * step;
    const points = values.map((v, i) => (offset + i * step).toFixed(1) + ',' + (156 - (v / max) * 148).toFixed(1));
    const area = fill ? '<polygon fill="' + color + '" fill-opacity="0.25" points="' + offset.toFixed(1) + ',156 ' + points.join(' ') + ' ' + (offset + (values.length - 1) * step).toFixed(1) + ',156"/>' : '';
    return area + '<polyline fill="none" stroke="' + color + '" stroke-width="2" vector-effect="non-scaling-stroke" points="' + points.join(' ') + '"/>';
  }

  // The SVG stretches to the page's width, so its scale is written beside it, not inside it.
  const baseline = '<line x1="0" y1="156" x2="600" y2="156" stroke="#2c3640"/>';

  function draw() {
    const accepted = history.map((s) => s.acceptedPerSecond);
    const processed = history.map((s) => s.processedPerSecond);
    const queue = history.map((s) => s.queueDepth ?? 0);
    const rateMax = Math.max(10, ...accepted, ...processed);
    const queueMax = Math.max(10, ...queue);
    $('rates-chart').innerHTML = baseline + line(accepted, rateMax, '#4ea1ff', false) + line(processed, rateMax, '#5ad17a', false);
    $('queue-chart').innerHTML = baseline + line(queue, queueMax, '#f5a623', true);
    show('rates-max', rateMax);
    show('queue-max', queueMax);
  }

  async function refresh() {
    try {
      const response = await fetch('/dashboard/stats', { cache: 'no-store' });
      if (!response.ok) throw new Error('HTTP ' + response.status);
      const stats = await response.json();
      show('accepted-per-second', stats.acceptedPerSecond);
      show('processed-per-second', stats.processedPerSecond);
      show('queue-depth', stats.queueDepth);
      show('queue-consumers', stats.queueConsumers);
      show('outbox-pending', stats.outboxPending);
      show('orders-pending', stats.orders.PENDING);
      show('orders-confirmed', stats.orders.CONFIRMED);
      show('orders-rejected', stats.orders.REJECTED);
      show('orders-total', stats.orders.total);
      show('line-length', stats.line.length);
      show('line-drain', stats.line.drainPerSecond);
      show('line-wait', stats.line.estimatedWaitSeconds);
      $('line-open').textContent = stats.line.open ? 'open' : 'closed';
      history.push(stats);
      if (history.length > HISTORY) history.shift();
      draw();
      $('status').className = '';
      $('status').textContent = 'updated ' + new Date(stats.at).toLocaleTimeString('en-GB');
    } catch (error) {
      $('status').className = 'down';
      $('status').textContent = 'stats unavailable (' + error.message + '); retrying';
    } finally {
      setTimeout(refresh, 1000);
    }
  }
  refresh();
</script>
</body>
</html>
`;
