// npm run infra:down - stop what infra:up started, and nothing it merely reused.

import { stopInfra } from './infra.ts';

const summary = await stopInfra();
if (!summary.ok) process.exitCode = 1;
