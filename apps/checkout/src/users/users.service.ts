import { UserRegistered } from '@boxoffice/contracts';
import { MessageSender, uuidV7 } from '@boxoffice/messaging';
import { PRISMA } from '@boxoffice/platform';
import { ConflictException, Inject, Injectable } from '@nestjs/common';
import { isUniqueViolation, type PrismaClient } from '../database.js';
import type { User } from '../generated/prisma/client.js';
import type { SignUp, SignUpOrigin } from './user.schemas.js';

@Injectable()
export class UsersService {
  constructor(
    @Inject(PRISMA) private readonly prisma: PrismaClient,
    private readonly messages: MessageSender,
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
        // Keyed by user id (the catalog says so): every later event about this user stays in order.
        await this.messages.send(tx, UserRegistered, { userId: user.id, ...input, ...origin });
        return user;
      });
    } catch (error) {
      if (isUniqueViolation(error)) throw new ConflictException(`${input.email} is already registered`);
      throw error;
    }
  }
}
