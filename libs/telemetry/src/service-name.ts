/**
 * The `service.name` of a process: OTEL_SERVICE_NAME if set, else the app its entry point is
 * (`dist/apps/<name>/src/main.js`), else SERVICE (the Docker image's), else `boxoffice`.
 */
export function serviceNameOf(entry: string | undefined, env: NodeJS.ProcessEnv): string {
  const fromEntry = /(?:^|[\\/])apps[\\/]([^\\/]+)[\\/]/.exec(entry ?? '')?.[1];
  return env.OTEL_SERVICE_NAME?.trim() || fromEntry || env.SERVICE?.trim() || 'boxoffice';
}
