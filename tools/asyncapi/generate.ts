// `npm run asyncapi`: writes docs/asyncapi.json from the contracts. A test fails when it is stale.
import { buildAsyncApiDocument } from '@boxoffice/contracts';
import { writeFileSync } from 'node:fs';

const target = new URL('../../docs/asyncapi.json', import.meta.url);
writeFileSync(target, `${JSON.stringify(buildAsyncApiDocument(), null, 2)}\n`);
console.log(`wrote ${target.pathname}`);
