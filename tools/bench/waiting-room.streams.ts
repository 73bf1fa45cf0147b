// Buyers following their orders (GET /orders/:id/events), as many at once as the bench asks: each
// stream on a socket of its own, read as a browser's EventSource reads it.
import { request, type ClientRequest } from 'node:http';

/** What one buyer saw: every position they were told, and the outcome if it came. */
export interface Followed {
  readonly positions: number[];
  outcome: string | null;
  /** The stream broke before the outcome (a reset, an error status). */
  error: string | null;
}

export class StreamFollowers {
  readonly followed: Followed[] = [];
  private readonly requests: ClientRequest[] = [];

  constructor(private readonly checkoutUrl: string) {}

  /** Opens a stream per order, `perBatch` at a time, each batch once its streams have answered. */
  async open(orderIds: ReadonlyArray<string>, perBatch = 500): Promise<void> {
    for (let start = 0; start < orderIds.length; start += perBatch) {
      await Promise.all(orderIds.slice(start, start + perBatch).map((id) => this.follow(id)));
    }
  }

  /** Buyers told at least one thing (a place or the outcome). */
  get told(): number {
    return this.followed.filter((f) => f.positions.length > 0 || f.outcome).length;
  }

  get ended(): number {
    return this.followed.filter((f) => f.outcome || f.error).length;
  }

  /** Positions that went up between two events of one stream: must be 0. */
  get wentUp(): number {
    let count = 0;
    for (const { positions } of this.followed) for (let i = 1; i < positions.length; i++) if (positions[i] > positions[i - 1]) count++;
    return count;
  }

  close(): void {
    for (const req of this.requests) req.destroy();
  }

  private follow(orderId: string): Promise<void> {
    const followed: Followed = { positions: [], outcome: null, error: null };
    this.followed.push(followed);
    return new Promise((answered) => {
      const req = request(`${this.checkoutUrl}/orders/${orderId}/events`, { agent: false }, (response) => {
        answered();
        if (response.statusCode !== 200) {
          followed.error = `HTTP ${response.statusCode}`;
          response.resume();
          return;
        }
        response.setEncoding('utf8');
        let buffered = '';
        response.on('data', (chunk: string) => {
          buffered += chunk;
          let end: number;
          while ((end = buffered.indexOf('\n\n')) >= 0) {
            const block = buffered.slice(0, end);
            buffered = buffered.slice(end + 2);
            const data = /^data: (.+)$/m.exec(block)?.[1];
            if (block.startsWith('event: place') && data) followed.positions.push((JSON.parse(data) as { position: number }).position);
            if (block.startsWith('event: outcome') && data) followed.outcome = (JSON.parse(data) as { status: string }).status;
          }
        });
        response.on('error', (error) => (followed.error ??= error.message));
        response.on('end', () => {
          if (!followed.outcome) followed.error ??= 'ended without an outcome';
        });
      });
      req.on('error', (error) => {
        followed.error ??= error.message;
        answered();
      });
      req.end();
      this.requests.push(req);
    });
  }
}
