import { z } from 'zod';

export const signUpSchema = z.strictObject({
  // Lower-cased so that Ada@Example.com and ada@example.com are one account: the unique email
  // column, not this code, is what refuses the second sign-up.
  email: z.string().trim().toLowerCase().max(320).pipe(z.email()),
  name: z.string().trim().min(1).max(200),
});

export type SignUp = z.infer<typeof signUpSchema>;

/** Where a sign-up came from, for the audit trail: the caller's address and its User-Agent header. */
export interface SignUpOrigin {
  readonly ip: string | null;
  readonly userAgent: string | null;
}
