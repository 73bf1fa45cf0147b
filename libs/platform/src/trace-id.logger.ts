import { ConsoleLogger, type LogLevel } from '@nestjs/common';
import { withTraceId } from '@boxoffice/telemetry';

/**
 * Nest's console logger with the trace id of the active span at the end of each line
 * (`trace_id=4bf92f35…`), so a log line leads to its trace and a trace to its log lines. With
 * tracing off there is no active span and the lines are as before. Every `new Logger(context)`
 * of a service, the messaging runtime's included, writes through it once the app is created.
 */
export class TraceIdLogger extends ConsoleLogger {
  protected override formatMessage(
    logLevel: LogLevel,
    message: unknown,
    pidMessage: string,
    formattedLogLevel: string,
    contextMessage: string,
    timestampDiff: string,
    params?: Record<string, unknown>,
  ): string {
    const line = super.formatMessage(logLevel, message, pidMessage, formattedLogLevel, contextMessage, timestampDiff, params);
    return line.endsWith('\n') ? `${withTraceId(line.slice(0, -1))}\n` : withTraceId(line);
  }
}
