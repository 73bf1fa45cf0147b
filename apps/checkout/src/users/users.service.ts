import { UserRegistered } from '@boxoffice/contracts';
import { destinationOf, EnvelopeFactory, Outbox, uuidV7 } from '@boxoffice/messaging';
import { PRISMA } from '@boxoffice/platform';
import { ConflictException, Inject, Injectable } from '@nestjs/common';
import { isUniqueViolation, type PrismaClient } from '../database.js';
import type { User } from '../generated/prisma/client.js';
import type { SignUp, SignUpOrigin } from './user.schemas.js';

@Injectable()
export class UsersService {
  constructor(
    @Inject(PRISMA) private readonly prisma: PrismaClient,
    private readonly outbox: Outbox,
    private readonly envelopes: EnvelopeFactory,
  ) {}

  /**
   * Registers a user and announces it, in one transaction: the user row and the UserRegistered
   * event commit together or not at all. Email, Analytics and Audit each get their copy from the
   * users topic; none of them is called from here, so none of them can slow a sign-up down.
   */
  async register(input: SignUp, origin: SignUpOrigin): Promise<User> {
    try {
      return await this.prisma.$transaction(async (tx) => {
        const user = await tx.user.create({ data: { id: uuidV7(), ...input } });
        const event = this.envelopes.create(UserRegistered, { userId: user.id, ...input, ...origin });
        // Keyed by user id: every later event about this user lands on the same partition, in order.
        await this.outbox.add(tx, event, destinationOf(UserRegistered, user.id));
        return user;
      });
    } catch (error) {
      if (isUniqueViolation(error)) throw new ConflictException(`${input.email} is already registered`);
      throw error;
    }
  }
}
