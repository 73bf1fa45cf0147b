/**
 * Loaded before a service with Node's `--import` (npm start, the Docker image, the e2e harness and
 * the benches all do): starts tracing when an OTLP endpoint is configured, and does nothing
 * otherwise, so it can always be there.
 *
 *     node --import ./dist/libs/telemetry/src/telemetry.register.js dist/apps/checkout/src/main.js
 */
import { startTelemetry } from './telemetry.sdk.js';
import { serviceNameOf } from './service-name.js';

await startTelemetry({ service: serviceNameOf(process.argv[1], process.env) });
