import { ZodValidationPipe } from '@boxoffice/platform';
import { Body, Controller, Headers, HttpCode, Ip, Post } from '@nestjs/common';
import { ApiBody, ApiOperation, ApiTags } from '@nestjs/swagger';
import { z } from 'zod';
import { signUpSchema, type SignUp } from './user.schemas.js';
import { UsersService } from './users.service.js';

@ApiTags('users')
@Controller('users')
export class UsersController {
  constructor(private readonly users: UsersService) {}

  /**
   * 202, not 201: the account exists when this answers, but what follows from it (the welcome
   * mail, the sign-up counter, the audit record) happens afterwards, in other services.
   *
   * The IP is the connection's peer: Fastify is not told to trust X-Forwarded-For, so a client
   * cannot put an address of its choosing into the audit trail. The User-Agent is free text from
   * the client that travels to three services, so it is cut to a bounded length.
   */
  @Post()
  @HttpCode(202)
  @ApiOperation({
    summary: 'Sign up: 202 at once; emits UserRegistered (welcome mail, analytics, audit follow). 409 if the email is taken',
  })
  @ApiBody({ schema: z.toJSONSchema(signUpSchema) as object })
  async signUp(
    @Body(new ZodValidationPipe(signUpSchema)) body: SignUp,
    @Ip() ip: string | undefined,
    @Headers('user-agent') userAgent: string | undefined,
  ) {
    const user = await this.users.register(body, { ip: ip ?? null, userAgent: userAgent?.slice(0, 500) ?? null });
    return { userId: user.id, status: 'REGISTERED' as const };
  }
}
