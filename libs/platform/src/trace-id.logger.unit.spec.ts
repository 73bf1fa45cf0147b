import { afterAll, beforeAll, describe, expect, it, jest } from '@jest/globals';
import { context, ROOT_CONTEXT, trace } from '@opentelemetry/api';
import { StackContextManager } from '@opentelemetry/sdk-trace';
import { TraceIdLogger } from './trace-id.logger.js';

describe("the services' log lines", () => {
  const manager = new StackContextManager();
  const traceId = '4bf92f3577b34da6a3ce929d0e0e4736';
  const written: string[] = [];
  let write: ReturnType<typeof jest.spyOn>;

  beforeAll(() => {
    context.setGlobalContextManager(manager.enable());
    write = jest.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => (written.push(String(chunk)), true));
  });
  afterAll(() => {
    write.mockRestore();
    context.disable();
  });

  const logged = (work: () => void) => {
    written.length = 0;
    work();
    return written.join('');
  };

  it('end with the trace id while a span is active', () => {
    const logger = new TraceIdLogger('orders', { colors: false });
    const inSpan = trace.setSpanContext(ROOT_CONTEXT, { traceId, spanId: '00f067aa0ba902b7', traceFlags: 1 });
    const line = logged(() => context.with(inSpan, () => logger.log('order accepted')));
    expect(line).toMatch(new RegExp(`\\[orders\\] order accepted trace_id=${traceId}\\n$`));
  });

  it('are as before without one', () => {
    const logger = new TraceIdLogger('orders', { colors: false });
    expect(logged(() => logger.log('order accepted'))).toMatch(/\[orders\] order accepted\n$/);
  });
});
