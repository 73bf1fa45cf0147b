import { UserRegistered } from '@boxoffice/contracts';
import { GroupCommit } from '@boxoffice/database';
import { MessageSender, Outbox, uuidV7, type OutboxEntry } from '@boxoffice/messaging';
import { SQL, type Sql } from '@boxoffice/platform';
import { ConflictException, Inject, Injectable } from '@nestjs/common';
import type { SignUp, SignUpOrigin } from './user.schemas.js';

/** A user as a sign-up answers it. */
export interface RegisteredUser {
  readonly id: string;
  readonly email: string;
  readonly name: string;
  readonly createdAt: Date;
}

/** One sign-up on its way into a batch: the user row and its UserRegistered. */
interface Registration extends SignUp {
  readonly id: string;
  readonly event: OutboxEntry;
}

/** Sign-ups in one statement at most, and statements at once (the pool also serves orders and reads). */
const MAX_BATCH = 250;
const MAX_IN_FLIGHT = 2;

const REGISTER = `
WITH input AS (
  SELECT * FROM jsonb_to_recordset($1::jsonb) AS t(arrival int, id uuid, email text, name text, outbox_row jsonb)
),
-- An address asked for twice in one batch goes to the first to ask; the unique column refuses
-- one taken before (or by a statement running beside this one, which it waits for).
registered AS (
  INSERT INTO "user" (id, email, name)
  SELECT id, email, name FROM (SELECT DISTINCT ON (email) * FROM input ORDER BY email, arrival) first ORDER BY arrival
  ON CONFLICT (email) DO NOTHING
  RETURNING id, created_at
),
-- The transactional outbox, as Outbox.add writes it, for the users that went in and only those.
queued AS (
  ${Outbox.insertRowsFrom('SELECT input.outbox_row FROM input JOIN registered USING (id) ORDER BY input.arrival')}
)
SELECT id::text AS id, created_at FROM registered`;

@Injectable()
export class UsersService {
  /**
   * Sign-ups that arrive while earlier ones are being written go together into one statement:
   * one round trip and one commit for all of them, where a transaction each cost four round trips
   * (BEGIN, two INSERTs, COMMIT), each through Prisma, and a commit.
   */
  private readonly registrations = new GroupCommit<Registration, Date | null>((batch) => this.write(batch), {
    maxBatch: MAX_BATCH,
    maxInFlight: MAX_IN_FLIGHT,
  });

  constructor(
    @Inject(SQL) private readonly sql: Sql,
    private readonly messages: MessageSender,
  ) {}

  /**
   * Registers a user and announces it, in one statement: the user row and the UserRegistered
   * event commit together or not at all. Email, Analytics and Audit each get their copy from the
   * users topic; none of them is called from here, so none of them can slow a sign-up down.
   */
  async register(input: SignUp, origin: SignUpOrigin): Promise<RegisteredUser> {
    const id = uuidV7();
    // Keyed by user id (the catalog says so): every later event about this user stays in order.
    const event = this.messages.entry(UserRegistered, { userId: id, ...input, ...origin });
    const createdAt = await this.registrations.submit({ id, ...input, event });
    if (createdAt === null) throw new ConflictException(`${input.email} is already registered`);
    return { id, ...input, createdAt };
  }

  /** One batch of sign-ups, in one statement; per sign-up, when its user went in, or null if its address was taken. */
  private async write(batch: ReadonlyArray<Registration>): Promise<Array<Date | null>> {
    const rows = batch.map(({ id, email, name, event }, arrival) => ({
      arrival,
      id,
      email,
      name,
      outbox_row: Outbox.row(event.envelope, event.destination),
    }));
    const registered = await this.sql.$queryRawUnsafe<Array<{ id: string; created_at: Date }>>(REGISTER, JSON.stringify(rows));
    const createdAt = new Map(registered.map((row) => [row.id, row.created_at]));
    return batch.map(({ id }) => createdAt.get(id) ?? null);
  }
}
