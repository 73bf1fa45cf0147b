// `npm run brokers:accounts`: writes the brokers' accounts and permissions from the catalog (accounts.ts).
import { writeFileSync } from 'node:fs';
import { definitionsFiles, definitionsText } from './accounts.ts';

for (const target of ['native', 'compose'] as const) {
  writeFileSync(definitionsFiles[target], definitionsText(target));
  console.log(`wrote ${definitionsFiles[target].pathname}`);
}
