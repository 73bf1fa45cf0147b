/**
 * A buyer's page while their order waits: one self-contained page (no external scripts, styles or
 * fonts) that follows GET /orders/:id/events, the order's id read from its own address. It shows
 * the place in line, the estimated wait and a bar that fills as the line moves, then the outcome.
 * Each figure has an id, which the waiting room's end-to-end test reads in Chromium.
 */
export const waitingRoomPage = /* html */ `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>boxoffice · your order</title>
<style>
  :root { --bg: #0f1419; --panel: #1a2129; --text: #e6e6e6; --muted: #8b98a5; --bar: #4ea1ff; --good: #5ad17a; --bad: #ff6b6b; }
  * { box-sizing: border-box; }
  body { margin: 0; padding: 32px 24px; background: var(--bg); color: var(--text); font: 15px/1.5 system-ui, sans-serif; }
  main { max-width: 520px; margin: 0 auto; background: var(--panel); border-radius: 10px; padding: 24px; }
  h1 { margin: 0 0 6px; font-size: 22px; font-weight: 600; }
  p { margin: 0 0 16px; color: var(--muted); }
  .figures { display: flex; gap: 24px; margin: 16px 0; }
  .figure .label { color: var(--muted); font-size: 12px; text-transform: uppercase; letter-spacing: .04em; }
  .figure .value { font-size: 32px; font-weight: 600; font-variant-numeric: tabular-nums; }
  .track { height: 12px; background: #0b0f13; border-radius: 6px; overflow: hidden; }
  #progress { height: 100%; width: 0; background: var(--bar); transition: width .4s ease; }
  #outcome { margin-top: 20px; font-size: 20px; font-weight: 600; }
  #outcome.CONFIRMED { color: var(--good); } #outcome.REJECTED { color: var(--bad); }
  #status { margin-top: 12px; font-size: 12px; color: var(--muted); }
</style>
</head>
<body>
<main>
  <h1>You are in line</h1>
  <p>Your order is taken and will be charged in turn. Keep this page open: it updates by itself.</p>
  <div class="figures">
    <div class="figure"><div class="label">Ahead of you</div><div class="value" id="position">–</div></div>
    <div class="figure"><div class="label">Estimated wait</div><div class="value" id="estimate">–</div></div>
  </div>
  <div class="track"><div id="progress"></div></div>
  <div id="outcome" hidden></div>
  <div id="status">connecting…</div>
</main>
<script>
  const orderId = location.pathname.split('/')[2];
  const $ = (id) => document.getElementById(id);
  let firstPosition = null;

  function showPlace(place) {
    if (firstPosition === null) firstPosition = Math.max(place.position, 1);
    $('position').textContent = place.position.toLocaleString('en');
    $('estimate').textContent = place.estimatedWaitSeconds === null ? 'estimating…' : duration(place.estimatedWaitSeconds);
    $('progress').style.width = (100 * (1 - place.position / firstPosition)).toFixed(1) + '%';
    $('status').textContent = 'live';
  }

  function showOutcome(order) {
    const text = order.status === 'CONFIRMED'
      ? 'Confirmed: your tickets are booked. A confirmation mail is on its way.'
      : { SOLD_OUT: 'Sorry: the concert sold out before your turn.', PAYMENT_DECLINED: 'Your payment was declined: nothing was charged.', TIMED_OUT: 'Your order could not be charged in time: nothing was charged.' }[order.reason] ?? 'Your order was rejected.';
    $('outcome').textContent = text;
    $('outcome').className = order.status;
    $('outcome').hidden = false;
    $('position').textContent = '0';
    $('estimate').textContent = 'done';
    $('progress').style.width = '100%';
    $('status').textContent = 'settled ' + new Date(order.settledAt).toLocaleTimeString();
  }

  function duration(seconds) {
    return seconds < 60 ? seconds + ' s' : Math.floor(seconds / 60) + ' min ' + (seconds % 60) + ' s';
  }

  // The stream first; where it cannot be had (too many followers, an old proxy), the order is polled.
  const events = new EventSource('/orders/' + orderId + '/events');
  events.addEventListener('place', (event) => showPlace(JSON.parse(event.data)));
  events.addEventListener('outcome', (event) => { events.close(); showOutcome(JSON.parse(event.data)); });
  events.onerror = () => {
    if (events.readyState === EventSource.CLOSED) poll();
    else $('status').textContent = 'reconnecting…';
  };

  async function poll() {
    const response = await fetch('/orders/' + orderId);
    const order = await response.json();
    if (order.status === 'PENDING') {
      if (order.position !== undefined) showPlace(order);
      setTimeout(poll, 2000);
    } else showOutcome(order);
  }
</script>
</body>
</html>
`;
