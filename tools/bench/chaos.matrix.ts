// The chaos matrix as a reader sees it: fault rows, transport-pair columns, each cell "ok" or the
// ledgers that did not reconcile, with the lost orders and duplicate mails beside. Printed as
// text, and as a markdown table for docs/patterns/assured-delivery.md.
import type { CellResult } from './chaos.cell.ts';

/** One cell in a few words. */
export function cellText(cell: CellResult | undefined): string {
  if (!cell) return '-';
  if (cell.outcome === 'n/a') return 'n/a';
  if (cell.outcome === 'skipped') return 'skipped';
  if (cell.outcome === 'error') return 'error';
  const counts = `lost ${cell.ledgers!.lost}, dup ${cell.ledgers!.duplicateMails}`;
  if (cell.outcome === 'ok') return `ok (${counts})`;
  const ledgers = cell.ledgers as unknown as Record<string, number>;
  const failing = cell.failures.map((name) => (name in ledgers ? `${name} ${ledgers[name]}` : name));
  return `FAIL ${failing.join(', ')} (${counts})`;
}

/** Why cells were skipped or broke, one line each. */
function footnotes(cells: ReadonlyArray<CellResult>): string[] {
  return cells.filter((cell) => cell.detail).map((cell) => `${cell.fault} on ${cell.pair}: ${cell.outcome}, ${cell.detail}`);
}

export function textMatrix(faults: ReadonlyArray<string>, pairs: ReadonlyArray<string>, cells: ReadonlyArray<CellResult>): string {
  const at = (fault: string, pair: string) => cellText(cells.find((cell) => cell.fault === fault && cell.pair === pair));
  const rows = [['fault', ...pairs], ...faults.map((fault) => [fault, ...pairs.map((pair) => at(fault, pair))])];
  const widths = rows[0].map((_, column) => Math.max(...rows.map((row) => row[column].length)));
  const lines = rows.map((row) => row.map((text, column) => text.padEnd(widths[column])).join('  '));
  return [...lines, ...footnotes(cells).map((line) => `  ${line}`)].join('\n');
}

export function markdownMatrix(
  faults: ReadonlyArray<string>,
  pairs: ReadonlyArray<string>,
  cells: ReadonlyArray<CellResult>,
  how: string,
): string {
  const at = (fault: string, pair: string) => cellText(cells.find((cell) => cell.fault === fault && cell.pair === pair));
  return [
    how,
    '',
    `| fault | ${pairs.join(' | ')} |`,
    `| --- | ${pairs.map(() => '---').join(' | ')} |`,
    ...faults.map((fault) => `| \`${fault}\` | ${pairs.map((pair) => at(fault, pair)).join(' | ')} |`),
    '',
    ...footnotes(cells).map((line) => `- ${line}`),
  ].join('\n');
}
