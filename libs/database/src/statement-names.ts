/** `($1,$2,...)`: two or more placeholders in a row, a list whose length is in the text. */
const PLACEHOLDER_LIST = /\(\s*\$\d+(?:\s*,\s*\$\d+)+\s*\)/;

/**
 * Names for prepared statements: one per distinct SQL text, for the first `limit` texts.
 *
 * node-postgres sends a query without a name as PostgreSQL's unnamed statement, which is parsed,
 * analysed and planned again on every execution. A named one is parsed once per connection, and
 * PostgreSQL plans it once too: after five executions it keeps a generic plan when that costs no
 * more than planning each time. On a hot path of small transactions that is most of the database's
 * work: in bench:ticket-sale at 200 orders a second, parsing and planning were a third of
 * PostgreSQL's CPU, and Checkout's placement statement spent longer in parse and bind than in
 * execution.
 *
 * Each connection keeps the statements it has prepared for as long as it lives, and so does its
 * server process. So a text with a list of placeholders goes unnamed (the empty name is the
 * protocol's unnamed statement): Prisma writes `IN ($1,$2,$3)` with one placeholder per value, a
 * new text for every length of list (17 of them in 3 s of bench:ticket-sale's steady phase). And
 * past `limit` texts nothing more is named, so whatever SQL an ORM generates, the set stays bounded.
 */
export class StatementNames {
  private readonly names = new Map<string, string>();

  constructor(private readonly limit = 200) {}

  /** The name for this SQL text: the same every time; '' (unnamed) for a list of placeholders, and once `limit` texts have names. */
  nameOf(sql: string): string {
    const known = this.names.get(sql);
    if (known !== undefined) return known;
    if (this.names.size >= this.limit || PLACEHOLDER_LIST.test(sql)) return '';
    const name = `s${this.names.size + 1}`;
    this.names.set(sql, name);
    return name;
  }
}
