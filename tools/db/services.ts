/** The services that own a database, each with its schema and migrations under apps/<name>/prisma. */
export const services = ['checkout', 'billing', 'email', 'analytics', 'audit'] as const;
export type Service = (typeof services)[number];
