import pg from 'pg';

/**
 * Gives the role a service runs with (the user of `runtimeUrl`) what a running service needs in
 * the database `owner` is connected to, and no more: to read and write rows in the tables of
 * `public` and use their sequences. Not the migrations' record, and not ownership: PostgreSQL
 * lets only a table's owner (or a superuser) alter, disable or drop its triggers, so a guard the
 * owner made stays whatever the service does. Run after every migration, so that a new table is
 * granted too. A role that does not exist yet is created, with the URL's password, when the owner
 * may create roles (natively, PostgreSQL's superuser); otherwise it must be made beforehand
 * (docker/postgres/init.sql in compose).
 */
export async function grantRuntimeRole(owner: pg.Client, runtimeUrl: string, log: (line: string) => void = () => {}): Promise<void> {
  const url = new URL(runtimeUrl);
  const role = decodeURIComponent(url.username);
  if (!role) throw new Error('the runtime database URL names no user');
  const { rows } = await owner.query<{ owner: string; exists: boolean; superuser: boolean | null }>(
    `SELECT current_user AS owner, r.rolname IS NOT NULL AS exists, r.rolsuper AS superuser
       FROM (SELECT 1) one LEFT JOIN pg_roles r ON r.rolname = $1`,
    [role],
  );
  const [{ owner: ownerRole, exists, superuser }] = rows;
  if (role === ownerRole) return;
  if (superuser)
    throw new Error(`the database role "${role}" the service runs with is a superuser: it could change anything its owner made`);
  if (!exists) await createRole(owner, role, decodeURIComponent(url.password), ownerRole, log);
  const name = pg.escapeIdentifier(role);
  await owner.query(`GRANT USAGE ON SCHEMA public TO ${name}`);
  await owner.query(`GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO ${name}`);
  await owner.query(`GRANT USAGE, SELECT, UPDATE ON ALL SEQUENCES IN SCHEMA public TO ${name}`);
  await owner.query(`REVOKE ALL ON TABLE "_prisma_migrations" FROM ${name}`);
}

async function createRole(owner: pg.Client, role: string, password: string, ownerRole: string, log: (line: string) => void): Promise<void> {
  const withPassword = password ? ` PASSWORD ${pg.escapeLiteral(password)}` : '';
  try {
    await owner.query(`CREATE ROLE ${pg.escapeIdentifier(role)} LOGIN${withPassword}`);
    log(`created database role ${role}`);
  } catch (error) {
    const code = (error as { code?: string }).code;
    // Another service's instance created it meanwhile (roles are the server's, not a database's).
    if (code === '42710' || code === '23505') return;
    throw new Error(
      `the database role "${role}" does not exist, and ${ownerRole} may not create it (${(error as Error).message}): create it first`,
      { cause: error },
    );
  }
}
