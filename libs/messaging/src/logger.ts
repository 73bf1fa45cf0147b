/** The logging the patterns need. NestJS's `Logger` fits it, and so does `console`. */
export interface Logger {
  log(message: string): void;
  warn(message: string): void;
  error(message: string, error?: unknown): void;
}

export const silentLogger: Logger = { log: () => {}, warn: () => {}, error: () => {} };
